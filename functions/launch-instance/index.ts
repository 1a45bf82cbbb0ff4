import middy from "@middy/core";
import { countLaunchSend, settleLaunchSend } from "../aws/benchmark-table.js";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import { createEc2Client, ec2Client } from "../aws/ec2-client.js";
import type { LaunchInstanceEvent, LaunchInstanceResult } from "../domain/contract.js";
import { sleep, withWallClock } from "../shared/clock.js";
import { requireEnv } from "../shared/env.js";
import { observed, runStateKeys } from "../shared/observability.js";
import { type LaunchConfig, type LaunchLedger, launchInstance, parseSubnetIds } from "./launch-instance.js";

const config: LaunchConfig = {
  subnetIds: parseSubnetIds(requireEnv("SUBNET_IDS")),
  securityGroupId: requireEnv("INSTANCE_SECURITY_GROUP_ID"),
  stackTag: requireEnv("STACK_TAG"),
};
const tableName = requireEnv("TABLE_NAME");

// Retries start within half the function's 60 s timeout; the state machine's own retries take over
// after it. An attempt is abandoned after 10 s (RunInstances answers within a few seconds), so a hung
// request leaves time for another with the same client token.
const launchRetry = {
  budgetMs: 30_000,
  random: Math.random,
  maxUncertainAttempts: 4,
  attemptTimeoutMs: 10_000,
};

const ledgerFor = (event: LaunchInstanceEvent): LaunchLedger => {
  const key = {
    benchmarkId: event.benchmark.benchmarkId,
    runIndex: event.run.runIndex,
    clientToken: event.run.clientToken,
  };
  return {
    countSend: (at) => countLaunchSend(dynamoDbClient, tableName, key, at),
    settle: () => settleLaunchSend(dynamoDbClient, tableName, key),
  };
};

export const lambdaHandler = (event: LaunchInstanceEvent): Promise<LaunchInstanceResult> =>
  withWallClock((clock) =>
    launchInstance(event, {
      createEc2Client,
      ec2: ec2Client,
      clock,
      sleep,
      config,
      ledger: ledgerFor(event),
      launchRetry,
    }),
  );

export const handler = middy<LaunchInstanceEvent, LaunchInstanceResult>()
  .use(
    observed<LaunchInstanceEvent, LaunchInstanceResult>((event, result) => ({
      ...runStateKeys(event),
      instanceId: result?.instanceId,
    })),
  )
  .handler(lambdaHandler);
