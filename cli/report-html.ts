/**
 * The HTML report: one self-contained file that opens offline. Chart.js's UMD build is inlined (no CDN),
 * the data travels as JSON inside the page, the tables are plain HTML (readable with scripts off), and
 * a Content-Security-Policy forbids every fetch, so the page cannot reach the network even by mistake.
 * Pure: the model and Chart.js's source in, the page out.
 */
import type { SummaryDigest } from "../functions/domain/comparison.js";
import {
  INTERVAL_LABELS,
  PUBLISHED_TOTAL_LABEL,
  RUN_TOTAL_MEDIAN_LABEL,
} from "../functions/domain/figures.js";
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
import { type ChartSources, chartData, type GuestBarData, type RunBarData } from "./report-charts.js";
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

export interface ReportModel extends ChartSources {
  title: string;
  /** ISO 8601. */
  generatedAt: string;
  tableName: string;
  /** The filters the report was made with, in words ("all benchmarks" when none). */
  selection: string;
  /** Matching benchmarks left out of the comparison because a newer one of the same AMI was chosen. */
  superseded: number;
  thresholds: RegressionThresholds;
  /** Newest first. */
  failedRuns: RunRecord[];
  /** How many compared benchmarks have marked runs (more than `markedBenchmarks` holds when capped). */
  markedBenchmarkCount: number;
}

/** A run's console or filmstrip as the report links it: a path relative to the report, or why there is none. */
export type EvidenceCell = { href: string } | { note: string };

/** What cli/report-evidence.ts wrote beside the report for one listed run. */
export interface RunEvidence {
  console: EvidenceCell;
  /** Absent when the run has no filmstrip (none was asked for, or it had no instance). */
  filmstrip?: EvidenceCell;
}

/** Keyed by runEvidenceKey. */
export type RunEvidenceMap = ReadonlyMap<string, RunEvidence>;

export const runEvidenceKey = (run: Pick<RunRecord, "benchmarkId" | "runIndex">): string =>
  `${run.benchmarkId}#${run.runIndex}`;

export const MAX_FAILED_RUN_ROWS = 200;
/** Each marked benchmark's runs cost a Query; `results --runs` shows the others one at a time. */
export const MAX_MARKED_BENCHMARKS = 20;
const ROW_HEIGHT_PX = 22;

// ---- HTML ------------------------------------------------------------------------------------
const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);

/** Columns whose cells are sentences: they wrap at spaces instead of widening the table. */
const TEXT_HEADERS: ReadonlySet<string> = new Set(["why", "note", "vs previous AMI", "control", "flag"]);
/** A link, or why there is none (a sentence with an S3 key in it): narrow, wrapping anywhere. */
const EVIDENCE_HEADERS: ReadonlySet<string> = new Set(["console", "filmstrip"]);
/** Columns of long names without spaces: they break inside a name only when the table must shrink. */
const NAME_HEADERS: ReadonlySet<string> = new Set(["AMI Name", "benchmark"]);

/** A column whose cells are markup it escaped itself (a link), instead of text that the table escapes. */
interface HtmlColumn<Row> extends Column<Row> {
  html?: (row: Row) => string;
}

interface TableLayout<Row> {
  /** A page-unique id for the table's column toggle. */
  id: string;
  /** The headers shown by default; the others wait behind the "all columns" toggle. All when absent. */
  shown?: ReadonlySet<string>;
  rowClass?: (row: Row) => string | undefined;
}

/**
 * A table that fits a 1280 px window: the columns in `shown` by default, the rest behind a checkbox
 * (CSS only, so it works with scripts off). With every column shown, the table scrolls in its own box;
 * the page never does.
 */
function htmlTable<Row>(columns: HtmlColumn<Row>[], rows: Row[], layout: TableLayout<Row>): string {
  const classes = columns.map((column) =>
    [
      column.align === "right" ? "num" : "",
      TEXT_HEADERS.has(column.header) ? "text" : "",
      NAME_HEADERS.has(column.header) ? "name" : "",
      EVIDENCE_HEADERS.has(column.header) ? "evidence" : "",
      layout.shown && !layout.shown.has(column.header) ? "extra" : "",
    ]
      .filter((name) => name !== "")
      .join(" "),
  );
  const cell = (tag: "th" | "td", index: number, markup: string) =>
    `<${tag}${classes[index] ? ` class="${classes[index]}"` : ""}>${markup}</${tag}>`;
  const head = `<tr>${columns.map((c, i) => cell("th", i, escapeHtml(c.header))).join("")}</tr>`;
  const body = rows
    .map((row) => {
      const className = layout.rowClass?.(row);
      return `<tr${className ? ` class="${className}"` : ""}>${columns.map((c, i) => cell("td", i, c.html ? c.html(row) : escapeHtml(c.value(row)))).join("")}</tr>`;
    })
    .join("\n");
  const table = `<div class="table-wrap"><table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
  const hidden = columns.filter((column) => layout.shown && !layout.shown.has(column.header));
  if (hidden.length === 0) return table;
  const toggleId = `columns-${layout.id}`;
  const names = hidden.map((column) => column.header).join(", ");
  return (
    `<div class="table-block"><input type="checkbox" class="columns-toggle" id="${toggleId}">` +
    `<label for="${toggleId}" title="${escapeHtml(names)}">all columns (${hidden.length} more: ${escapeHtml(names)})</label>\n${table}</div>`
  );
}

// What each table shows by default, so that it fits a 1280 px window; the rest is behind its toggle.
const COMPARISON_SHOWN: ReadonlySet<string> = new Set([
  "AMI Name",
  INTERVAL_LABELS.runningToPortClosed,
  INTERVAL_LABELS.portClosedToOpen,
  PUBLISHED_TOTAL_LABEL,
  RUN_TOTAL_MEDIAN_LABEL,
  "runs ok",
  "marked",
  "failed",
  "timed out",
  "instance type",
  "label",
  "started (UTC)",
]);
const HISTORY_SHOWN: ReadonlySet<string> = new Set([
  "first benchmarked (UTC)",
  "AMI Name",
  PUBLISHED_TOTAL_LABEL,
  RUN_TOTAL_MEDIAN_LABEL,
  "shift",
  "95 % CI",
  "p",
  "runs ok",
  "timed out",
  "vs previous AMI",
  "control",
  "flag",
]);
const MARKED_RUN_SHOWN: ReadonlySet<string> = new Set([
  "run",
  "counted",
  "status",
  ...INTERVAL_ORDER.filter((interval) => interval !== "runInstancesApi").map((i) => INTERVAL_LABELS[i]),
  "note",
  "console",
  "filmstrip",
]);

const FAILED_RUN_COLUMNS: Column<RunRecord>[] = [
  { header: "started (UTC)", value: (r) => shortTime(r.startedAt) },
  { header: "benchmark", value: (r) => r.benchmarkId },
  { header: "run", value: (r) => String(r.runIndex), align: "right" },
  { header: "AMI Name", value: (r) => r.image.name },
  { header: "instance type", value: (r) => r.instanceType },
  { header: "status", value: (r) => r.status },
  { header: "why", value: (r) => runNote(r, 200) },
];

/**
 * The console and filmstrip cells of listed runs, when the evidence was written: a link, or why there is
 * none. The filmstrip column only where some run of the table has a filmstrip.
 */
function evidenceColumns(
  runs: readonly RunRecord[],
  evidence: RunEvidenceMap | undefined,
): HtmlColumn<RunRecord>[] {
  if (evidence === undefined) return [];
  const column = (header: "console" | "filmstrip", linkText: string): HtmlColumn<RunRecord> => {
    const cellOf = (run: RunRecord) => evidence.get(runEvidenceKey(run))?.[header];
    return {
      header,
      value: (run) => {
        const cell = cellOf(run);
        return cell === undefined ? "-" : "href" in cell ? cell.href : cell.note;
      },
      html: (run) => {
        const cell = cellOf(run);
        if (cell === undefined) return "-";
        return "href" in cell
          ? `<a href="${escapeHtml(cell.href)}">${escapeHtml(linkText)}</a>`
          : escapeHtml(cell.note);
      },
    };
  };
  const withFilmstrip = runs.some((run) => evidence.get(runEvidenceKey(run))?.filmstrip !== undefined);
  return [column("console", "text"), ...(withFilmstrip ? [column("filmstrip", "player")] : [])];
}

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
export const scriptSafeJson = (value: unknown): string =>
  JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
const scriptSafeSource = (source: string): string => source.replace(/<(\/script|!--)/gi, "<\\$1");

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 78rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; font-size: 1.25rem; } h3 { font-size: 1.05rem; }
.meta, .note { color: #555; } .note { font-size: .9em; max-width: 60rem; }
table { border-collapse: collapse; margin: .6rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: .2rem .45rem; border-bottom: 1px solid #ddd; text-align: left; white-space: nowrap; }
th { background: #f4f4f4; position: sticky; top: 0; white-space: normal; vertical-align: bottom; min-width: 3rem; } td.num, th.num { text-align: right; }
td.text { white-space: normal; max-width: 24rem; } td.name { white-space: normal; overflow-wrap: anywhere; min-width: 8rem; }
td.evidence { white-space: normal; overflow-wrap: anywhere; min-width: 4rem; max-width: 13rem; font-size: .9em; }
th:not(.text):not(.name):not(.evidence) { width: 1%; }
tr.regression td { background: #fde8e8; } tr.marked td { background: #fff4d6; } .table-wrap { overflow-x: auto; }
.extra { display: none; } .columns-toggle:checked ~ .table-wrap .extra { display: table-cell; }
.table-block > label { font-size: .85em; color: #555; margin-left: .3rem; }
ul.marks { font-size: .9em; } ul.marks li { margin: .15rem 0; }
.chart { position: relative; width: 100%; } .chart-controls { margin: .4rem 0; }
`;

/**
 * The page's own script: draws the charts from the embedded JSON, then sets
 * `document.body.dataset.chartsReady` once every chart has rendered (what the Chromium test waits for),
 * or `chartsError` if drawing failed. Times are UTC throughout, like the tables.
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
    var colours = data.colours;
    var secondsTick = function (value) { return value + " s"; };
    var s2 = function (value) { return value.toFixed(2) + " s"; };
    var signed = function (value) { return (value > 0 ? "+" : value < 0 ? "\u2212" : "") + Math.abs(value).toFixed(2) + " s"; };
    var flagColour = function (flag, otherwise) { return flag === "drift" ? colours.drift : flag === "regression" ? colours.regression : otherwise; };
    var flagWords = function (flag) { return flag === "drift" ? " PLATFORM DRIFT" : flag === "regression" ? " REGRESSION" : ""; };
    var pointStyling = function (colour) {
      return {
        pointBackgroundColor: function (ctx) { return flagColour(ctx.raw && ctx.raw.flag, colour); },
        pointBorderColor: function (ctx) { return flagColour(ctx.raw && ctx.raw.flag, colour); },
        pointStyle: function (ctx) { return ctx.raw && ctx.raw.flag === "drift" ? "rectRot" : "circle"; },
        pointRadius: function (ctx) { return ctx.raw && ctx.raw.flag ? 7 : 3.5; }
      };
    };
    var iso = function (ms) { return new Date(ms).toISOString(); };
    // A real time axis in UTC, ticked at the benchmarks' own times: the day, and the time of day too
    // when another benchmark shares that day.
    var timeAxis = function (title) {
      return {
        type: "time", adapters: { date: { zone: "UTC" } }, offset: true,
        time: { tooltipFormat: "yyyy-MM-dd HH:mm 'UTC'" },
        title: { display: true, text: title },
        ticks: {
          source: "labels", maxRotation: 0,
          callback: function (value, index, ticks) {
            var day = iso(value).slice(0, 10);
            var shared = ticks.some(function (tick, other) { return other !== index && iso(tick.value).slice(0, 10) === day; });
            return shared ? iso(value).slice(0, 16).replace("T", " ") : day;
          }
        }
      };
    };
    var timesOf = function (lines) {
      var seen = {};
      lines.forEach(function (line) { line.points.forEach(function (point) { seen[point.x] = true; }); });
      return Object.keys(seen).map(Number).sort(function (a, b) { return a - b; });
    };

    var boxCanvas = document.getElementById("chart-boxes");
    if (boxCanvas) {
      var runBoxes = data.runBoxes;
      var select = document.getElementById("box-interval");
      var boxDatasets = function (interval) {
        var boxes = runBoxes.boxes[interval];
        var marked = [];
        var excluded = [];
        boxes.forEach(function (box) {
          if (!box) return;
          marked.push.apply(marked, box.marked);
          excluded.push.apply(excluded, box.excluded);
        });
        return [
          {
            type: "boxplot", label: "counted runs: box from q1 to q3 with the median, whiskers at the fastest and slowest, a dot per run",
            data: boxes.map(function (box) {
              return box ? { min: box.min, q1: box.q1, median: box.median, q3: box.q3, max: box.max, whiskerMin: box.min, whiskerMax: box.max, outliers: [], items: box.items } : null;
            }),
            backgroundColor: "rgba(49, 130, 189, 0.18)", borderColor: "#3182bd", borderWidth: 1.5,
            itemRadius: 2.5, itemStyle: "circle", itemBackgroundColor: "#08519c", itemBorderColor: "#08519c",
            outlierRadius: 0, meanRadius: 0, randomSeed: 7, order: 1
          },
          // A lower order is drawn later: the runs drawn apart stay on top of the box and its dots.
          { type: "scatter", label: "run with an integrity mark (value counted)", data: marked, order: 0, pointStyle: "triangle", pointRadius: 7, backgroundColor: "#f0a800", borderColor: "#8a6100", borderWidth: 1 },
          { type: "scatter", label: "value a mark excluded (outside the box and every statistic)", data: excluded, excluded: true, order: 0, pointStyle: "crossRot", pointRadius: 7, borderColor: "#757575", backgroundColor: "#757575", borderWidth: 2 }
        ];
      };
      var axisTitle = function () { return select.options[select.selectedIndex].text + ", seconds after the RunInstances response where it starts there"; };
      var boxChart = new Chart(boxCanvas, {
        type: "boxplot",
        data: { labels: runBoxes.labels, datasets: boxDatasets(select.value) },
        options: {
          indexAxis: "y", responsive: true, maintainAspectRatio: false,
          scales: {
            x: { type: "linear", title: { display: true, text: axisTitle() }, ticks: { callback: secondsTick } },
            y: { type: "category", ticks: { autoSkip: false, color: function (ctx) { return runBoxes.unfinished[ctx.index] ? colours.regression : "#444"; } } }
          },
          plugins: { tooltip: { callbacks: {
            label: function (item) {
              var raw = item.raw;
              if (item.dataset.type === "scatter") {
                return (item.dataset.excluded ? "EXCLUDED " : "") + "run " + raw.runIndex + ": " + s2(raw.x) + (raw.marks.length ? " (marks: " + raw.marks.join(", ") + ")" : "");
              }
              return raw ? "median " + s2(raw.median) + ", q1 to q3 " + s2(raw.q1) + " to " + s2(raw.q3) + ", fastest " + s2(raw.min) + ", slowest " + s2(raw.max) + " (" + (raw.items.length) + " unmarked runs)" : "";
            }
          } } }
        },
        plugins: [ready]
      });
      select.addEventListener("change", function () {
        boxChart.data.datasets = boxDatasets(select.value);
        boxChart.options.scales.x.title.text = axisTitle();
        boxChart.update();
      });
    }

    var trend = document.getElementById("chart-trend");
    if (trend) {
      new Chart(trend, {
        type: "line",
        data: {
          labels: timesOf(data.trends),
          datasets: data.trends.map(function (line) {
            var styling = pointStyling(line.colour);
            return {
              label: line.label, data: line.points, borderColor: line.colour, backgroundColor: line.colour, tension: 0,
              pointBackgroundColor: styling.pointBackgroundColor, pointBorderColor: styling.pointBorderColor,
              pointStyle: styling.pointStyle, pointRadius: styling.pointRadius
            };
          })
        },
        options: {
          responsive: true, maintainAspectRatio: false,
          scales: {
            x: timeAxis("first benchmarked (UTC)"),
            y: { title: { display: true, text: "total (the two medians' sum)" }, ticks: { callback: secondsTick } }
          },
          plugins: { tooltip: { callbacks: {
            label: function (item) { return item.raw.name + " (" + item.raw.amiId + "): total " + s2(item.raw.y) + flagWords(item.raw.flag); }
          } } }
        },
        plugins: [ready]
      });
    }

    document.querySelectorAll('canvas[data-chart="shifts"]').forEach(function (shiftCanvas) {
      var lines = data.shifts[Number(shiftCanvas.dataset.history)].lines;
      new Chart(shiftCanvas, {
        type: "scatterWithErrorBars",
        data: {
          labels: timesOf(lines.filter(function (line) { return !line.control; })),
          datasets: lines.map(function (line) {
            var styling = pointStyling(line.colour);
            // The error bars' point element takes its options without the "point" prefix.
            return {
              label: line.label, data: line.points, control: line.control, colour: line.colour,
              errorBarColor: line.colour, errorBarWhiskerColor: line.colour, errorBarLineWidth: 1.5, errorBarWhiskerSize: 12,
              backgroundColor: line.control ? "#ffffff" : styling.pointBackgroundColor,
              borderColor: styling.pointBorderColor, borderWidth: line.control ? 2 : 1,
              pointStyle: line.control ? "rect" : styling.pointStyle, radius: styling.pointRadius
            };
          })
        },
        options: {
          responsive: true, maintainAspectRatio: false,
          scales: {
            x: timeAxis("first benchmarked (UTC); the control just right of the series point it ran beside"),
            y: {
              title: { display: true, text: "shift vs previous AMI, 95 % CI" },
              ticks: { callback: function (value) { return signed(value); } },
              grid: { color: function (ctx) { return ctx.tick && ctx.tick.value === 0 ? "#333333" : "rgba(0, 0, 0, 0.1)"; } }
            }
          },
          plugins: {
            // The series' own colour, not its first point's (which may be a flag's).
            legend: { labels: { generateLabels: function (chart) {
              return chart.data.datasets.map(function (dataset, index) {
                return {
                  text: dataset.label, datasetIndex: index, hidden: !chart.isDatasetVisible(index),
                  fillStyle: dataset.control ? "#ffffff" : dataset.colour, strokeStyle: dataset.colour, lineWidth: dataset.control ? 2 : 1
                };
              });
            } } },
            tooltip: { callbacks: {
            label: function (item) {
              var raw = item.raw;
              return (item.dataset.control ? "control " : "") + raw.name + " against " + raw.against + ": " + raw.words + " (" + raw.verdict + ")" + flagWords(raw.flag);
            }
          } }
          }
        },
        plugins: [ready]
      });
    });

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

    var guestBars = document.getElementById("chart-guest");
    if (guestBars) {
      var guestData = data.guestBars;
      // Floating bars on one row per run, drawn over each other: the observed span, the guest's inside it.
      var guestDataset = function (label, values, colour, extra) {
        return Object.assign({ label: label, data: values, backgroundColor: colour, grouped: false }, extra || {});
      };
      new Chart(guestBars, {
        type: "bar",
        data: {
          labels: guestData.labels,
          datasets: [
            guestDataset("kernel (guest)", guestData.kernel, "#6a51a3", { barPercentage: 0.55 }),
            guestDataset("userland until sshd ready (guest)", guestData.userland, "#31a354", { barPercentage: 0.55 }),
            guestDataset("kernel and userland until sshd ready (guest)", guestData.kernelAndUserland, "#9e9ac8", { barPercentage: 0.55 }),
            guestDataset("running to port open (observed)", guestData.observed, "#d9d9d9", { borderColor: "#737373", borderWidth: 1, barPercentage: 0.9 })
          ]
        },
        options: {
          indexAxis: "y", responsive: true, maintainAspectRatio: false,
          scales: {
            x: { title: { display: true, text: "seconds after running was seen; the guest's spans end at the port's first SYN/ACK" }, ticks: { callback: secondsTick } },
            y: { ticks: { autoSkip: false } }
          },
          plugins: {
            tooltip: { callbacks: {
              label: function (item) {
                var span = item.raw;
                return item.dataset.label + ": " + span[0].toFixed(2) + " to " + span[1].toFixed(2) + " s (" + (span[1] - span[0]).toFixed(2) + " s)";
              },
              footer: function (items) { return items.length ? "from " + guestData.sources[items[0].dataIndex] : ""; }
            } }
          }
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
function markedRunsSection(
  model: ReportModel,
  runBars: RunBarData,
  evidence: RunEvidenceMap | undefined,
): string[] {
  const sections = ['<h2 id="marked">Marked runs</h2>'];
  if (model.markedBenchmarkCount === 0) {
    sections.push('<p class="note">None: every interval of every counted run that succeeded is valid.</p>');
    return sections;
  }
  if (runBars.labels.length > 0) {
    const height = chartHeight(runBars.labels.length);
    sections.push(
      chartBox(
        "runs",
        height,
        "Stacked bars per counted run of the benchmarks with marked runs; invalid intervals grey, as excluded",
      ),
    );
  }
  sections.push(
    `<p class="note">${escapeHtml(
      "Every run of each compared benchmark that has marked runs. An interval a mark invalidates is left " +
        "out of every median and statistic; it is shown here as excluded (grey in the chart, which has " +
        "the counted runs that succeeded) with the value it would have had.",
    )}</p>`,
  );
  for (const [index, { summary, runs }] of model.markedBenchmarks.entries()) {
    sections.push(`<h3>${escapeHtml(markedBenchmarkHeading(summary))}</h3>`);
    if (summary.integrity) {
      sections.push(`<p class="note">${escapeHtml(`${integrityFact(summary.integrity)}.`)}</p>`);
    }
    const rowClass = (run: RunRecord) => (invalidatingMarks(run.integrity).length > 0 ? "marked" : undefined);
    sections.push(
      htmlTable([...MARKED_RUN_COLUMNS, ...evidenceColumns(runs, evidence)], runs, {
        id: `marked-${index}`,
        shown: MARKED_RUN_SHOWN,
        rowClass,
      }),
    );
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

/** The compared benchmarks with guest timings: each run's guest milestones inside its running to open. */
function guestTimingsSection(model: ReportModel, guestBars: GuestBarData): string[] {
  if (model.guestBenchmarks.length === 0) return [];
  const sections = ['<h2 id="guest">Guest timings</h2>'];
  if (guestBars.labels.length === 0) {
    sections.push(
      '<p class="note">No counted run of the benchmarks with guest timings has an sshd milestone and a valid total.</p>',
    );
    return sections;
  }
  sections.push(
    chartBox(
      "guest",
      chartHeight(guestBars.labels.length),
      "Per run of the benchmarks with guest timings: running to port open as observed, with the guest's kernel and userland inside it",
    ),
  );
  sections.push(
    `<p class="note">${escapeHtml(
      "What the guest said of its own boot (systemd, the journal, kern.boottime, boottrace; boot-bench " +
        "logged in after the port opened). Its figures count from its kernel's start on its own clock, " +
        "which no observed timestamp shares, so they are placed with sshd ready at the port's first " +
        "SYN/ACK: a kernel span that starts left of 0 started before EC2 reported running. A row whose " +
        "guest gave coarser times says so (FreeBSD's ps lstart: sshd's start in whole seconds, so its " +
        "spans can be a second short). Never part of the intervals or their statistics.",
    )}</p>`,
  );
  return sections;
}

/** A chart with a row per image or run: tall enough for every row's label. */
const chartHeight = (rows: number): number => Math.max(160, rows * ROW_HEIGHT_PX + 90);

/** The intervals the per-image chart can show, the per-run total first. */
const BOX_INTERVAL_CHOICES: [IntervalName, string][] = [
  ["total", "each run's total (running to port open)"],
  ...INTERVAL_ORDER.filter((interval) => interval !== "total").map((interval): [IntervalName, string] => [
    interval,
    INTERVAL_LABELS[interval],
  ]),
];

function runBoxesSection(model: ReportModel, rows: number): string[] {
  const measuredCount = model.comparison.filter((s) => s.medians !== undefined).length;
  if (rows === 0) return [];
  const options = BOX_INTERVAL_CHOICES.map(
    ([interval, text]) =>
      `<option value="${interval}"${interval === "total" ? " selected" : ""}>${escapeHtml(text)}</option>`,
  ).join("");
  return [
    `<p class="chart-controls"><label for="box-interval">Runs of each image: </label><select id="box-interval">${options}</select></p>`,
    chartBox(
      "boxes",
      chartHeight(rows),
      "Per image, a box of its counted runs' values with a dot per run; marked runs drawn apart",
    ),
    `<p class="note">${escapeHtml(
      "A dot per counted run that succeeded, over a box from its first to its third quartile with the " +
        "median, whiskers at the fastest and the slowest run (every edge an observed run). A triangle is a " +
        "run with an integrity mark whose value still counts; a grey cross is a value a mark excluded, " +
        "outside the box and every statistic. Runs that timed out or failed have no value: their counts " +
        "stand in red beside the image's name, and each one is listed under Failed and timed-out runs.",
    )}${
      measuredCount > rows
        ? ` The chart shows the ${rows} fastest of ${measuredCount} images; the table has them all.`
        : ""
    }</p>`,
  ];
}

/**
 * A chart's canvas in a box of its height: the page's script draws it by its `data-chart` kind (and,
 * for a series history's chart, its `data-history` index, which also numbers its id).
 */
function chartBox(chart: string, heightPx: number, ariaLabel: string, history?: number): string {
  const id = history === undefined ? `chart-${chart}` : `chart-${chart}-${history}`;
  const historyAttribute = history === undefined ? "" : ` data-history="${history}"`;
  return (
    `<div class="chart" style="height:${heightPx}px"><canvas id="${id}" data-chart="${chart}"${historyAttribute} ` +
    `role="img" aria-label="${ariaLabel}"></canvas></div>`
  );
}

const LEGEND_ROW_PX = 22;

function seriesSection(model: ReportModel, charts: ReturnType<typeof chartData>): string[] {
  if (model.series.length === 0) return [];
  const sections = ['<h2 id="series">Series over time</h2>'];
  if (charts.trends.length > 0) {
    // Room for the legend (about two entries a row) above a plot of a constant height.
    const height = 320 + Math.ceil(charts.trends.length / 2) * LEGEND_ROW_PX;
    sections.push(chartBox("trend", height, "The total of each AMI of each series, on a time axis"));
  }
  sections.push(
    `<p class="note">${escapeHtml(
      `${historyNote(model.thresholds)} Charts: a REGRESSION is a large red dot, a PLATFORM DRIFT a large ` +
        "purple diamond. Under each heading, each AMI's shift against the AMI before it, its 95 % CI as " +
        "whiskers; an open grey square is the control's own shift in the same suite run, drawn just " +
        "right of the series point.",
    )}</p>`,
  );
  let historyIndex = 0;
  for (const series of model.series) {
    for (const history of series.histories) {
      const index = historyIndex++;
      sections.push(`<h3>${escapeHtml(historyHeading(series.sourceParameter, history))}</h3>`);
      if ((charts.shifts[index]?.lines.length ?? 0) > 0) {
        sections.push(
          chartBox(
            "shifts",
            280,
            "Each AMI's shift against the previous AMI of the series, with its 95 % confidence interval as whiskers, and the control beside it",
            index,
          ),
        );
      }
      const columns = insertBefore(
        historyColumns("table"),
        "flag",
        integrityColumns((e: (typeof history.entries)[number]) => e.summary, true),
      );
      sections.push(
        htmlTable(columns, history.entries, {
          id: `series-${index}`,
          shown: HISTORY_SHOWN,
          rowClass: (e) => (e.regression ? "regression" : undefined),
        }),
      );
    }
  }
  return sections;
}

/**
 * `evidence`, when given, adds a console cell (and a filmstrip cell) to each listed run: what
 * cli/report-evidence.ts wrote beside the report.
 */
export function reportHtml(model: ReportModel, chartSources: string, evidence?: RunEvidenceMap): string {
  const charts = chartData(model);
  const sections: string[] = [];

  sections.push('<h2 id="images">Boot time per image</h2>');
  sections.push(...runBoxesSection(model, charts.runBoxes.labels.length));
  if (model.comparison.length === 0) sections.push('<p class="note">No benchmarks match.</p>');
  else {
    const columns = insertBefore(
      comparisonColumns(model.comparison),
      "failed",
      integrityColumns((s: SummaryDigest) => s, false),
    );
    sections.push(htmlTable(columns, model.comparison, { id: "images", shown: COMPARISON_SHOWN }));
    const superseded =
      model.superseded > 0
        ? ` One row per AMI, instance type and label: its newest benchmark with results (${model.superseded} other benchmarks of the same AMIs not shown).`
        : "";
    sections.push(`<p class="note">${escapeHtml(`${COMPARISON_NOTE} ${INTEGRITY_NOTE}${superseded}`)}</p>`);
  }

  sections.push(...seriesSection(model, charts));

  if (model.comparison.length > 0) sections.push(...markedRunsSection(model, charts.runBars, evidence));
  sections.push(...guestTimingsSection(model, charts.guestBars));

  sections.push('<h2 id="failures">Failed and timed-out runs</h2>');
  if (model.failedRuns.length === 0) sections.push('<p class="note">None.</p>');
  else {
    const shown = model.failedRuns.slice(0, MAX_FAILED_RUN_ROWS);
    sections.push(
      htmlTable([...FAILED_RUN_COLUMNS, ...evidenceColumns(shown, evidence)], shown, { id: "failures" }),
    );
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
<script>${scriptSafeSource(chartSources)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
