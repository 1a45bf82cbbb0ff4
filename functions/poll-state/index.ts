import middy from "@middy/core";
import { queryRuns } from "../aws/benchmark-table.js";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import { ec2Client } from "../aws/ec2-client.js";
import type { PollStateEvent, PollStateResult } from "../domain/contract.js";
import { validPendingMs } from "../domain/run-record.js";
import { sleep, withWallClock } from "../shared/clock.js";
import { requireEnv } from "../shared/env.js";
import { eventKeys, observed } from "../shared/observability.js";
import { pollState } from "./poll-state.js";

const tableName = requireEnv("TABLE_NAME");

export const lambdaHandler = (event: PollStateEvent): Promise<PollStateResult> =>
  withWallClock((clock) =>
    pollState(event, {
      ec2: ec2Client,
      clock,
      sleep,
      earlierPendingMs: async () =>
        validPendingMs(await queryRuns(dynamoDbClient, tableName, event.benchmarkId)),
    }),
  );

export const handler = middy<PollStateEvent, PollStateResult>()
  .use(observed<PollStateEvent, PollStateResult>(eventKeys))
  .handler(lambdaHandler);
