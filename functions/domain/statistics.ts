import type { IntervalSeconds, RunStatus } from "./contract.js";
import { INTERVAL_NAMES, isValidInterval, type RunIntegrity } from "./integrity.js";

/** Distribution of one interval over a benchmark's counted successful runs, in seconds. */
export interface SampleStatistics {
  count: number;
  median: number;
  min: number;
  max: number;
  mean: number;
  /** 90th percentile by the nearest-rank method. */
  p90: number;
  /** Median absolute deviation from the median, unscaled. */
  mad: number;
}

export type IntervalStatistics = Record<keyof IntervalSeconds, SampleStatistics>;

// A statistic of nothing has no value; returning NaN or 0 would end up in a published table.
const requireValues = (values: readonly number[]): void => {
  if (values.length === 0) throw new RangeError("statistics of an empty sample are undefined");
};

const sortedCopy = (values: readonly number[]): number[] => {
  requireValues(values);
  return [...values].sort((a, b) => a - b);
};

// Callers have checked the array is non-empty and the index within it.
const at = (sorted: readonly number[], index: number): number => sorted[index] as number;

/** Middle value; for an even count, the mean of the two middle values. Throws on an empty array. */
export function median(values: readonly number[]): number {
  const sorted = sortedCopy(values);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? at(sorted, mid) : (at(sorted, mid - 1) + at(sorted, mid)) / 2;
}

export function min(values: readonly number[]): number {
  return at(sortedCopy(values), 0);
}

export function max(values: readonly number[]): number {
  const sorted = sortedCopy(values);
  return at(sorted, sorted.length - 1);
}

export function mean(values: readonly number[]): number {
  requireValues(values);
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/**
 * Nearest-rank percentile: the smallest value with at least p% of the values at or below it, so it is
 * always an observed boot, never an interpolation between two. With the usual 9 counted runs, p90 is
 * the slowest run.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const sorted = sortedCopy(values);
  const rank = Math.ceil((p / 100) * sorted.length);
  return at(sorted, rank - 1);
}

/**
 * Median of the absolute deviations from the median. Unscaled (no 1.4826 factor): it is reported as a
 * spread in seconds, not as an estimate of a normal distribution's standard deviation.
 */
export function medianAbsoluteDeviation(values: readonly number[]): number {
  const centre = median(values);
  return median(values.map((value) => Math.abs(value - centre)));
}

/** All statistics of one sample, or undefined for an empty one. */
export function describeSample(values: readonly number[]): SampleStatistics | undefined {
  if (values.length === 0) return undefined;
  return {
    count: values.length,
    median: median(values),
    min: min(values),
    max: max(values),
    mean: mean(values),
    p90: percentile(values, 90),
    mad: medianAbsoluteDeviation(values),
  };
}

/**
 * A box-and-whisker summary: the quartiles by the same nearest-rank percentile as p90 (so every edge is
 * an observed boot), and the whiskers at the extremes, not at 1.5 IQR: with ten runs there is no
 * "outlier" to hide. Undefined for an empty sample.
 */
export interface BoxSummary {
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
}

export function boxSummary(values: readonly number[]): BoxSummary | undefined {
  if (values.length === 0) return undefined;
  return {
    min: min(values),
    q1: percentile(values, 25),
    median: median(values),
    q3: percentile(values, 75),
    max: max(values),
  };
}

/** The parts of a run record the statistics need. */
export interface RunSample {
  counted: boolean;
  status: RunStatus;
  intervals?: IntervalSeconds;
  integrity?: Pick<RunIntegrity, "verdicts">;
}

/** A counted run that succeeded with its intervals: the only runs whose values the statistics may use. */
export const isCountedSuccess = <Run extends RunSample>(
  run: Run,
): run is Run & { intervals: IntervalSeconds } =>
  run.counted && run.status === "succeeded" && run.intervals !== undefined;

/** A counted successful run's interval, when its integrity verdict lets it count. */
const countableValue = (run: RunSample, name: keyof IntervalSeconds): number[] =>
  isCountedSuccess(run) && isValidInterval(run.integrity, name) ? [run.intervals[name]] : [];

/**
 * Statistics per interval over the counted successful runs whose interval is valid (the discarded first
 * run, runs that failed or timed out, and intervals marked invalid contribute nothing), so each
 * interval may have its own count. Undefined when no interval of any run can be counted; an interval
 * with no valid value is absent.
 */
export const summariseIntervals = (runs: readonly RunSample[]): Partial<IntervalStatistics> | undefined =>
  describeIntervals(countedValues(runs));

/** Statistics of each interval's values (countedValues); undefined when there are none. */
export function describeIntervals(
  values: Partial<Record<keyof IntervalSeconds, number[]>>,
): Partial<IntervalStatistics> | undefined {
  const statistics: Partial<IntervalStatistics> = {};
  for (const [name, sample] of Object.entries(values)) {
    const described = describeSample(sample);
    if (described) statistics[name as keyof IntervalSeconds] = described;
  }
  return Object.keys(statistics).length > 0 ? statistics : undefined;
}

/** Each interval's countable values (see summariseIntervals), in run order; an interval with none is absent. */
export function countedValues(runs: readonly RunSample[]): Partial<Record<keyof IntervalSeconds, number[]>> {
  const values: Partial<Record<keyof IntervalSeconds, number[]>> = {};
  for (const name of INTERVAL_NAMES) {
    const sample = runs.flatMap((run) => countableValue(run, name));
    if (sample.length > 0) values[name] = sample;
  }
  return values;
}
