import middy from "@middy/core";
import { createEc2Client } from "../aws/ec2-client.js";
import type { LaunchInstanceEvent, LaunchInstanceResult } from "../domain/contract.js";
import { epochMs, sleep } from "../shared/clock.js";
import { requireEnv } from "../shared/env.js";
import { type LaunchConfig, launchInstance, parseSubnetIds } from "./launch-instance.js";

const config: LaunchConfig = {
  subnetIds: parseSubnetIds(requireEnv("SUBNET_IDS")),
  securityGroupId: requireEnv("INSTANCE_SECURITY_GROUP_ID"),
  stackTag: requireEnv("STACK_TAG"),
};

// Half the function's 60 s timeout; the state machine's own retries take over after it.
const throttleRetry = { budgetMs: 30_000, sleep, random: Math.random };

export const lambdaHandler = (event: LaunchInstanceEvent): Promise<LaunchInstanceResult> =>
  launchInstance(event, { createEc2Client, clock: epochMs, config, throttleRetry });

export const handler = middy<LaunchInstanceEvent, LaunchInstanceResult>().handler(lambdaHandler);
