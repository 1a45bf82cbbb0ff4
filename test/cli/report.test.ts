import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReportModel, chartLibrariesSource, type ReportRequest } from "../../cli/commands/report.js";
import { chartData } from "../../cli/report-charts.js";
import { escapeHtml, type ReportModel, reportHtml } from "../../cli/report-html.js";
import type { SummaryDigest } from "../../functions/domain/comparison.js";
import type { BenchmarkSettings } from "../../functions/domain/contract.js";
import type { GuestMilestones } from "../../functions/domain/guest-timings.js";
import { judgeRun } from "../../functions/domain/integrity.js";
import { compareWithPrevious } from "../../functions/domain/regression.js";
import { buildSummaryRecord, type RunRecord } from "../../functions/domain/run-record.js";
import { boxSummary } from "../../functions/domain/statistics.js";
import { DEFAULT_REGRESSION_THRESHOLDS } from "../../functions/domain/suite-schema.js";
import type { BenchmarkRecords } from "../support/benchmark-records.js";
import { chromiumInstalled, launchHeadlessChromium } from "../support/headless-chromium.js";
import { type SeededTable, startSeededTable } from "../support/results-dynamodb.js";
import { DATASET, NOW, SERIES } from "./results-dataset.js";

/** The page's document, typed just enough. */
interface PageDocument {
  documentElement: { scrollWidth: number; clientWidth: number };
  querySelectorAll(
    selector: string,
  ): ArrayLike<{ scrollWidth: number; clientWidth: number }> &
    Iterable<{ scrollWidth: number; clientWidth: number }>;
  querySelector(selector: string): { scrollWidth: number } | null;
}

/**
 * Pixels in a region of a screenshot within a small distance of a colour (antialiased edges and text
 * are blends, so an exact match would count only the insides of shapes).
 */
function countColour(png: PNG, region: Region, hex: string, tolerance = 24): number {
  const [r, g, b] = [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16)) as [
    number,
    number,
    number,
  ];
  let count = 0;
  const [x0, y0] = [Math.max(0, Math.floor(region.x)), Math.max(0, Math.floor(region.y))];
  const x1 = Math.min(png.width, Math.ceil(region.x + region.width));
  const y1 = Math.min(png.height, Math.ceil(region.y + region.height));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      const d =
        Math.abs((png.data[i] ?? 0) - r) +
        Math.abs((png.data[i + 1] ?? 0) - g) +
        Math.abs((png.data[i + 2] ?? 0) - b);
      if (d <= tolerance) count++;
    }
  }
  return count;
}

type Region = { x: number; y: number; width: number; height: number };

/** Where a chart plots (inside its axes, without legend or labels), in page pixels. */
async function chartRegions(page: Page, id: string): Promise<{ canvas: Region; plot: Region }> {
  const canvas = await page.locator(`#${id}`).boundingBox({ timeout: 5000 });
  if (!canvas) throw new Error(`#${id} is not visible`);
  const area = await page.evaluate(
    (chartId) =>
      (
        globalThis as unknown as {
          Chart: {
            getChart(id: string): { chartArea: { left: number; top: number; right: number; bottom: number } };
          };
        }
      ).Chart.getChart(chartId).chartArea,
    id,
  );
  const plot = {
    x: canvas.x + area.left,
    y: canvas.y + area.top,
    width: area.right - area.left,
    height: area.bottom - area.top,
  };
  return { canvas, plot };
}
const plotArea = async (page: Page, id: string): Promise<Region> => (await chartRegions(page, id)).plot;

/** One row of a horizontal chart's category axis, in page pixels: its label, and its part of the plot. */
async function rowBand(page: Page, id: string, label: string): Promise<{ label: Region; plot: Region }> {
  const { canvas, plot } = await chartRegions(page, id);
  const band = await page.evaluate(
    ([chartId, rowLabel]) => {
      const chart = (
        globalThis as unknown as {
          Chart: {
            getChart(id: string): {
              data: { labels: string[] };
              scales: { y: { getPixelForValue(value: number): number } };
            };
          };
        }
      ).Chart.getChart(chartId as string);
      const row = chart.data.labels.indexOf(rowLabel as string);
      if (row < 0) throw new Error(`no row ${rowLabel}`);
      const [centre, next] = [row, row + 1].map((value) => chart.scales.y.getPixelForValue(value)) as [
        number,
        number,
      ];
      return { centre, half: Math.abs(next - centre) / 2 };
    },
    [id, label],
  );
  const [y, height] = [canvas.y + band.centre - band.half, band.half * 2];
  return {
    label: { x: canvas.x, y, width: plot.x - canvas.x, height },
    plot: { x: plot.x, y, width: plot.width, height },
  };
}

/** A canvas as the page sees it, typed just enough: the project compiles without the DOM library. */
interface PageCanvas {
  id: string;
  width: number;
  height: number;
  getContext(
    kind: "2d",
  ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

// ---- a marked run ------------------------------------------------------------------------------
const MARKED_BENCHMARK = "debian-10";
const MARKED_IMAGE = "debian-10-amd64-20210721-710";
const MARKED_RUN = 4;
const AMAZON_ROW = "amzn2-ami-hvm-2.0.20210813.1-x86_64-gp2 · c7i.large (1 timed out, 1 failed)";
/** Forty times the benchmark's port bracket limit (5 probe intervals of 10 ms). */
const WIDE_OPEN_BRACKET_MS = 2000;

const known = (value: number | undefined): number => {
  if (value === undefined) throw new Error("a succeeded run's timestamp is missing");
  return value;
};

/**
 * The run judged again as if the probe had had no answer for two seconds before the port opened (a
 * stalled probe): judgeRun marks it openBracketWide, which invalidates closed to open and total.
 */
function withStalledProbe(run: RunRecord, settings: BenchmarkSettings): RunRecord {
  const t = run.timestamps;
  const openNotBefore = known(t.firstOpenAt) - WIDE_OPEN_BRACKET_MS;
  const privateIp = run.privateIp ?? "10.0.1.23";
  const integrity = judgeRun({
    settings,
    launch: {
      instanceId: run.instanceId ?? "i-0",
      privateIp,
      privateIpSource: "runInstances",
      privateIpAt: known(t.privateIpAt),
      clientToken: run.clientToken,
      launchRequestedAt: known(t.launchRequestedAt),
      launchRespondedAt: known(t.launchRespondedAt),
      earlierLaunchSends: 0,
    },
    poll: {
      runningAt: known(t.runningAt),
      runningNotBefore: t.runningNotBefore,
      pollStartedAt: known(t.pollStartedAt),
      privateIp,
      describeCalls: run.poll?.describeCalls ?? 0,
      throttledCalls: run.poll?.throttledCalls ?? 0,
      notFoundCalls: run.poll?.notFoundCalls ?? 0,
      abandonedCalls: run.poll?.abandonedCalls ?? 0,
    },
    probe: {
      status: "open",
      probeStartedAt: known(t.probeStartedAt),
      firstClosedAt: t.firstClosedAt,
      closedNotBefore: t.closedNotBefore,
      firstOpenAt: t.firstOpenAt,
      openNotBefore,
      probeEndedAt: known(t.probeEndedAt),
      attempts: run.probe?.attempts ?? 0,
      unanswered: run.probe?.unanswered ?? 0,
      refused: run.probe?.refused ?? 0,
      connected: run.probe?.connected ?? 0,
      otherErrors: run.probe?.otherErrors ?? 0,
    },
    hasIntervals: true,
  });
  return { ...run, timestamps: { ...t, openNotBefore }, integrity };
}

/** The dataset with debian-10's run 4 marked, and debian-10's summary built again from its runs. */
const MARKED_DATASET: BenchmarkRecords[] = DATASET.map((benchmark) => {
  if (benchmark.summary.benchmarkId !== MARKED_BENCHMARK) return benchmark;
  const { summary } = benchmark;
  const runs = benchmark.runs.map((run) =>
    run.runIndex === MARKED_RUN ? withStalledProbe(run, summary.settings) : run,
  );
  const { benchmarkId, executionId, startedAt, settings, image } = summary;
  return {
    runs,
    summary: buildSummaryRecord(
      { benchmark: { benchmarkId, executionId, startedAt }, settings, image },
      runs,
    ),
  };
});

// ---- a control beside the c7i.large series -----------------------------------------------------
const CONTROL_IMAGE = "ami-0c0a70000000000c1";
const summaryOf = (benchmarkId: string) => {
  const benchmark = MARKED_DATASET.find((b) => b.summary.benchmarkId === benchmarkId);
  if (!benchmark) throw new Error(`no benchmark ${benchmarkId}`);
  return benchmark.summary;
};
/**
 * What SummariseSuite stores when a control ran in the same suite run: weeks 2 and 3 of the series
 * had one. Measured like the series, the control slowed as much in week 3: that week is platform drift.
 */
for (const [week, controlWeek, drift] of [
  ["weekly-2", "weekly-1", false],
  ["weekly-3", "weekly-2", true],
] as const) {
  summaryOf(week).platform = {
    controlBenchmarkId: `control-${week}`,
    controlImage: CONTROL_IMAGE,
    controlAmiId: CONTROL_IMAGE,
    controlImageName: "pinned control",
    control: compareWithPrevious(summaryOf(week), summaryOf(controlWeek), DEFAULT_REGRESSION_THRESHOLDS),
    drift,
  };
}

const markedRun = (): RunRecord => {
  const run = MARKED_DATASET.find((b) => b.summary.benchmarkId === MARKED_BENCHMARK)?.runs[MARKED_RUN];
  if (!run) throw new Error("no marked run");
  return run;
};

/** The cells of an HTML table's rows, tags stripped (the report's tables are plain). */
function tableRows(tableHtml: string): string[][] {
  return [...tableHtml.matchAll(/<tr[^>]*>(.*?)<\/tr>/g)].map((row) =>
    [...(row[1] ?? "").matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/g)].map((cell) => cell[1] ?? ""),
  );
}

const firstTable = (html: string): string[][] =>
  tableRows(html.slice(html.indexOf("<table>"), html.indexOf("</table>")));

let table: SeededTable;
beforeAll(async () => {
  table = await startSeededTable(MARKED_DATASET);
});
afterAll(async () => {
  await table?.close();
});

const model = (request: ReportRequest = {}): Promise<ReportModel> =>
  buildReportModel({ client: table.client, tableName: table.tableName, clock: () => NOW }, request);

/**
 * The report with weekly-1 as a benchmark with guest timings: each run's sshd ready 0.3 s before its
 * port opened, and every other run's userland started 0.4 s after its kernel (the others did not say).
 */
async function withGuestTimings(sources: GuestMilestones["sources"]): Promise<ReportModel> {
  const report = await model();
  const summary = report.comparison.find((s) => s.benchmarkId === "weekly-1") as SummaryDigest;
  const runs = (MARKED_DATASET.find((b) => b.summary.benchmarkId === "weekly-1")?.runs ?? []).map(
    (run, i): RunRecord => {
      const total = run.intervals?.total ?? 0;
      const milestones = {
        ...(i % 2 === 0 && { userlandStartedMs: 400 }),
        sshdReadyMs: total * 1000 - 300,
        sources,
      };
      const guest = { status: "collected" as const, family: "linux" as const, loginUser: "admin" };
      return { ...run, guest: { ...guest, startedAt: 0, endedAt: 1, milestones, answers: [] } };
    },
  );
  return { ...report, guestBenchmarks: [{ summary, runs }] };
}

describe("the report's content", () => {
  it("compares one benchmark per AMI, instance type and label, fastest first", async () => {
    const report = await model();
    expect(report.comparison.map((s) => s.benchmarkId)).toEqual([
      "clear-linux",
      "weekly-1-m7i.large",
      "weekly-2-m7i.large",
      "weekly-1",
      "weekly-2",
      "debian-10",
      "weekly-4",
      "amazon-linux-2",
      "weekly-3",
      "freebsd-13-firstboot-off",
      "broken-image",
    ]);
    expect(report.superseded).toBe(2);
    expect(report.generatedAt).toBe("2025-06-08T00:00:00.000Z");
  });

  it("has the history of each series, per instance type, with the regression flagged", async () => {
    const report = await model();
    expect(report.series.map((s) => s.sourceParameter)).toEqual([SERIES]);
    const [c7i, m7i] = report.series[0]?.histories ?? [];
    expect(c7i?.entries.filter((e) => e.regression).map((e) => e.summary.amiId)).toEqual([
      "ami-0f15c00000000003",
    ]);
    expect(m7i?.instanceType).toBe("m7i.large");
  });

  it("lists the failed and timed-out runs of the selected images only, newest first", async () => {
    const all = await model();
    expect(all.failedRuns.map((r) => `${r.benchmarkId}#${r.runIndex}`)).toEqual([
      "broken-image#0",
      "broken-image#1",
      "broken-image#2",
      "amazon-linux-2#8",
      "amazon-linux-2#9",
      "weekly-4-retry#0",
      "weekly-4-retry#1",
      "weekly-4-retry#2",
      "weekly-4-retry#3",
    ]);
    const series = await model({ series: SERIES });
    expect(new Set(series.failedRuns.map((r) => r.benchmarkId))).toEqual(new Set(["weekly-4-retry"]));
    expect(series.comparison.every((s) => s.sourceParameter === SERIES)).toBe(true);
  });

  it("draws each image's counted runs as points over a box, the marked ones apart, the unfinished beside", async () => {
    const report = await model();
    const { runBoxes } = chartData(report);
    // The broken image has no measurement, so no row.
    expect(runBoxes.labels).toHaveLength(10);
    expect(runBoxes.labels[0]).toBe("clear-34640-ecs-base · c7i.large");
    expect(runBoxes.labels.filter((_, row) => runBoxes.unfinished[row])).toEqual([AMAZON_ROW]);
    const row = (benchmarkId: string) => {
      const summary = report.comparison.find((s) => s.benchmarkId === benchmarkId);
      return report.comparison.filter((s) => s.medians !== undefined).indexOf(summary as SummaryDigest);
    };
    // An unmarked image: every counted value is a point, the box is theirs.
    const weekly1 = row("weekly-1");
    const weekly1Totals = MARKED_DATASET.find((b) => b.summary.benchmarkId === "weekly-1")
      ?.runs.filter((r) => r.counted && r.status === "succeeded")
      .map((r) => r.intervals?.total);
    expect(weekly1Totals).toHaveLength(9);
    expect(runBoxes.boxes.total[weekly1]).toEqual({
      ...boxSummary(weekly1Totals as number[]),
      items: weekly1Totals,
      marked: [],
      excluded: [],
    });
    // The marked run of debian-10: its total is excluded (outside the box), its valid interval is marked.
    const debian = row(MARKED_BENCHMARK);
    const { intervals } = markedRun();
    const debianRuns = MARKED_DATASET.find((b) => b.summary.benchmarkId === MARKED_BENCHMARK)?.runs ?? [];
    const otherTotals = debianRuns
      .filter((r) => r.counted && r.runIndex !== MARKED_RUN)
      .map((r) => r.intervals?.total as number);
    expect(otherTotals).toHaveLength(8);
    const point = (x: number | undefined) => ({
      x,
      y: `${MARKED_IMAGE} · c7i.large`,
      runIndex: MARKED_RUN,
      marks: ["openBracketWide"],
    });
    expect(runBoxes.boxes.total[debian]).toEqual({
      ...boxSummary(otherTotals),
      items: otherTotals,
      marked: [],
      excluded: [point(intervals?.total)],
    });
    expect(runBoxes.boxes.runningToPortClosed[debian]?.marked).toEqual([
      point(intervals?.runningToPortClosed),
    ]);
    expect(runBoxes.boxes.runningToPortClosed[debian]?.excluded).toEqual([]);
    expect(runBoxes.boxes.runningToPortClosed[debian]?.items).toHaveLength(8);
    expect(runBoxes.labels.some((label) => label.includes("not told apart"))).toBe(false);
    // Clear Linux never answered closed (closed := open): 0 s closed to open, a value like any other.
    expect(runBoxes.boxes.portClosedToOpen[0]?.median).toBe(0);
    // Runs that timed out or failed have no value: they are counted beside the row.
    expect(runBoxes.boxes.total[row("amazon-linux-2")]?.items).toHaveLength(7);
  });

  it("says when a marked benchmark's runs were not read (beyond the cap), and draws its values unsplit", async () => {
    const report = await model();
    const { runBoxes } = chartData({ ...report, markedBenchmarks: [] });
    const debian = runBoxes.labels.findIndex((label) => label.startsWith(MARKED_IMAGE));
    expect(runBoxes.labels[debian]).toBe(`${MARKED_IMAGE} · c7i.large (marked runs not told apart)`);
    const summary = report.comparison.find((s) => s.benchmarkId === MARKED_BENCHMARK);
    expect(runBoxes.boxes.total[debian]?.items).toEqual(summary?.countedValues?.total);
    expect(runBoxes.boxes.total[debian]?.excluded).toEqual([]);
  });

  it("says when a summary stored no per-run values (written before they were), and draws no box for it", async () => {
    const report = await model();
    const comparison = report.comparison.map((summary) => {
      if (summary.benchmarkId !== "weekly-1") return summary;
      const { countedValues: _, ...older } = summary;
      return older;
    });
    const { runBoxes } = chartData({ ...report, comparison });
    const row = runBoxes.labels.indexOf(
      "FreeBSD 15.0-CURRENT-amd64-20250501 UFS · c7i.large (no per-run values stored)",
    );
    expect(row).toBeGreaterThan(-1);
    expect(Object.values(runBoxes.boxes).map((boxes) => boxes[row])).toEqual([null, null, null, null, null]);
  });

  it("draws each series on a time axis: totals, and each shift with its confidence interval as whiskers", async () => {
    const report = await model();
    const data = chartData(report);
    expect(data.trends.map((line) => [line.label, line.points.length])).toEqual([
      [`${SERIES} on c7i.large`, 4],
      [`${SERIES} on m7i.large`, 2],
    ]);
    const c7i = report.series[0]?.histories[0];
    expect(data.trends[0]?.points.map((p) => [new Date(p.x).toISOString(), p.y, p.flag])).toEqual(
      c7i?.entries.map((e) => [
        e.firstBenchmarkedAt,
        e.summary.medians?.total,
        e.regression ? "drift" : undefined,
      ]),
    );
    // Week 3 regressed and the control slowed as much: platform drift, not a plain regression.
    expect(data.trends[0]?.points.map((p) => p.flag)).toEqual([undefined, undefined, "drift", undefined]);
    // A shift chart per history: c7i.large's with its control beside it, m7i.large's alone.
    expect(data.shifts.map((chart) => chart.lines.map((line) => line.label))).toEqual([
      [`${SERIES} on c7i.large`, `control ${CONTROL_IMAGE}`],
      [`${SERIES} on m7i.large`],
    ]);
    const [c7iShifts, control] = data.shifts[0]?.lines ?? [];
    const [m7iShifts] = data.shifts[1]?.lines ?? [];
    expect(c7iShifts?.points.map((p) => [p.name, p.against, p.y, p.yMin, p.yMax, p.flag])).toEqual(
      (c7i?.entries ?? []).slice(1).map((e) => {
        const shift = e.comparison?.shifts.total;
        return [
          e.summary.image.name,
          e.comparedWith?.image.name,
          shift?.shift,
          shift?.low,
          shift?.high,
          e.regression ? "drift" : undefined,
        ];
      }),
    );
    expect(c7iShifts?.points[1]?.words).toMatch(
      /^slower by 1\.\d\d s, 95 % CI 1\.\d\d to 1\.\d\d s, p < 0\.001$/,
    );
    expect(m7iShifts?.points).toHaveLength(1);
    // The control: each point just right of the series point it ran beside.
    expect(control?.control).toBe(true);
    const span = Date.parse("2025-05-22T06:00:00Z") - Date.parse("2025-05-01T06:00:00Z");
    expect(control?.points.map((p) => [p.x, p.y, p.verdict])).toEqual(
      ["weekly-2", "weekly-3"].map((week) => {
        const { platform } = summaryOf(week);
        return [
          Date.parse(summaryOf(week).startedAt) + span * 0.01,
          platform?.control.shifts.total?.shift,
          week === "weekly-3" ? "slower" : "no change",
        ];
      }),
    );
  });

  it("puts the marked runs and the bracket widths next to each benchmark's medians", async () => {
    const report = await model();
    expect(report.comparison.find((s) => s.benchmarkId === MARKED_BENCHMARK)?.integrity?.markedRuns).toBe(1);
    const [header, ...rows] = firstTable(reportHtml(report, ""));
    const column = (name: string) => {
      const index = header?.indexOf(name) ?? -1;
      expect(index, `column ${name}`).toBeGreaterThan(-1);
      return index;
    };
    const row = (image: string) => rows.find((cells) => cells[1] === image) ?? [];
    const marked = column("marked");
    // Right after the medians' spread and runs ok, before the failures.
    expect(header?.slice(column("runs ok"), column("failed"))).toEqual([
      "runs ok",
      "marked",
      "running bracket ms",
      "closed bracket ms",
      "open bracket ms",
    ]);
    expect(row(MARKED_IMAGE)[marked]).toBe("1");
    expect(row("clear-34640-ecs-base")[marked]).toBe("0");
    // The fixture's brackets: 100 ms of poll beat, 10 ms of probe interval; the stalled probe is the p99.
    expect(row(MARKED_IMAGE)[column("running bracket ms")]).toBe("100 / 100");
    expect(row(MARKED_IMAGE)[column("closed bracket ms")]).toBe("10 / 10");
    expect(row(MARKED_IMAGE)[column("open bracket ms")]).toBe(`10 / ${WIDE_OPEN_BRACKET_MS}`);
    // The history tables have them too.
    const historyTable = reportHtml(report, "").split('<h2 id="series">')[1] ?? "";
    const [historyHeader] = firstTable(historyTable);
    expect(historyHeader?.slice(-5)).toEqual([
      "marked",
      "running bracket ms",
      "closed bracket ms",
      "open bracket ms",
      "flag",
    ]);
  });

  it("lists every run of a benchmark with marked runs, with each mark and the intervals it invalidates", async () => {
    const report = await model();
    expect(report.markedBenchmarkCount).toBe(1);
    expect(report.markedBenchmarks.map((b) => [b.summary.benchmarkId, b.runs.length])).toEqual([
      [MARKED_BENCHMARK, 10],
    ]);
    const html = reportHtml(report, "");
    const section = html.split('<h2 id="marked">Marked runs</h2>')[1]?.split("<h2")[0] ?? "";
    expect(section).toContain(
      `<h3>${MARKED_IMAGE} (ami-0deb1000000000010) on c7i.large: benchmark ${MARKED_BENCHMARK}</h3>`,
    );
    expect(section).toContain("1 counted run(s) marked (openBracketWide 1)");
    expect(section).toContain(
      "<li>run 4: <strong>openBracketWide</strong> (invalid: closed to open, total): port open is known only to within 2000.0 ms",
    );
    const [header, ...rows] = tableRows(section);
    const run4 = rows.find((cells) => cells[0] === String(MARKED_RUN)) ?? [];
    const cell = (name: string) => run4[header?.indexOf(name) ?? -1];
    const { intervals } = markedRun();
    expect(cell("closed to open")).toBe(`excluded (${intervals?.portClosedToOpen.toFixed(2)})`);
    expect(cell("total")).toBe(`excluded (${intervals?.total.toFixed(2)})`);
    expect(cell("running to port closed")).toBe(intervals?.runningToPortClosed.toFixed(2));
    expect(cell("note")).toBe("openBracketWide (invalid: closed to open, total)");
    // Only the marked run is highlighted, and no other value is shown as excluded.
    expect(section.match(/<tr class="marked">/g)).toHaveLength(1);
    expect(section.match(/<td class="num">excluded \(/g)).toHaveLength(2);
  });

  it("never charts an invalid interval as a valid value", async () => {
    const { runBars } = chartData(await model());
    // The counted runs that succeeded (run 0 is discarded).
    expect(runBars.labels).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((index) => `${MARKED_IMAGE} · run ${index}`),
    );
    const bar = runBars.labels.indexOf(`${MARKED_IMAGE} · run ${MARKED_RUN}`);
    const { intervals } = markedRun();
    expect(runBars.valid.portClosedToOpen[bar]).toBeNull();
    expect(runBars.excluded.portClosedToOpen[bar]).toBe(intervals?.portClosedToOpen);
    expect(runBars.valid.runningToPortClosed[bar]).toBe(intervals?.runningToPortClosed);
    expect(runBars.excluded.runningToPortClosed[bar]).toBeNull();
    expect(runBars.marks[bar]).toEqual(["openBracketWide"]);
    // Every other bar's every interval is valid; each value is in exactly one of the two series.
    for (const [interval, values] of Object.entries(runBars.valid)) {
      const excluded = runBars.excluded[interval as keyof typeof runBars.excluded];
      expect(
        values.filter((value) => value === null),
        interval,
      ).toHaveLength(interval === "portClosedToOpen" ? 1 : 0);
      values.forEach((value, index) => {
        expect(value === null, `${interval} of bar ${index}`).toBe(excluded[index] !== null);
      });
    }
  });

  it("places each counted run's guest spans by sshd ready, and labels a row whose guest gave whole seconds", async () => {
    const journal = chartData(await withGuestTimings({ sshdReadyMs: "sshdJournal" })).guestBars;
    // Run 0 is the discarded first run: runs 1 to 9.
    expect(journal.labels).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `FreeBSD 15.0-CURRENT-amd64-20250501 UFS · run ${i}`),
    );
    const runs = MARKED_DATASET.find((b) => b.summary.benchmarkId === "weekly-1")?.runs ?? [];
    const total = runs[2]?.intervals?.total as number;
    expect(journal.observed[1]).toEqual([0, total]);
    expect(journal.kernel[1]?.[0]).toBeCloseTo(0.3, 9);
    expect(journal.kernel[1]?.[1]).toBeCloseTo(0.7, 9);
    expect(journal.userland[1]).toEqual([journal.kernel[1]?.[1], total]);
    expect(journal.kernelAndUserland[0]?.[0]).toBeCloseTo(0.3, 9);
    expect(journal.resolutionMs.every((ms) => ms === 1)).toBe(true);
    const lstart = chartData(await withGuestTimings({ sshdReadyMs: "sshdStart" })).guestBars;
    expect(lstart.resolutionMs.every((ms) => ms === 1000)).toBe(true);
    expect(lstart.labels[0]).toBe("FreeBSD 15.0-CURRENT-amd64-20250501 UFS · run 1 · guest times to 1 s");
  });

  it("is one file that loads nothing: Chart.js inlined, no external references, fetching forbidden", async () => {
    const html = reportHtml(await model(), chartLibrariesSource());
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//i);
    expect(html).toContain("default-src 'none'");
    expect(html).toContain("Chart.js v4");
    // Its plugins, each registering itself on the global Chart: box plots, error bars, the time adapter.
    for (const global of ["ChartBoxPlot=", "ChartErrorBars=", "chartjs-adapter-luxon v1", "var luxon="]) {
      expect(html).toContain(global);
    }
  });

  it("escapes what it did not write itself", () => {
    expect(escapeHtml(`<img src=x onerror="alert('1')">&`)).toBe(
      "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;",
    );
  });
});

describe.skipIf(!chromiumInstalled())("the report in headless Chromium", () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "boot-bench-report-"));
    browser = await launchHeadlessChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function render(report: ReportModel) {
    const file = join(dir, `report-${Math.random().toString(36).slice(2)}.html`);
    writeFileSync(file, reportHtml(report, chartLibrariesSource()));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const blocked: string[] = [];
    const pageErrors: string[] = [];
    // Only the file itself (and data: URLs) may load; anything else is a network request.
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("request", (request) => {
      const url = request.url();
      if (!url.startsWith("file:") && !url.startsWith("data:")) blocked.push(url);
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-charts-ready="true"], body[data-charts-error]', {
      state: "attached",
      timeout: 20_000,
    });
    return { page, blocked, pageErrors };
  }

  it("draws every chart, offline, without errors, and fits a 1280 px window", async () => {
    // Lower thresholds make the m7i.large series' +0.2 s a plain regression beside c7i.large's drift.
    const { page, blocked, pageErrors } = await render(await model({ threshold: "1", minChange: "0.1" }));
    try {
      expect(await page.locator("body").getAttribute("data-charts-error")).toBeNull();
      expect(pageErrors).toEqual([]);
      expect(blocked).toEqual([]);
      const canvases = await page.locator("canvas").evaluateAll((elements) =>
        elements.map((element) => {
          const canvas = element as unknown as PageCanvas;
          const { width, height } = canvas;
          const pixels =
            canvas.getContext("2d")?.getImageData(0, 0, width, height).data ?? new Uint8ClampedArray();
          let painted = 0;
          for (let i = 0; i < pixels.length; i += 4) if ((pixels[i + 3] ?? 0) > 0) painted++;
          return { id: canvas.id, width, height, painted };
        }),
      );
      expect(canvases.map((c) => c.id)).toEqual([
        "chart-boxes",
        "chart-trend",
        "chart-shifts-0",
        "chart-shifts-1",
        "chart-runs",
      ]);
      for (const canvas of canvases) {
        expect(canvas.width).toBeGreaterThan(100);
        expect(canvas.height).toBeGreaterThan(100);
        // Far more than axes alone: boxes, points and lines were drawn.
        expect(canvas.painted / (canvas.width * canvas.height), canvas.id).toBeGreaterThan(0.02);
      }

      // No horizontal scrollbar: not on the page, and not on any table with its default columns.
      const widths = await page.evaluate(() => {
        const document = (globalThis as unknown as { document: PageDocument }).document;
        return {
          page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
          tables: [...document.querySelectorAll(".table-wrap")].map((wrap) => [
            wrap.scrollWidth,
            wrap.clientWidth,
          ]),
        };
      });
      expect(widths.page).toEqual([1280, 1280]);
      expect(widths.tables.length).toBe(5);
      for (const [scroll, client] of widths.tables) expect(scroll).toBeLessThanOrEqual(client as number);

      // The screenshot of the whole page at 1280 px, compared with what must be visible in it.
      const png = PNG.sync.read(await page.screenshot({ fullPage: true }));
      const shot = join(dir, "report-1280.png");
      writeFileSync(shot, PNG.sync.write(png));
      if (process.env.REPORT_SCREENSHOT) writeFileSync(process.env.REPORT_SCREENSHOT, PNG.sync.write(png));
      expect(png.width).toBe(1280);
      const colourIn = async (region: Region | Promise<Region>, colour: string) =>
        countColour(png, await region, colour);
      const boxes = plotArea(page, "chart-boxes");
      const debianRow = rowBand(page, "chart-boxes", `${MARKED_IMAGE} · c7i.large`);
      const amazonRow = rowBand(page, "chart-boxes", AMAZON_ROW);
      // Per image: a dot per run over its box, the excluded total of the marked run as a cross in its
      // row, and the image with a timeout and a failure named in red.
      expect(await colourIn(boxes, "#08519c"), "run dots").toBeGreaterThan(200);
      expect(await colourIn((await debianRow).plot, "#757575"), "excluded value").toBeGreaterThan(10);
      expect(await colourIn((await amazonRow).plot, "#757575"), "nothing excluded elsewhere").toBeLessThan(5);
      expect(await colourIn(boxes, "#f0a800"), "no marked run has a valid total").toBeLessThan(5);
      expect(await colourIn((await amazonRow).label, "#d62728"), "unfinished, in red").toBeGreaterThan(20);
      expect(await colourIn((await debianRow).label, "#d62728"), "finished, not red").toBeLessThan(5);
      // Per series: the drift and the regression flagged, and the control beside the series it ran with.
      const [drift, regression, control] = ["#6a3d9a", "#d62728", "#525252"];
      const plotted = async (chart: string, colour: string) => colourIn(plotArea(page, chart), colour);
      expect(await plotted("chart-trend", drift), "platform drift").toBeGreaterThan(40);
      expect(await plotted("chart-trend", regression), "regression").toBeGreaterThan(40);
      // c7i.large drifted beside its control; m7i.large regressed, with no control.
      expect(await plotted("chart-shifts-0", drift), "c7i drift").toBeGreaterThan(40);
      expect(await plotted("chart-shifts-0", control), "c7i control").toBeGreaterThan(20);
      expect(await plotted("chart-shifts-0", regression), "c7i regression").toBeLessThan(5);
      expect(await plotted("chart-shifts-1", regression), "m7i regression").toBeGreaterThan(40);
      expect(await plotted("chart-shifts-1", control), "m7i control").toBeLessThan(5);
      // A stray antialiased pixel may come near a colour; a drawn mark is many.
      const flagged = await page.locator("tr.regression").first().boundingBox();
      expect(flagged && countColour(png, flagged, "#fde8e8"), "flagged rows").toBeGreaterThan(2000);

      // The tables are there for people without scripts, or who want numbers.
      expect(await page.locator("tr.regression").count()).toBe(2);
      expect(await page.locator("h2").allTextContents()).toEqual([
        "Boot time per image",
        "Series over time",
        "Marked runs",
        "Failed and timed-out runs",
      ]);
    } finally {
      await page.close();
    }
  });

  it("shows the other columns on request, in the table's own scroll box", async () => {
    const { page } = await render(await model());
    try {
      const table = page.locator("#images ~ .table-block").first();
      const visibleHeaders = () =>
        table
          .locator("th")
          .evaluateAll((cells) =>
            cells
              .filter((cell) => (cell as unknown as { offsetWidth: number }).offsetWidth > 0)
              .map((cell) => cell.textContent),
          );
      expect(await visibleHeaders()).not.toContain("AMI Id");
      await table.locator("label").click();
      expect(await visibleHeaders()).toEqual(
        expect.arrayContaining(["AMI Id", "total p90", "open bracket ms"]),
      );
      const widths = await page.evaluate(() => {
        const document = (globalThis as unknown as { document: PageDocument }).document;
        return [
          document.documentElement.scrollWidth,
          document.querySelector(".table-wrap")?.scrollWidth ?? 0,
        ];
      });
      // The page still does not scroll sideways; the table does, if it must.
      expect(widths[0]).toBe(1280);
      expect(widths[1]).toBeGreaterThan(0);
    } finally {
      await page.close();
    }
  });

  it("ticks the time axes at the benchmarks' own times, in UTC, with the time of day where a day has several", async () => {
    const report = structuredClone(await model());
    const m7i = report.series[0]?.histories[1];
    const second = m7i?.entries[1];
    if (!second) throw new Error("the m7i.large history has two entries");
    // The m7i.large snapshot of 8 May benchmarked twelve hours after the c7i.large one.
    second.firstBenchmarkedAt = "2025-05-08T18:00:00.000Z";
    const { page } = await render(report);
    try {
      const ticks = await page.evaluate(() =>
        (
          globalThis as unknown as {
            Chart: { getChart(id: string): { scales: { x: { ticks: { label: string }[] } } } };
          }
        ).Chart.getChart("chart-trend").scales.x.ticks.map((tick) => tick.label),
      );
      expect(ticks).toEqual([
        "2025-05-01",
        "2025-05-08 06:00",
        "2025-05-08 18:00",
        "2025-05-15",
        "2025-05-22",
      ]);
    } finally {
      await page.close();
    }
  });

  it("draws the guest's kernel and userland inside each run's running to open, where the guest said", async () => {
    const withGuest = await withGuestTimings({ sshdReadyMs: "sshdJournal" });
    const { guestBars } = chartData(withGuest);
    expect(guestBars.labels).toHaveLength(9);
    const { page, pageErrors } = await render(withGuest);
    try {
      expect(pageErrors).toEqual([]);
      expect(await page.locator("h2").allTextContents()).toContain("Guest timings");
      const png = PNG.sync.read(await page.screenshot({ fullPage: true }));
      const [kernel, userland, both, observed] = ["#6a51a3", "#31a354", "#9e9ac8", "#d9d9d9"];
      // Run 0 is discarded (the first run), so the rows are runs 1 to 9. An even run: the kernel's 0.4 s
      // and then userland, inside the observed bar (it shows 0.3 s before them); an odd run: one span.
      const rowOf = (runIndex: number) =>
        rowBand(page, "chart-guest", guestBars.labels.find((l) => l.endsWith(`· run ${runIndex}`)) as string);
      const [split, whole] = [await rowOf(2), await rowOf(1)];
      expect(countColour(png, split.plot, kernel, 12), "kernel").toBeGreaterThan(20);
      expect(countColour(png, split.plot, userland, 12), "userland").toBeGreaterThan(200);
      expect(countColour(png, split.plot, observed, 12), "observed before the guest's spans").toBeGreaterThan(
        20,
      );
      expect(countColour(png, whole.plot, both, 12), "kernel and userland").toBeGreaterThan(200);
      expect(countColour(png, whole.plot, kernel, 12), "no kernel apart").toBeLessThan(5);
      const drawn = await page.evaluate(
        () =>
          (
            globalThis as unknown as {
              Chart: { getChart(id: string): { data: { datasets: { label: string; data: unknown[] }[] } } };
            }
          ).Chart.getChart("chart-guest").data.datasets,
      );
      expect(drawn.map((dataset) => dataset.data)).toEqual([
        guestBars.kernel,
        guestBars.userland,
        guestBars.kernelAndUserland,
        guestBars.observed,
      ]);
    } finally {
      await page.close();
    }
  });

  it("draws each interval of the runs on request", async () => {
    const report = await model();
    const { runBoxes } = chartData(report);
    const { page } = await render(report);
    try {
      const medians = () =>
        page.evaluate(() => {
          const chart = (
            globalThis as unknown as {
              Chart: {
                getChart(id: string): { data: { datasets: { data: ({ median: number } | null)[] }[] } };
              };
            }
          ).Chart.getChart("chart-boxes");
          return chart.data.datasets[0]?.data.map((box) => box?.median ?? null);
        });
      expect(await medians()).toEqual(runBoxes.boxes.total.map((box) => box?.median ?? null));
      await page.locator("#box-interval").selectOption("runningToPortClosed");
      expect(await medians()).toEqual(runBoxes.boxes.runningToPortClosed.map((box) => box?.median ?? null));
      // The marked run's running to port closed is valid: it is drawn as a triangle, apart from the dots.
      const png = PNG.sync.read(await page.screenshot({ fullPage: true }));
      const debianRow = await rowBand(page, "chart-boxes", `${MARKED_IMAGE} · c7i.large`);
      expect(countColour(png, debianRow.plot, "#f0a800"), "marked run").toBeGreaterThan(20);
      expect(
        countColour(png, await plotArea(page, "chart-boxes"), "#757575"),
        "nothing excluded",
      ).toBeLessThan(5);
      expect(runBoxes.boxes.runningToPortClosed).not.toEqual(runBoxes.boxes.total);
    } finally {
      await page.close();
    }
  });

  it("shows the marked run: its count by the medians, its marks, its invalid interval drawn as excluded", async () => {
    const { page } = await render(await model());
    try {
      // The comparison table, as a reader sees it.
      const comparison = page.locator("#images ~ .table-block table").first();
      const headers = await comparison.locator("th").allTextContents();
      const markedRow = comparison.locator("tbody tr", { hasText: MARKED_IMAGE });
      const cells = await markedRow.locator("td").allTextContents();
      expect(cells[headers.indexOf("marked")]).toBe("1");
      expect(cells[headers.indexOf("open bracket ms")]).toBe(`10 / ${WIDE_OPEN_BRACKET_MS}`);
      // The marked run's row and its mark.
      expect(await page.locator("tr.marked td:first-child").allTextContents()).toEqual([String(MARKED_RUN)]);
      expect(await page.locator("ul.marks li").allTextContents()).toEqual([
        expect.stringMatching(
          /^run 4: openBracketWide \(invalid: closed to open, total\): port open is known/,
        ),
      ]);
      // What Chart.js drew for the marked run: each dataset's value and the colour at its bar's middle.
      const drawn = await page.evaluate((label) => {
        interface BarElement {
          x: number;
          y: number;
          base: number;
        }
        const chart = (
          globalThis as unknown as {
            Chart: {
              getChart(id: string): {
                canvas: PageCanvas;
                currentDevicePixelRatio: number;
                data: {
                  labels: string[];
                  datasets: { interval: string; excluded?: boolean; data: (number | null)[] }[];
                };
                getDatasetMeta(index: number): { data: (BarElement | undefined)[] };
              };
            };
          }
        ).Chart.getChart("chart-runs");
        const index = chart.data.labels.indexOf(label);
        const context = chart.canvas.getContext("2d");
        const ratio = chart.currentDevicePixelRatio;
        return chart.data.datasets.map((dataset, datasetIndex) => {
          const value = dataset.data[index];
          const bar = chart.getDatasetMeta(datasetIndex).data[index];
          const pixel =
            value === null || value === undefined || bar === undefined
              ? undefined
              : context?.getImageData(
                  Math.round(((bar.x + bar.base) / 2) * ratio),
                  Math.round(bar.y * ratio),
                  1,
                  1,
                ).data;
          const colour = pixel
            ? `#${[...pixel.slice(0, 3)].map((c) => c.toString(16).padStart(2, "0")).join("")}`
            : "";
          return { interval: dataset.interval, excluded: dataset.excluded === true, value, colour };
        });
      }, `${MARKED_IMAGE} · run ${MARKED_RUN}`);
      const { intervals } = markedRun();
      const drawnAs = (interval: string, excluded: boolean) =>
        drawn.find((d) => d.interval === interval && d.excluded === excluded);
      // The invalid interval only in the grey "excluded" dataset, and painted grey; the valid ones as usual.
      expect(drawnAs("port closed to open", false)?.value).toBeNull();
      expect(drawnAs("port closed to open", true)).toMatchObject({
        value: intervals?.portClosedToOpen,
        colour: "#e0e0e0",
      });
      expect(drawnAs("running to port closed", false)).toMatchObject({
        value: intervals?.runningToPortClosed,
        colour: "#3182bd",
      });
      expect(drawnAs("running to port closed", true)?.value).toBeNull();
    } finally {
      await page.close();
    }
  });

  it("is ready without charts when nothing matches", async () => {
    const { page, blocked, pageErrors } = await render(await model({ image: "ami-00000000000000000" }));
    try {
      expect(await page.locator("body").getAttribute("data-charts-ready")).toBe("true");
      expect(await page.locator("canvas").count()).toBe(0);
      expect(await page.locator("body").textContent()).toContain("No benchmarks match.");
      expect([...blocked, ...pageErrors]).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
