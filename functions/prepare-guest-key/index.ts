import middy from "@middy/core";
// ssh2 is CommonJS whose exports Node's ESM loader cannot name: the default import is the module.
import ssh2 from "ssh2";
import { putGuestKeyOnce } from "../aws/benchmark-table.js";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import { ec2Client } from "../aws/ec2-client.js";
import type { PrepareGuestKeyEvent, PrepareGuestKeyResult } from "../domain/contract.js";
import { requireEnv } from "../shared/env.js";
import { observed } from "../shared/observability.js";
import { prepareGuestKey } from "./prepare-guest-key.js";

const stackTag = requireEnv("STACK_TAG");
const tableName = requireEnv("TABLE_NAME");

export const lambdaHandler = (event: PrepareGuestKeyEvent): Promise<PrepareGuestKeyResult> =>
  prepareGuestKey(event, {
    ec2: ec2Client,
    storeOnce: (record) => putGuestKeyOnce(dynamoDbClient, tableName, record),
    // ssh2 writes both halves in OpenSSH's formats: the public line EC2 imports, the private key the
    // probe's ssh2 client reads.
    generate: () => {
      const pair = ssh2.utils.generateKeyPairSync("ed25519", { comment: `boot-bench ${stackTag}` });
      return { publicKey: pair.public, privateKey: pair.private };
    },
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
