/**
 * `boot-bench report --out report.html`: one self-contained HTML file with a box of runs per image, the
 * totals and shifts of each series over time, the tables, the runs of benchmarks with marked runs and
 * the failed runs; it opens offline. Each listed run's console text and filmstrip go beside it, in
 * `report-files/` (cli/report-evidence.ts), linked relatively.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import {
  queryBenchmark,
  queryFailedRuns,
  querySummaryDigests,
  type SummaryFilter,
} from "../../functions/aws/benchmark-queries.js";
import {
  byTotal,
  latestPerConfiguration,
  type SummaryDigest,
  seriesHistory,
} from "../../functions/domain/comparison.js";
import type { RunRecord } from "../../functions/domain/run-record.js";
import { mapConcurrently } from "../concurrently.js";
import { openConsoleObjects } from "../console-objects.js";
import type { QueryDeps } from "../query-command.js";
import { processIo } from "../query-command.js";
import {
  addFilterOptions,
  addTargetOptions,
  addThresholdOptions,
  type FilterOptions,
  summaryFilterFrom,
  type ThresholdOptions,
  thresholdsFrom,
  withResultsTable,
} from "../query-options.js";
import type { BenchmarkRuns, SeriesReport } from "../report-charts.js";
import {
  evidenceWords,
  openedOnFirstRead,
  type WrittenEvidence,
  writeRunEvidence,
} from "../report-evidence.js";
import { MAX_MARKED_BENCHMARKS, type ReportModel, reportHtml } from "../report-html.js";
import type { TableTargetOptions } from "../results-table.js";

export interface ReportRequest extends FilterOptions, ThresholdOptions {
  title?: string;
}

export const DEFAULT_REPORT_TITLE = "EC2 boot times";

/**
 * The browser builds the page inlines, in load order: Chart.js (a global `Chart`), Luxon and its
 * Chart.js adapter (the time axes, in UTC), and the two Chart.js plugins by Chart.js's maintainer
 * sgratzl (box plots; error bars for the confidence intervals), which register themselves on `Chart`.
 */
const BROWSER_BUILDS: [packageName: string, file: string][] = [
  ["chart.js", "dist/chart.umd.min.js"],
  ["luxon", "build/global/luxon.min.js"],
  ["chartjs-adapter-luxon", "dist/chartjs-adapter-luxon.umd.min.js"],
  ["@sgratzl/chartjs-chart-boxplot", "build/index.umd.min.js"],
  ["chartjs-chart-error-bars", "build/index.umd.min.js"],
];

/** A file of an installed package that its exports map does not expose: found from its main entry up. */
function packageFile(packageName: string, file: string): string {
  for (let dir = dirname(createRequire(import.meta.url).resolve(packageName)); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    const name = existsSync(manifest)
      ? (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name
      : undefined;
    if (name === packageName) return join(dir, file);
    if (dirname(dir) === dir) throw new Error(`no package.json of ${packageName} above its main entry`);
  }
}

/** Every browser build the report needs, as one script. */
export function chartLibrariesSource(): string {
  return BROWSER_BUILDS.map(([name, file]) => readFileSync(packageFile(name, file), "utf8")).join("\n;\n");
}

function selectionText(filter: SummaryFilter): string {
  const parts = [
    filter.amiId && `AMI ${filter.amiId}`,
    filter.sourceParameter && `series ${filter.sourceParameter}`,
    filter.instanceType && `instance type ${filter.instanceType}`,
    filter.label && `label ${filter.label}`,
    filter.since && `started since ${filter.since}`,
  ].filter((part): part is string => typeof part === "string");
  return parts.length > 0 ? `benchmarks of ${parts.join(", ")}` : "all benchmarks";
}

/** Failed runs of the selected images: the FailedRuns index holds every image's, so narrow by the run's own image. */
function matchesImage(run: RunRecord, filter: SummaryFilter): boolean {
  if (filter.amiId !== undefined && run.image.amiId !== filter.amiId) return false;
  if (filter.sourceParameter !== undefined && run.image.sourceParameter !== filter.sourceParameter)
    return false;
  return true;
}

// The index orders by the benchmark's start only; runs of one benchmark share it and come in any order.
const newestRunFirst = (a: RunRecord, b: RunRecord): number =>
  b.startedAt.localeCompare(a.startedAt) ||
  a.benchmarkId.localeCompare(b.benchmarkId) ||
  a.runIndex - b.runIndex;

export async function buildReportModel(
  deps: Pick<QueryDeps, "client" | "tableName" | "clock">,
  request: ReportRequest,
): Promise<ReportModel> {
  const now = deps.clock();
  const filter = summaryFilterFrom(request, now);
  const thresholds = thresholdsFrom(request);
  const [summaries, failedRuns] = await Promise.all([
    querySummaryDigests(deps.client, deps.tableName, filter),
    queryFailedRuns(deps.client, deps.tableName, {
      ...(filter.since !== undefined && { since: filter.since }),
      ...(filter.instanceType !== undefined && { instanceType: filter.instanceType }),
      ...(filter.label !== undefined && { label: filter.label }),
    }),
  ]);
  const { chosen, superseded } = latestPerConfiguration(summaries);
  const bySource = new Map<string, SummaryDigest[]>();
  for (const summary of summaries) {
    if (summary.sourceParameter === undefined) continue;
    const list = bySource.get(summary.sourceParameter);
    if (list) list.push(summary);
    else bySource.set(summary.sourceParameter, [summary]);
  }
  const series: SeriesReport[] = [...bySource.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([sourceParameter, list]) => ({ sourceParameter, histories: seriesHistory(list, thresholds) }));
  const comparison = [...chosen].sort(byTotal);
  const marked = comparison.filter((summary) => (summary.integrity?.markedRuns ?? 0) > 0);
  const withGuestTimings = comparison.filter((summary) => summary.comparability?.guestKeyPair === true);
  const markedShown = marked.slice(0, MAX_MARKED_BENCHMARKS);
  const guestShown = withGuestTimings.slice(0, MAX_MARKED_BENCHMARKS);
  // Each benchmark's runs are read once, whether it is marked, has guest timings, or both.
  const read = [...new Set([...markedShown, ...guestShown])];
  const runsOf = new Map(
    await mapConcurrently(
      read,
      4,
      async (summary) =>
        [
          summary.benchmarkId,
          (await queryBenchmark(deps.client, deps.tableName, summary.benchmarkId)).runs,
        ] as const,
    ),
  );
  const withRuns = (summaries: SummaryDigest[]): BenchmarkRuns[] =>
    summaries.map((summary) => ({ summary, runs: runsOf.get(summary.benchmarkId) ?? [] }));
  return {
    title: request.title ?? DEFAULT_REPORT_TITLE,
    generatedAt: new Date(now).toISOString(),
    tableName: deps.tableName,
    selection: selectionText(filter),
    comparison,
    superseded,
    series,
    thresholds,
    failedRuns: failedRuns.filter((run) => matchesImage(run, filter)).sort(newestRunFirst),
    markedBenchmarks: withRuns(markedShown),
    markedBenchmarkCount: marked.length,
    guestBenchmarks: withRuns(guestShown),
  };
}

/** Fails before anything is read when the report could not be written where `--out` says. */
export function checkReportOut(out: string): void {
  const folder = dirname(resolve(out));
  const kind = (path: string) => statSync(path, { throwIfNoEntry: false });
  if (!kind(folder)?.isDirectory()) {
    throw new Error(`--out ${out}: there is no folder ${folder} to write the report into; create it first`);
  }
  if (kind(out)?.isDirectory()) {
    throw new Error(`--out ${out} is a folder: give the report's file name, e.g. ${out}/report.html`);
  }
}

interface ReportOptions extends ReportRequest, TableTargetOptions {
  out: string;
}

export function registerReportCommand(program: Command): void {
  const command = program
    .command("report")
    .description("write one self-contained HTML report (charts and tables; opens offline)")
    .option("-o, --out <file>", "where to write the report", "report.html")
    .option("--title <title>", "the report's title", DEFAULT_REPORT_TITLE);
  addFilterOptions(command);
  addThresholdOptions(command);
  addTargetOptions(command).action(async (options: ReportOptions) => {
    checkReportOut(options.out);
    const io = processIo();
    const model = await withResultsTable(options, ({ client, tableName }) =>
      buildReportModel({ client, tableName, clock: io.clock }, options),
    );
    const objects = openedOnFirstRead(() => openConsoleObjects(options));
    let written: WrittenEvidence;
    try {
      written = await writeRunEvidence(model, objects, options.out);
    } finally {
      await objects.close();
    }
    writeFileSync(options.out, reportHtml(model, chartLibrariesSource(), written.evidence));
    const seriesCount = model.series.reduce((n, s) => n + s.histories.length, 0);
    io.out.write(
      `Wrote ${options.out}: ${model.comparison.length} images (${model.markedBenchmarkCount} with marked runs), ${seriesCount} series, ${model.failedRuns.length} failed runs; ${evidenceWords(written)}.\n`,
    );
  });
}
