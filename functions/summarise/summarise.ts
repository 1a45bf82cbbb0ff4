import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { putSummary, queryRuns } from "../aws/benchmark-table.js";
import type { SummariseEvent, SummariseResult } from "../domain/contract.js";
import { RunsMissingError } from "../domain/errors.js";
import { buildSummaryRecord, type RunRecord, summariseResultFrom } from "../domain/run-record.js";

export interface SummariseDeps {
  client: DynamoDBClient;
  tableName: string;
}

/**
 * Reads every run of the benchmark, writes the summary item and tells the state machine whether any
 * counted run succeeded. Runs only after the Map finished, so a missing run item means an iteration
 * ended without recording; summarising the rest would publish medians over the wrong runs.
 */
export async function summarise(event: SummariseEvent, deps: SummariseDeps): Promise<SummariseResult> {
  const { benchmark, settings } = event;
  const stored = await queryRuns(deps.client, deps.tableName, benchmark.benchmarkId);
  const byIndex = new Map<number, RunRecord>(stored.map((run) => [run.runIndex, run]));
  const missing = Array.from({ length: settings.runs }, (_, runIndex) => runIndex).filter(
    (runIndex) => !byIndex.has(runIndex),
  );
  if (missing.length > 0) {
    throw new RunsMissingError(
      missing,
      `benchmark ${benchmark.benchmarkId} has no record of run${missing.length === 1 ? "" : "s"} ` +
        `${missing.join(", ")} of ${settings.runs}`,
    );
  }
  // Only the runs this benchmark asked for; an index beyond them cannot come from its Map.
  const runs = stored.filter((run) => run.runIndex < settings.runs);
  const summary = buildSummaryRecord(event, runs);
  await putSummary(deps.client, deps.tableName, summary);
  return summariseResultFrom(summary);
}
