/**
 * What `boot-bench report` writes beside the report for the runs it lists: each run's console text and
 * filmstrip, in a folder named after the report (`report.html` → `report-files/`), so that the report
 * links them with relative paths and the two zip together and open offline.
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import type { RunRecord } from "../functions/domain/run-record.js";
import { consoleMissing } from "./commands/console.js";
import { filmstripLocation, writeFilmstrip } from "./commands/filmstrip.js";
import { mapConcurrently } from "./concurrently.js";
import type { ConsoleObjects } from "./console-objects.js";
import {
  type EvidenceCell,
  MAX_FAILED_RUN_ROWS,
  type ReportModel,
  type RunEvidence,
  runEvidenceKey,
} from "./report-html.js";

export type EvidenceObjects = Pick<ConsoleObjects, "read" | "readBytes" | "readJson">;

export interface WrittenEvidence {
  /** Keyed by runEvidenceKey: what reportHtml shows for each listed run. */
  evidence: Map<string, RunEvidence>;
  consoles: number;
  filmstrips: number;
  /** The folder beside the report (as the report's path gives it), whether or not anything was written. */
  folder: string;
}

/**
 * Runs at once; each reads one console object and, with a filmstrip, its frames a few at a time
 * (writeFilmstrip's own bound), so a report of hundreds of runs never opens hundreds of reads.
 */
const RUNS_AT_ONCE = 4;

/** `dir/report.html` → `report-files`: the folder's name, beside the report. */
export const evidenceFolderName = (reportFile: string): string =>
  `${basename(reportFile, extname(reportFile))}-files`;

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * A benchmark id as one folder name: itself when it is plainly one, else its safe characters and a
 * hash of it, so that no id (`..`, `a/b`, `<x>`) reaches outside its folder or onto another's.
 */
export function folderSegment(benchmarkId: string): string {
  if (SAFE_SEGMENT.test(benchmarkId)) return benchmarkId;
  const readable = benchmarkId
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._-]+/, "")
    .slice(0, 60);
  const hash = createHash("sha256").update(benchmarkId).digest("hex").slice(0, 12);
  return `${readable === "" ? "benchmark" : readable}-${hash}`;
}

const runFolder = (runIndex: number): string => `run-${String(runIndex).padStart(4, "0")}`;

/** The runs the report lists, each once: the failed runs it shows, then the marked benchmarks' runs. */
export function listedRuns(model: ReportModel): RunRecord[] {
  const runs = new Map<string, RunRecord>();
  for (const run of [
    ...model.failedRuns.slice(0, MAX_FAILED_RUN_ROWS),
    ...model.markedBenchmarks.flatMap((benchmark) => benchmark.runs),
  ]) {
    if (!runs.has(runEvidenceKey(run))) runs.set(runEvidenceKey(run), run);
  }
  return [...runs.values()];
}

const isNoSuchKey = (error: unknown): boolean => error instanceof Error && error.name === "NoSuchKey";
const errorText = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);
const whichRun = (run: RunRecord): string => `run ${run.runIndex} of benchmark ${run.benchmarkId}`;

interface Place {
  /** On disk. */
  path: string;
  /** From the report, URL-encoded. */
  href: string;
}

function placeOf(reportFile: string, ...segments: string[]): Place {
  const folder = evidenceFolderName(reportFile);
  return {
    path: join(dirname(reportFile), folder, ...segments),
    href: [folder, ...segments].map(encodeURIComponent).join("/"),
  };
}

async function writeConsole(
  run: RunRecord,
  objects: EvidenceObjects,
  reportFile: string,
): Promise<EvidenceCell> {
  const console = run.console;
  if (console?.status !== "stored") return { note: consoleMissing(run) ?? "no console output" };
  const { bucket, key } = console;
  let text: string;
  try {
    text = await objects.read(bucket, key);
  } catch (error) {
    if (isNoSuchKey(error)) {
      return {
        note: `expired: s3://${bucket}/${key} is gone (the bucket's lifecycle rule expires console output)`,
      };
    }
    throw new Error(
      `could not read the console output of ${whichRun(run)} from s3://${bucket}/${key}: ${errorText(error)}`,
      { cause: error },
    );
  }
  const place = placeOf(
    reportFile,
    "console",
    folderSegment(run.benchmarkId),
    `${runFolder(run.runIndex)}.txt`,
  );
  await mkdir(dirname(place.path), { recursive: true });
  await writeFile(place.path, text);
  return { href: place.href };
}

async function writeRunFilmstrip(
  run: RunRecord,
  objects: EvidenceObjects,
  reportFile: string,
): Promise<EvidenceCell | undefined> {
  if (run.filmstrip === undefined) return undefined;
  const place = placeOf(reportFile, "filmstrip", folderSegment(run.benchmarkId), runFolder(run.runIndex));
  try {
    const outcome = await writeFilmstrip(
      { runs: async () => [run], objects },
      { benchmarkId: run.benchmarkId, runIndex: run.runIndex, outDir: place.path },
    );
    return outcome.written ? { href: `${place.href}/index.html` } : { note: outcome.reason };
  } catch (error) {
    const location = filmstripLocation(run);
    const where = "manifestKey" in location ? ` (s3://${location.bucket}/${location.manifestKey})` : "";
    throw new Error(`could not write the filmstrip of ${whichRun(run)}${where}: ${errorText(error)}`, {
      cause: error,
    });
  }
}

/**
 * Writes the console text and the filmstrip of every run the report lists into the folder beside
 * `reportFile`, and returns what each run's cells show. A console object the bucket's lifecycle expired
 * is said so; any other S3 error throws, naming the object.
 */
export async function writeRunEvidence(
  model: ReportModel,
  objects: EvidenceObjects,
  reportFile: string,
): Promise<WrittenEvidence> {
  const runs = listedRuns(model);
  const cells = await mapConcurrently(runs, RUNS_AT_ONCE, async (run) => {
    const console = await writeConsole(run, objects, reportFile);
    const filmstrip = await writeRunFilmstrip(run, objects, reportFile);
    return { console, ...(filmstrip !== undefined && { filmstrip }) };
  });
  const evidence = new Map(runs.map((run, i) => [runEvidenceKey(run), cells[i] as RunEvidence]));
  const linked = (pick: (cell: RunEvidence) => EvidenceCell | undefined) =>
    cells.filter((cell) => {
      const picked = pick(cell);
      return picked !== undefined && "href" in picked;
    }).length;
  return {
    evidence,
    consoles: linked((cell) => cell.console),
    filmstrips: linked((cell) => cell.filmstrip),
    folder: join(dirname(reportFile), evidenceFolderName(reportFile)),
  };
}

/** The report's line says this about what it wrote beside it. */
export function evidenceWords(written: WrittenEvidence): string {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  if (written.consoles === 0 && written.filmstrips === 0) return "no console texts or filmstrips to write";
  return `${count(written.consoles, "console text")} and ${count(written.filmstrips, "filmstrip")} in ${written.folder}`;
}

/**
 * The objects, opened on the first read: a report whose runs have nothing stored starts no local S3
 * and makes no S3 client. Closing closes them only when they were opened.
 */
export function openedOnFirstRead(open: () => Promise<ConsoleObjects>): ConsoleObjects {
  let opened: Promise<ConsoleObjects> | undefined;
  const objects = () => {
    opened ??= open();
    return opened;
  };
  return {
    read: async (bucket, key) => (await objects()).read(bucket, key),
    readBytes: async (bucket, key) => (await objects()).readBytes(bucket, key),
    readJson: async (bucket, key) => (await objects()).readJson(bucket, key),
    close: async () => {
      const open = await opened?.catch(() => undefined);
      await open?.close();
    },
  };
}
