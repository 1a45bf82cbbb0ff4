import middy from "@middy/core";
import { putGuestKeyOnce } from "../aws/benchmark-table.js";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import { ec2Client } from "../aws/ec2-client.js";
import type { PrepareGuestKeyEvent, PrepareGuestKeyResult } from "../domain/contract.js";
import { requireEnv } from "../shared/env.js";
import { observed } from "../shared/observability.js";
import { generateEd25519KeyPair } from "../shared/ssh-key.js";
import { prepareGuestKey } from "./prepare-guest-key.js";

const stackTag = requireEnv("STACK_TAG");
const tableName = requireEnv("TABLE_NAME");

export const lambdaHandler = (event: PrepareGuestKeyEvent): Promise<PrepareGuestKeyResult> =>
  prepareGuestKey(event, {
    ec2: ec2Client,
    storeOnce: (record) => putGuestKeyOnce(dynamoDbClient, tableName, record),
    generate: () => generateEd25519KeyPair(`boot-bench ${stackTag}`),
    stackTag,
    now: () => new Date(),
  });

export const handler = middy<PrepareGuestKeyEvent, PrepareGuestKeyResult>()
  .use(
    observed<PrepareGuestKeyEvent, PrepareGuestKeyResult>(({ benchmark }) => ({
      benchmarkId: benchmark.benchmarkId,
    })),
  )
  .handler(lambdaHandler);
