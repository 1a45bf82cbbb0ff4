/**
 * Many benchmarks started at once on the local cloud, with EC2 throttling on: do they all finish, and
 * is every run recorded exactly once with no instance left running? Used by `npm run load` (50 at
 * once) and by test/e2e/load.test.ts (a smaller batch). Counts come from the local EC2 and the table.
 */
import { randomUUID } from "node:crypto";
import { benchmarkIdFor } from "../functions/domain/benchmark-identity.js";
import type { BenchmarkInput } from "../functions/domain/input-schema.js";
import { median } from "../functions/domain/statistics.js";
import { auditBenchmark, type BenchmarkAudit, isAlive } from "./audit.js";
import type { InstanceSnapshot } from "./cloud.js";
import type { FaultSettings } from "./faults.js";
import type { LocalPipeline } from "./local-pipeline.js";
import type { ExecutionOutcome } from "./runner/local-state-machine.js";

export interface LoadOptions {
  benchmarks: number;
  runsPerBenchmark: number;
  image?: string;
  instanceType?: string;
  /** Default: EC2's real token buckets. */
  faults?: FaultSettings;
}

/** What the local cloud and the table say of a batch of benchmarks once it has ended. */
export interface LoadFigures {
  runs: {
    expected: number;
    recorded: number;
    lost: number;
    duplicated: number;
    byStatus: Record<string, number>;
  };
  instances: { launched: number; leftRunning: number };
  /** The stack's cap on runs in flight (context `runSlots`), and the least time between two starts. */
  runSlots: number;
  startSpacingMs: number;
  /** Runs in flight at once at the busiest moment, from the local EC2's truth: see runsInFlight. */
  peakRunsInFlight: number;
  /** Seconds each run was in flight, median and sum: the cap allows about sum / runSlots of wall time. */
  runInFlightSeconds: { median: number; sum: number };
  /** RequestLimitExceeded answers per EC2 action. */
  throttled: Record<string, number>;
  /** All RequestLimitExceeded answers over the runs expected. */
  throttledPerRun: number;
  /** Calls per EC2 action. */
  calls: Record<string, number>;
}

export interface LoadReport extends LoadFigures {
  benchmarks: number;
  runsPerBenchmark: number;
  seconds: number;
  executions: Record<string, number>;
  /** Seconds from start to end of each execution. */
  executionSeconds: { median: number; max: number };
  audits: BenchmarkAudit[];
  outcomes: ExecutionOutcome[];
}

const count = <T>(items: readonly T[], key: (item: T) => string): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
};

export async function runLoad(pipeline: LocalPipeline, options: LoadOptions): Promise<LoadReport> {
  const cloud = pipeline.localAws?.cloud;
  if (!cloud) throw new Error("the load run needs its own local cloud (unset AWS_ENDPOINT_URL_EC2)");
  const input: BenchmarkInput = {
    image: options.image ?? "/aws/service/debian/release/bookworm/latest/amd64",
    instanceType: options.instanceType ?? "c7i.large",
    runs: options.runsPerBenchmark,
    discardFirst: false,
    port: cloud.sshPort,
    // Under account-wide throttling, polls back off and see `running` late; the bound is for hangs only.
    runningTimeoutSeconds: 120,
    openTimeoutSeconds: 60,
  };
  cloud.faults.set(options.faults ?? { throttling: true });
  cloud.resetStats();
  const started = performance.now();
  try {
    const executions = Array.from({ length: options.benchmarks }, () =>
      pipeline.stateMachine.startExecution(input, `load-${randomUUID()}`),
    );
    const outcomes = await Promise.all(executions.map((execution) => execution.result));
    const seconds = (performance.now() - started) / 1000;
    const audits = await Promise.all(
      outcomes.map((outcome) =>
        auditBenchmark(pipeline, benchmarkIdFor(outcome.executionArn), options.runsPerBenchmark),
      ),
    );
    const durations = outcomes
      .map((o) => (Date.parse(o.stoppedAt) - Date.parse(o.startedAt)) / 1000)
      .sort((a, b) => a - b);
    return {
      benchmarks: options.benchmarks,
      runsPerBenchmark: options.runsPerBenchmark,
      seconds,
      executions: count(outcomes, (o) => (o.error ? `${o.status} ${o.error}` : o.status)),
      ...loadFigures(pipeline, audits, options.benchmarks * options.runsPerBenchmark),
      executionSeconds: { median: medianOrZero(durations), max: durations.at(-1) ?? 0 },
      audits,
      outcomes,
    };
  } finally {
    cloud.faults.clear();
  }
}

/**
 * Runs recorded, lost and duplicated (from the audits), instances, the runs in flight against the
 * cap, and the EC2 calls and throttled answers since the cloud's stats were last reset.
 */
export function loadFigures(
  pipeline: LocalPipeline,
  audits: readonly BenchmarkAudit[],
  expected: number,
): LoadFigures {
  const cloud = pipeline.localAws?.cloud;
  if (!cloud) throw new Error("load figures need the pipeline's own local cloud");
  const stats = cloud.stats();
  const runs = audits.flatMap((audit) => audit.runs);
  const inFlight = runsInFlight(cloud.instances());
  const throttled = Object.fromEntries(
    Object.entries(stats.errors).flatMap(([action, errors]) =>
      errors.RequestLimitExceeded ? [[action, errors.RequestLimitExceeded]] : [],
    ),
  );
  return {
    runs: {
      expected,
      recorded: runs.filter((r) => r.items > 0).length,
      lost: audits.reduce((n, a) => n + a.runsLost, 0),
      duplicated: audits.reduce((n, a) => n + a.runsDuplicated, 0),
      byStatus: count(
        runs.filter((r) => r.items > 0),
        (r) => (r.errorName ? `${r.status} (${r.errorName})` : (r.status ?? "?")),
      ),
    },
    instances: {
      launched: audits.reduce((n, a) => n + a.instancesLaunched, 0),
      leftRunning: cloud.instances().filter(isAlive).length,
    },
    runSlots: pipeline.runSlots.slots,
    startSpacingMs: pipeline.runSlots.startSpacingMs,
    peakRunsInFlight: inFlight.peak,
    runInFlightSeconds: { median: medianOrZero(inFlight.seconds), sum: round(sum(inFlight.seconds)) },
    throttled,
    throttledPerRun: sum(Object.values(throttled)) / expected,
    calls: stats.calls,
  };
}

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);
const round = (seconds: number): number => Math.round(seconds * 1000) / 1000;
/** The median, or 0 when nothing was measured (no execution, or no instance launched). */
export const medianOrZero = (values: readonly number[]): number => (values.length === 0 ? 0 : median(values));

/**
 * How many runs were in flight at once, at most, and for how long each was: an instance counts from
 * the moment its RunInstances request arrived until its TerminateInstances took effect (or until now,
 * when it never did). A run holds its slot a little longer on both sides (the slot steps themselves),
 * so at most `runSlots` of these windows can overlap.
 */
export function runsInFlight(
  instances: readonly InstanceSnapshot[],
  now = Date.now(),
): {
  peak: number;
  seconds: number[];
} {
  const windows = instances.map(({ truth }) => ({
    from: truth.requestedAt,
    to: truth.shuttingDownAt ?? truth.terminatedAt ?? now,
  }));
  // Ends sort before starts at the same instant: a slot given back and taken again is not an overlap.
  const edges = windows
    .flatMap(({ from, to }) => [
      { at: from, delta: 1 },
      { at: to, delta: -1 },
    ])
    .sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let peak = 0;
  for (const edge of edges) {
    current += edge.delta;
    peak = Math.max(peak, current);
  }
  return { peak, seconds: windows.map(({ from, to }) => (to - from) / 1000) };
}

/** The report without the per-benchmark details, for printing. */
export function loadSummary(report: LoadReport): Omit<LoadReport, "audits" | "outcomes"> {
  const { audits: _audits, outcomes: _outcomes, ...summary } = report;
  return summary;
}
