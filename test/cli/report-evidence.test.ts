import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { consoleMissing } from "../../cli/commands/console.js";
import { writeFilmstrip } from "../../cli/commands/filmstrip.js";
import type { ConsoleObjects } from "../../cli/console-objects.js";
import { buildProgram } from "../../cli/main.js";
import {
  type EvidenceObjects,
  evidenceFolderName,
  evidenceWords,
  folderSegment,
  openedOnFirstRead,
  writeRunEvidence,
} from "../../cli/report-evidence.js";
import { escapeHtml, type ReportModel, reportHtml, runEvidenceKey } from "../../cli/report-html.js";
import { putObject } from "../../functions/aws/s3-client.js";
import type { CaptureScreenshotsResult, FilmstripManifest } from "../../functions/domain/contract.js";
import {
  buildRunRecord,
  buildSummaryRecord,
  filmstripFrameKey,
  filmstripManifestKey,
  type RunRecord,
} from "../../functions/domain/run-record.js";
import { DEFAULT_REGRESSION_THRESHOLDS } from "../../functions/domain/suite-schema.js";
import { ensureBuckets, startLocalS3 } from "../../local-cloud/s3/s3-server.js";
import {
  benchmark,
  failedRunState,
  image,
  pollResult,
  probeResult,
  settings,
  succeededRunState,
  T0,
} from "../domain/run-state-fixtures.js";
import { startSeededTable } from "../support/results-dynamodb.js";
import { streamWrite } from "./results-dataset.js";

const BUCKET = "bootbench-consoleoutput-1a2b3c";
const TEXT =
  "[    0.000000] Linux version 6.1.0\n[    3.900000] sshd[612]: Server listening on :: port 22.\n";
const HOSTILE_ID = `../../<img src=x onerror="alert('id')">&x`;

const consoleKey = (benchmarkId: string, runIndex: number) =>
  `console/${benchmarkId}/run-${String(runIndex).padStart(4, "0")}.txt.gz`;

/** A succeeded run with console output stored (under its benchmark's key unless told otherwise). */
function storedRun(runIndex: number, benchmarkId = "bench-1", key = consoleKey(benchmarkId, runIndex)) {
  const run = buildRunRecord({
    ...succeededRunState(runIndex),
    console: {
      status: "stored",
      bucket: BUCKET,
      key,
      bytes: 200,
      storedBytes: 100,
      latest: true,
      capturedAt: 1,
    },
  });
  run.benchmarkId = benchmarkId;
  return run;
}

/** A run that never launched an instance: no console, for a reason consoleMissing gives. */
function neverLaunched(runIndex: number): RunRecord {
  const run = buildRunRecord(failedRunState(runIndex, "InsufficientInstanceCapacity"));
  delete run.instanceId;
  return run;
}

const FRAMES = 3;
function manifestFor(runIndex: number): FilmstripManifest {
  return {
    benchmarkId: "bench-1",
    runIndex,
    instanceId: "i-0123456789abcdef0",
    frames: FRAMES,
    throttled: 0,
    failed: 0,
    busy: 0,
    framesPerSecond: 1,
    startedAt: T0 + 1_900,
    endedAt: T0 + 22_000,
    stoppedBy: "probe-ended",
    frameList: Array.from({ length: FRAMES }, (_, i) => ({
      key: filmstripFrameKey("bench-1", runIndex, i),
      requestedAt: T0 + 2_000 + i * 1_000,
      respondedAt: T0 + 2_300 + i * 1_000,
      bytes: 4,
    })),
  };
}
const frameBytes = (i: number): Uint8Array => Uint8Array.from([0xff, 0xd8, i, 0xd9]);

/** A succeeded run with console output and a stored filmstrip. */
function filmstripRun(runIndex: number): RunRecord {
  const { frameList: _f, benchmarkId: _b, runIndex: _r, instanceId: _i, ...counts } = manifestFor(runIndex);
  const captured: CaptureScreenshotsResult = {
    status: "captured",
    bucket: BUCKET,
    manifestKey: filmstripManifestKey("bench-1", runIndex),
    storedBytes: 4 * FRAMES,
    ...counts,
  };
  const state = succeededRunState(runIndex);
  state.observation = [pollResult(), probeResult(), captured];
  return buildRunRecord({
    ...state,
    console: {
      status: "stored",
      bucket: BUCKET,
      key: consoleKey("bench-1", runIndex),
      bytes: 200,
      storedBytes: 100,
      latest: true,
      capturedAt: 1,
    },
  });
}

function filmstripObjects(runIndex: number): Record<string, unknown> {
  const manifest = manifestFor(runIndex);
  const objects: Record<string, unknown> = {
    [`${BUCKET}/${filmstripManifestKey("bench-1", runIndex)}`]: manifest,
  };
  manifest.frameList.forEach((frame, i) => {
    objects[`${BUCKET}/${frame.key}`] = frameBytes(i);
  });
  return objects;
}

const noSuchKey = () => Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey" });

/** Objects by `bucket/key`: console texts as strings, frames as bytes, manifests as JSON; a function throws. */
function fakeObjects(objects: Record<string, unknown>): EvidenceObjects & { reads: string[] } {
  const reads: string[] = [];
  const get = (bucket: string, key: string): unknown => {
    reads.push(`${bucket}/${key}`);
    const object = objects[`${bucket}/${key}`];
    if (typeof object === "function") throw object();
    if (object === undefined) throw noSuchKey();
    return object;
  };
  return {
    reads,
    read: async (bucket, key) => get(bucket, key) as string,
    readBytes: async (bucket, key) => get(bucket, key) as Uint8Array,
    readJson: async (bucket, key) => structuredClone(get(bucket, key)),
  };
}

/** A report that lists `failedRuns` and one marked benchmark with `markedRuns`. */
function modelWith(failedRuns: RunRecord[], markedRuns: RunRecord[]): ReportModel {
  const summary = buildSummaryRecord({ benchmark, settings, image }, markedRuns);
  return {
    title: "boot times",
    generatedAt: "2025-06-16T00:00:00.000Z",
    tableName: "boot-bench-test",
    selection: "all benchmarks",
    comparison: markedRuns.length > 0 ? [summary] : [],
    superseded: 0,
    series: [],
    thresholds: DEFAULT_REGRESSION_THRESHOLDS,
    failedRuns,
    markedBenchmarks: markedRuns.length > 0 ? [{ summary, runs: markedRuns }] : [],
    markedBenchmarkCount: markedRuns.length > 0 ? 1 : 0,
    guestBenchmarks: [],
  };
}

const dirs: string[] = [];
const freshDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "boot-bench-report-evidence-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Every file under `dir`, relative to it, sorted. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** The section of the report under a heading, to the next one. */
const section = (html: string, heading: string): string => html.split(heading)[1]?.split("<h2")[0] ?? "";

describe("the report's console and filmstrip of each listed run", () => {
  it("writes each stored console's text beside the report and links it relatively from both lists", async () => {
    const dir = freshDir();
    const marked = [storedRun(1), storedRun(2)];
    const failed = [neverLaunched(4), storedRun(3)];
    failed[1] = { ...(failed[1] as RunRecord), status: "failed" };
    const objects = fakeObjects({
      [`${BUCKET}/${consoleKey("bench-1", 1)}`]: TEXT,
      [`${BUCKET}/${consoleKey("bench-1", 2)}`]: "two\n",
      [`${BUCKET}/${consoleKey("bench-1", 3)}`]: "three\n",
    });
    const model = modelWith(failed, marked);
    const written = await writeRunEvidence(model, objects, join(dir, "report.html"));

    expect(filesUnder(dir)).toEqual([
      "report-files/console/bench-1/run-0001.txt",
      "report-files/console/bench-1/run-0002.txt",
      "report-files/console/bench-1/run-0003.txt",
    ]);
    expect(readFileSync(join(dir, "report-files/console/bench-1/run-0001.txt"), "utf8")).toBe(TEXT);
    expect(readFileSync(join(dir, "report-files/console/bench-1/run-0003.txt"), "utf8")).toBe("three\n");
    expect(written.consoles).toBe(3);
    expect(written.filmstrips).toBe(0);
    expect(written.folder).toBe(join(dir, "report-files"));
    expect(written.evidence.get("bench-1#2")).toEqual({
      console: { href: "report-files/console/bench-1/run-0002.txt" },
    });

    const html = reportHtml(model, "", written.evidence);
    const markedSection = section(html, '<h2 id="marked">');
    const failures = section(html, '<h2 id="failures">');
    expect(markedSection).toContain('<a href="report-files/console/bench-1/run-0001.txt">text</a>');
    expect(markedSection).toContain('<a href="report-files/console/bench-1/run-0002.txt">text</a>');
    expect(failures).toContain('<a href="report-files/console/bench-1/run-0003.txt">text</a>');
    // Without filmstrips, no filmstrip column; with the evidence, a console column in both tables.
    expect(html).not.toContain(">filmstrip</th>");
    expect(markedSection).toContain(">console</th>");
    expect(failures).toContain(">console</th>");
  });

  it("shows why a run has no console, in consoleMissing's words, and reads nothing for it", async () => {
    const dir = freshDir();
    const unfetchable = buildRunRecord({
      ...failedRunState(5, "States.Timeout"),
      consoleFailure: { Error: "InternalError", Cause: "An internal error has occurred" },
    });
    const runs = [neverLaunched(4), unfetchable];
    const objects = fakeObjects({});
    const model = modelWith(runs, []);
    const written = await writeRunEvidence(model, objects, join(dir, "report.html"));
    expect(objects.reads).toEqual([]);
    for (const run of runs) {
      const reason = consoleMissing(run) as string;
      expect(reason).toBeDefined();
      expect(written.evidence.get(runEvidenceKey(run))).toEqual({ console: { note: reason } });
      expect(section(reportHtml(model, "", written.evidence), '<h2 id="failures">')).toContain(
        `<td class="evidence">${escapeHtml(reason)}</td>`,
      );
    }
  });

  it("says an expired console object is gone, and still writes the rest", async () => {
    const dir = freshDir();
    const model = modelWith([], [storedRun(1), storedRun(2)]);
    const written = await writeRunEvidence(
      model,
      fakeObjects({ [`${BUCKET}/${consoleKey("bench-1", 2)}`]: "two\n" }),
      join(dir, "report.html"),
    );
    expect(written.evidence.get("bench-1#1")).toEqual({
      console: {
        note: `expired: s3://${BUCKET}/console/bench-1/run-0001.txt.gz is gone (the bucket's lifecycle rule expires console output)`,
      },
    });
    expect(filesUnder(dir)).toEqual(["report-files/console/bench-1/run-0002.txt"]);
    expect(written.consoles).toBe(1);
    expect(reportHtml(model, "", written.evidence)).toContain("expired: s3://");
  });

  it("fails on any other S3 error, naming the object", async () => {
    const dir = freshDir();
    const denied = () => Object.assign(new Error("Access Denied"), { name: "AccessDenied" });
    const objects = fakeObjects({ [`${BUCKET}/${consoleKey("bench-1", 2)}`]: denied });
    await expect(
      writeRunEvidence(modelWith([], [storedRun(2)]), objects, join(dir, "report.html")),
    ).rejects.toThrow(
      `could not read the console output of run 2 of benchmark bench-1 from s3://${BUCKET}/console/bench-1/run-0002.txt.gz: AccessDenied: Access Denied`,
    );
  });

  it("writes a run's filmstrip exactly as writeFilmstrip does, and links its page", async () => {
    const dir = freshDir();
    const run = filmstripRun(1);
    const objects = {
      ...filmstripObjects(1),
      [`${BUCKET}/${consoleKey("bench-1", 1)}`]: TEXT,
    };
    const model = modelWith([], [run, storedRun(2)]);
    const written = await writeRunEvidence(model, fakeObjects(objects), join(dir, "report.html"));
    const own = join(freshDir(), "own");
    await writeFilmstrip(
      { runs: async () => [run], objects: fakeObjects(objects) },
      {
        benchmarkId: "bench-1",
        runIndex: 1,
        outDir: own,
      },
    );
    const beside = join(dir, "report-files/filmstrip/bench-1/run-0001");
    expect(filesUnder(beside)).toEqual(filesUnder(own));
    expect(filesUnder(beside)).toContain("index.html");
    for (const file of filesUnder(own)) {
      expect(readFileSync(join(beside, file)), file).toEqual(readFileSync(join(own, file)));
    }
    expect(written.filmstrips).toBe(1);
    expect(written.evidence.get("bench-1#1")?.filmstrip).toEqual({
      href: "report-files/filmstrip/bench-1/run-0001/index.html",
    });
    // Run 2 has no filmstrip: its cell says nothing, while the column is there for run 1.
    expect(written.evidence.get("bench-1#2")?.filmstrip).toBeUndefined();
    const markedSection = section(reportHtml(model, "", written.evidence), '<h2 id="marked">');
    expect(markedSection).toContain(">filmstrip</th>");
    expect(markedSection).toContain(
      '<a href="report-files/filmstrip/bench-1/run-0001/index.html">player</a>',
    );
  });

  it("says why a run's filmstrip is not there", async () => {
    const dir = freshDir();
    const run = filmstripRun(1);
    const model = modelWith([], [run]);
    const written = await writeRunEvidence(
      model,
      fakeObjects({ [`${BUCKET}/${consoleKey("bench-1", 1)}`]: TEXT }),
      join(dir, "report.html"),
    );
    const note = `s3://${BUCKET}/${filmstripManifestKey("bench-1", 1)} is gone: the bucket's lifecycle rule expires filmstrips`;
    expect(written.evidence.get("bench-1#1")?.filmstrip).toEqual({ note });
    expect(section(reportHtml(model, "", written.evidence), '<h2 id="marked">')).toContain(escapeHtml(note));
    expect(filesUnder(join(dir, "report-files/filmstrip"))).toEqual([]);
  });

  it("fails when a filmstrip cannot be read, naming its manifest", async () => {
    const dir = freshDir();
    const objects = {
      ...filmstripObjects(1),
      [`${BUCKET}/${consoleKey("bench-1", 1)}`]: TEXT,
      [`${BUCKET}/${filmstripManifestKey("bench-1", 1)}`]: () =>
        Object.assign(new Error("slow down"), { name: "SlowDown" }),
    };
    await expect(
      writeRunEvidence(modelWith([], [filmstripRun(1)]), fakeObjects(objects), join(dir, "report.html")),
    ).rejects.toThrow(
      `could not write the filmstrip of run 1 of benchmark bench-1 (s3://${BUCKET}/${filmstripManifestKey("bench-1", 1)}): SlowDown: slow down`,
    );
  });

  it("keeps hostile benchmark ids and keys inside the folder, and escapes them in hrefs and text", async () => {
    const dir = freshDir();
    const hostileKey = `console/<b>"x'&/run.txt.gz`;
    const stored = storedRun(1, HOSTILE_ID);
    const expired = storedRun(2, HOSTILE_ID, hostileKey);
    const model = modelWith([], [stored, expired]);
    const report = join(dir, "nested", `my "report" <1>&'.html`);
    const written = await writeRunEvidence(
      model,
      fakeObjects({ [`${BUCKET}/${consoleKey(HOSTILE_ID, 1)}`]: TEXT }),
      report,
    );
    // Every file inside the report's own folder, none above it.
    expect(filesUnder(dir)).toEqual([
      join("nested", `my "report" <1>&'-files`, "console", folderSegment(HOSTILE_ID), "run-0001.txt"),
    ]);
    expect(folderSegment(HOSTILE_ID)).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
    expect(folderSegment(HOSTILE_ID)).not.toBe(folderSegment(HOSTILE_ID.replace("id", "id2")));
    expect(folderSegment("bench-1")).toBe("bench-1");
    expect(folderSegment("..")).not.toBe("..");

    const href = written.evidence.get(`${HOSTILE_ID}#1`)?.console;
    expect(href).toEqual({
      href: `${encodeURIComponent(`my "report" <1>&'-files`)}/console/${folderSegment(HOSTILE_ID)}/run-0001.txt`,
    });
    const html = section(reportHtml(model, "", written.evidence), '<h2 id="marked">');
    expect(html).toContain(
      `<a href="my%20%22report%22%20%3C1%3E%26&#39;-files/console/${folderSegment(HOSTILE_ID)}/run-0001.txt">text</a>`,
    );
    expect(html).toContain("console/&lt;b&gt;&quot;x&#39;&amp;/run.txt.gz is gone");
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<b>");
  });

  it("writes nothing, reads nothing and opens no objects when no listed run has a console", async () => {
    const dir = freshDir();
    const open = vi.fn(async (): Promise<ConsoleObjects> => {
      throw new Error("opened");
    });
    const objects = openedOnFirstRead(open);
    const model = modelWith([neverLaunched(4)], []);
    const written = await writeRunEvidence(model, objects, join(dir, "report.html"));
    await objects.close();
    expect(open).not.toHaveBeenCalled();
    expect(filesUnder(dir)).toEqual([]);
    expect(evidenceWords(written)).toBe("no console texts or filmstrips to write");
    const html = reportHtml(model, "", written.evidence);
    expect(section(html, '<h2 id="failures">')).toContain(consoleMissing(neverLaunched(4)) as string);
  });

  it("adds no cells when the report is made without them", () => {
    const html = reportHtml(modelWith([neverLaunched(4)], [storedRun(1)]), "");
    expect(html).not.toContain(">console</th>");
    expect(html).not.toContain(">filmstrip</th>");
  });

  it("names the folder after the report, and says what it wrote", () => {
    expect(evidenceFolderName("dir/report.html")).toBe("report-files");
    expect(evidenceFolderName("weekly.report.htm")).toBe("weekly.report-files");
    expect(evidenceFolderName("report")).toBe("report-files");
    expect(
      evidenceWords({ evidence: new Map(), consoles: 3, filmstrips: 1, folder: "dir/report-files" }),
    ).toBe("3 console texts and 1 filmstrip in dir/report-files");
  });

  it("opens the objects on the first read, once, and closes what it opened", async () => {
    const close = vi.fn(async () => {});
    const opened: ConsoleObjects = {
      read: async () => "text",
      readBytes: async () => new Uint8Array(),
      readJson: async () => ({}),
      close,
    };
    const open = vi.fn(async () => opened);
    const objects = openedOnFirstRead(open);
    await expect(Promise.all([objects.read("b", "k"), objects.read("b", "k2")])).resolves.toEqual([
      "text",
      "text",
    ]);
    await objects.close();
    expect(open).toHaveBeenCalledTimes(1);
    expect(close).toHaveBeenCalledTimes(1);
  });
});

describe("boot-bench report --local, with the local S3", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("writes the report and, beside it, each listed run's console text, and says so", async () => {
    const credentials = { accessKeyId: "local", secretAccessKey: "local" };
    const failed = buildRunRecord({
      ...failedRunState(3, "States.Timeout"),
      console: {
        status: "stored",
        bucket: BUCKET,
        key: consoleKey("bench-1", 3),
        bytes: 200,
        storedBytes: 100,
        latest: true,
        capturedAt: 1,
      },
    });
    const runs = [buildRunRecord(succeededRunState(0)), buildRunRecord(succeededRunState(1)), failed];
    const seeded = await startSeededTable([
      { summary: buildSummaryRecord({ benchmark, settings, image }, runs), runs },
    ]);
    const s3 = await startLocalS3({ credentials });
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      credentials,
      forcePathStyle: true,
    });
    let stdout = "";
    const write = vi
      .spyOn(process.stdout, "write")
      .mockImplementation(streamWrite((text) => (stdout += text)));
    try {
      await ensureBuckets(client, [BUCKET]);
      await putObject(client, BUCKET, consoleKey("bench-1", 3), gzipSync(TEXT), "text/plain");
      vi.stubEnv("AWS_ENDPOINT_URL_DYNAMODB", seeded.endpoint);
      vi.stubEnv("AWS_ENDPOINT_URL_S3", s3.endpoint);
      vi.stubEnv("AWS_ACCESS_KEY_ID", credentials.accessKeyId);
      vi.stubEnv("AWS_SECRET_ACCESS_KEY", credentials.secretAccessKey);
      const dir = freshDir();
      const out = join(dir, "report.html");
      await buildProgram().parseAsync(["report", "--local", "--table", seeded.tableName, "--out", out], {
        from: "user",
      });
      expect(filesUnder(dir)).toEqual(["report-files/console/bench-1/run-0003.txt", "report.html"]);
      expect(readFileSync(join(dir, "report-files/console/bench-1/run-0003.txt"), "utf8")).toBe(TEXT);
      const html = readFileSync(out, "utf8");
      expect(section(html, '<h2 id="failures">')).toContain(
        '<a href="report-files/console/bench-1/run-0003.txt">text</a>',
      );
      expect(stdout).toContain(`; 1 console text and 0 filmstrips in ${join(dir, "report-files")}.\n`);
    } finally {
      write.mockRestore();
      client.destroy();
      await s3.close();
      await seeded.close();
    }
  }, 60_000);
});
