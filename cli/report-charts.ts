/**
 * What the report's charts draw, computed here rather than in the page so that it is tested without a
 * browser: the page's script only hands these arrays to Chart.js. Pure.
 */
import type { HistoryEntry, SeriesHistory, SummaryDigest } from "../functions/domain/comparison.js";
import { type GuestSpan, guestBootSpans } from "../functions/domain/guest-timings.js";
import {
  INTERVAL_NAMES,
  type IntervalName,
  invalidatingMarks,
  isValidInterval,
} from "../functions/domain/integrity.js";
import {
  describeShift,
  type RegressionFlag,
  regressionFlagOf,
  type SeriesComparison,
  verdictWords,
} from "../functions/domain/regression.js";
import type { RunRecord } from "../functions/domain/run-record.js";
import { type BoxSummary, boxSummary, isCountedSuccess } from "../functions/domain/statistics.js";
import { historySubject } from "./results-view.js";

export interface SeriesReport {
  sourceParameter: string;
  histories: SeriesHistory<SummaryDigest>[];
}

/** A compared benchmark (one with marked runs, or with guest timings), and every one of its runs. */
export interface BenchmarkRuns {
  summary: SummaryDigest;
  /** In run order. */
  runs: RunRecord[];
}

/** What the charts are drawn from (a part of the report's model). */
export interface ChartSources {
  /** One benchmark per AMI, instance type and label, fastest first. */
  comparison: SummaryDigest[];
  series: SeriesReport[];
  /** The compared benchmarks with marked runs whose runs were read. */
  markedBenchmarks: BenchmarkRuns[];
  /** The compared benchmarks with guest timings whose runs were read. */
  guestBenchmarks: BenchmarkRuns[];
}

/** A chart of a thousand rows is a texture, not a picture; the table below it has every row. */
export const MAX_CHART_ROWS = 150;

export const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];
/** A point flagged REGRESSION. */
export const REGRESSION_COLOUR = "#d62728";
/** A point flagged PLATFORM DRIFT: a regression its control showed too. */
export const DRIFT_COLOUR = "#6a3d9a";
/** The control's own change, beside each series' change. */
export const CONTROL_COLOUR = "#525252";

// ---- runs per image -----------------------------------------------------------------------------
/** One run's value drawn on its own: a marked run's, or a value a mark excluded. */
export interface RunPoint {
  /** Seconds. */
  x: number;
  /** The image's row: its label on the category axis. */
  y: string;
  runIndex: number;
  marks: string[];
}

/** One image's counted values of one interval. */
export interface ImageBox extends BoxSummary {
  /** The values of runs without an invalidating mark: drawn as the box's points. */
  items: number[];
  /** The valid values of marked runs: in the box, drawn apart. */
  marked: RunPoint[];
  /** The values a mark invalidated: outside the box and every statistic, drawn apart. */
  excluded: RunPoint[];
}

export interface BoxChartData {
  /**
   * Per image row: its name, then the runs that ended without an open port (they have no value to
   * draw), and whether marked runs could not be told apart (their runs were not read, beyond the cap).
   */
  labels: string[];
  /** Per row: whether some of its runs timed out or failed (its label is drawn in red). */
  unfinished: boolean[];
  /** Per interval, per row; null when the image has no valid value of it (or no stored sample). */
  boxes: Record<IntervalName, (ImageBox | null)[]>;
}

/** Row labels: the image's name, plus instance type and label when the benchmarks differ in them. */
export function benchmarkLabeller(summaries: readonly SummaryDigest[]): (s: SummaryDigest) => string {
  const several = (values: (string | undefined)[]) => new Set(values).size > 1;
  const showType = several(summaries.map((s) => s.instanceType));
  const showLabel = summaries.some((s) => s.label !== undefined);
  return (s) =>
    [s.image.name, showType ? s.instanceType : undefined, showLabel ? s.label : undefined]
      .filter((part) => part !== undefined)
      .join(" · ");
}

function imageBox(
  summary: SummaryDigest,
  interval: IntervalName,
  rowLabel: string,
  runs: readonly RunRecord[] | undefined,
): ImageBox | null {
  const values = summary.countedValues?.[interval] ?? [];
  const box = boxSummary(values);
  if (box === undefined) return null;
  if (runs === undefined) return { ...box, items: values, marked: [], excluded: [] };
  const result: ImageBox = { ...box, items: [], marked: [], excluded: [] };
  for (const run of runs.filter(isCountedSuccess)) {
    const value = run.intervals[interval];
    const marks = invalidatingMarks(run.integrity).map((mark) => mark.name);
    const point = { x: value, y: rowLabel, runIndex: run.runIndex, marks };
    if (!isValidInterval(run.integrity, interval)) result.excluded.push(point);
    else if (marks.length > 0) result.marked.push(point);
    else result.items.push(value);
  }
  return result;
}

function boxChartData(sources: ChartSources): BoxChartData {
  const rows = sources.comparison.filter((s) => s.medians !== undefined).slice(0, MAX_CHART_ROWS);
  const label = benchmarkLabeller(rows);
  const runsOf = new Map(sources.markedBenchmarks.map((b) => [b.summary.benchmarkId, b.runs]));
  const hasMarkedRuns = (s: SummaryDigest) => (s.integrity?.markedRuns ?? 0) > 0;
  const rowLabel = (s: SummaryDigest): string => {
    const notes = [
      s.timedOutRuns > 0 ? `${s.timedOutRuns} timed out` : "",
      s.failedRuns > 0 ? `${s.failedRuns} failed` : "",
      hasMarkedRuns(s) && !runsOf.has(s.benchmarkId) ? "marked runs not told apart" : "",
      s.countedValues === undefined ? "no per-run values stored" : "",
    ].filter((note) => note !== "");
    return notes.length > 0 ? `${label(s)} (${notes.join(", ")})` : label(s);
  };
  const labels = rows.map(rowLabel);
  return {
    labels,
    unfinished: rows.map((s) => s.timedOutRuns + s.failedRuns > 0),
    boxes: Object.fromEntries(
      INTERVAL_NAMES.map((interval) => [
        interval,
        // Only a benchmark with marked runs is split run by run; every other value is an unmarked point.
        rows.map((s, row) =>
          imageBox(
            s,
            interval,
            labels[row] as string,
            hasMarkedRuns(s) ? runsOf.get(s.benchmarkId) : undefined,
          ),
        ),
      ]),
    ) as Record<IntervalName, (ImageBox | null)[]>,
  };
}

// ---- the runs of benchmarks with marked runs ------------------------------------------------------
/** The intervals a run's bar stacks, from the RunInstances response to the open port. */
export const RUN_BAR_INTERVALS = ["pendingToRunning", "runningToPortClosed", "portClosedToOpen"] as const;
export type RunBarInterval = (typeof RUN_BAR_INTERVALS)[number];

/**
 * One stacked bar per counted succeeded run of the marked benchmarks. Each interval is in `valid` or,
 * when a mark invalidates it, in `excluded` (drawn grey, apart), never both: an invalid interval is
 * never drawn as a measurement.
 */
export interface RunBarData {
  labels: string[];
  valid: Record<RunBarInterval, (number | null)[]>;
  excluded: Record<RunBarInterval, (number | null)[]>;
  /** Per bar, the names of the run's marks that invalidate an interval. */
  marks: string[][];
}

function runBarData(marked: readonly BenchmarkRuns[]): RunBarData {
  const label = benchmarkLabeller(marked.map((benchmark) => benchmark.summary));
  const bars = marked
    .flatMap(({ summary, runs }) => runs.filter(isCountedSuccess).map((run) => ({ summary, run })))
    .slice(0, MAX_CHART_ROWS);
  const column = (pick: (run: RunRecord, interval: RunBarInterval) => number | null) =>
    Object.fromEntries(
      RUN_BAR_INTERVALS.map((interval) => [interval, bars.map(({ run }) => pick(run, interval))]),
    ) as Record<RunBarInterval, (number | null)[]>;
  const value = (run: RunRecord, interval: RunBarInterval): number => run.intervals?.[interval] ?? 0;
  return {
    labels: bars.map(({ summary, run }) => `${label(summary)} · run ${run.runIndex}`),
    valid: column((run, interval) =>
      isValidInterval(run.integrity, interval) ? value(run, interval) : null,
    ),
    excluded: column((run, interval) =>
      isValidInterval(run.integrity, interval) ? null : value(run, interval),
    ),
    marks: bars.map(({ run }) => invalidatingMarks(run.integrity).map((mark) => mark.name)),
  };
}

/**
 * One row per counted succeeded run with guest milestones and a valid total: the observed running to
 * open, and the guest's kernel and userland placed inside it by guestBootSpans (its one anchor: sshd
 * ready at the port's first SYN/ACK). Seconds after running was seen; a span may start before it.
 */
export interface GuestBarData {
  labels: string[];
  observed: GuestSpan[];
  kernel: (GuestSpan | null)[];
  userland: (GuestSpan | null)[];
  kernelAndUserland: (GuestSpan | null)[];
  /** Per row, which command each milestone came from ("sshdReadyMs: sshdJournal, …"). */
  sources: string[];
  /** Per row, how coarse its spans' edges are (ms); a row coarser than a millisecond says so in its label. */
  resolutionMs: number[];
}

function guestBarData(benchmarks: readonly BenchmarkRuns[]): GuestBarData {
  const label = benchmarkLabeller(benchmarks.map((benchmark) => benchmark.summary));
  const rows = benchmarks
    .flatMap(({ summary, runs }) =>
      runs.flatMap((run) => {
        const total = run.intervals?.total;
        if (!isCountedSuccess(run) || total === undefined || !isValidInterval(run.integrity, "total"))
          return [];
        const milestones = run.guest?.milestones;
        const spans = milestones && guestBootSpans(total, milestones);
        return spans && milestones ? [{ summary, run, total, spans, milestones }] : [];
      }),
    )
    .slice(0, MAX_CHART_ROWS);
  return {
    labels: rows.map(
      ({ summary, run, spans }) =>
        `${label(summary)} · run ${run.runIndex}` +
        (spans.resolutionMs > 1 ? ` · guest times to ${spans.resolutionMs / 1000} s` : ""),
    ),
    observed: rows.map(({ total }) => [0, total]),
    kernel: rows.map(({ spans }) => spans.kernel ?? null),
    userland: rows.map(({ spans }) => spans.userland ?? null),
    kernelAndUserland: rows.map(({ spans }) => spans.kernelAndUserland ?? null),
    sources: rows.map(({ milestones }) =>
      Object.entries(milestones.sources)
        .map(([milestone, command]) => `${milestone}: ${command}`)
        .join(", "),
    ),
    resolutionMs: rows.map(({ spans }) => spans.resolutionMs),
  };
}

// ---- series over time ---------------------------------------------------------------------------
export interface TrendPoint {
  /** Epoch ms the series first pointed at the AMI. */
  x: number;
  /** The published total, seconds. */
  y: number;
  amiId: string;
  name: string;
  flag?: RegressionFlag;
}

export interface TrendLine {
  label: string;
  colour: string;
  points: TrendPoint[];
}

/** A shift of per-run totals against the baseline, with its 95 % confidence interval as whiskers. */
export interface ShiftPoint {
  /** Epoch ms. */
  x: number;
  /** The Hodges-Lehmann shift, seconds (positive is slower). */
  y: number;
  yMin: number;
  yMax: number;
  name: string;
  /** The AMI it was compared with. */
  against: string;
  /** "slower by 1.80 s, 95 % CI 1.20 to 2.40 s, p = 0.003". */
  words: string;
  verdict: string;
  flag?: RegressionFlag;
}

export interface ShiftLine {
  label: string;
  colour: string;
  /** The suite's control, beside the series it ran with. */
  control: boolean;
  points: ShiftPoint[];
}

/** One history's shift chart (empty when nothing of it was compared). */
export interface ShiftChart {
  lines: ShiftLine[];
}

export interface ChartData {
  runBoxes: BoxChartData;
  runBars: RunBarData;
  guestBars: GuestBarData;
  /** Every series' totals in one chart. */
  trends: TrendLine[];
  /** Per history of each series, in the report's order: a chart of its own. */
  shifts: ShiftChart[];
  colours: { regression: string; drift: string; control: string };
}

function shiftPoint(
  x: number,
  name: string,
  comparison: SeriesComparison,
  flag: RegressionFlag | undefined,
): ShiftPoint[] {
  const shift = comparison.shifts.total;
  if (shift === undefined) return [];
  return [
    {
      x,
      y: shift.shift,
      yMin: shift.low,
      yMax: shift.high,
      name,
      against: comparison.previousImageName,
      words: describeShift(shift),
      verdict: verdictWords(comparison),
      ...(flag !== undefined && { flag }),
    },
  ];
}

const time = (entry: HistoryEntry): number => Date.parse(entry.firstBenchmarkedAt);

/**
 * The control's points stand just right of the series points they ran beside (the same suite run, so
 * nearly the same time): 1 % of the history's time span, at least an hour, so the two whiskers do not
 * hide each other.
 */
function controlOffsetMs(entries: readonly HistoryEntry[]): number {
  const times = entries.map(time);
  const span = times.length > 0 ? Math.max(...times) - Math.min(...times) : 0;
  return Math.max(3_600_000, span * 0.01);
}

/** The series' shifts, and beside them the suite's control in the same runs, when one ran. */
function shiftChart(history: SeriesHistory<SummaryDigest>, label: string, colour: string): ShiftChart {
  const lines: ShiftLine[] = [];
  const points = history.entries.flatMap((entry) =>
    entry.comparison
      ? shiftPoint(
          time(entry),
          entry.summary.image.name,
          entry.comparison,
          regressionFlagOf(entry.regression, entry.summary.platform),
        )
      : [],
  );
  if (points.length > 0) lines.push({ label, colour, control: false, points });
  const offset = controlOffsetMs(history.entries);
  // One line per control image (a suite names one control per instance type, but may change it).
  const controls = new Map<string, ShiftLine>();
  for (const entry of history.entries) {
    const platform = entry.summary.platform;
    if (platform === undefined) continue;
    let line = controls.get(platform.controlImage);
    if (line === undefined) {
      line = { label: `control ${platform.controlImage}`, colour: CONTROL_COLOUR, control: true, points: [] };
      controls.set(platform.controlImage, line);
    }
    line.points.push(
      ...shiftPoint(time(entry) + offset, platform.controlImageName, platform.control, undefined),
    );
  }
  lines.push(...[...controls.values()].filter((line) => line.points.length > 0));
  return { lines };
}

function seriesCharts(series: readonly SeriesReport[]): Pick<ChartData, "trends" | "shifts"> {
  const trends: TrendLine[] = [];
  const shifts: ShiftChart[] = [];
  for (const { sourceParameter, histories } of series) {
    for (const history of histories) {
      const label = historySubject(sourceParameter, history);
      const colour = PALETTE[shifts.length % PALETTE.length] as string;
      const points = history.entries.flatMap((entry): TrendPoint[] => {
        const total = entry.summary.medians?.total;
        if (total === undefined) return [];
        const flag = regressionFlagOf(entry.regression, entry.summary.platform);
        const { amiId, image } = entry.summary;
        return [{ x: time(entry), y: total, amiId, name: image.name, ...(flag !== undefined && { flag }) }];
      });
      if (points.length > 0) trends.push({ label, colour, points });
      shifts.push(shiftChart(history, label, colour));
    }
  }
  return { trends, shifts };
}

export function chartData(sources: ChartSources): ChartData {
  return {
    runBoxes: boxChartData(sources),
    runBars: runBarData(sources.markedBenchmarks),
    guestBars: guestBarData(sources.guestBenchmarks),
    ...seriesCharts(sources.series),
    colours: { regression: REGRESSION_COLOUR, drift: DRIFT_COLOUR, control: CONTROL_COLOUR },
  };
}
