/**
 * `boot-bench results`: the comparison table of the published ec2-boot-bench results, from the local
 * cloud's DynamoDB or a deployed stack's table; `--runs <benchmarkId>` shows every run of one benchmark.
 */
import type { Command } from "commander";
import {
  queryBenchmark,
  querySummaries,
  querySummaryDigests,
} from "../../functions/aws/benchmark-queries.js";
import { byTotal, latestPerConfiguration } from "../../functions/domain/comparison.js";
import type { OutputFormat } from "../output-format.js";
import { flushed, processIo, type QueryDeps, writeNotes } from "../query-command.js";
import {
  addFilterOptions,
  addTargetOptions,
  type FilterOptions,
  formatOption,
  summaryFilterFrom,
  withResultsTable,
} from "../query-options.js";
import type { TableTargetOptions } from "../results-table.js";
import { benchmarkRunsOutput, COMPARISON_NOTE, comparisonOutput } from "../results-view.js";

export interface ResultsRequest extends FilterOptions {
  format: OutputFormat;
  /** Every matching benchmark instead of one per AMI, instance type and label. */
  all?: boolean;
}

export async function showResults(deps: QueryDeps, request: ResultsRequest): Promise<void> {
  const filter = summaryFilterFrom(request, deps.clock());
  // JSON gives people every stored attribute; the tables need only the digest, which reads faster.
  const summaries =
    request.format === "json"
      ? await querySummaries(deps.client, deps.tableName, filter)
      : await querySummaryDigests(deps.client, deps.tableName, filter);
  const { chosen, superseded } = request.all
    ? { chosen: summaries, superseded: 0 }
    : latestPerConfiguration(summaries);
  const rows = [...chosen].sort(byTotal);
  if (rows.length === 0 && request.format !== "json") {
    writeNotes(deps, request.format, [`No benchmarks in table ${deps.tableName} match.`]);
    return;
  }
  deps.out.write(`${comparisonOutput(rows, request.format)}\n`);
  const notes = [COMPARISON_NOTE];
  if (superseded > 0) {
    notes.push(
      `One row per AMI, instance type and label: its newest benchmark with results. ${superseded} other ` +
        `benchmark${superseded === 1 ? "" : "s"} of the same AMIs not shown; --all shows every benchmark.`,
    );
  }
  writeNotes(deps, request.format, notes);
}

export async function showBenchmarkRuns(
  deps: QueryDeps,
  benchmarkId: string,
  format: OutputFormat,
): Promise<void> {
  const { summary, runs, unrecorded } = await queryBenchmark(deps.client, deps.tableName, benchmarkId);
  if (!summary && runs.length === 0 && unrecorded.length === 0)
    throw new Error(`no benchmark ${benchmarkId} in table ${deps.tableName}`);
  deps.out.write(
    `${benchmarkRunsOutput({ benchmarkId, runs, unrecorded, ...(summary && { summary }) }, format)}\n`,
  );
  writeNotes(deps, format, [
    "Seconds per run; intervals only for runs that succeeded. Statistics use the counted runs that succeeded.",
  ]);
}

interface ResultsOptions extends ResultsRequest, TableTargetOptions {
  runs?: string;
}

export function registerResultsCommand(program: Command): void {
  const command = program
    .command("results")
    .description(
      "compare benchmarked images: medians of the counted runs in the published ec2-boot-bench layout, sorted by total",
    );
  addFilterOptions(command);
  command
    .option("--all", "every matching benchmark, not only the newest of each AMI, instance type and label")
    .option(
      "--runs <benchmarkId>",
      "every run of one benchmark with its raw intervals and status, and its statistics",
    )
    .addOption(formatOption());
  addTargetOptions(command).action(async (options: ResultsOptions) => {
    const filtered = ["image", "series", "instanceType", "label", "since", "all"] as const;
    if (options.runs !== undefined && filtered.some((name) => options[name] !== undefined)) {
      throw new Error(
        "--runs shows one benchmark: it takes no --image, --series, --instance-type, --label, --since or --all",
      );
    }
    await withResultsTable(options, async ({ client, tableName }) => {
      const deps = { client, tableName, ...processIo() };
      if (options.runs !== undefined) await showBenchmarkRuns(deps, options.runs, options.format);
      else await showResults(deps, options);
    });
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  });
}
