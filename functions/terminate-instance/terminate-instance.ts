import {
  DescribeInstancesCommand,
  type EC2Client,
  type Instance,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import type { TerminateInstanceEvent, TerminateInstanceResult } from "../domain/contract.js";
import { TAG_STACK } from "../launch-instance/instance-tags.js";

export interface TerminateInstanceDeps {
  ec2: EC2Client;
  /** Value of the `boot-bench:stack` tag: only this stack's instances are ever terminated. */
  stackTag: string;
}

/**
 * Ends the run's instance, whatever happened before. With a launch result the id is known; without
 * one the launch step failed, yet RunInstances may have started an instance (a response lost to a
 * timeout, a missing private IP), so it is looked up by the run's client token.
 *
 * Errors propagate by their AWS names. `InvalidInstanceID.NotFound` right after launch means the
 * instance is not visible yet, and the state machine retries it; terminating an instance that is
 * already shutting down or terminated succeeds, so retries are harmless.
 */
export async function terminateInstance(
  event: TerminateInstanceEvent,
  deps: TerminateInstanceDeps,
): Promise<TerminateInstanceResult> {
  const instanceIds =
    event.launch?.instanceId !== undefined
      ? [event.launch.instanceId]
      : await findByClientToken(deps, event.run.clientToken);
  if (instanceIds.length > 0) {
    await deps.ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }));
  }
  return { terminatedInstanceIds: instanceIds };
}

async function findByClientToken(deps: TerminateInstanceDeps, clientToken: string): Promise<string[]> {
  const found: Instance[] = [];
  let nextToken: string | undefined;
  do {
    const page = await deps.ec2.send(
      new DescribeInstancesCommand({
        // The stack tag keeps a token that collides with another stack's (same execution name in two
        // stacks) from terminating instances this stack does not own.
        Filters: [
          { Name: "client-token", Values: [clientToken] },
          { Name: `tag:${TAG_STACK}`, Values: [deps.stackTag] },
        ],
        NextToken: nextToken,
      }),
    );
    for (const reservation of page.Reservations ?? []) found.push(...(reservation.Instances ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined && nextToken !== "");
  return found
    .filter((instance) => instance.State?.Name !== "terminated")
    .flatMap((instance) => (instance.InstanceId === undefined ? [] : [instance.InstanceId]));
}
