import middy from "@middy/core";
import { retireGuestKey } from "../aws/benchmark-table.js";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import { ec2Client } from "../aws/ec2-client.js";
import type { DeleteGuestKeyEvent, DeleteGuestKeyResult } from "../domain/contract.js";
import { requireEnv } from "../shared/env.js";
import { observed } from "../shared/observability.js";
import { deleteGuestKey } from "./delete-guest-key.js";

const tableName = requireEnv("TABLE_NAME");

export const lambdaHandler = (event: DeleteGuestKeyEvent): Promise<DeleteGuestKeyResult> =>
  deleteGuestKey(event, {
    ec2: ec2Client,
    retireStoredKey: (benchmarkId) => retireGuestKey(dynamoDbClient, tableName, benchmarkId, new Date()),
  });

export const handler = middy<DeleteGuestKeyEvent, DeleteGuestKeyResult>()
  .use(
    observed<DeleteGuestKeyEvent, DeleteGuestKeyResult>(({ benchmark }) => ({
      benchmarkId: benchmark.benchmarkId,
    })),
  )
  .handler(lambdaHandler);
