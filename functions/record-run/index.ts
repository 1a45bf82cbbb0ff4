import middy from "@middy/core";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import type { RecordRunEvent, RecordRunResult } from "../domain/contract.js";
import { requireEnv } from "../shared/env.js";
import { observed, publishRunMetrics, runStateKeys } from "../shared/observability.js";
import { recordRun } from "./record-run.js";

const tableName = requireEnv("TABLE_NAME");

export const lambdaHandler = (event: RecordRunEvent): Promise<RecordRunResult> =>
  recordRun(event, { client: dynamoDbClient, tableName, publishRunMetrics });

export const handler = middy<RecordRunEvent, RecordRunResult>()
  .use(observed<RecordRunEvent, RecordRunResult>(runStateKeys))
  .handler(lambdaHandler);
