/**
 * Many benchmarks started at once on the local cloud, with EC2 throttling on: do they all finish, and
 * is every run recorded exactly once with no instance left running? Used by `npm run load` (50 at
 * once) and by test/e2e/load.test.ts (a smaller batch). Counts come from the local EC2 and the table.
 */
import { randomUUID } from "node:crypto";
import { benchmarkIdFor } from "../functions/domain/benchmark-identity.js";
import type { BenchmarkInput } from "../functions/domain/input-schema.js";
import { auditBenchmark, type BenchmarkAudit, isAlive } from "./audit.js";
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

export interface LoadReport {
  benchmarks: number;
  runsPerBenchmark: number;
  seconds: number;
  executions: Record<string, number>;
  runs: {
    expected: number;
    recorded: number;
    lost: number;
    duplicated: number;
    byStatus: Record<string, number>;
  };
  instances: { launched: number; leftRunning: number };
  /** RequestLimitExceeded answers per EC2 action. */
  throttled: Record<string, number>;
  /** Calls per EC2 action. */
  calls: Record<string, number>;
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
    const stats = cloud.stats();
    const durations = outcomes
      .map((o) => (Date.parse(o.stoppedAt) - Date.parse(o.startedAt)) / 1000)
      .sort((a, b) => a - b);
    const runs = audits.flatMap((audit) => audit.runs);
    return {
      benchmarks: options.benchmarks,
      runsPerBenchmark: options.runsPerBenchmark,
      seconds,
      executions: count(outcomes, (o) => (o.error ? `${o.status} ${o.error}` : o.status)),
      runs: {
        expected: options.benchmarks * options.runsPerBenchmark,
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
      throttled: Object.fromEntries(
        Object.entries(stats.errors).flatMap(([action, errors]) =>
          errors.RequestLimitExceeded ? [[action, errors.RequestLimitExceeded]] : [],
        ),
      ),
      calls: stats.calls,
      executionSeconds: {
        median: durations[Math.floor(durations.length / 2)] ?? 0,
        max: durations.at(-1) ?? 0,
      },
      audits,
      outcomes,
    };
  } finally {
    cloud.faults.clear();
  }
}

/** The report without the per-benchmark details, for printing. */
export function loadSummary(report: LoadReport): Omit<LoadReport, "audits" | "outcomes"> {
  const { audits: _audits, outcomes: _outcomes, ...summary } = report;
  return summary;
}
