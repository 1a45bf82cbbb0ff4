/**
 * The HTML report: one self-contained file that opens offline. Chart.js's UMD build is inlined (no CDN),
 * the data travels as JSON inside the page, the tables are plain HTML (readable with scripts off), and
 * a Content-Security-Policy forbids every fetch, so the page cannot reach the network even by mistake.
 * Pure: the model and Chart.js's source in, the page out.
 */
import type { SeriesHistory, SummaryDigest } from "../functions/domain/comparison.js";
import { INTERVAL_LABELS } from "../functions/domain/figures.js";
import {
  BOUNDARIES,
  type Boundary,
  INTERVAL_NAMES as INTERVAL_ORDER,
  type IntervalName,
  invalidatingMarks,
  isValidInterval,
} from "../functions/domain/integrity.js";
import type { IntegritySummary } from "../functions/domain/integrity-summary.js";
import type { RunRecord } from "../functions/domain/run-record.js";
import type { RegressionThresholds } from "../functions/domain/suite-schema.js";
import {
  COMPARISON_NOTE,
  comparisonColumns,
  historyColumns,
  historyHeading,
  historyNote,
  integrityFact,
  markEffect,
  runNote,
  shortTime,
} from "./results-view.js";
import { type Column, seconds } from "./text-table.js";

export interface SeriesReport {
  sourceParameter: string;
  histories: SeriesHistory<SummaryDigest>[];
}

/** A compared benchmark with marked runs, and every one of its runs. */
export interface MarkedBenchmark {
  summary: SummaryDigest;
  /** In run order. */
  runs: RunRecord[];
}

export interface ReportModel {
  title: string;
  /** ISO 8601. */
  generatedAt: string;
  tableName: string;
  /** The filters the report was made with, in words ("all benchmarks" when none). */
  selection: string;
  /** One benchmark per AMI, instance type and label, fastest first. */
  comparison: SummaryDigest[];
  /** Matching benchmarks left out of the comparison because a newer one of the same AMI was chosen. */
  superseded: number;
  series: SeriesReport[];
  thresholds: RegressionThresholds;
  /** Newest first. */
  failedRuns: RunRecord[];
  /** The compared benchmarks with marked runs, in comparison order, at most MAX_MARKED_BENCHMARKS. */
  markedBenchmarks: MarkedBenchmark[];
  /** How many compared benchmarks have marked runs (more than `markedBenchmarks` holds when capped). */
  markedBenchmarkCount: number;
}

/** A chart of a thousand bars is a texture, not a picture; the table below it has every row. */
export const MAX_CHART_BARS = 150;
export const MAX_FAILED_RUN_ROWS = 200;
/** Each marked benchmark's runs cost a Query; `results --runs` shows the others one at a time. */
export const MAX_MARKED_BENCHMARKS = 20;
const BAR_HEIGHT_PX = 22;

const PALETTE = [
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
const REGRESSION_COLOUR = "#d62728";

export interface BarChartData {
  labels: string[];
  pendingToRunning: number[];
  runningToPortClosed: number[];
  portClosedToOpen: number[];
}

export interface TrendPoint {
  /** Epoch ms of the AMI's first benchmark. */
  x: number;
  /** Total, seconds. */
  y: number;
  amiId: string;
  name: string;
  regression: boolean;
}

export interface TrendLine {
  label: string;
  colour: string;
  points: TrendPoint[];
}

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

export interface ChartData {
  bars: BarChartData;
  runBars: RunBarData;
  trends: TrendLine[];
  regressionColour: string;
}

/** Bar labels: the image's name, plus instance type and label when the benchmarks differ in them. */
function benchmarkLabeller(summaries: readonly SummaryDigest[]): (s: SummaryDigest) => string {
  const several = (values: (string | undefined)[]) => new Set(values).size > 1;
  const showType = several(summaries.map((s) => s.instanceType));
  const showLabel = summaries.some((s) => s.label !== undefined);
  return (s) =>
    [s.image.name, showType ? s.instanceType : undefined, showLabel ? s.label : undefined]
      .filter((part) => part !== undefined)
      .join(" · ");
}

function runBarData(marked: readonly MarkedBenchmark[]): RunBarData {
  const label = benchmarkLabeller(marked.map((benchmark) => benchmark.summary));
  const bars = marked
    .flatMap(({ summary, runs }) =>
      runs.flatMap((run) =>
        run.counted && run.status === "succeeded" && run.intervals ? [{ summary, run }] : [],
      ),
    )
    .slice(0, MAX_CHART_BARS);
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

/** What the charts draw, computed here rather than in the page so that it is tested without a browser. */
export function chartData(model: ReportModel): ChartData {
  const measured = model.comparison.filter((s) => s.medians !== undefined).slice(0, MAX_CHART_BARS);
  const barLabel = benchmarkLabeller(measured);
  const trends: TrendLine[] = [];
  for (const series of model.series) {
    for (const history of series.histories) {
      const points = history.entries.flatMap((entry) => {
        const total = entry.summary.medians?.total;
        if (total === undefined) return [];
        return [
          {
            x: Date.parse(entry.firstBenchmarkedAt),
            y: total,
            amiId: entry.summary.amiId,
            name: entry.summary.image.name,
            regression: entry.regression,
          },
        ];
      });
      if (points.length === 0) continue;
      trends.push({
        label: historyHeading(series.sourceParameter, history),
        colour: PALETTE[trends.length % PALETTE.length] as string,
        points,
      });
    }
  }
  return {
    bars: {
      labels: measured.map(barLabel),
      pendingToRunning: measured.map((s) => s.medians?.pendingToRunning ?? 0),
      runningToPortClosed: measured.map((s) => s.medians?.runningToPortClosed ?? 0),
      portClosedToOpen: measured.map((s) => s.medians?.portClosedToOpen ?? 0),
    },
    runBars: runBarData(model.markedBenchmarks),
    trends,
    regressionColour: REGRESSION_COLOUR,
  };
}

// ---- HTML ------------------------------------------------------------------------------------
const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);

function htmlTable<Row>(
  columns: Column<Row>[],
  rows: Row[],
  rowClass?: (row: Row) => string | undefined,
): string {
  const cell = (tag: "th" | "td", column: Column<Row>, text: string) =>
    `<${tag}${column.align === "right" ? ' class="num"' : ""}>${escapeHtml(text)}</${tag}>`;
  const head = `<tr>${columns.map((c) => cell("th", c, c.header)).join("")}</tr>`;
  const body = rows
    .map((row) => {
      const className = rowClass?.(row);
      return `<tr${className ? ` class="${className}"` : ""}>${columns.map((c) => cell("td", c, c.value(row))).join("")}</tr>`;
    })
    .join("\n");
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

const FAILED_RUN_COLUMNS: Column<RunRecord>[] = [
  { header: "started (UTC)", value: (r) => shortTime(r.startedAt) },
  { header: "benchmark", value: (r) => r.benchmarkId },
  { header: "run", value: (r) => String(r.runIndex), align: "right" },
  { header: "AMI Name", value: (r) => r.image.name },
  { header: "instance type", value: (r) => r.instanceType },
  { header: "status", value: (r) => r.status },
  { header: "why", value: (r) => runNote(r, 200) },
];

// ---- integrity ---------------------------------------------------------------------------------

/** A boundary's bracket widths over the benchmark's counted succeeded runs: "median / p99", in ms. */
function bracketWidthCell(integrity: IntegritySummary | undefined, boundary: Boundary): string {
  const widths = integrity?.bracketWidths[boundary];
  if (widths === undefined) return "-";
  const unbounded = widths.unbounded > 0 ? ` (${widths.unbounded} unbounded)` : "";
  if (widths.medianMs === undefined || widths.p99Ms === undefined) return `unbounded${unbounded}`;
  return `${widths.medianMs.toFixed(0)} / ${widths.p99Ms.toFixed(0)}${unbounded}`;
}

/**
 * The benchmark's own resolution, to stand next to its medians (the comparison columns already count
 * the marked runs; the history columns get that count here).
 */
function integrityColumns<Row>(summaryOf: (row: Row) => SummaryDigest, withMarked: boolean): Column<Row>[] {
  return [
    ...(withMarked
      ? [
          {
            header: "marked",
            value: (row: Row) => {
              const integrity = summaryOf(row).integrity;
              return integrity === undefined ? "-" : String(integrity.markedRuns);
            },
            align: "right" as const,
          },
        ]
      : []),
    ...BOUNDARIES.map(
      (boundary): Column<Row> => ({
        header: `${boundary} bracket ms`,
        value: (row) => bracketWidthCell(summaryOf(row).integrity, boundary),
        align: "right",
      }),
    ),
  ];
}

/** `extra` inserted before the column headed `header` (at the end when there is none). */
function insertBefore<Row>(columns: Column<Row>[], header: string, extra: Column<Row>[]): Column<Row>[] {
  const at = columns.findIndex((column) => column.header === header);
  return at < 0 ? [...columns, ...extra] : [...columns.slice(0, at), ...extra, ...columns.slice(at)];
}

export const INTEGRITY_NOTE =
  "marked = counted runs that succeeded with an interval an integrity mark invalidates (a late, stalled " +
  "or throttled observer, a replayed launch, a clock that cannot be trusted); each median uses only its " +
  "interval's valid values. running, closed and open bracket = how closely the runs pin each boundary, " +
  "from the last evidence of not yet to the first of now: median / p99 width over the counted runs that " +
  "succeeded, milliseconds; a bracket without a lower end is unbounded and counted apart.";

/** An interval of a run: its value, or the value marked as excluded when its verdict is invalid. */
function runIntervalCell(run: RunRecord, interval: IntervalName): string {
  const value = run.intervals?.[interval];
  if (value === undefined) return "-";
  return isValidInterval(run.integrity, interval) ? seconds(value) : `excluded (${seconds(value)})`;
}

const MARKED_RUN_COLUMNS: Column<RunRecord>[] = [
  { header: "run", value: (r) => String(r.runIndex), align: "right" },
  { header: "counted", value: (r) => (r.counted ? "yes" : "no") },
  { header: "status", value: (r) => r.status },
  ...INTERVAL_ORDER.map(
    (interval): Column<RunRecord> => ({
      header: INTERVAL_LABELS[interval],
      value: (r) => runIntervalCell(r, interval),
      align: "right",
    }),
  ),
  { header: "note", value: (r) => runNote(r, 200) },
];

/** Every mark of every run, with its figures in words and the intervals it invalidates. */
function markList(runs: readonly RunRecord[]): string {
  const items = runs.flatMap((run) =>
    (run.integrity?.marks ?? []).map((mark) => {
      const effect = markEffect(mark);
      return `<li>run ${run.runIndex}: <strong>${escapeHtml(mark.name)}</strong> (${escapeHtml(effect)}): ${escapeHtml(mark.detail)}</li>`;
    }),
  );
  return items.length > 0 ? `<ul class="marks">\n${items.join("\n")}\n</ul>` : "";
}

const markedBenchmarkHeading = (summary: SummaryDigest): string =>
  `${summary.image.name} (${summary.amiId}) on ${summary.instanceType}` +
  `${summary.label !== undefined ? `, label ${summary.label}` : ""}: benchmark ${summary.benchmarkId}`;

// `</script>` or `<!--` inside an inline script would end or confuse it; JSON escapes them away.
const scriptSafeJson = (value: unknown): string =>
  JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
const scriptSafeSource = (source: string): string => source.replace(/<(\/script|!--)/gi, "<\\$1");

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 78rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; font-size: 1.25rem; } h3 { font-size: 1.05rem; }
.meta, .note { color: #555; } .note { font-size: .9em; max-width: 60rem; }
table { border-collapse: collapse; margin: .6rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: .2rem .6rem; border-bottom: 1px solid #ddd; text-align: left; white-space: nowrap; }
th { background: #f4f4f4; position: sticky; top: 0; } td.num, th.num { text-align: right; }
tr.regression td { background: #fde8e8; } tr.marked td { background: #fff4d6; } .table-wrap { overflow-x: auto; }
ul.marks { font-size: .9em; } ul.marks li { margin: .15rem 0; }
.chart { position: relative; width: 100%; }
`;

/**
 * The page's own script: draws the charts from the embedded JSON, then sets
 * `document.body.dataset.chartsReady` once every chart has rendered (what the Chromium test waits for),
 * or `chartsError` if drawing failed.
 */
const PAGE_SCRIPT = `
(function () {
  var body = document.body;
  try {
    var data = JSON.parse(document.getElementById("report-data").textContent);
    var canvases = document.querySelectorAll("canvas[data-chart]");
    var drawn = {};
    var drawnCount = 0;
    var ready = {
      id: "bootBenchReady",
      afterRender: function (chart) {
        if (drawn[chart.id]) return;
        drawn[chart.id] = true;
        drawnCount += 1;
        if (drawnCount === canvases.length) body.dataset.chartsReady = "true";
      }
    };
    if (canvases.length === 0) { body.dataset.chartsReady = "true"; return; }
    Chart.defaults.animation = false;
    Chart.defaults.font.family = getComputedStyle(body).fontFamily;
    var secondsTick = function (value) { return value + " s"; };
    var bars = document.getElementById("chart-bars");
    if (bars) {
      new Chart(bars, {
        type: "bar",
        data: {
          labels: data.bars.labels,
          datasets: [
            { label: "pending to running", data: data.bars.pendingToRunning, backgroundColor: "#9ecae1" },
            { label: "running to port closed", data: data.bars.runningToPortClosed, backgroundColor: "#3182bd" },
            { label: "port closed to open", data: data.bars.portClosedToOpen, backgroundColor: "#fd8d3c" }
          ]
        },
        options: {
          indexAxis: "y", responsive: true, maintainAspectRatio: false,
          scales: {
            x: { stacked: true, title: { display: true, text: "seconds after the RunInstances response (medians)" }, ticks: { callback: secondsTick } },
            y: { stacked: true, ticks: { autoSkip: false } }
          },
          plugins: { tooltip: { callbacks: { label: function (item) { return item.dataset.label + ": " + item.parsed.x.toFixed(2) + " s"; } } } }
        },
        plugins: [ready]
      });
    }
    var runBars = document.getElementById("chart-runs");
    if (runBars) {
      var runData = data.runBars;
      var intervals = [
        ["pendingToRunning", "pending to running", "#9ecae1"],
        ["runningToPortClosed", "running to port closed", "#3182bd"],
        ["portClosedToOpen", "port closed to open", "#fd8d3c"]
      ];
      var runDatasets = [];
      intervals.forEach(function (interval) {
        runDatasets.push({ label: interval[1], interval: interval[1], data: runData.valid[interval[0]], backgroundColor: interval[2] });
        // Excluded values keep their place in the stack, in grey, so nothing after them moves.
        runDatasets.push({
          label: "excluded (invalid interval)", interval: interval[1], excluded: true,
          data: runData.excluded[interval[0]], backgroundColor: "#e0e0e0", borderColor: "#757575", borderWidth: 1
        });
      });
      new Chart(runBars, {
        type: "bar",
        data: { labels: runData.labels, datasets: runDatasets },
        options: {
          indexAxis: "y", responsive: true, maintainAspectRatio: false,
          scales: {
            x: { stacked: true, title: { display: true, text: "seconds after the RunInstances response, per run" }, ticks: { callback: secondsTick } },
            y: { stacked: true, ticks: { autoSkip: false } }
          },
          plugins: {
            // One legend entry for all excluded intervals, after the measured ones.
            legend: { labels: {
              filter: function (item, chartData) {
                return !chartData.datasets[item.datasetIndex].excluded || item.datasetIndex === 1;
              },
              sort: function (a, b, chartData) {
                var rank = function (item) { return (chartData.datasets[item.datasetIndex].excluded ? 100 : 0) + item.datasetIndex; };
                return rank(a) - rank(b);
              }
            } },
            tooltip: { callbacks: {
              label: function (item) { return (item.dataset.excluded ? "EXCLUDED " : "") + item.dataset.interval + ": " + item.parsed.x.toFixed(2) + " s"; },
              footer: function (items) {
                var marks = items.length ? runData.marks[items[0].dataIndex] : [];
                return marks && marks.length ? "marks: " + marks.join(", ") : "";
              }
            } }
          }
        },
        plugins: [ready]
      });
    }
    var trend = document.getElementById("chart-trend");
    if (trend) {
      var day = function (ms) { return new Date(ms).toISOString().slice(0, 10); };
      new Chart(trend, {
        type: "line",
        data: {
          datasets: data.trends.map(function (line) {
            return {
              label: line.label, data: line.points, borderColor: line.colour, backgroundColor: line.colour,
              pointBackgroundColor: function (ctx) { return ctx.raw && ctx.raw.regression ? data.regressionColour : line.colour; },
              pointRadius: function (ctx) { return ctx.raw && ctx.raw.regression ? 6 : 3; },
              tension: 0
            };
          })
        },
        options: {
          responsive: true, maintainAspectRatio: false,
          scales: {
            x: { type: "linear", title: { display: true, text: "first benchmarked" }, ticks: { callback: day } },
            y: { title: { display: true, text: "total: running to port open (median)" }, ticks: { callback: secondsTick } }
          },
          plugins: { tooltip: { callbacks: {
            title: function (items) { return items.length ? day(items[0].raw.x) : ""; },
            label: function (item) { return item.raw.name + " (" + item.raw.amiId + "): " + item.raw.y.toFixed(2) + " s" + (item.raw.regression ? " REGRESSION" : ""); }
          } } }
        },
        plugins: [ready]
      });
    }
  } catch (error) {
    body.dataset.chartsError = String((error && error.message) || error);
    throw error;
  }
})();
`;

/** The runs of the compared benchmarks that have marked runs: a bar per run, a table and the marks. */
function markedRunsSection(model: ReportModel, runBars: RunBarData): string[] {
  const sections = ['<h2 id="marked">Marked runs</h2>'];
  if (model.markedBenchmarkCount === 0) {
    sections.push('<p class="note">None: every interval of every counted run that succeeded is valid.</p>');
    return sections;
  }
  if (runBars.labels.length > 0) {
    const height = Math.max(160, runBars.labels.length * BAR_HEIGHT_PX + 90);
    sections.push(
      `<div class="chart" style="height:${height}px"><canvas id="chart-runs" data-chart="runs" role="img" ` +
        `aria-label="Stacked bars per counted run of the benchmarks with marked runs; invalid intervals grey, as excluded"></canvas></div>`,
    );
  }
  sections.push(
    `<p class="note">${escapeHtml(
      "Every run of each compared benchmark that has marked runs. An interval a mark invalidates is left " +
        "out of every median and statistic; it is shown here as excluded (grey in the chart, which has " +
        "the counted runs that succeeded) with the value it would have had.",
    )}</p>`,
  );
  for (const { summary, runs } of model.markedBenchmarks) {
    sections.push(`<h3>${escapeHtml(markedBenchmarkHeading(summary))}</h3>`);
    if (summary.integrity) {
      sections.push(`<p class="note">${escapeHtml(`${integrityFact(summary.integrity)}.`)}</p>`);
    }
    const rowClass = (run: RunRecord) => (invalidatingMarks(run.integrity).length > 0 ? "marked" : undefined);
    sections.push(`<div class="table-wrap">${htmlTable(MARKED_RUN_COLUMNS, runs, rowClass)}</div>`);
    sections.push(markList(runs));
  }
  const more = model.markedBenchmarkCount - model.markedBenchmarks.length;
  if (more > 0) {
    sections.push(
      `<p class="note">${more} more compared benchmarks have marked runs; boot-bench results --runs &lt;benchmark&gt; lists each one's runs.</p>`,
    );
  }
  return sections;
}

export function reportHtml(model: ReportModel, chartJsSource: string): string {
  const charts = chartData(model);
  const sections: string[] = [];
  const measuredCount = model.comparison.filter((s) => s.medians !== undefined).length;

  sections.push('<h2 id="images">Boot time per image</h2>');
  if (charts.bars.labels.length > 0) {
    const height = Math.max(160, charts.bars.labels.length * BAR_HEIGHT_PX + 90);
    sections.push(
      `<div class="chart" style="height:${height}px"><canvas id="chart-bars" data-chart="bars" role="img" ` +
        `aria-label="Stacked bars: pending to running, running to port closed and port closed to open, per image"></canvas></div>`,
    );
    if (measuredCount > charts.bars.labels.length) {
      sections.push(
        `<p class="note">The chart shows the ${charts.bars.labels.length} fastest of ${measuredCount} images; the table has them all.</p>`,
      );
    }
  }
  if (model.comparison.length === 0) sections.push('<p class="note">No benchmarks match.</p>');
  else {
    const columns = insertBefore(
      comparisonColumns(model.comparison),
      "failed",
      integrityColumns((s: SummaryDigest) => s, false),
    );
    sections.push(`<div class="table-wrap">${htmlTable(columns, model.comparison)}</div>`);
    const superseded =
      model.superseded > 0
        ? ` One row per AMI, instance type and label: its newest benchmark with results (${model.superseded} other benchmarks of the same AMIs not shown).`
        : "";
    sections.push(`<p class="note">${escapeHtml(`${COMPARISON_NOTE} ${INTEGRITY_NOTE}${superseded}`)}</p>`);
  }

  if (model.series.length > 0) {
    sections.push('<h2 id="series">Series over time</h2>');
    if (charts.trends.length > 0) {
      sections.push(
        '<div class="chart" style="height:420px"><canvas id="chart-trend" data-chart="trend" role="img" ' +
          'aria-label="Total boot time of each AMI of each series, by date"></canvas></div>',
      );
    }
    sections.push(
      `<p class="note">${escapeHtml(historyNote(model.thresholds))} Flagged points are drawn larger, in red.</p>`,
    );
    for (const series of model.series) {
      for (const history of series.histories) {
        sections.push(`<h3>${escapeHtml(historyHeading(series.sourceParameter, history))}</h3>`);
        const columns = insertBefore(
          historyColumns("table"),
          "flag",
          integrityColumns((e: (typeof history.entries)[number]) => e.summary, true),
        );
        sections.push(
          `<div class="table-wrap">${htmlTable(columns, history.entries, (e) => (e.regression ? "regression" : undefined))}</div>`,
        );
      }
    }
  }

  if (model.comparison.length > 0) sections.push(...markedRunsSection(model, charts.runBars));

  sections.push('<h2 id="failures">Failed and timed-out runs</h2>');
  if (model.failedRuns.length === 0) sections.push('<p class="note">None.</p>');
  else {
    const shown = model.failedRuns.slice(0, MAX_FAILED_RUN_ROWS);
    sections.push(`<div class="table-wrap">${htmlTable(FAILED_RUN_COLUMNS, shown)}</div>`);
    const more = model.failedRuns.length - shown.length;
    sections.push(
      `<p class="note">Newest first; never part of the statistics.${more > 0 ? ` ${more} older ones not shown.` : ""}</p>`,
    );
  }

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(model.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(model.title)}</h1>
<p class="meta">Generated ${escapeHtml(shortTime(model.generatedAt))} UTC from DynamoDB table ${escapeHtml(model.tableName)}; ${escapeHtml(model.selection)}.</p>
${sections.join("\n")}
<script type="application/json" id="report-data">${scriptSafeJson(charts)}</script>
<script>${scriptSafeSource(chartJsSource)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
