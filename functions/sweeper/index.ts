import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import { ec2Client } from "../aws/ec2-client.js";
import { sfnClient } from "../aws/sfn-client.js";
import { sleep } from "../shared/clock.js";
import { requireEnv } from "../shared/env.js";
import { handlerLogger, observed, publishMetricRecord } from "../shared/observability.js";
import { parseMaxAgeMinutes, type SweepConfig, type SweepEvent, type SweepResult, sweep } from "./sweeper.js";

const config: SweepConfig = {
  stackTag: requireEnv("STACK_TAG"),
  tableName: requireEnv("TABLE_NAME"),
  maxAgeMinutes: parseMaxAgeMinutes(requireEnv("MAX_AGE_MINUTES")),
};

const logger = handlerLogger();

export const lambdaHandler = (
  event: SweepEvent,
  context: Pick<Context, "awsRequestId">,
): Promise<SweepResult> =>
  sweep(event ?? {}, {
    ec2: ec2Client,
    dynamodb: dynamoDbClient,
    sfn: sfnClient,
    config,
    clock: Date.now,
    sleep,
    logger,
    publishMetrics: publishMetricRecord,
    invocationId: context.awsRequestId,
  });

export const handler = middy<SweepEvent, SweepResult>()
  .use(observed<SweepEvent, SweepResult>(undefined, { logger }))
  .handler(lambdaHandler);
