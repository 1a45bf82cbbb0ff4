import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReportModel, chartJsUmdSource, type ReportRequest } from "../../cli/commands/report.js";
import { chartData, escapeHtml, type ReportModel, reportHtml } from "../../cli/report-html.js";
import type { BenchmarkSettings } from "../../functions/domain/contract.js";
import { judgeRun } from "../../functions/domain/integrity.js";
import { buildSummaryRecord, type RunRecord } from "../../functions/domain/run-record.js";
import type { BenchmarkRecords } from "../support/benchmark-records.js";
import { type SeededTable, startSeededTable } from "../support/results-dynamodb.js";
import { DATASET, NOW, SERIES } from "./results-dataset.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

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
/** The comparability key the dataset's benchmarks on `instanceType` share. */
const keyOf = (instanceType: string): string | undefined =>
  DATASET.find((b) => b.summary.instanceType === instanceType && b.summary.label === undefined)?.summary
    .comparabilityKey;

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

  it("draws a stacked bar per measured image and a line per series and instance type", async () => {
    const data = chartData(await model());
    // The broken image has no measurement, so no bar.
    expect(data.bars.labels).toHaveLength(10);
    expect(data.bars.labels[0]).toBe("clear-34640-ecs-base · c7i.large");
    expect(data.bars.pendingToRunning[0]).toBeCloseTo(6.9, 9);
    expect(data.bars.runningToPortClosed[0]).toBeCloseTo(1.23, 9);
    expect(data.bars.portClosedToOpen[0]).toBe(0);
    expect(data.trends.map((line) => [line.label, line.points.length])).toEqual([
      [`${SERIES} on c7i.large (comparability ${keyOf("c7i.large")})`, 4],
      [`${SERIES} on m7i.large (comparability ${keyOf("m7i.large")})`, 2],
    ]);
    expect(data.trends[0]?.points.map((p) => p.regression)).toEqual([false, false, true, false]);
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

  it("is one file that loads nothing: Chart.js inlined, no external references, fetching forbidden", async () => {
    const html = reportHtml(await model(), chartJsUmdSource());
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//i);
    expect(html).toContain("default-src 'none'");
    expect(html).toContain("Chart.js v4");
  });

  it("escapes what it did not write itself", () => {
    expect(escapeHtml(`<img src=x onerror="alert('1')">&`)).toBe(
      "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;",
    );
  });
});

describe.skipIf(!existsSync(CHROMIUM))("the report in headless Chromium", () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "boot-bench-report-"));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function render(report: ReportModel) {
    const file = join(dir, `report-${Math.random().toString(36).slice(2)}.html`);
    writeFileSync(file, reportHtml(report, chartJsUmdSource()));
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

  it("draws both charts, offline, without errors", async () => {
    const { page, blocked, pageErrors } = await render(await model());
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
          let regressionRed = 0;
          for (let i = 0; i < pixels.length; i += 4) {
            if ((pixels[i + 3] ?? 0) === 0) continue;
            painted++;
            // #d62728, the colour of a flagged point.
            if (pixels[i] === 0xd6 && pixels[i + 1] === 0x27 && pixels[i + 2] === 0x28) regressionRed++;
          }
          return { id: canvas.id, width, height, painted, regressionRed };
        }),
      );
      expect(canvases.map((c) => c.id)).toEqual(["chart-bars", "chart-trend", "chart-runs"]);
      for (const canvas of canvases) {
        expect(canvas.width).toBeGreaterThan(100);
        expect(canvas.height).toBeGreaterThan(100);
        // Far more than axes alone: bars and lines were drawn.
        expect(canvas.painted / (canvas.width * canvas.height)).toBeGreaterThan(0.02);
      }
      expect(canvases[1]?.regressionRed).toBeGreaterThan(20);
      // The tables are there for people without scripts, or who want numbers.
      expect(await page.locator("tr.regression").count()).toBe(1);
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

  it("shows the marked run: its count by the medians, its marks, its invalid interval drawn as excluded", async () => {
    const { page } = await render(await model());
    try {
      // The comparison table, as a reader sees it.
      const comparison = page.locator("#images ~ .table-wrap table").first();
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
