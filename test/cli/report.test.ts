import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReportModel, chartJsUmdSource, type ReportRequest } from "../../cli/commands/report.js";
import { chartData, escapeHtml, type ReportModel, reportHtml } from "../../cli/report-html.js";
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

let table: SeededTable;
beforeAll(async () => {
  table = await startSeededTable(DATASET);
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
      [`${SERIES} on c7i.large`, 4],
      [`${SERIES} on m7i.large`, 2],
    ]);
    expect(data.trends[0]?.points.map((p) => p.regression)).toEqual([false, false, true, false]);
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
      expect(canvases.map((c) => c.id)).toEqual(["chart-bars", "chart-trend"]);
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
        "Failed and timed-out runs",
      ]);
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
