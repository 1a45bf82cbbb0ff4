/**
 * The sweeper's real handler, invoked in process against the local pipeline's EC2 and DynamoDB, the
 * way EventBridge (or an operator) invokes it in AWS. Start the pipeline first: the handler reads
 * STACK_TAG, TABLE_NAME and the endpoints from the environment when its module loads.
 */
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import type { SweepEvent, SweepResult } from "../functions/sweeper/sweeper.js";
import { synthesizeTemplate } from "./runner/synth.js";

export async function invokeLocalSweeper(event: SweepEvent = {}): Promise<SweepResult> {
  for (const name of ["STACK_TAG", "TABLE_NAME", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_DYNAMODB"]) {
    if (!process.env[name])
      throw new Error(`${name} is not set: start the local pipeline before the sweeper`);
  }
  // As the stack deploys it, unless the caller configured another bound.
  process.env.MAX_AGE_MINUTES ??= deployedMaxAgeMinutes();
  const { handler } = await import("../functions/sweeper/index.js");
  const context = { awsRequestId: randomUUID(), functionName: "Sweeper" } as Context;
  return (await handler(event, context)) as SweepResult;
}

let deployedBound: string | undefined;

/**
 * The bound the stack gives its sweeper, read from the synthesised template: it derives from the state
 * machine's own timeouts and retriers (infra/constructs/sweeper.ts), so no figure is repeated here.
 */
export function deployedMaxAgeMinutes(): string {
  if (deployedBound !== undefined) return deployedBound;
  const bounds = Object.values(synthesizeTemplate().Resources).flatMap((resource) => {
    const environment = resource.Properties?.Environment as
      | { Variables?: Record<string, unknown> }
      | undefined;
    const bound =
      resource.Type === "AWS::Lambda::Function" ? environment?.Variables?.MAX_AGE_MINUTES : undefined;
    return typeof bound === "string" ? [bound] : [];
  });
  const [bound] = bounds;
  if (bounds.length !== 1 || bound === undefined) {
    throw new Error(`Expected one function with MAX_AGE_MINUTES in the template, found ${bounds.length}`);
  }
  deployedBound = bound;
  return bound;
}
