/**
 * What boot-bench tells CloudWatch: the namespace, the names of its metrics and dimensions, and which
 * figures of a run become metrics. The steps emit them as embedded metric format records (Powertools
 * Metrics, functions/shared/observability.ts); the stack's dashboard and alarms (infra/constructs/
 * observability.ts) read them by these names, so neither spells one out again.
 */
import { seriesOf } from "./comparability.js";
import {
  BOUNDARIES,
  type Boundary,
  INTERVAL_NAMES,
  type IntervalName,
  isValidInterval,
} from "./integrity.js";
import type { RunRecord } from "./run-record.js";
import type { SuiteBenchmarkOutcome, SuiteRef } from "./suite.js";

export const METRICS_NAMESPACE = "BootBench";
/** Powertools' `service`: a dimension of every boot-bench metric, the same in every function. */
export const SERVICE_NAME = "boot-bench";
export const SERVICE_DIMENSION = "service";

/** The dimensions of a run's record, besides `service`: what a series of comparable numbers is. */
export const RUN_DIMENSIONS = ["Series", "InstanceType"] as const;
export type RunDimension = (typeof RUN_DIMENSIONS)[number];

export type MetricUnitName = "Seconds" | "Milliseconds" | "Count";

export interface MetricValue {
  name: string;
  unit: MetricUnitName;
  value: number;
}

/** One EMF record: one dimension set, its metrics, and searchable metadata that is not a dimension. */
export interface MetricRecord {
  dimensions: Record<string, string>;
  metrics: MetricValue[];
  metadata: Record<string, string | number>;
}

/**
 * The interval metrics carry the interval names the run items use (`total`, `pendingToRunning`, ...),
 * in seconds, as the items and the CLI give them.
 */
export const INTERVAL_METRICS: readonly IntervalName[] = INTERVAL_NAMES;

export const bracketWidthMetric = (boundary: Boundary): string => `${boundary}BracketWidth`;

/** Counts, one record per run: each is 0 or 1 but `throttledCalls` and `untrustedIntervals`. */
export const RUN_COUNT_METRICS = {
  runs: "runs",
  failedRuns: "failedRuns",
  timedOutRuns: "timedOutRuns",
  /** DescribeInstances calls of the run's poll answered RequestLimitExceeded. */
  throttledCalls: "throttledCalls",
  /** Intervals of a succeeded, counted run that integrity judged not trustworthy: never a metric. */
  untrustedIntervals: "untrustedIntervals",
} as const;

/** The sweeper's record, one per sweep, dimension `service` only. */
export const SWEEP_METRICS = {
  /** Instances older than the bound: each one is an instance the pipeline failed to terminate. */
  instancesExpired: "instancesExpired",
  instancesSwept: "instancesSwept",
  /**
   * The stack's key pairs older than the bound that the sweeper deleted: each one a benchmark's key
   * whose own delete failed or whose execution was stopped. Not alarmed: a key pair costs nothing.
   */
  keyPairsDeleted: "keyPairsDeleted",
  /** Instances it could not terminate and key pairs it could not delete (or list). */
  sweepFailures: "sweepFailures",
} as const;

/** SummariseSuite's record, one per regression alert it sends ({@link regressionMetricRecord}). */
export const SUITE_METRICS = {
  regressions: "regressions",
} as const;

/**
 * A run's EMF record. Only a counted, succeeded run's intervals are metrics, and of those only the ones
 * integrity judged valid: an untrusted number is counted as such and never graphed as if it were fine,
 * and the discarded first run stays out of the boot-time graphs as it stays out of the medians.
 * Bracket widths are given for every boundary the run bounded; failures and timeouts as counts.
 */
export function runMetricRecord(record: RunRecord): MetricRecord {
  const count = (name: string, value: number): MetricValue => ({ name, unit: "Count", value });
  const metrics: MetricValue[] = [
    count(RUN_COUNT_METRICS.runs, 1),
    count(RUN_COUNT_METRICS.failedRuns, record.status === "failed" ? 1 : 0),
    count(RUN_COUNT_METRICS.timedOutRuns, record.status === "timeout" ? 1 : 0),
    count(RUN_COUNT_METRICS.throttledCalls, record.poll?.throttledCalls ?? 0),
  ];
  if (record.intervals !== undefined && record.counted) {
    const trusted = INTERVAL_METRICS.filter((name) => isValidInterval(record.integrity, name));
    for (const name of trusted) {
      metrics.push({ name, unit: "Seconds", value: record.intervals[name] });
    }
    metrics.push(count(RUN_COUNT_METRICS.untrustedIntervals, INTERVAL_METRICS.length - trusted.length));
  }
  for (const boundary of BOUNDARIES) {
    const widthMs = record.integrity.brackets[boundary]?.widthMs;
    if (widthMs !== undefined) {
      metrics.push({ name: bracketWidthMetric(boundary), unit: "Milliseconds", value: widthMs });
    }
  }
  const dimensions: Record<RunDimension, string> = {
    Series: seriesOf(record.image),
    InstanceType: record.instanceType,
  };
  const metadata: Record<string, string | number> = {
    benchmarkId: record.benchmarkId,
    runIndex: record.runIndex,
    status: record.status,
    amiId: record.image.amiId,
  };
  if (record.instanceId !== undefined) metadata.instanceId = record.instanceId;
  return { dimensions, metrics, metadata };
}

/**
 * The record of one regression alert, by the invocation that sent it: `service` is its only dimension,
 * so that one alarm watches every suite; which benchmark regressed is in its metadata.
 */
export function regressionMetricRecord(
  suite: Pick<SuiteRef, "name" | "suiteRunId">,
  outcome: Pick<
    SuiteBenchmarkOutcome,
    "benchmarkId" | "amiId" | "instanceType" | "image" | "sourceParameter"
  >,
): MetricRecord {
  return {
    dimensions: {},
    metrics: [{ name: SUITE_METRICS.regressions, unit: "Count", value: 1 }],
    metadata: {
      suite: suite.name,
      suiteRunId: suite.suiteRunId,
      benchmarkId: outcome.benchmarkId,
      series: seriesOf(outcome),
      amiId: outcome.amiId,
      instanceType: outcome.instanceType,
    },
  };
}
