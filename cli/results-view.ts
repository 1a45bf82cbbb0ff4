/**
 * What the query commands print: the comparison table, every run of one benchmark, and the history of
 * a series, in each output format. Pure: records in, text out.
 */
import type { HistoryEntry, SeriesHistory, SummaryDigest } from "../functions/domain/comparison.js";
import type { IntervalSeconds } from "../functions/domain/contract.js";
import {
  INTERVAL_LABELS,
  PUBLISHED_TOTAL_LABEL,
  PUBLISHED_TOTAL_MEANING,
  RUN_TOTAL_MEDIAN_LABEL,
  RUN_TOTAL_MEDIAN_MEANING,
} from "../functions/domain/figures.js";
import { BOUNDARIES, type IntegrityMark, invalidatingMarks } from "../functions/domain/integrity.js";
import type { IntegritySummary } from "../functions/domain/integrity-summary.js";
import {
  describeComparison,
  type PlatformComparison,
  type RegressionFlag,
  regressionFlagOf,
  thresholdRule,
  verdictWords,
} from "../functions/domain/regression.js";
import type { RunRecord, SummaryRecord, UnrecordedRunRecord } from "../functions/domain/run-record.js";
import {
  type IntervalStatistics,
  type SampleStatistics,
  summariseIntervals,
} from "../functions/domain/statistics.js";
import type { RegressionThresholds } from "../functions/domain/suite-schema.js";
import { jsonDocument, type OutputFormat, renderTable, type TabularFormat } from "./output-format.js";
import { type Column, pValueCell, seconds, signedSeconds } from "./text-table.js";

const INTERVAL_KEYS = Object.keys(INTERVAL_LABELS) as (keyof IntervalSeconds)[];

/** `2025-06-15T14:13:20.000Z` → `2025-06-15 14:13` (UTC, as stored). */
export const shortTime = (iso: string): string => iso.replace("T", " ").slice(0, 16);

// Index keys say how the item is found, not what was measured.
function withoutKeys<T extends object>(record: T): Omit<T, "pk" | "sk" | "recentPk" | "failedPk"> {
  const {
    pk: _pk,
    sk: _sk,
    recentPk: _recentPk,
    failedPk: _failedPk,
    ...rest
  } = record as T & {
    pk?: unknown;
    sk?: unknown;
    recentPk?: unknown;
    failedPk?: unknown;
  };
  return rest;
}

// ---- comparison table ------------------------------------------------------------------------
/** "7/9" in text; in CSV two numbers, because a spreadsheet reads 9/9 as the ninth of September. */
function runsOkColumns<Row>(summaryOf: (row: Row) => SummaryDigest, format: TabularFormat): Column<Row>[] {
  if (format === "csv") {
    return [
      { header: "counted runs", value: (row) => String(summaryOf(row).countedRuns), align: "right" },
      {
        header: "counted runs ok",
        value: (row) => String(summaryOf(row).countedSucceededRuns),
        align: "right",
      },
    ];
  }
  return [
    {
      header: "runs ok",
      value: (row) => `${summaryOf(row).countedSucceededRuns}/${summaryOf(row).countedRuns}`,
      align: "right",
    },
  ];
}

/**
 * The published columns (AMI Id, AMI Name, running to port closed, closed to open, total) first, so the
 * table reads like ec2-boot-bench's; then the spread and the failures that the medians leave out.
 */
export function comparisonColumns(
  rows: readonly SummaryDigest[],
  format: TabularFormat = "table",
): Column<SummaryDigest>[] {
  const columns: Column<SummaryDigest>[] = [
    { header: "AMI Id", value: (s) => s.amiId },
    { header: "AMI Name", value: (s) => s.image.name },
    {
      header: "running to port closed",
      value: (s) => seconds(s.medians?.runningToPortClosed),
      align: "right",
    },
    { header: "closed to open", value: (s) => seconds(s.medians?.portClosedToOpen), align: "right" },
    { header: PUBLISHED_TOTAL_LABEL, value: (s) => seconds(s.medians?.total), align: "right" },
    { header: RUN_TOTAL_MEDIAN_LABEL, value: (s) => seconds(s.statistics?.total?.median), align: "right" },
    { header: "total p90", value: (s) => seconds(s.statistics?.total?.p90), align: "right" },
    { header: "total MAD", value: (s) => seconds(s.statistics?.total?.mad), align: "right" },
    ...runsOkColumns((s: SummaryDigest) => s, format),
    // Counted runs left out of some median by an integrity mark (results --runs <id> says which and why).
    { header: "marked", value: (s) => (s.integrity ? String(s.integrity.markedRuns) : "-"), align: "right" },
    { header: "failed", value: (s) => String(s.failedRuns), align: "right" },
    { header: "timed out", value: (s) => String(s.timedOutRuns), align: "right" },
    { header: "instance type", value: (s) => s.instanceType },
  ];
  if (rows.some((s) => s.label !== undefined)) columns.push({ header: "label", value: (s) => s.label ?? "" });
  columns.push({ header: "started (UTC)", value: (s) => shortTime(s.startedAt) });
  return columns;
}

export const COMPARISON_NOTE =
  "Seconds. Medians of the counted runs (the first run is discarded unless the benchmark kept it); " +
  `${PUBLISHED_TOTAL_MEANING}; ${RUN_TOTAL_MEDIAN_MEANING}; total p90 and MAD are over the same ` +
  "per-run totals. runs ok = counted runs that succeeded; marked = counted runs with an interval left " +
  "out of the medians by an integrity mark; failed and timed out count every run.";

/** JSON carries whatever was read (whole summaries for `--format json`), table formats the digest. */
export function comparisonOutput(rows: SummaryDigest[], format: OutputFormat): string {
  if (format === "json") return jsonDocument(rows.map(withoutKeys));
  return renderTable(comparisonColumns(rows, format), rows, format);
}

// ---- one benchmark's runs --------------------------------------------------------------------
const MAX_NOTE_LENGTH = 100;

/** Why a run has no intervals, or what is unusual about the ones it has. */
export function runNote(run: RunRecord, maxLength = Number.POSITIVE_INFINITY): string {
  const notes: string[] = [];
  if (run.status === "timeout") notes.push(`timed out waiting for ${run.timedOutWaitingFor ?? "?"}`);
  if (run.error) notes.push(`${run.error.name}: ${run.error.message.split("\n")[0] ?? ""}`);
  if (run.status === "succeeded" && run.clamping) {
    if (!run.clamping.closedSeen) notes.push("port never seen closed (closed := open)");
    if (run.clamping.closedRaisedToRunning) notes.push("closed before running (raised to running)");
  }
  for (const mark of invalidatingMarks(run.integrity)) notes.push(`${mark.name} (${markEffect(mark)})`);
  if (run.terminationError) notes.push(`not terminated: ${run.terminationError.name}`);
  else if (!run.terminated) notes.push("not terminated");
  if (run.recordError) notes.push(`recorded late by Summarise (RecordRun failed: ${run.recordError.name})`);
  const note = notes.join("; ");
  return note.length > maxLength ? `${note.slice(0, maxLength - 1)}…` : note;
}

function runColumns(format: TabularFormat): Column<RunRecord>[] {
  const interval = (key: keyof IntervalSeconds): Column<RunRecord> => ({
    header: INTERVAL_LABELS[key],
    value: (run) => seconds(run.intervals?.[key]),
    align: "right",
  });
  return [
    { header: "run", value: (run) => String(run.runIndex), align: "right" },
    { header: "counted", value: (run) => (run.counted ? "yes" : "no") },
    { header: "status", value: (run) => run.status },
    ...INTERVAL_KEYS.map(interval),
    { header: "instance", value: (run) => run.instanceId ?? "-" },
    // A spreadsheet can hold the whole message; a terminal line cannot.
    { header: "note", value: (run) => runNote(run, format === "csv" ? undefined : MAX_NOTE_LENGTH) },
  ];
}

interface StatisticsRow {
  interval: keyof IntervalSeconds;
  statistics: SampleStatistics;
}

const STATISTICS_COLUMNS: Column<StatisticsRow>[] = [
  { header: "interval", value: (row) => INTERVAL_LABELS[row.interval] },
  { header: "median", value: (row) => seconds(row.statistics.median), align: "right" },
  { header: "min", value: (row) => seconds(row.statistics.min), align: "right" },
  { header: "max", value: (row) => seconds(row.statistics.max), align: "right" },
  { header: "p90", value: (row) => seconds(row.statistics.p90), align: "right" },
  { header: "MAD", value: (row) => seconds(row.statistics.mad), align: "right" },
  { header: "runs", value: (row) => String(row.statistics.count), align: "right" },
];

export interface BenchmarkRunsView {
  benchmarkId: string;
  summary?: SummaryRecord;
  runs: RunRecord[];
  /** Runs kept whole because they could not be recorded (functions/domain/run-record.ts). */
  unrecorded?: UnrecordedRunRecord[];
}

/**
 * The summary's own statistics when it exists; while a benchmark is still running (the summary is
 * written last) the same statistics of the runs recorded so far.
 */
const statisticsOf = (view: BenchmarkRunsView): Partial<IntervalStatistics> | undefined =>
  view.summary?.statistics ?? (view.summary ? undefined : summariseIntervals(view.runs));

/** What a mark does to the run's intervals, in the table's words. */
export const markEffect = (mark: IntegrityMark): string =>
  mark.invalidates.length > 0
    ? `invalid: ${mark.invalidates.map((interval) => INTERVAL_LABELS[interval]).join(", ")}`
    : "informational";

/** Marked runs and the benchmark's own resolution: bracket widths' median and p99 per boundary. */
export function integrityFact(integrity: IntegritySummary): string {
  const widths = BOUNDARIES.flatMap((boundary) => {
    const w = integrity.bracketWidths[boundary];
    if (w?.medianMs === undefined || w.p99Ms === undefined) return [];
    const unbounded = w.unbounded > 0 ? `, ${w.unbounded} unbounded` : "";
    return [`${boundary} ${w.medianMs.toFixed(0)} ms (p99 ${w.p99Ms.toFixed(0)} ms${unbounded})`];
  });
  const marks = Object.entries(integrity.marks).map(([name, count]) => `${name} ${count}`);
  return [
    `${integrity.markedRuns} counted run(s) marked${marks.length > 0 ? ` (${marks.join(", ")})` : ""}`,
    ...(widths.length > 0 ? [`bracket widths: ${widths.join("; ")}`] : []),
  ].join("; ");
}

function benchmarkFacts(view: BenchmarkRunsView): [string, string][] {
  const { summary, runs } = view;
  const first = summary ?? runs[0];
  if (!first) return [["benchmark", view.benchmarkId]];
  const { image } = first;
  const counted = runs.filter((run) => run.counted).length;
  const discarded = runs.length - counted;
  const count = (status: RunRecord["status"]) => runs.filter((run) => run.status === status).length;
  const imageDetails = [image.architecture, image.bootMode].filter(Boolean).join(", ");
  const facts: [string, string][] = [
    ["benchmark", view.benchmarkId],
    ["image", `${image.amiId} ${image.name}${imageDetails ? ` (${imageDetails})` : ""}`],
  ];
  if (image.sourceParameter) facts.push(["series", image.sourceParameter]);
  facts.push(
    ["instance type", first.instanceType],
    ...(first.label !== undefined ? ([["label", first.label]] as [string, string][]) : []),
    ["started", `${shortTime(first.startedAt)} UTC`],
    [
      "runs",
      `${runs.length} recorded, ${counted} counted${discarded > 0 ? ` (${discarded} discarded${summary?.discarded.rule === "firstWave" ? ": the first wave, started together" : ""})` : ""}; ` +
        `${count("succeeded")} succeeded, ${count("failed")} failed, ${count("timeout")} timed out`,
    ],
    ["status", summary ? summary.status : "no summary yet (still running, or stopped before summarising)"],
  );
  if (summary) facts.push(["integrity", integrityFact(summary.integrity)]);
  const leftRunning = summary?.terminationFailedRuns ?? [];
  if (leftRunning.length > 0) {
    const which = leftRunning.map((run) => `run ${run.runIndex} (${run.instanceId ?? "instance unknown"})`);
    facts.push([
      "left running",
      `${which.join(", ")}: not terminated, left to the sweeper; terminate by hand if it is not gone within the hour`,
    ]);
  }
  for (const run of view.unrecorded ?? []) {
    facts.push([
      "unrecorded",
      `run ${run.runIndex}: RecordRun failed (${run.recordError.name}: ${run.recordError.message}), and so did ` +
        `Summarise (${run.summariseError.name}: ${run.summariseError.message}); its whole state is kept ` +
        `in item ${run.sk} and is left out of every count and statistic`,
    ]);
  }
  return facts;
}

export function benchmarkRunsOutput(view: BenchmarkRunsView, format: OutputFormat): string {
  const statistics = statisticsOf(view);
  if (format === "json") {
    return jsonDocument({
      benchmarkId: view.benchmarkId,
      summary: view.summary ? withoutKeys(view.summary) : null,
      runs: view.runs.map(withoutKeys),
      unrecordedRuns: (view.unrecorded ?? []).map(withoutKeys),
      statistics: statistics ?? null,
    });
  }
  const runsTable = renderTable(runColumns(format), view.runs, format);
  if (format === "csv") return runsTable;
  const facts = benchmarkFacts(view);
  const factLines =
    format === "markdown"
      ? facts.map(([name, value]) => `- **${name}**: ${value}`)
      : facts.map(([name, value]) => `${name.padEnd(14)}${value}`);
  const statisticsRows: StatisticsRow[] = statistics
    ? INTERVAL_KEYS.flatMap((interval) => {
        const sample = statistics[interval];
        return sample ? [{ interval, statistics: sample }] : [];
      })
    : [];
  const statisticsPart =
    statisticsRows.length > 0
      ? "Statistics of the counted successful runs' valid intervals (count per interval), seconds:\n\n" +
        renderTable(STATISTICS_COLUMNS, statisticsRows, format)
      : "No statistics: no counted run succeeded.";
  return [factLines.join("\n"), runsTable, statisticsPart].join("\n\n");
}

// ---- history of a series ---------------------------------------------------------------------
export const REGRESSION_FLAG = "REGRESSION";
/** A regression the suite's control shared: more likely the platform's than the image's. */
export const PLATFORM_DRIFT_FLAG = "PLATFORM DRIFT";

const FLAG_WORDS: Record<RegressionFlag, string> = {
  regression: REGRESSION_FLAG,
  drift: PLATFORM_DRIFT_FLAG,
};

/** The flag of a compared benchmark in words: none, a regression, or a regression its control shared. */
export const regressionFlag = (regression: boolean, platform: PlatformComparison | undefined): string => {
  const flag = regressionFlagOf(regression, platform);
  return flag === undefined ? "" : FLAG_WORDS[flag];
};

/** What the comparison column says when there is no comparison, and why. */
function notCompared(entry: HistoryEntry): string {
  if (entry.summary.comparabilityKey === undefined) return "not compared (no sample stored)";
  if (entry.summary.countedRuns === 0) return "no counted runs";
  return "no earlier AMI";
}

export function historyColumns(format: TabularFormat): Column<HistoryEntry>[] {
  // CSV is one flat table; the other formats have a heading per comparability key.
  const setupColumns: Column<HistoryEntry>[] =
    format === "csv"
      ? [
          { header: "instance type", value: (e) => e.summary.instanceType },
          { header: "label", value: (e) => e.summary.label ?? "" },
          { header: "comparability key", value: (e) => e.summary.comparabilityKey ?? "" },
        ]
      : [];
  const shiftOf = (e: HistoryEntry) => e.comparison?.shifts.total;
  const intervalColumns: Column<HistoryEntry>[] =
    format === "csv"
      ? [
          { header: "CI low", value: (e) => signedSeconds(shiftOf(e)?.low), align: "right" },
          { header: "CI high", value: (e) => signedSeconds(shiftOf(e)?.high), align: "right" },
          { header: "p", value: (e) => String(shiftOf(e)?.pValue ?? ""), align: "right" },
        ]
      : [
          {
            header: "95 % CI",
            value: (e) => {
              const shift = shiftOf(e);
              return shift ? `${signedSeconds(shift.low)} to ${signedSeconds(shift.high)}` : "";
            },
            align: "right",
          },
          { header: "p", value: (e) => pValueCell(shiftOf(e)?.pValue), align: "right" },
        ];
  return [
    ...setupColumns,
    { header: "first benchmarked (UTC)", value: (e) => shortTime(e.firstBenchmarkedAt) },
    { header: "AMI Id", value: (e) => e.summary.amiId },
    { header: "AMI Name", value: (e) => e.summary.image.name },
    // The intervals behind the total are in `results` and in the JSON: a history reads across weeks.
    { header: PUBLISHED_TOTAL_LABEL, value: (e) => seconds(e.summary.medians?.total), align: "right" },
    {
      header: RUN_TOTAL_MEDIAN_LABEL,
      value: (e) => seconds(e.summary.statistics?.total?.median),
      align: "right",
    },
    { header: "shift", value: (e) => signedSeconds(shiftOf(e)?.shift), align: "right" },
    ...intervalColumns,
    ...runsOkColumns((e: HistoryEntry) => e.summary, format),
    { header: "timed out", value: (e) => String(e.summary.timedOutRuns), align: "right" },
    {
      header: "vs previous AMI",
      value: (e) => (e.comparison ? verdictWords(e.comparison) : notCompared(e)),
    },
    // The suite's control on this instance type, that week: its own change against its last benchmark.
    { header: "control", value: (e) => (e.summary.platform ? verdictWords(e.summary.platform.control) : "") },
    { header: "flag", value: (e) => regressionFlag(e.regression, e.summary.platform) },
  ];
}

/** A history in a few words: the series, its instance type and label. */
export const historySubject = (series: string, history: SeriesHistory): string =>
  `${series} on ${history.instanceType}${history.label !== undefined ? `, label ${history.label}` : ""}`;

export function historyHeading(series: string, history: SeriesHistory): string {
  const key =
    history.comparabilityKey !== undefined
      ? `comparability ${history.comparabilityKey}`
      : "summarised before comparability keys: not compared";
  return `${historySubject(series, history)} (${key})`;
}

export const historyNote = (thresholds: RegressionThresholds): string =>
  "Seconds; one row per AMI (its newest benchmark with results), oldest first, each compared with the " +
  "nearest earlier AMI of the same comparability key on its counted runs. " +
  `${PUBLISHED_TOTAL_MEANING}; ${RUN_TOTAL_MEDIAN_MEANING}. shift = the Hodges-Lehmann shift of the ` +
  `per-run totals against the previous AMI, with its 95 % CI and Mann-Whitney p. ${thresholdRule(thresholds)} ` +
  `${REGRESSION_FLAG} marks one; ${PLATFORM_DRIFT_FLAG} one the suite's control (same instance type, ` +
  "same week) showed as well: more likely the platform's change. control = the control's own change.";

export function historyOutput(series: string, histories: SeriesHistory[], format: OutputFormat): string {
  if (format === "json") {
    return jsonDocument(
      histories.map((history) => ({
        sourceParameter: series,
        instanceType: history.instanceType,
        ...(history.label !== undefined && { label: history.label }),
        comparabilityKey: history.comparabilityKey ?? null,
        entries: history.entries.map((entry) => ({
          amiId: entry.summary.amiId,
          amiName: entry.summary.image.name,
          firstBenchmarkedAt: entry.firstBenchmarkedAt,
          benchmarks: entry.benchmarks,
          benchmarkId: entry.summary.benchmarkId,
          startedAt: entry.summary.startedAt,
          status: entry.summary.status,
          countedRuns: entry.summary.countedRuns,
          countedSucceededRuns: entry.summary.countedSucceededRuns,
          medians: entry.summary.medians ?? null,
          statistics: entry.summary.statistics ?? null,
          comparedWithBenchmarkId: entry.comparedWith?.benchmarkId ?? null,
          comparedWithAmiId: entry.comparedWith?.amiId ?? null,
          comparison: entry.comparison ?? null,
          description: entry.comparison ? describeComparison(entry.comparison) : null,
          platform: entry.summary.platform ?? null,
          regression: entry.regression,
        })),
      })),
    );
  }
  if (format === "csv") {
    const entries = histories.flatMap((history) => history.entries);
    return renderTable(historyColumns("csv"), entries, "csv");
  }
  return histories
    .map((history) => {
      const heading = historyHeading(series, history);
      const table = renderTable(historyColumns(format), history.entries, format);
      return format === "markdown" ? `### ${heading}\n\n${table}` : `${heading}\n\n${table}`;
    })
    .join("\n\n");
}
