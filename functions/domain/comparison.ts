/**
 * Choosing which benchmarks to compare and how a series changed: the rules behind the results table,
 * the history of an SSM parameter and the report. Pure; which benchmarks are comparable is
 * comparability.ts, how two compare is regression.ts.
 */
import type { ResolvedImage } from "./contract.js";
import { compareWithPrevious, hasSample, isComparableBaseline, type SeriesComparison } from "./regression.js";
import type { SummaryRecord } from "./run-record.js";
import type { IntervalStatistics } from "./statistics.js";
import type { RegressionThresholds } from "./suite-schema.js";

/**
 * What comparing benchmarks needs of a summary: everything but its settings, its execution and the
 * spread of the intervals other than the total. Reading only this much makes a table of a thousand
 * benchmarks about twice as fast to fetch; a whole SummaryRecord is one too.
 */
export type SummaryDigest = Pick<
  SummaryRecord,
  | "benchmarkId"
  | "amiId"
  | "sourceParameter"
  | "startedAt"
  | "status"
  | "instanceType"
  | "label"
  | "runs"
  | "countedRuns"
  | "succeededRuns"
  | "failedRuns"
  | "timedOutRuns"
  | "countedSucceededRuns"
  | "medians"
> &
  /** The sample and the key; absent in summaries written before they were stored (issue 11). */
  Partial<
    Pick<
      SummaryRecord,
      "countedFailedRuns" | "countedTimedOutRuns" | "countedValues" | "comparability" | "comparabilityKey"
    >
  > & {
    /** Marked runs and bracket widths; absent in summaries written before integrity was judged. */
    integrity?: SummaryRecord["integrity"];
    platform?: SummaryRecord["platform"];
    image: Pick<ResolvedImage, "amiId" | "name" | "architecture" | "bootMode" | "sourceParameter">;
    statistics?: Pick<Partial<IntervalStatistics>, "total">;
  };

/** The attribute paths of a SummaryDigest, for a DynamoDB ProjectionExpression. */
export const SUMMARY_DIGEST_PATHS: readonly string[] = [
  "benchmarkId",
  "amiId",
  "sourceParameter",
  "startedAt",
  "status",
  "instanceType",
  "label",
  "runs",
  "countedRuns",
  "succeededRuns",
  "failedRuns",
  "timedOutRuns",
  "countedSucceededRuns",
  "medians",
  "image.amiId",
  "image.name",
  "image.architecture",
  "image.bootMode",
  "image.sourceParameter",
  "statistics.total",
  "integrity",
  "countedFailedRuns",
  "countedTimedOutRuns",
  "countedValues",
  "comparability",
  "comparabilityKey",
  "platform",
];

/**
 * The group of benchmarks whose numbers may be compared: the comparability key. A summary written
 * before keys were stored has none; those group by instance type and label as they used to, and are
 * never compared (isComparableBaseline needs a key).
 */
export const comparabilityGroup = (summary: SummaryDigest): string =>
  summary.comparabilityKey ?? JSON.stringify(["unkeyed", summary.instanceType, summary.label ?? null]);

/** Benchmarks of one AMI in one comparability group measure the same thing: one stands for them all. */
export const configurationKey = (summary: SummaryDigest): string =>
  JSON.stringify([summary.amiId, comparabilityGroup(summary)]);

const hasTotal = (summary: SummaryDigest): boolean => summary.medians?.total !== undefined;

const newerFirst = (a: SummaryDigest, b: SummaryDigest): number =>
  a.startedAt === b.startedAt
    ? b.benchmarkId.localeCompare(a.benchmarkId)
    : a.startedAt < b.startedAt
      ? 1
      : -1;

/**
 * The benchmark that stands for its configuration: the newest one that produced statistics. A newer
 * benchmark in which every counted run failed (no capacity, a broken subnet) says nothing about the
 * image's boot time, so it does not hide the last measurement; with no measurement at all, the newest
 * benchmark is shown so its failures are.
 */
export function representativeBenchmark<T extends SummaryDigest>(candidates: readonly T[]): T | undefined {
  const newestFirst = [...candidates].sort(newerFirst);
  return newestFirst.find(hasTotal) ?? newestFirst[0];
}

export interface LatestSelection<T extends SummaryDigest = SummaryDigest> {
  /** One benchmark per configuration, in the order their configurations first appear in the input. */
  chosen: T[];
  /** Benchmarks left out because another benchmark of the same configuration was chosen. */
  superseded: number;
}

export function latestPerConfiguration<T extends SummaryDigest>(summaries: readonly T[]): LatestSelection<T> {
  const groups = groupBy(summaries, configurationKey);
  const chosen: T[] = [];
  for (const group of groups.values()) {
    const representative = representativeBenchmark(group);
    if (representative) chosen.push(representative);
  }
  return { chosen, superseded: summaries.length - chosen.length };
}

/** Comparison table order: fastest total first, benchmarks without a total last, then by name. */
export function byTotal(a: SummaryDigest, b: SummaryDigest): number {
  const totalA = a.medians?.total ?? Number.POSITIVE_INFINITY;
  const totalB = b.medians?.total ?? Number.POSITIVE_INFINITY;
  if (totalA !== totalB) return totalA < totalB ? -1 : 1;
  return a.image.name.localeCompare(b.image.name) || a.instanceType.localeCompare(b.instanceType);
}

// ---- history of a series ---------------------------------------------------------------------
export interface HistoryEntry<T extends SummaryDigest = SummaryDigest> {
  /** The benchmark that stands for this AMI (see representativeBenchmark). */
  summary: T;
  /** How many benchmarks of this AMI the series holds for this instance type and label. */
  benchmarks: number;
  /** When the series first pointed at this AMI, as far as the benchmarks tell. */
  firstBenchmarkedAt: string;
  /** The earlier AMI this one is compared with: the nearest one before it that can be a baseline. */
  comparedWith?: T;
  comparison?: SeriesComparison;
  /** Whether the comparison found a regression of any kind. */
  regression: boolean;
}

export interface SeriesHistory<T extends SummaryDigest = SummaryDigest> {
  instanceType: string;
  label?: string;
  /** The group's comparability key; absent for summaries written before keys were stored. */
  comparabilityKey?: string;
  /** Oldest AMI first. */
  entries: HistoryEntry<T>[];
}

/**
 * One entry per AMI published under a series, oldest first, each compared with the nearest earlier AMI
 * that can be its baseline (isComparableBaseline), by the one rule (regression.ts). Benchmarks of
 * different comparability keys are different series of numbers, so each key gets its own history.
 *
 * AMIs are ordered by their first benchmark rather than by the image's creation date: a series is
 * benchmarked on a schedule while its parameter points at an AMI, so the first benchmark dates the
 * AMI's turn in the series, and every benchmark has a start time while not every image has a date.
 */
export function seriesHistory<T extends SummaryDigest>(
  summaries: readonly T[],
  thresholds: RegressionThresholds,
): SeriesHistory<T>[] {
  const bySetup = groupBy(summaries, comparabilityGroup);
  const histories: SeriesHistory<T>[] = [];
  for (const setup of bySetup.values()) {
    const first = setup[0] as T;
    const entries: HistoryEntry<T>[] = [];
    for (const benchmarks of groupBy(setup, (s) => s.amiId).values()) {
      const summary = representativeBenchmark(benchmarks) as T;
      // ISO 8601 UTC strings sort as the times they stand for.
      const firstBenchmarkedAt = benchmarks.map((s) => s.startedAt).sort()[0] as string;
      entries.push({ summary, benchmarks: benchmarks.length, firstBenchmarkedAt, regression: false });
    }
    entries.sort((a, b) =>
      a.firstBenchmarkedAt === b.firstBenchmarkedAt
        ? a.summary.amiId.localeCompare(b.summary.amiId)
        : a.firstBenchmarkedAt < b.firstBenchmarkedAt
          ? -1
          : 1,
    );
    entries.forEach((entry, index) => {
      const current = entry.summary;
      if (current.countedRuns === 0) return;
      const baseline = entries
        .slice(0, index)
        .findLast((earlier) => isComparableBaseline(current, earlier.summary))?.summary;
      // isComparableBaseline has checked the samples too; hasSample says so to the compiler.
      if (baseline === undefined || !hasSample(current) || !hasSample(baseline)) return;
      const comparison = compareWithPrevious(current, baseline, thresholds);
      entry.comparedWith = baseline;
      entry.comparison = comparison;
      entry.regression = comparison.regression;
    });
    histories.push({
      instanceType: first.instanceType,
      ...(first.label !== undefined && { label: first.label }),
      ...(first.comparabilityKey !== undefined && { comparabilityKey: first.comparabilityKey }),
      entries,
    });
  }
  return histories.sort(
    (a, b) =>
      a.instanceType.localeCompare(b.instanceType) ||
      (a.label ?? "").localeCompare(b.label ?? "") ||
      (a.comparabilityKey ?? "").localeCompare(b.comparabilityKey ?? ""),
  );
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
