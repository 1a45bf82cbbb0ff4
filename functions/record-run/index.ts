import middy from "@middy/core";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import type { RecordRunEvent, RecordRunResult } from "../domain/contract.js";
import { requireEnv } from "../shared/env.js";
import { recordRun } from "./record-run.js";

const tableName = requireEnv("TABLE_NAME");

export const lambdaHandler = (event: RecordRunEvent): Promise<RecordRunResult> =>
  recordRun(event, { client: dynamoDbClient, tableName });

export const handler = middy<RecordRunEvent, RecordRunResult>().handler(lambdaHandler);
