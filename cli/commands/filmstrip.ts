/**
 * `boot-bench filmstrip <benchmark-id> --run N --out DIR`: one run's boot filmstrip, as CaptureScreenshots
 * stored it, copied into a folder with a page that plays it against the run's timeline.
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { queryBenchmark } from "../../functions/aws/benchmark-queries.js";
import type { FilmstripManifest } from "../../functions/domain/contract.js";
import type { RunRecord } from "../../functions/domain/run-record.js";
import { mapConcurrently } from "../concurrently.js";
import { type ConsoleObjects, openConsoleObjects } from "../console-objects.js";
import { filmstripPage, frameFileName } from "../filmstrip-html.js";
import { flushed } from "../query-command.js";
import { addTargetOptions, withResultsTable } from "../query-options.js";
import type { TableTargetOptions } from "../results-table.js";
import { runIndexOption } from "./console.js";

export interface FilmstripRequest {
  benchmarkId: string;
  runIndex: number;
  /** Created when missing; frames already in it are overwritten. */
  outDir: string;
}

export interface FilmstripDeps {
  runs: (benchmarkId: string) => Promise<RunRecord[]>;
  objects: Pick<ConsoleObjects, "readBytes" | "readJson">;
}

export type FilmstripOutcome =
  | { written: true; outDir: string; frames: number; files: string[] }
  /** Nothing to write, and why, in a sentence. */
  | { written: false; reason: string };

/** Frames are read a few at a time, never the whole filmstrip at once. */
const FRAME_READS_AT_ONCE = 8;

/** What a frame's file may be called: its key's own name, never a path out of the folder. */
const FRAME_FILE = /^frame-\d+\.jpg$/;

const isNoSuchKey = (error: unknown): boolean => error instanceof Error && error.name === "NoSuchKey";

/** Where the run's manifest is, or why there is none to look for. */
export function filmstripLocation(
  run: RunRecord,
): { bucket: string; manifestKey: string } | { reason: string } {
  const filmstrip = run.filmstrip;
  if (filmstrip === undefined) {
    return {
      reason:
        "the run has no filmstrip: the benchmark did not ask for one (screenshots: {framesPerSecond}) or the run had no instance",
    };
  }
  if (filmstrip.status === "failed") {
    return {
      reason: `the run's filmstrip failed: ${filmstrip.error.name}: ${filmstrip.error.message}`,
    };
  }
  if (filmstrip.status === "captured")
    return { bucket: filmstrip.bucket, manifestKey: filmstrip.manifestKey };
  // Detached: the stream writes its manifest to the stack's console bucket, which the run's console names.
  if (run.console?.status !== "stored") {
    return {
      reason:
        `the run's observation failed before its filmstrip reported back, and the run kept no console output, ` +
        `whose bucket would say where the manifest (${filmstrip.manifestKey}) is`,
    };
  }
  return { bucket: run.console.bucket, manifestKey: filmstrip.manifestKey };
}

/** The manifest as read, checked for what the page and the copy need; throws naming what is wrong. */
export function checkedManifest(value: unknown, where: string): FilmstripManifest {
  const manifest = value as Partial<FilmstripManifest> | null;
  const problem = (what: string) => new Error(`${where} is not a filmstrip manifest: ${what}`);
  if (typeof manifest !== "object" || manifest === null) throw problem("not a JSON object");
  if (!Array.isArray(manifest.frameList)) throw problem("it has no frameList");
  for (const name of [
    "frames",
    "throttled",
    "failed",
    "busy",
    "framesPerSecond",
    "startedAt",
    "endedAt",
  ] as const) {
    if (typeof manifest[name] !== "number") throw problem(`its ${name} is not a number`);
  }
  manifest.frameList.forEach((frame, i) => {
    if (
      typeof frame?.key !== "string" ||
      typeof frame.requestedAt !== "number" ||
      typeof frame.respondedAt !== "number"
    ) {
      throw problem(`frame ${i} has no key, requestedAt or respondedAt`);
    }
    if (!FRAME_FILE.test(frameFileName(frame.key))) {
      throw problem(`frame ${i}'s key ${JSON.stringify(frame.key)} does not end in frame-NNNN.jpg`);
    }
  });
  return manifest as FilmstripManifest;
}

/** Fails before anything is read when `--out` names something that is not a folder. */
async function assertFolderOrMissing(outDir: string): Promise<void> {
  const found = await stat(outDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (found !== undefined && !found.isDirectory()) {
    throw new Error(`--out ${outDir} is a file, not a folder: give a folder to write the filmstrip into`);
  }
}

/**
 * Copies the run's frames and manifest into `outDir` and writes its page. Returns why not when the run
 * has no filmstrip to write (none asked for, failed, or its manifest is not there), so that the command
 * can fail; throws on anything else (no such run, `--out` a file, a frame gone).
 */
export async function writeFilmstrip(
  deps: FilmstripDeps,
  request: FilmstripRequest,
): Promise<FilmstripOutcome> {
  const { benchmarkId, runIndex, outDir } = request;
  await assertFolderOrMissing(outDir);
  const runs = await deps.runs(benchmarkId);
  if (runs.length === 0) throw new Error(`no runs of benchmark ${benchmarkId} are recorded`);
  const run = runs.find((candidate) => candidate.runIndex === runIndex);
  if (run === undefined) {
    const indexes = runs.map((candidate) => candidate.runIndex).join(", ");
    throw new Error(`benchmark ${benchmarkId} has no run ${runIndex}; its runs are ${indexes}`);
  }

  const location = filmstripLocation(run);
  if ("reason" in location) return { written: false, reason: location.reason };
  const { bucket, manifestKey } = location;
  const manifestUrl = `s3://${bucket}/${manifestKey}`;
  let read: unknown;
  try {
    read = await deps.objects.readJson(bucket, manifestKey);
  } catch (error) {
    if (!isNoSuchKey(error)) throw error;
    const reason =
      run.filmstrip?.status === "detached"
        ? `the run's observation failed before its filmstrip reported back, and its manifest is not at ${manifestUrl}: the stream did not write it, or the bucket's lifecycle rule expired it`
        : `${manifestUrl} is gone: the bucket's lifecycle rule expires filmstrips`;
    return { written: false, reason };
  }
  const manifest = checkedManifest(read, manifestUrl);

  const frames = await mapConcurrently(manifest.frameList, FRAME_READS_AT_ONCE, async (frame) => {
    try {
      return { file: frameFileName(frame.key), bytes: await deps.objects.readBytes(bucket, frame.key) };
    } catch (error) {
      if (!isNoSuchKey(error)) throw error;
      throw new Error(`frame s3://${bucket}/${frame.key} of the manifest is not in the bucket`);
    }
  });
  await mkdir(outDir, { recursive: true });
  for (const frame of frames) await writeFile(join(outDir, frame.file), frame.bytes);
  await writeFile(join(outDir, "frames.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(outDir, "index.html"), filmstripPage(run, manifest));
  return {
    written: true,
    outDir,
    frames: frames.length,
    files: [...frames.map((frame) => frame.file), "frames.json", "index.html"],
  };
}

interface FilmstripOptions extends TableTargetOptions {
  run?: string;
  out?: string;
}

/** `--run` and `--out`, both required: which run, and where its filmstrip goes. */
export function filmstripOptions(options: FilmstripOptions): { runIndex: number; outDir: string } {
  const runIndex = runIndexOption(options.run);
  if (runIndex === undefined) {
    throw new Error("--run is required: the index of the run whose filmstrip to write (0, 1, 2, …)");
  }
  if (options.out === undefined || options.out.trim() === "") {
    throw new Error("--out is required: the folder to write the frames, frames.json and index.html into");
  }
  return { runIndex, outDir: options.out };
}

export function registerFilmstripCommand(program: Command): void {
  addTargetOptions(
    program
      .command("filmstrip")
      .description(
        "copy one run's boot filmstrip (console screenshots) into a folder, with a page that plays it against the run's timeline",
      )
      .argument("<benchmark-id>", "the benchmark (as `boot-bench results` lists it)")
      .option("--run <n>", "the run (by index; run 0 is the discarded first run); required")
      .option("--out <dir>", "the folder to write into (created when missing); required"),
  ).action(async (benchmarkId: string, options: FilmstripOptions) => {
    const { runIndex, outDir } = filmstripOptions(options);
    const objects = await openConsoleObjects(options);
    try {
      const outcome = await withResultsTable(options, (table) =>
        writeFilmstrip(
          {
            runs: async (id) => (await queryBenchmark(table.client, table.tableName, id)).runs,
            objects,
          },
          { benchmarkId, runIndex, outDir },
        ),
      );
      if (outcome.written) {
        process.stdout.write(
          `wrote ${outcome.frames} frames, frames.json and index.html to ${outcome.outDir} (open ${join(outcome.outDir, "index.html")})\n`,
        );
      } else {
        process.stderr.write(`boot-bench: ${outcome.reason}\n`);
        process.exitCode = 1;
      }
      await flushed(process.stdout);
    } finally {
      await objects.close();
    }
  });
}
