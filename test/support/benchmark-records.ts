/**
 * Benchmarks as the pipeline records them, built through the real record builders (buildRunRecord,
 * buildSummaryRecord) from a compact description, for the query, CLI and report tests and the
 * results benchmark. Times are whole milliseconds, so intervals given in seconds come back exact.
 */
import type { BenchmarkSettings, ResolvedImage, RunState } from "../../functions/domain/contract.js";
import { ErrorNames } from "../../functions/domain/contract.js";
import {
  buildRunRecord,
  buildSummaryRecord,
  type RunRecord,
  type SummaryRecord,
} from "../../functions/domain/run-record.js";

/** A run that reached the open port, with its intervals in seconds; or how it went wrong. */
export type RunSpec =
  | { closed: number; open: number; pending?: number; api?: number; closedSeen?: boolean }
  | "failed"
  | "timeout-running"
  | "timeout-open";

export interface BenchmarkSpec {
  benchmarkId: string;
  /** ISO 8601 UTC, as Step Functions gives `$$.Execution.StartTime`. */
  startedAt: string;
  amiId: string;
  name: string;
  /** The SSM parameter the AMI was resolved from, if any. */
  series?: string;
  instanceType?: string;
  label?: string;
  /** Default true: run 0 is discarded. */
  discardFirst?: boolean;
  runs: RunSpec[];
}

export interface BenchmarkRecords {
  summary: SummaryRecord;
  runs: RunRecord[];
}

const RUN_SPACING_MS = 60_000;

export function benchmarkRecords(spec: BenchmarkSpec): BenchmarkRecords {
  const image: ResolvedImage = {
    amiId: spec.amiId,
    name: spec.name,
    architecture: "x86_64",
    bootMode: "uefi-preferred",
    ...(spec.series !== undefined && { sourceParameter: spec.series }),
  };
  const settings: BenchmarkSettings = {
    image: spec.series ?? spec.amiId,
    instanceType: spec.instanceType ?? "c7i.large",
    runs: spec.runs.length,
    discardFirst: spec.discardFirst ?? true,
    port: 22,
    probeIntervalMs: 10,
    runningTimeoutSeconds: 120,
    openTimeoutSeconds: 600,
    concurrency: 1,
    ...(spec.label !== undefined && { label: spec.label }),
  };
  const benchmark = {
    benchmarkId: spec.benchmarkId,
    executionId: `arn:aws:states:us-east-1:123456789012:execution:BootBench:${spec.benchmarkId}`,
    startedAt: spec.startedAt,
  };
  const startMs = Date.parse(spec.startedAt);
  const runs = spec.runs.map((run, runIndex) =>
    buildRunRecord(
      runState({ benchmark, settings, image }, runIndex, startMs + runIndex * RUN_SPACING_MS, run),
    ),
  );
  return { summary: buildSummaryRecord({ benchmark, settings, image }, runs), runs };
}

function runState(
  context: Pick<RunState, "benchmark" | "settings" | "image">,
  runIndex: number,
  launchAt: number,
  spec: RunSpec,
): RunState {
  const clientToken = `${context.benchmark.benchmarkId}-run${String(runIndex).padStart(4, "0")}`;
  const instanceId = `i-${context.benchmark.benchmarkId.replace(/[^a-z0-9]/gi, "").slice(0, 12)}${runIndex}`;
  const base: RunState = { ...context, run: { runIndex, clientToken } };
  if (spec === "failed") {
    return {
      ...base,
      failure: {
        Error: "InsufficientInstanceCapacity",
        Cause: "We currently do not have sufficient capacity.",
      },
      termination: { terminatedInstanceIds: [] },
    };
  }
  if (spec === "timeout-running") {
    return {
      ...base,
      failure: { Error: ErrorNames.runningTimeout },
      termination: { terminatedInstanceIds: [] },
    };
  }
  const timing = spec === "timeout-open" ? { closed: 5, open: 0, pending: 6.9, api: 1.5 } : spec;
  const respondedAt = launchAt + Math.round((timing.api ?? 1.5) * 1000);
  const runningAt = respondedAt + Math.round((timing.pending ?? 6.9) * 1000);
  const closedAt = runningAt + Math.round(timing.closed * 1000);
  const openAt = closedAt + Math.round(timing.open * 1000);
  const closedSeen = spec === "timeout-open" || spec.closedSeen !== false;
  return {
    ...base,
    launch: {
      instanceId,
      privateIp: "10.0.1.23",
      privateIpSource: "runInstances",
      privateIpAt: respondedAt,
      clientToken,
      launchRequestedAt: launchAt,
      launchRespondedAt: respondedAt,
      earlierLaunchSends: 0,
    },
    // Brackets of one poll beat (100 ms) and one probe interval (10 ms): every interval is valid.
    observation: [
      {
        runningAt,
        runningNotBefore: runningAt - 100,
        pollStartedAt: respondedAt + 1,
        privateIp: "10.0.1.23",
        describeCalls: 100,
        throttledCalls: 0,
        notFoundCalls: 1,
        abandonedCalls: 0,
      },
      {
        status: spec === "timeout-open" ? "timeout" : "open",
        probeStartedAt: respondedAt + 1,
        ...(closedSeen && { closedNotBefore: closedAt - 10, firstClosedAt: closedAt }),
        ...(spec !== "timeout-open" && { openNotBefore: openAt - 10, firstOpenAt: openAt }),
        probeEndedAt: openAt + 1,
        attempts: 1000,
        unanswered: 500,
        refused: 400,
        connected: spec === "timeout-open" ? 0 : 1,
        otherErrors: 0,
      },
    ],
    termination: { terminatedInstanceIds: [instanceId] },
  };
}

/** Ten runs in the published style: run 0 slow (discarded), nine around the given intervals. */
export function tenRuns(closed: number, open: number): RunSpec[] {
  // Counted runs' offsets have median 0, so the medians are exactly the given intervals.
  const wobble = [0, -0.04, 0.02, 0.05, -0.01, 0.03, -0.02, 0, 0.04, -0.05];
  return wobble.map((w, i) =>
    i === 0 ? { closed: closed + 3, open: open + 1 } : { closed: closed + w, open: open - w / 2 },
  );
}
