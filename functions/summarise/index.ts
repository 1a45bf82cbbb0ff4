import middy from "@middy/core";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import type { SummariseEvent, SummariseResult } from "../domain/contract.js";
import { requireEnv } from "../shared/env.js";
import { observed, publishRunMetrics } from "../shared/observability.js";
import { summarise } from "./summarise.js";

const tableName = requireEnv("TABLE_NAME");

export const lambdaHandler = (event: SummariseEvent): Promise<SummariseResult> =>
  summarise(event, { client: dynamoDbClient, tableName, publishRunMetrics });

export const handler = middy<SummariseEvent, SummariseResult>()
  .use(observed<SummariseEvent, SummariseResult>(({ benchmark }) => ({ benchmarkId: benchmark.benchmarkId })))
  .handler(lambdaHandler);
