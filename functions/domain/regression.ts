/**
 * Whether one benchmark boots slower than another, and how sure that is: the one rule behind the
 * suites' alerts, the CLI's history and compare, and the report (issue 11). It compares counted, valid
 * runs, never medians alone: the shift of the per-run totals is the Hodges-Lehmann estimate with its
 * rank-based confidence interval, and a regression is a shift whose whole interval lies beyond both
 * thresholds, so that three noisy runs cannot alert and nine steady ones can. Timeouts and failures are
 * compared as counts (Fisher's exact test): an image that times out more often has regressed too, in
 * its own way. Pure.
 */
import { INTERVAL_LABELS, RUN_TOTAL_MEDIAN_LABEL } from "./figures.js";
import { INTERVAL_NAMES, type IntervalName } from "./integrity.js";
import { fisherExact, hodgesLehmannShift, type ShiftEstimate } from "./rank-tests.js";
import type { SummaryRecord } from "./run-record.js";
import { median } from "./statistics.js";
import type { RegressionThresholds } from "./suite-schema.js";

/** What a comparison needs of a benchmark: its counted runs' outcomes and valid values. */
export type BenchmarkSample = Pick<
  SummaryRecord,
  "countedRuns" | "countedFailedRuns" | "countedTimedOutRuns" | "countedValues"
>;

/** Whether a summary carries its sample: every summary written since samples were stored does. */
export function hasSample<T extends Partial<BenchmarkSample>>(summary: T): summary is T & BenchmarkSample {
  return (
    summary.countedValues !== undefined &&
    summary.countedFailedRuns !== undefined &&
    summary.countedTimedOutRuns !== undefined
  );
}

/**
 * Fewer counted, valid runs than this on either side and the verdict is "not enough runs". Four is
 * the least at which an exact 95 % interval exists at all (with 3 against 3 the widest interval the
 * pairwise differences give is only a 90 % one); five leaves the default nine runs room for marked
 * ones and still refuses a benchmark of a handful.
 */
export const MIN_COUNTED_RUNS = 5;
/** The confidence of every interval and the level of every test: 1 − 0.95 is the false-alarm rate. */
export const COMPARISON_CONFIDENCE = 0.95;

export type TimingVerdict = "slower" | "faster" | "no-change" | "not-enough-runs";

export interface IntervalShift extends ShiftEstimate {
  /** Median of the earlier and the later values (for the total: the median of per-run totals). */
  earlierMedian: number;
  laterMedian: number;
}

export interface CountComparison {
  earlier: number;
  earlierRuns: number;
  later: number;
  laterRuns: number;
  /** One-sided Fisher exact p that the later benchmark has the higher rate. */
  pGreater: number;
  /** More often in the later benchmark, beyond chance at the comparison's level. */
  regression: boolean;
}

export type RegressionKind = "boot-time" | "timeouts" | "failures";

export interface BenchmarkComparison {
  /** On the total (running to port open) of each run: the figure a regression is judged on. */
  timing: TimingVerdict;
  /** Why the verdict is "not enough runs", in words. */
  notEnoughRunsReason?: string;
  /** Per interval, where both benchmarks have at least one valid value of it. */
  shifts: Partial<Record<IntervalName, IntervalShift>>;
  timeouts: CountComparison;
  failures: CountComparison;
  /** Empty unless something regressed. */
  regressions: RegressionKind[];
  thresholds: RegressionThresholds;
}

function countComparison(
  earlierSample: BenchmarkSample,
  laterSample: BenchmarkSample,
  count: "countedTimedOutRuns" | "countedFailedRuns",
): CountComparison {
  const [earlier, earlierRuns] = [earlierSample[count], earlierSample.countedRuns];
  const [later, laterRuns] = [laterSample[count], laterSample.countedRuns];
  const pGreater =
    earlierRuns > 0 && laterRuns > 0 ? fisherExact(earlier, earlierRuns, later, laterRuns).pGreater : 1;
  return {
    earlier,
    earlierRuns,
    later,
    laterRuns,
    pGreater,
    regression: pGreater < 1 - COMPARISON_CONFIDENCE && later / laterRuns > earlier / earlierRuns,
  };
}

/** Whether the whole interval of the shift lies beyond both thresholds, in the given direction. */
function beyondThresholds(shift: IntervalShift, thresholds: RegressionThresholds, direction: 1 | -1) {
  const nearEnd = direction === 1 ? shift.low : -shift.high;
  return nearEnd > thresholds.absoluteSeconds && nearEnd > thresholds.relative * shift.earlierMedian;
}

/** How `later` compares with `earlier`; `later − earlier` throughout, so positive is slower. */
export function compareBenchmarks(
  earlier: BenchmarkSample,
  later: BenchmarkSample,
  thresholds: RegressionThresholds,
): BenchmarkComparison {
  const shifts: Partial<Record<IntervalName, IntervalShift>> = {};
  for (const name of INTERVAL_NAMES) {
    const before = earlier.countedValues[name] ?? [];
    const after = later.countedValues[name] ?? [];
    if (before.length === 0 || after.length === 0) continue;
    shifts[name] = {
      ...hodgesLehmannShift(before, after, COMPARISON_CONFIDENCE),
      earlierMedian: median(before),
      laterMedian: median(after),
    };
  }
  const totals = [earlier.countedValues.total?.length ?? 0, later.countedValues.total?.length ?? 0];
  const total = shifts.total;
  let timing: TimingVerdict;
  let notEnoughRunsReason: string | undefined;
  if (Math.min(...totals) < MIN_COUNTED_RUNS || total === undefined) {
    timing = "not-enough-runs";
    notEnoughRunsReason = `${totals[0]} against ${totals[1]} counted runs with a valid total; a comparison needs at least ${MIN_COUNTED_RUNS} on each side`;
  } else if (total.confidence < COMPARISON_CONFIDENCE) {
    timing = "not-enough-runs";
    notEnoughRunsReason = `${totals[0]} against ${totals[1]} runs give at most a ${percent(total.confidence)} interval`;
  } else if (beyondThresholds(total, thresholds, 1)) timing = "slower";
  else if (beyondThresholds(total, thresholds, -1)) timing = "faster";
  else timing = "no-change";

  const timeouts = countComparison(earlier, later, "countedTimedOutRuns");
  const failures = countComparison(earlier, later, "countedFailedRuns");
  const regressions: RegressionKind[] = [];
  if (timing === "slower") regressions.push("boot-time");
  if (timeouts.regression) regressions.push("timeouts");
  if (failures.regression) regressions.push("failures");
  return {
    timing,
    ...(notEnoughRunsReason !== undefined && { notEnoughRunsReason }),
    shifts,
    timeouts,
    failures,
    regressions,
    thresholds,
  };
}

// ---- a series: each image against the one before -------------------------------------------------
/** What a baseline candidate needs to say whether it can be one; summaries and digests both have it. */
export type BaselineCandidate = Pick<SummaryRecord, "benchmarkId" | "amiId" | "status"> &
  Partial<Pick<SummaryRecord, "comparabilityKey"> & BenchmarkSample>;

/**
 * Whether `candidate` can be the baseline of `current`: another image, measured the same way (one
 * comparability key, which also holds the integrity rules version), and with at least one counted run
 * that succeeded, so that a week in which every launch failed does not stand in for the last image's
 * boot time. Summaries without a sample or a key (written before either was stored) compare with
 * nothing. Which of the candidates is the one (the newest earlier one) is the caller's order.
 */
export const isComparableBaseline = (current: BaselineCandidate, candidate: BaselineCandidate): boolean =>
  candidate.amiId !== current.amiId && isControlBaseline(current, candidate);

/**
 * The same for a control (see platform drift below), whose baseline may be the very same AMI: a pinned
 * image is the best control there is, because only the platform can change its boot.
 */
export function isControlBaseline(current: BaselineCandidate, candidate: BaselineCandidate): boolean {
  return (
    candidate.benchmarkId !== current.benchmarkId &&
    current.comparabilityKey !== undefined &&
    candidate.comparabilityKey === current.comparabilityKey &&
    candidate.status === "succeeded" &&
    hasSample(current) &&
    hasSample(candidate)
  );
}

/** A comparison with the benchmark it was made against, as a summary item and a suite item store it. */
export interface SeriesComparison extends BenchmarkComparison {
  previousBenchmarkId: string;
  previousAmiId: string;
  previousImageName: string;
  previousStartedAt: string;
  /** Whether anything regressed (`regressions` is not empty). */
  regression: boolean;
}

type Baseline = BenchmarkSample &
  Pick<SummaryRecord, "benchmarkId" | "amiId" | "startedAt"> & {
    image: Pick<SummaryRecord["image"], "name">;
  };

export function compareWithPrevious(
  current: BenchmarkSample,
  previous: Baseline,
  thresholds: RegressionThresholds,
): SeriesComparison {
  const comparison = compareBenchmarks(previous, current, thresholds);
  return {
    previousBenchmarkId: previous.benchmarkId,
    previousAmiId: previous.amiId,
    previousImageName: previous.image.name,
    previousStartedAt: previous.startedAt,
    ...comparison,
    regression: comparison.regressions.length > 0,
  };
}

// ---- platform drift -----------------------------------------------------------------------------
/**
 * EC2 itself gets faster or slower from week to week. A control (a target of the suite benchmarked at
 * every run, ideally a pinned AMI) measures that: its change over the same weeks stands beside each
 * series' change on the same instance type, and a regression the control shows too is the platform's
 * more likely than the image's.
 */
export interface PlatformComparison {
  controlBenchmarkId: string;
  /** The control as the suite names it: an AMI id or an SSM parameter. */
  controlImage: string;
  controlAmiId: string;
  controlImageName: string;
  /** The control against its own baseline (isControlBaseline). */
  control: SeriesComparison;
  /** Every kind of regression the series shows, the control shows too. */
  drift: boolean;
}

export const isPlatformDrift = (series: BenchmarkComparison, control: BenchmarkComparison): boolean =>
  series.regressions.length > 0 && series.regressions.every((kind) => control.regressions.includes(kind));

/** How a compared benchmark is flagged: a regression, or platform drift (one its control showed too). */
export type RegressionFlag = "regression" | "drift";

/** The flag of a benchmark judged a regression (or not) beside its control's change, if one ran. */
export const regressionFlagOf = (
  regression: boolean,
  platform: PlatformComparison | undefined,
): RegressionFlag | undefined => (regression ? (platform?.drift ? "drift" : "regression") : undefined);

// ---- words ---------------------------------------------------------------------------------------
const percent = (fraction: number): string => `${Math.round(fraction * 1000) / 10} %`;
const magnitude = (value: number): string => Math.abs(value).toFixed(2);
const seconds = (value: number): string => `${magnitude(value)} s`;
const signed = (value: number): string => `${value < 0 ? "−" : ""}${magnitude(value)}`;

/** `p = 0.003`, `p < 0.001`: three decimals are all a reader uses. */
export const formatP = (p: number): string => (p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`);

/**
 * "slower by 1.80 s, 95 % CI 1.20 to 2.40 s, p = 0.003" for one interval's shift. The level named is
 * the one asked for: an exact interval covers at least that (`confidence` holds what it achieved).
 */
export function describeShift(shift: ShiftEstimate): string {
  const direction = shift.shift > 0 ? "slower" : shift.shift < 0 ? "faster" : "unchanged";
  const by = shift.shift === 0 ? "" : ` by ${seconds(shift.shift)}`;
  return (
    `${direction}${by}, ${percent(COMPARISON_CONFIDENCE)} CI ${signed(shift.low)} to ` +
    `${signed(shift.high)} s, ${formatP(shift.pValue)}`
  );
}

const countWords = (count: CountComparison, noun: string): string =>
  `${count.later} ${noun}${count.later === 1 ? "" : "s"} in ${count.laterRuns} runs against ` +
  `${count.earlier} in ${count.earlierRuns}` +
  (count.later === count.earlier && count.laterRuns === count.earlierRuns
    ? ""
    : ` (${formatP(count.pGreater).replace("p", "one-sided p")})`);

/**
 * The comparison in one line a person reads, the same in the CLI and in the alert: "slower by 1.80 s,
 * 95 % CI 1.20 to 2.40 s, p = 0.003; 2 timeouts in 9 runs against 0 in 9 (one-sided p = 0.235)".
 */
export function describeComparison(comparison: BenchmarkComparison): string {
  const parts: string[] = [];
  const total = comparison.shifts.total;
  if (comparison.timing === "not-enough-runs") {
    parts.push(`not enough runs (${comparison.notEnoughRunsReason})`);
  } else if (total) {
    parts.push(describeShift(total));
  }
  if (comparison.timeouts.later > 0 || comparison.timeouts.earlier > 0) {
    parts.push(countWords(comparison.timeouts, "timeout"));
  }
  if (comparison.failures.later > 0 || comparison.failures.earlier > 0) {
    parts.push(countWords(comparison.failures, "failed run"));
  }
  return parts.join("; ");
}

/**
 * The comparison as lines an alert's reader (and `compare`) goes through: the per-run totals' shift
 * with both medians, each other interval's shift, the counts, and the rule. Same words as above.
 */
export function comparisonDetails(comparison: BenchmarkComparison): string[] {
  const lines: string[] = [];
  const total = comparison.shifts.total;
  if (total) {
    lines.push(
      `per-run totals (running to port open): ${describeShift(total)}; ` +
        `${RUN_TOTAL_MEDIAN_LABEL} ${seconds(total.laterMedian)}, was ${seconds(total.earlierMedian)}`,
    );
  }
  if (comparison.timing === "not-enough-runs")
    lines.push(`not enough runs: ${comparison.notEnoughRunsReason}`);
  for (const name of INTERVAL_NAMES) {
    const shift = comparison.shifts[name];
    if (name === "total" || shift === undefined) continue;
    lines.push(`${INTERVAL_LABELS[name]}: ${describeShift(shift)}`);
  }
  lines.push(
    `timeouts: ${countWords(comparison.timeouts, "timeout")}`,
    `failures: ${countWords(comparison.failures, "failed run")}`,
    thresholdRule(comparison.thresholds),
  );
  return lines;
}

/** The rule in words, for notes under tables and at the end of an alert. */
export const thresholdRule = (thresholds: RegressionThresholds): string =>
  `A regression is a shift of the per-run totals whose whole ${percent(COMPARISON_CONFIDENCE)} CI lies above both ` +
  `${percent(thresholds.relative)} of the earlier ${RUN_TOTAL_MEDIAN_LABEL} and ${seconds(thresholds.absoluteSeconds)} ` +
  `(at least ${MIN_COUNTED_RUNS} counted runs with a total on each side, else "not enough runs"), or more ` +
  `timeouts or failures at one-sided Fisher p < ${(1 - COMPARISON_CONFIDENCE).toFixed(2)}.`;

/** The control's change beside a series', and what it means for the series' regression. */
export function describePlatform(platform: PlatformComparison): string {
  const meaning = platform.drift
    ? "it regressed the same way, so this is more likely the platform's (EC2's) change than the image's"
    : platform.control.regression
      ? "it regressed too, but not in every way the image did"
      : "it did not regress, so the platform is not the explanation";
  return (
    `control ${platform.controlImageName} (${platform.controlAmiId}): ` +
    `${describeComparison(platform.control)}; ${meaning}`
  );
}

/** The verdict in a word or three: what a table's column and an alert's subject say. */
export function verdictWords(comparison: BenchmarkComparison): string {
  if (comparison.regressions.length > 0) {
    return comparison.regressions
      .map((kind) => ({ "boot-time": "slower", timeouts: "more timeouts", failures: "more failures" })[kind])
      .join(", ");
  }
  return {
    slower: "slower",
    faster: "faster",
    "no-change": "no change",
    "not-enough-runs": "not enough runs",
  }[comparison.timing];
}
