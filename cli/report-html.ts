/**
 * The HTML report: one self-contained file that opens offline. Chart.js's UMD build is inlined (no CDN),
 * the data travels as JSON inside the page, the tables are plain HTML (readable with scripts off), and
 * a Content-Security-Policy forbids every fetch, so the page cannot reach the network even by mistake.
 * Pure: the model and Chart.js's source in, the page out.
 */
import type { RegressionThresholds, SeriesHistory, SummaryDigest } from "../functions/domain/comparison.js";
import type { RunRecord } from "../functions/domain/run-record.js";
import {
  COMPARISON_NOTE,
  comparisonColumns,
  historyColumns,
  historyHeading,
  historyNote,
  runNote,
  shortTime,
} from "./results-view.js";
import type { Column } from "./text-table.js";

export interface SeriesReport {
  sourceParameter: string;
  histories: SeriesHistory[];
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
}

/** A chart of a thousand bars is a texture, not a picture; the table below it has every row. */
export const MAX_CHART_BARS = 150;
export const MAX_FAILED_RUN_ROWS = 200;
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

export interface ChartData {
  bars: BarChartData;
  trends: TrendLine[];
  regressionColour: string;
}

/** What the charts draw, computed here rather than in the page so that it is tested without a browser. */
export function chartData(model: ReportModel): ChartData {
  const measured = model.comparison.filter((s) => s.medians !== undefined).slice(0, MAX_CHART_BARS);
  const several = (values: (string | undefined)[]) => new Set(values).size > 1;
  const showType = several(measured.map((s) => s.instanceType));
  const showLabel = measured.some((s) => s.label !== undefined);
  const barLabel = (s: SummaryDigest): string =>
    [s.image.name, showType ? s.instanceType : undefined, showLabel ? s.label : undefined]
      .filter((part) => part !== undefined)
      .join(" · ");
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
tr.regression td { background: #fde8e8; } .table-wrap { overflow-x: auto; }
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
    sections.push(
      `<div class="table-wrap">${htmlTable(comparisonColumns(model.comparison), model.comparison)}</div>`,
    );
    const superseded =
      model.superseded > 0
        ? ` One row per AMI, instance type and label: its newest benchmark with results (${model.superseded} other benchmarks of the same AMIs not shown).`
        : "";
    sections.push(`<p class="note">${escapeHtml(COMPARISON_NOTE + superseded)}</p>`);
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
        sections.push(
          `<div class="table-wrap">${htmlTable(historyColumns("table"), history.entries, (e) => (e.regression ? "regression" : undefined))}</div>`,
        );
      }
    }
  }

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
