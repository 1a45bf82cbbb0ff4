import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { putRunOnce } from "../aws/benchmark-table.js";
import type { RecordRunEvent, RecordRunResult } from "../domain/contract.js";
import { buildRunRecord, type RunRecord } from "../domain/run-record.js";

export interface RecordRunDeps {
  client: DynamoDBClient;
  tableName: string;
  /** The run's EMF record (functions/domain/boot-metrics.ts): only by the invocation that stored it. */
  publishRunMetrics: (record: RunRecord) => void;
}

/**
 * Stores the run item once. A repeated invocation for the same run (Lambda or Step Functions retry,
 * redrive) returns the status that was stored first, so the state machine and the table agree, and
 * publishes no second metric record: CloudWatch counts each run once, as the table does.
 */
export async function recordRun(event: RecordRunEvent, deps: RecordRunDeps): Promise<RecordRunResult> {
  const { written, stored } = await putRunOnce(deps.client, deps.tableName, buildRunRecord(event));
  if (written) deps.publishRunMetrics(stored);
  return { runIndex: stored.runIndex, status: stored.status };
}
