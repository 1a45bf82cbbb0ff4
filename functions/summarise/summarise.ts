import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { putRunOnce, putSummary, putUnrecordedRun, queryRuns } from "../aws/benchmark-table.js";
import type { SummariseEvent, SummariseResult, UnrecordedRunResult } from "../domain/contract.js";
import { RunsMissingError } from "../domain/errors.js";
import {
  buildRunRecord,
  buildSummaryRecord,
  buildUnrecordedRunRecord,
  errorInfoOf,
  type RunRecord,
  summariseResultFrom,
  type UnrecordedRunRecord,
} from "../domain/run-record.js";

export interface SummariseDeps {
  client: DynamoDBClient;
  tableName: string;
  /** The EMF record of a run this step stores in RecordRun's place (functions/record-run). */
  publishRunMetrics: (record: RunRecord) => void;
}

/**
 * Records the runs RecordRun could not (minutes later, a throttled or unavailable table may take them),
 * keeps the ones that still fail as unrecorded-run items, then reads every run of the benchmark, writes
 * the summary item and tells the state machine how the benchmark ended. Runs only after the Map
 * finished, so a run with neither a run item nor an unrecorded-run item means an iteration ended without
 * either; summarising the rest would publish medians over the wrong runs.
 */
export async function summarise(event: SummariseEvent, deps: SummariseDeps): Promise<SummariseResult> {
  const { benchmark, settings } = event;
  const unrecorded: UnrecordedRunRecord[] = [];
  for (const iteration of event.iterations) {
    if (!("unrecorded" in iteration)) continue;
    const kept = await recordLate(iteration, deps);
    if (kept) unrecorded.push(kept);
  }
  const stored = await queryRuns(deps.client, deps.tableName, benchmark.benchmarkId);
  const accounted = new Set<number>([...stored, ...unrecorded].map((run) => run.runIndex));
  const missing = Array.from({ length: settings.runs }, (_, runIndex) => runIndex).filter(
    (runIndex) => !accounted.has(runIndex),
  );
  if (missing.length > 0) {
    throw new RunsMissingError(
      missing,
      `benchmark ${benchmark.benchmarkId} has no record of run${missing.length === 1 ? "" : "s"} ` +
        `${missing.join(", ")} of ${settings.runs}`,
    );
  }
  // Only the runs this benchmark asked for; an index beyond them cannot come from its Map.
  const runs = stored.filter((run: RunRecord) => run.runIndex < settings.runs);
  const summary = buildSummaryRecord(event, runs, unrecorded);
  await putSummary(deps.client, deps.tableName, summary);
  return summariseResultFrom(summary);
}

/**
 * Writes the run item RecordRun could not; when that fails too (the state builds no valid item, or the
 * table still refuses it), keeps the run's whole state as an unrecorded-run item and returns it. A
 * failure to keep even that propagates: Step Functions retries Summarise, and the state stays in the
 * execution's history meanwhile.
 */
async function recordLate(
  iteration: UnrecordedRunResult,
  deps: SummariseDeps,
): Promise<UnrecordedRunRecord | undefined> {
  try {
    const { written, stored } = await putRunOnce(
      deps.client,
      deps.tableName,
      buildRunRecord(iteration.unrecorded),
    );
    if (written) deps.publishRunMetrics(stored);
    return undefined;
  } catch (error) {
    const record = buildUnrecordedRunRecord(iteration.unrecorded, errorInfoOf(error));
    await putUnrecordedRun(deps.client, deps.tableName, record);
    return record;
  }
}
