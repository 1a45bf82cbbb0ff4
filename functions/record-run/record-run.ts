import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { putRunOnce } from "../aws/benchmark-table.js";
import type { RecordRunEvent, RecordRunResult } from "../domain/contract.js";
import { buildRunRecord } from "../domain/run-record.js";

export interface RecordRunDeps {
  client: DynamoDBClient;
  tableName: string;
}

/**
 * Stores the run item once. A repeated invocation for the same run (Lambda or Step Functions retry,
 * redrive) returns the status that was stored first, so the state machine and the table agree.
 */
export async function recordRun(event: RecordRunEvent, deps: RecordRunDeps): Promise<RecordRunResult> {
  const { stored } = await putRunOnce(deps.client, deps.tableName, buildRunRecord(event));
  return { runIndex: stored.runIndex, status: stored.status };
}
