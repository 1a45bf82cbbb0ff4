/**
 * The sweeper's real handler, invoked in process against the local pipeline's EC2 and DynamoDB, the
 * way EventBridge (or an operator) invokes it in AWS. Start the pipeline first: the handler reads
 * STACK_TAG, TABLE_NAME and the endpoints from the environment when its module loads.
 */
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import type { SweepEvent, SweepResult } from "../functions/sweeper/sweeper.js";
import { DEFAULT_SWEEP_MAX_AGE_MINUTES } from "../infra/constructs/sweeper.js";

export async function invokeLocalSweeper(event: SweepEvent = {}): Promise<SweepResult> {
  for (const name of ["STACK_TAG", "TABLE_NAME", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_DYNAMODB"]) {
    if (!process.env[name])
      throw new Error(`${name} is not set: start the local pipeline before the sweeper`);
  }
  // As the stack deploys it, unless the caller configured another bound.
  process.env.MAX_AGE_MINUTES ??= String(DEFAULT_SWEEP_MAX_AGE_MINUTES);
  const { handler } = await import("../functions/sweeper/index.js");
  const context = { awsRequestId: randomUUID(), functionName: "Sweeper" } as Context;
  return (await handler(event, context)) as SweepResult;
}
