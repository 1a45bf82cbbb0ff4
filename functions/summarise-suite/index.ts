import middy from "@middy/core";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import { snsClient } from "../aws/sns-client.js";
import type { SummariseSuiteEvent, SummariseSuiteResult } from "../domain/suite.js";
import { requireEnv } from "../shared/env.js";
import { observed, publishMetricRecord } from "../shared/observability.js";
import { summariseSuite } from "./summarise-suite.js";

const tableName = requireEnv("TABLE_NAME");
const topicArn = requireEnv("ALERT_TOPIC_ARN");

export const lambdaHandler = (event: SummariseSuiteEvent): Promise<SummariseSuiteResult> =>
  summariseSuite(event, {
    dynamoDb: dynamoDbClient,
    sns: snsClient,
    tableName,
    topicArn,
    publishMetrics: publishMetricRecord,
  });

export const handler = middy<SummariseSuiteEvent, SummariseSuiteResult>()
  .use(observed<SummariseSuiteEvent, SummariseSuiteResult>(({ suite }) => ({ suiteRunId: suite.suiteRunId })))
  .handler(lambdaHandler);
