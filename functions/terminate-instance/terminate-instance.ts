import {
  DescribeInstancesCommand,
  type EC2Client,
  type Instance,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import type { CaughtError, TerminateInstanceEvent, TerminateInstanceResult } from "../domain/contract.js";
import { TAG_STACK } from "../domain/instance-tags.js";

export interface TerminateInstanceDeps {
  ec2: EC2Client;
  /** Value of the `boot-bench:stack` tag: only this stack's instances are ever terminated. */
  stackTag: string;
}

/**
 * Launch failures after which RunInstances certainly started nothing: EC2 answered and refused the
 * request. After any other failure (the launch step timed out or crashed, its response was lost, EC2
 * answered 5xx) an instance may exist that DescribeInstances does not show yet.
 */
const LAUNCH_REFUSED =
  /^(Invalid[\w.]*|Unsupported\w*|Insufficient\w*Capacity|Unauthorized\w*|AuthFailure|Missing\w*|\w*LimitExceeded|IdempotentParameterMismatch|OptInRequired|Blocked|PendingVerification|DryRunOperation)$/;

export const launchMayHaveStarted = (failure: CaughtError | undefined): boolean =>
  failure !== undefined && !LAUNCH_REFUSED.test(failure.Error);

/**
 * No instance with the run's client token is visible, but the launch may have started one. Named like
 * EC2's own "not visible yet" error, so the state machine's retrier for that error waits for it too;
 * when retries run out the run records a terminationFailure and the sweeper remains.
 */
export class LaunchNotVisibleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidInstanceID.NotFound";
  }
}

/**
 * Ends the run's instance, whatever happened before. With a launch result the id is known; without
 * one the launch step failed, yet RunInstances may have started an instance (a response lost to a
 * timeout, a missing private IP), so it is looked up by the run's client token. Such a lookup right
 * after the launch can miss the instance (eventual consistency); finding nothing after a launch
 * failure that does not rule out an instance throws LaunchNotVisibleError, to be retried.
 *
 * Errors propagate by their AWS names. `InvalidInstanceID.NotFound` right after launch means the
 * instance is not visible yet, and the state machine retries it; terminating an instance that is
 * already shutting down or terminated succeeds, so retries are harmless.
 */
export async function terminateInstance(
  event: TerminateInstanceEvent,
  deps: TerminateInstanceDeps,
): Promise<TerminateInstanceResult> {
  let instanceIds: string[];
  if (event.launch?.instanceId !== undefined) {
    instanceIds = [event.launch.instanceId];
  } else {
    const found = await findByClientToken(deps, event.run.clientToken);
    if (found.length === 0 && launchMayHaveStarted(event.failure)) {
      throw new LaunchNotVisibleError(
        `no instance with client token ${event.run.clientToken} is visible yet, and the launch failed with ` +
          `${event.failure?.Error}, which does not rule out that RunInstances started one`,
      );
    }
    instanceIds = found
      .filter((instance) => instance.State?.Name !== "terminated")
      .flatMap((instance) => (instance.InstanceId === undefined ? [] : [instance.InstanceId]));
  }
  if (instanceIds.length > 0) {
    await deps.ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }));
  }
  return { terminatedInstanceIds: instanceIds };
}

/** Every instance the client token launched in this stack, terminated ones included. */
async function findByClientToken(deps: TerminateInstanceDeps, clientToken: string): Promise<Instance[]> {
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
  return found;
}
