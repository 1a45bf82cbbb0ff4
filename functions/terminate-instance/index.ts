import middy from "@middy/core";
import { closeLaunchLedger } from "../aws/benchmark-table.js";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import { ec2Client } from "../aws/ec2-client.js";
import type { TerminateInstanceEvent, TerminateInstanceResult } from "../domain/contract.js";
import { requireEnv } from "../shared/env.js";
import { observed, runStateKeys } from "../shared/observability.js";
import { type RunLedger, terminateInstance } from "./terminate-instance.js";

const stackTag = requireEnv("STACK_TAG");
const tableName = requireEnv("TABLE_NAME");

const ledgerFor = (event: TerminateInstanceEvent): RunLedger => ({
  close: () =>
    closeLaunchLedger(
      dynamoDbClient,
      tableName,
      {
        benchmarkId: event.benchmark.benchmarkId,
        runIndex: event.run.runIndex,
        clientToken: event.run.clientToken,
      },
      Date.now(),
    ),
});

export const lambdaHandler = (event: TerminateInstanceEvent): Promise<TerminateInstanceResult> =>
  terminateInstance(event, { ec2: ec2Client, stackTag, ledger: ledgerFor(event) });

export const handler = middy<TerminateInstanceEvent, TerminateInstanceResult>()
  .use(observed<TerminateInstanceEvent, TerminateInstanceResult>(runStateKeys))
  .handler(lambdaHandler);
