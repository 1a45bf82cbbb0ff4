/**
 * `boot-bench console <benchmark-id>`: the console output EC2 gave for each run of a benchmark (or one
 * run), as CaptureConsole stored it after the run and before terminate.
 */
import type { Command } from "commander";
import { queryBenchmark } from "../../functions/aws/benchmark-queries.js";
import type { RunRecord } from "../../functions/domain/run-record.js";
import { type ConsoleObjects, openConsoleObjects } from "../console-objects.js";
import { flushed } from "../query-command.js";
import { addTargetOptions, withResultsTable } from "../query-options.js";
import type { TableTargetOptions } from "../results-table.js";

export interface ConsoleRequest {
  benchmarkId: string;
  /** Only this run; every run when absent. */
  runIndex?: number;
}

export interface ConsoleDeps {
  runs: (benchmarkId: string) => Promise<RunRecord[]>;
  objects: Pick<ConsoleObjects, "read">;
  out: NodeJS.WritableStream;
}

const kilobytes = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

/** The line above a run's output: what the run was and what EC2 gave. */
export function consoleHeading(run: RunRecord): string {
  const what = [
    `run ${run.runIndex}`,
    run.status,
    ...(run.instanceId === undefined ? [] : [run.instanceId]),
    ...(run.counted ? [] : ["not counted"]),
  ].join(", ");
  const console = run.console;
  if (console?.status !== "stored") return `== ${what} ==`;
  const source = console.latest
    ? "latest output"
    : `buffered output${console.latestRefused === undefined ? "" : ` (Latest refused: ${console.latestRefused})`}`;
  const updated = console.outputUpdatedAt === undefined ? "" : `, updated ${console.outputUpdatedAt}`;
  return `== ${what}: ${source}, ${kilobytes(console.bytes)} (${kilobytes(console.storedBytes)} stored)${updated} ==`;
}

/** Why a run has no console output to show, or undefined when it has one. */
export function consoleMissing(run: RunRecord): string | undefined {
  const console = run.console;
  if (console === undefined) {
    return run.instanceId === undefined
      ? "no instance was launched, so there is no console"
      : "no console output was kept (the run was recorded before boot-bench kept console output)";
  }
  if (console.status === "failed") {
    return `the console output could not be fetched or stored: ${console.error.name}: ${console.error.message}`;
  }
  if (console.status === "empty") {
    return "EC2 had no console output for the instance yet (buffered output is posted only after a state change)";
  }
  return undefined;
}

/**
 * Writes each chosen run's heading and output. Returns false when nothing could be shown (the run asked
 * for, or every run, has no stored output), so that the command can fail.
 */
export async function showConsole(deps: ConsoleDeps, request: ConsoleRequest): Promise<boolean> {
  const runs = await deps.runs(request.benchmarkId);
  if (runs.length === 0) throw new Error(`no runs of benchmark ${request.benchmarkId} are recorded`);
  const chosen =
    request.runIndex === undefined ? runs : runs.filter((run) => run.runIndex === request.runIndex);
  if (chosen.length === 0) {
    const indexes = runs.map((run) => run.runIndex).join(", ");
    throw new Error(
      `benchmark ${request.benchmarkId} has no run ${request.runIndex}; its runs are ${indexes}`,
    );
  }
  let shown = 0;
  for (const run of chosen) {
    deps.out.write(`${consoleHeading(run)}\n`);
    const missing = consoleMissing(run);
    if (missing !== undefined || run.console?.status !== "stored") {
      deps.out.write(`(${missing})\n\n`);
      continue;
    }
    const { bucket, key } = run.console;
    let text: string;
    try {
      text = await deps.objects.read(bucket, key);
    } catch (error) {
      if (!(error instanceof Error) || error.name !== "NoSuchKey") throw error;
      deps.out.write(
        `(s3://${bucket}/${key} is gone: the bucket's lifecycle rule expires console output)\n\n`,
      );
      continue;
    }
    deps.out.write(text.endsWith("\n") ? `${text}\n` : `${text}\n\n`);
    shown += 1;
  }
  return shown > 0;
}

/** `--run` as a run index: a whole number ≥ 0. */
export function runIndexOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isInteger(value) || value < 0) {
    throw new Error(
      `--run takes a run index (0, 1, 2, …; run 0 is the discarded first run), got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

interface ConsoleOptions extends TableTargetOptions {
  run?: string;
}

export function registerConsoleCommand(program: Command): void {
  addTargetOptions(
    program
      .command("console")
      .description(
        "print the console output EC2 gave for a benchmark's runs (kept after each run, before terminate)",
      )
      .argument("<benchmark-id>", "the benchmark (as `boot-bench results` lists it)")
      .option("--run <n>", "only this run (by index; run 0 is the discarded first run)"),
  ).action(async (benchmarkId: string, options: ConsoleOptions) => {
    const runIndex = runIndexOption(options.run);
    const objects = await openConsoleObjects(options);
    try {
      const shown = await withResultsTable(options, (table) =>
        showConsole(
          {
            runs: async (id) => (await queryBenchmark(table.client, table.tableName, id)).runs,
            objects,
            out: process.stdout,
          },
          { benchmarkId, ...(runIndex !== undefined && { runIndex }) },
        ),
      );
      await flushed(process.stdout);
      if (!shown) process.exitCode = 1;
    } finally {
      await objects.close();
    }
  });
}
