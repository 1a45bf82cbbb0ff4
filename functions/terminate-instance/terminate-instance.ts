import {
  DescribeInstancesCommand,
  type EC2Client,
  type Instance,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import type { TerminateInstanceEvent, TerminateInstanceResult } from "../domain/contract.js";
import { TAG_STACK } from "../domain/instance-tags.js";

/**
 * The run's launch ledger (functions/aws/benchmark-table.ts, closeLaunchLedger): the one authority on
 * whether a RunInstances request of the run may have launched an instance.
 */
export interface RunLedger {
  /**
   * Marks the run ended (from then on the launch step sends nothing and the probe stops) and returns
   * how many of its RunInstances requests may have launched an instance: 0 when none was ever sent,
   * or every one sent was refused.
   */
  close(): Promise<{ unsettledSends: number }>;
}

export interface TerminateInstanceDeps {
  ec2: EC2Client;
  /** Value of the `boot-bench:stack` tag: only this stack's instances are ever terminated. */
  stackTag: string;
  ledger: RunLedger;
}

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
 * Ends the run, whatever happened before. First it closes the run's launch ledger, which marks the run
 * ended: a probe still running (Step Functions cannot stop it when the poll fails) stops before the
 * instance's address is released, and a launch invocation that starts late sends nothing. A failed
 * write must not keep the instance running, so termination goes ahead without it.
 *
 * With a launch result the instance id is known. Without one, the ledger says whether RunInstances can
 * have launched anything: when no request of the run may have (none sent, or each one refused), there
 * is nothing to look for. Otherwise (a response lost to a timeout, a 5xx, a missing private IP, or a
 * ledger that could not be read) the instance is looked up by the run's client token. Such a lookup
 * right after the launch can miss it (eventual consistency), so finding nothing throws
 * LaunchNotVisibleError, to be retried.
 *
 * Errors propagate by their AWS names. `InvalidInstanceID.NotFound` right after launch means the
 * instance is not visible yet, and the state machine retries it; terminating an instance that is
 * already shutting down or terminated succeeds, so retries are harmless (and the ledger keeps its first
 * end mark).
 */
export async function terminateInstance(
  event: TerminateInstanceEvent,
  deps: TerminateInstanceDeps,
): Promise<TerminateInstanceResult> {
  const closed = await deps.ledger.close().then(
    (ledger) => ({ ledger }),
    (error: unknown) => ({
      markError: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    }),
  );
  const markError = "markError" in closed ? { runEndedMarkError: closed.markError } : {};
  if (event.launch?.instanceId !== undefined) {
    const instanceIds = [event.launch.instanceId];
    await deps.ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }));
    return { terminatedInstanceIds: instanceIds, ...markError };
  }
  if ("ledger" in closed && closed.ledger.unsettledSends === 0) {
    return { terminatedInstanceIds: [], launchSent: false };
  }
  const found = await findByClientToken(deps, event.run.clientToken);
  if (found.length === 0) {
    const why =
      "ledger" in closed
        ? `${closed.ledger.unsettledSends} RunInstances request(s) of the run may have launched one`
        : `the launch ledger could not be read (${closed.markError}), so RunInstances may have launched one`;
    throw new LaunchNotVisibleError(
      `no instance with client token ${event.run.clientToken} is visible yet, and ${why}`,
    );
  }
  const instanceIds = found
    .filter((instance) => instance.State?.Name !== "terminated")
    .flatMap((instance) => (instance.InstanceId === undefined ? [] : [instance.InstanceId]));
  if (instanceIds.length > 0) {
    await deps.ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }));
  }
  return { terminatedInstanceIds: instanceIds, launchSent: true, ...markError };
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
