/**
 * `boot-bench history <series>`: one row per AMI an SSM parameter has pointed at (a vendor's weekly
 * snapshot series), oldest first, with the change from the one before and regressions flagged.
 */
import type { Command } from "commander";
import {
  querySummaries,
  querySummaryDigests,
  type SummaryFilter,
} from "../../functions/aws/benchmark-queries.js";
import { type SeriesHistory, seriesHistory } from "../../functions/domain/comparison.js";
import { describeComparison } from "../../functions/domain/regression.js";
import type { OutputFormat } from "../output-format.js";
import { flushed, processIo, type QueryDeps, writeNotes } from "../query-command.js";
import {
  addTargetOptions,
  addThresholdOptions,
  formatOption,
  parseSince,
  seriesName,
  type ThresholdOptions,
  thresholdsFrom,
  withResultsTable,
} from "../query-options.js";
import type { TableTargetOptions } from "../results-table.js";
import { historyNote, historyOutput } from "../results-view.js";

export interface HistoryRequest extends ThresholdOptions {
  series: string;
  instanceType?: string;
  label?: string;
  since?: string;
  format: OutputFormat;
}

export interface HistoryOutcome {
  /** Regressions flagged over the whole history. */
  regressions: number;
  /** Whether the newest AMI of a history is one of them: what a weekly check wants to know. */
  latestIsRegression: boolean;
}

export async function showHistory(deps: QueryDeps, request: HistoryRequest): Promise<HistoryOutcome> {
  const series = seriesName(request.series);
  const thresholds = thresholdsFrom(request);
  const filter: SummaryFilter = {
    sourceParameter: series,
    ...(request.instanceType !== undefined && { instanceType: request.instanceType }),
    ...(request.label !== undefined && { label: request.label }),
    ...(request.since !== undefined && { since: parseSince(request.since, deps.clock()) }),
  };
  // JSON carries each AMI's whole statistics; the tables need only the digest, which reads faster.
  const summaries =
    request.format === "json"
      ? await querySummaries(deps.client, deps.tableName, filter)
      : await querySummaryDigests(deps.client, deps.tableName, filter);
  const histories = seriesHistory(summaries, thresholds);
  const entries = histories.flatMap((history) => history.entries);
  const regressions = entries.filter((entry) => entry.regression).length;
  const latestIsRegression = histories.some((history) => history.entries.at(-1)?.regression === true);
  if (entries.length === 0 && request.format !== "json") {
    writeNotes(deps, request.format, [`No benchmarks of ${series} in table ${deps.tableName} match.`]);
    return { regressions, latestIsRegression };
  }
  deps.out.write(`${historyOutput(series, histories, request.format)}\n`);
  writeNotes(deps, request.format, [
    historyNote(thresholds),
    ...newestComparisons(histories),
    `${regressions} regression${regressions === 1 ? "" : "s"} flagged${latestIsRegression ? ", the newest AMI among them" : ""}.`,
  ]);
  return { regressions, latestIsRegression };
}

/** The newest AMI of each history against its baseline, in the alert's words. */
function newestComparisons(histories: SeriesHistory[]): string[] {
  return histories.flatMap((history) => {
    const newest = history.entries.at(-1);
    if (newest?.comparison === undefined) return [];
    return [
      `Newest on ${history.instanceType}${history.label !== undefined ? ` (${history.label})` : ""}: ` +
        `${newest.summary.image.name} against ${newest.comparison.previousImageName}: ` +
        `${describeComparison(newest.comparison)}.`,
    ];
  });
}

interface HistoryOptions extends Omit<HistoryRequest, "series">, TableTargetOptions {
  failOnRegression?: boolean;
}

/** Exit status when --fail-on-regression is given and the newest AMI regressed. */
export const REGRESSION_EXIT_CODE = 3;

export function registerHistoryCommand(program: Command): void {
  const command = program
    .command("history")
    .description(
      "the AMIs published under an SSM parameter, oldest first, with the change from each to the next",
    )
    .argument("<series>", "SSM parameter, e.g. /aws/service/freebsd/amd64/base/ufs/15.0/CURRENT")
    .option("--instance-type <type>", "only this instance type")
    .option("--label <label>", "only benchmarks with this label")
    .option(
      "--since <when>",
      "only benchmarks started at or after an ISO date/time, or within a duration (7d, 12w)",
    )
    .option("--fail-on-regression", `exit with status ${REGRESSION_EXIT_CODE} when the newest AMI is flagged`)
    .addOption(formatOption());
  addThresholdOptions(command);
  addTargetOptions(command).action(async (series: string, options: HistoryOptions) => {
    const outcome = await withResultsTable(options, ({ client, tableName }) =>
      showHistory({ client, tableName, ...processIo() }, { ...options, series }),
    );
    if (options.failOnRegression && outcome.latestIsRegression) process.exitCode = REGRESSION_EXIT_CODE;
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  });
}
