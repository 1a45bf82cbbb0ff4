import middy from "@middy/core";
import { ec2Client } from "../aws/ec2-client.js";
import type { TerminateInstanceEvent, TerminateInstanceResult } from "../domain/contract.js";
import { requireEnv } from "../shared/env.js";
import { terminateInstance } from "./terminate-instance.js";

const stackTag = requireEnv("STACK_TAG");

export const lambdaHandler = (event: TerminateInstanceEvent): Promise<TerminateInstanceResult> =>
  terminateInstance(event, { ec2: ec2Client, stackTag });

export const handler = middy<TerminateInstanceEvent, TerminateInstanceResult>().handler(lambdaHandler);
