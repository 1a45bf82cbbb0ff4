import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { S3Client } from "@aws-sdk/client-s3";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type FilmstripDeps,
  filmstripLocation,
  filmstripOptions,
  writeFilmstrip,
} from "../../cli/commands/filmstrip.js";
import { openConsoleObjects } from "../../cli/console-objects.js";
import { filmstripPage, filmstripPageData } from "../../cli/filmstrip-html.js";
import { buildProgram } from "../../cli/main.js";
import { putObject } from "../../functions/aws/s3-client.js";
import type {
  CaptureScreenshotsResult,
  FilmstripManifest,
  ProbePortResult,
} from "../../functions/domain/contract.js";
import {
  buildRunRecord,
  filmstripFrameKey,
  filmstripManifestKey,
  type RunRecord,
} from "../../functions/domain/run-record.js";
import { ensureBuckets, startLocalS3 } from "../../local-cloud/s3/s3-server.js";
import {
  failedRunState,
  pollResult,
  probeResult,
  succeededRunState,
  T0,
} from "../domain/run-state-fixtures.js";
import { chromiumInstalled, launchHeadlessChromium } from "../support/headless-chromium.js";

const BUCKET = "bootbench-consoleoutput-1a2b3c";
const FRAME_COUNT = 5;

/** Frames from 2 s after the launch request, one a second, each answered 300 ms later. */
function manifestFor(runIndex: number, overrides: Partial<FilmstripManifest> = {}): FilmstripManifest {
  const frameList = Array.from({ length: FRAME_COUNT }, (_, i) => ({
    key: filmstripFrameKey("bench-1", runIndex, i * 2),
    requestedAt: T0 + 2_000 + i * 1_000,
    respondedAt: T0 + 2_300 + i * 1_000,
    bytes: 4,
  }));
  return {
    benchmarkId: "bench-1",
    runIndex,
    instanceId: "i-0123456789abcdef0",
    frames: FRAME_COUNT,
    throttled: 3,
    failed: 1,
    busy: 2,
    framesPerSecond: 1,
    startedAt: T0 + 1_900,
    endedAt: T0 + 22_000,
    stoppedBy: "probe-ended",
    frameList,
    ...overrides,
  };
}

const frameBytes = (i: number): Uint8Array => Uint8Array.from([0xff, 0xd8, i, 0xd9]);

function captured(runIndex: number, manifest = manifestFor(runIndex)): CaptureScreenshotsResult {
  const { frameList: _frames, benchmarkId: _b, runIndex: _r, instanceId: _i, ...summary } = manifest;
  return {
    status: "captured",
    bucket: BUCKET,
    manifestKey: filmstripManifestKey("bench-1", runIndex),
    storedBytes: 4 * FRAME_COUNT,
    ...summary,
  };
}

/** A succeeded run with a stored filmstrip (and console output, whose bucket is the same). */
function filmstripRun(runIndex = 1, probe: Partial<ProbePortResult> = {}): RunRecord {
  const state = succeededRunState(runIndex, probe);
  state.observation = [pollResult(), probeResult(probe), captured(runIndex)];
  return buildRunRecord({
    ...state,
    console: {
      status: "stored",
      bucket: BUCKET,
      key: `console/bench-1/run-000${runIndex}.txt.gz`,
      bytes: 100,
      storedBytes: 50,
      latest: true,
      capturedAt: 1,
    },
  });
}

/** Objects as the screenshot step stores them: frames' bytes and the manifest's JSON. */
function objectsOf(runIndex: number, manifest = manifestFor(runIndex)): Record<string, unknown> {
  const objects: Record<string, unknown> = {
    [`${BUCKET}/${filmstripManifestKey("bench-1", runIndex)}`]: manifest,
  };
  manifest.frameList.forEach((frame, i) => {
    objects[`${BUCKET}/${frame.key}`] = frameBytes(i);
  });
  return objects;
}

function deps(runs: RunRecord[], objects: Record<string, unknown>): FilmstripDeps {
  const get = (bucket: string, key: string): unknown => {
    const object = objects[`${bucket}/${key}`];
    if (object === undefined)
      throw Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey" });
    return object;
  };
  return {
    runs: async () => runs,
    objects: {
      readBytes: async (bucket, key) => get(bucket, key) as Uint8Array,
      readJson: async (bucket, key) => structuredClone(get(bucket, key)),
    },
  };
}

const dirs: string[] = [];
const freshDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "boot-bench-filmstrip-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const frameFiles = (manifest = manifestFor(1)): string[] =>
  manifest.frameList.map((frame) => frame.key.split("/").pop() as string);

describe("boot-bench filmstrip", () => {
  it("writes each frame's bytes under its key's name, the manifest and the page, into a new folder", async () => {
    const out = join(freshDir(), "nested", "run-1");
    const outcome = await writeFilmstrip(deps([filmstripRun(1)], objectsOf(1)), {
      benchmarkId: "bench-1",
      runIndex: 1,
      outDir: out,
    });
    const files = frameFiles();
    expect(files).toEqual([
      "frame-0000.jpg",
      "frame-0002.jpg",
      "frame-0004.jpg",
      "frame-0006.jpg",
      "frame-0008.jpg",
    ]);
    expect(outcome).toEqual({
      written: true,
      outDir: out,
      frames: FRAME_COUNT,
      files: [...files, "frames.json", "index.html"],
    });
    expect(readdirSync(out).sort()).toEqual([...files, "frames.json", "index.html"].sort());
    files.forEach((file, i) => {
      expect(new Uint8Array(readFileSync(join(out, file))), file).toEqual(frameBytes(i));
    });
    expect(JSON.parse(readFileSync(join(out, "frames.json"), "utf8"))).toEqual(manifestFor(1));
    const page = readFileSync(join(out, "index.html"), "utf8");
    expect(page).toBe(filmstripPage(filmstripRun(1), manifestFor(1)));
  });

  it("overwrites frames already in the folder", async () => {
    const out = freshDir();
    writeFileSync(join(out, "frame-0000.jpg"), "stale");
    writeFileSync(join(out, "notes.txt"), "kept");
    await writeFilmstrip(deps([filmstripRun(1)], objectsOf(1)), {
      benchmarkId: "bench-1",
      runIndex: 1,
      outDir: out,
    });
    expect(new Uint8Array(readFileSync(join(out, "frame-0000.jpg")))).toEqual(frameBytes(0));
    expect(readFileSync(join(out, "notes.txt"), "utf8")).toBe("kept");
  });

  it("puts every frame and each milestone the run has on the page, and the intervals of a succeeded run", () => {
    const run = filmstripRun(1);
    const page = filmstripPage(run, manifestFor(1));
    for (const file of frameFiles()) expect(page).toContain(file);
    const data = filmstripPageData(run, manifestFor(1));
    expect(data.milestones.map((m) => [m.label, m.at])).toEqual([
      ["RunInstances requested", 0],
      ["RunInstances answered", 1.5],
      ["running", 8.4],
      ["port closed", 14.66],
      ["port open", 18.75],
      ["probe end", 18.751],
    ]);
    for (const label of [
      "RunInstances requested",
      "RunInstances answered",
      "running",
      "port closed",
      "port open",
      "probe end",
    ]) {
      expect(page).toContain(`${label} +`);
    }
    expect(data.segments.map((s) => [s.label, s.from, s.to])).toEqual([
      ["RunInstances API call", 0, 1.5],
      ["pending to running", 1.5, 8.4],
      ["running to port closed", 8.4, 14.66],
      ["closed to open", 14.66, 18.75],
    ]);
    expect(data.frames[1]).toMatchObject({ file: "frame-0002.jpg", at: 3, answeredAt: 3.3 });
    // The header: who, what, and what the stream saw.
    for (const text of [
      "benchmark bench-1, run 1",
      "succeeded",
      "i-0123456789abcdef0",
      "FreeBSD-15.0-CURRENT-amd64-ufs-20250101",
      "c7i.large",
      "5 stored, 3 throttled, 1 failed, 2 busy",
      "<dd>1</dd>",
      "probe-ended",
    ]) {
      expect(page).toContain(text);
    }
    // Self-contained: no script or style from elsewhere, no URL but the frames beside it.
    expect(page).not.toMatch(/<script[^>]+src=|<link|https?:\/\//);
    // The embedded data is the page data, and parses back.
    const json = page.match(/<script type="application\/json" id="filmstrip-data">(.*?)<\/script>/s)?.[1];
    expect(JSON.parse(json as string)).toEqual(data);
  });

  it("marks only the milestones a run has, and no intervals when it did not succeed", () => {
    const noRst = filmstripRun(1, { firstClosedAt: undefined });
    const labels = filmstripPageData(noRst, manifestFor(1)).milestones.map((m) => m.label);
    expect(labels).not.toContain("port closed");
    expect(labels).toContain("port open");
    expect(filmstripPage(noRst, manifestFor(1))).not.toContain("port closed +");

    const state = succeededRunState(2, {
      status: "timeout",
      firstOpenAt: undefined,
      firstClosedAt: undefined,
    });
    state.observation = [
      pollResult(),
      probeResult({ status: "timeout", firstOpenAt: undefined, firstClosedAt: undefined }),
      captured(2),
    ];
    const timedOut = buildRunRecord(state);
    expect(timedOut.status).not.toBe("succeeded");
    const data = filmstripPageData(timedOut, manifestFor(2));
    expect(data.segments).toEqual([]);
    expect(data.milestones.map((m) => m.label)).toEqual([
      "RunInstances requested",
      "RunInstances answered",
      "running",
      "probe end",
    ]);
    expect(filmstripPage(timedOut, manifestFor(2))).toContain("it has no intervals");
  });

  it("escapes what came from data: a hostile image name, error and instance id", () => {
    const run = filmstripRun(1);
    run.image = { ...run.image, name: `<script>alert("x")</script><img src=x onerror=alert(1)>` };
    run.instanceId = `i-"><b>bold</b>`;
    const page = filmstripPage(
      run,
      manifestFor(1, { lastError: "InternalError: </script><script>alert(2)</script>" }),
    );
    expect(page).toContain(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;",
    );
    expect(page).toContain("i-&quot;&gt;&lt;b&gt;bold&lt;/b&gt;");
    expect(page).toContain("InternalError: &lt;/script&gt;");
    expect(page).not.toContain("alert(1)>");
    expect(page).not.toContain("<b>bold");
    // Only the page's own two scripts.
    expect(page.match(/<script/g)).toHaveLength(2);
  });

  it("says why a run has no filmstrip, and fails", async () => {
    const none = buildRunRecord(succeededRunState(1));
    const d = deps([none], {});
    await expect(
      writeFilmstrip(d, { benchmarkId: "bench-1", runIndex: 1, outDir: join(freshDir(), "x") }),
    ).resolves.toEqual({
      written: false,
      reason:
        "the run has no filmstrip: the benchmark did not ask for one (screenshots: {framesPerSecond}) or the run had no instance",
    });
  });

  it("gives the error of a filmstrip that failed", () => {
    const state = succeededRunState(1);
    state.observation = [
      pollResult(),
      probeResult(),
      { status: "failed", error: { Error: "Lambda.TooManyRequestsException", Cause: "Rate exceeded" } },
    ];
    const location = filmstripLocation(buildRunRecord(state));
    expect(location).toEqual({
      reason: expect.stringMatching(/^the run's filmstrip failed: Lambda\.TooManyRequestsException: /),
    });
  });

  it("looks for a detached filmstrip's manifest in the run's console bucket, and says when it is not there", async () => {
    const state = failedRunState(1, "States.Timeout");
    state.settings = { ...state.settings, screenshots: { framesPerSecond: 1 } };
    state.console = {
      status: "stored",
      bucket: BUCKET,
      key: "console/bench-1/run-0001.txt.gz",
      bytes: 10,
      storedBytes: 5,
      latest: true,
      capturedAt: 1,
    };
    const detached = buildRunRecord(state);
    expect(detached.filmstrip).toEqual({
      status: "detached",
      manifestKey: filmstripManifestKey("bench-1", 1),
    });
    const request = { benchmarkId: "bench-1", runIndex: 1, outDir: join(freshDir(), "out") };
    await expect(writeFilmstrip(deps([detached], {}), request)).resolves.toEqual({
      written: false,
      reason:
        "the run's observation failed before its filmstrip reported back, and its manifest is not at " +
        `s3://${BUCKET}/filmstrip/bench-1/run-0001/frames.json: the stream did not write it, or the bucket's lifecycle rule expired it`,
    });
    expect(existsSync(request.outDir)).toBe(false);
    // When the stream did write it, the filmstrip is written as any other.
    await expect(writeFilmstrip(deps([detached], objectsOf(1)), request)).resolves.toMatchObject({
      written: true,
      frames: FRAME_COUNT,
    });
    expect(readFileSync(join(request.outDir, "index.html"), "utf8")).toContain("run 1");

    delete state.console;
    expect(filmstripLocation(buildRunRecord(state))).toEqual({
      reason: expect.stringContaining("and the run kept no console output"),
    });
  });

  it("says when a captured filmstrip's manifest expired, and refuses a manifest whose keys leave the folder", async () => {
    const request = { benchmarkId: "bench-1", runIndex: 1, outDir: join(freshDir(), "out") };
    await expect(writeFilmstrip(deps([filmstripRun(1)], {}), request)).resolves.toEqual({
      written: false,
      reason: `s3://${BUCKET}/filmstrip/bench-1/run-0001/frames.json is gone: the bucket's lifecycle rule expires filmstrips`,
    });
    const hostile = manifestFor(1);
    (hostile.frameList[2] as { key: string }).key = "filmstrip/bench-1/run-0001/../../../../.bashrc";
    await expect(writeFilmstrip(deps([filmstripRun(1)], objectsOf(1, hostile)), request)).rejects.toThrow(
      `s3://${BUCKET}/filmstrip/bench-1/run-0001/frames.json is not a filmstrip manifest: frame 2's key`,
    );
    expect(existsSync(request.outDir)).toBe(false);
  });

  it("names the runs there are when --run does not exist", async () => {
    const d = deps([filmstripRun(1), filmstripRun(2)], objectsOf(1));
    const outDir = join(freshDir(), "out");
    await expect(writeFilmstrip(d, { benchmarkId: "bench-1", runIndex: 7, outDir })).rejects.toThrow(
      "benchmark bench-1 has no run 7; its runs are 1, 2",
    );
    await expect(writeFilmstrip(deps([], {}), { benchmarkId: "nope", runIndex: 1, outDir })).rejects.toThrow(
      "no runs of benchmark nope are recorded",
    );
  });

  it("refuses an --out that is a file, before reading anything", async () => {
    const file = join(freshDir(), "report.html");
    writeFileSync(file, "not a folder");
    const runs = vi.fn(async () => [filmstripRun(1)]);
    await expect(
      writeFilmstrip(
        { ...deps([], objectsOf(1)), runs },
        { benchmarkId: "bench-1", runIndex: 1, outDir: file },
      ),
    ).rejects.toThrow(`--out ${file} is a file, not a folder`);
    expect(runs).not.toHaveBeenCalled();
    expect(readFileSync(file, "utf8")).toBe("not a folder");
  });

  it("requires --run (a run index) and --out, before opening anything", async () => {
    expect(filmstripOptions({ run: "0", out: "dir" })).toEqual({ runIndex: 0, outDir: "dir" });
    expect(() => filmstripOptions({ out: "dir" })).toThrow("--run is required");
    expect(() => filmstripOptions({ run: "1.5", out: "dir" })).toThrow("--run takes a run index");
    expect(() => filmstripOptions({ run: "1" })).toThrow("--out is required");
    // The registered command checks them first: these fail without a table or a bucket.
    await expect(
      buildProgram().parseAsync([
        "node",
        "boot-bench",
        "filmstrip",
        "bench-1",
        "--out",
        freshDir(),
        "--local",
      ]),
    ).rejects.toThrow("--run is required");
    await expect(
      buildProgram().parseAsync(["node", "boot-bench", "filmstrip", "bench-1", "--run", "x", "--local"]),
    ).rejects.toThrow("--run takes a run index");
  });
});

describe("boot-bench filmstrip against the local S3", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("reads the frames and the manifest as the screenshot step stored them", async () => {
    const credentials = { accessKeyId: "local", secretAccessKey: "local" };
    const s3 = await startLocalS3({ credentials });
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      credentials,
      forcePathStyle: true,
    });
    vi.stubEnv("AWS_ENDPOINT_URL_S3", s3.endpoint);
    vi.stubEnv("AWS_ACCESS_KEY_ID", credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", credentials.secretAccessKey);
    const objects = await openConsoleObjects({ local: true });
    try {
      await ensureBuckets(client, [BUCKET]);
      const manifest = manifestFor(1);
      // As functions/capture-screenshots/index.ts puts them.
      await putObject(
        client,
        BUCKET,
        filmstripManifestKey("bench-1", 1),
        JSON.stringify(manifest),
        "application/json",
      );
      for (const [i, frame] of manifest.frameList.entries()) {
        await putObject(client, BUCKET, frame.key, frameBytes(i), "image/jpeg");
      }
      const out = freshDir();
      const outcome = await writeFilmstrip(
        { runs: async () => [filmstripRun(1)], objects },
        { benchmarkId: "bench-1", runIndex: 1, outDir: out },
      );
      expect(outcome).toMatchObject({ written: true, frames: FRAME_COUNT });
      expect(new Uint8Array(readFileSync(join(out, "frame-0008.jpg")))).toEqual(frameBytes(4));
      expect(JSON.parse(readFileSync(join(out, "frames.json"), "utf8"))).toEqual(manifest);
    } finally {
      await objects.close();
      client.destroy();
      await s3.close();
    }
  }, 30_000);
});

describe.skipIf(!chromiumInstalled())("the filmstrip page in headless Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchHeadlessChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it("shows the frames, offline; next moves the cursor and the time; play runs to the last frame", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    try {
      // Real JPEGs, each a different colour, made by Chromium itself.
      const objects = objectsOf(1);
      for (const [i, frame] of manifestFor(1).frameList.entries()) {
        await page.setContent(`<body style="margin:0;background:hsl(${i * 70},80%,50%)"></body>`);
        objects[`${BUCKET}/${frame.key}`] = new Uint8Array(
          await page.screenshot({ type: "jpeg", clip: { x: 0, y: 0, width: 64, height: 48 } }),
        );
      }
      const out = freshDir();
      await writeFilmstrip(deps([filmstripRun(1)], objects), {
        benchmarkId: "bench-1",
        runIndex: 1,
        outDir: out,
      });

      const blocked: string[] = [];
      const pageErrors: string[] = [];
      await page.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
        blocked.push(url);
        return route.abort();
      });
      page.on("pageerror", (error) => pageErrors.push(error.message));
      await page.goto(pathToFileURL(join(out, "index.html")).href);
      await page.waitForSelector('body[data-ready="true"]', { state: "attached", timeout: 10_000 });

      const state = () =>
        page.evaluate(() => {
          const doc = (globalThis as unknown as { document: PageDocument }).document;
          const img = doc.getElementById("frame") as unknown as {
            currentSrc: string;
            naturalWidth: number;
            complete: boolean;
          };
          return {
            frame: doc.body.dataset.frame,
            src: img.currentSrc.split("/").pop(),
            naturalWidth: img.naturalWidth,
            cursor: (doc.getElementById("cursor") as unknown as { style: { left: string } }).style.left,
            time: doc.getElementById("frame-time")?.textContent,
            count: doc.getElementById("frame-count")?.textContent,
          };
        });
      await page.waitForFunction(() => {
        const img = (globalThis as unknown as { document: PageDocument }).document.getElementById(
          "frame",
        ) as unknown as {
          complete: boolean;
          naturalWidth: number;
        };
        return img.complete && img.naturalWidth > 0;
      });
      const first = await state();
      expect(first).toMatchObject({
        frame: "0",
        src: "frame-0000.jpg",
        naturalWidth: 64,
        time: "+2.00 s after the RunInstances request (answered +2.30 s)",
        count: "frame 1 of 5",
      });

      await page.click("#next");
      // The browser picks the new image up asynchronously (HTML's "update the image data"): until then
      // currentSrc is empty, which a loaded CI host showed once.
      await page.waitForFunction(() =>
        (
          (globalThis as unknown as { document: PageDocument }).document.getElementById(
            "frame",
          ) as unknown as {
            currentSrc: string;
          }
        ).currentSrc.endsWith("frame-0002.jpg"),
      );
      const second = await state();
      expect(second).toMatchObject({
        frame: "1",
        src: "frame-0002.jpg",
        time: "+3.00 s after the RunInstances request (answered +3.30 s)",
        count: "frame 2 of 5",
      });
      expect(Number.parseFloat(second.cursor)).toBeGreaterThan(Number.parseFloat(first.cursor));
      await page.click("#prev");
      expect((await state()).frame).toBe("0");

      await page.selectOption("#speed", "0");
      await page.click("#play");
      await page.waitForSelector('body[data-frame="4"]', { state: "attached", timeout: 10_000 });
      expect((await state()).time).toBe("+6.00 s after the RunInstances request (answered +6.30 s)");
      expect(await page.textContent("#play")).toContain("play");

      expect(pageErrors).toEqual([]);
      expect(blocked).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);
});

/** The page's document, typed just enough. */
interface PageDocument {
  getElementById(id: string): { textContent: string | null } | null;
  body: { dataset: Record<string, string | undefined> };
}
