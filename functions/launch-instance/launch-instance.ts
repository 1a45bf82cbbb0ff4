import {
  DescribeInstancesCommand,
  type EC2Client,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  type RunInstancesCommandOutput,
} from "@aws-sdk/client-ec2";
import { instanceIn, privateIpOf } from "../aws/ec2-client.js";
import type { LaunchInstanceEvent, LaunchInstanceResult } from "../domain/contract.js";
import { guestKeyNameOf } from "../domain/guest-timings.js";
import type { Clock, Sleep } from "../shared/clock.js";
import { instanceTags } from "./instance-tags.js";

export interface LaunchConfig {
  /** Instances go into one of these, chosen by run index. */
  subnetIds: readonly string[];
  securityGroupId: string;
  /** Value of the `boot-bench:stack` tag: the stack name. */
  stackTag: string;
}

/**
 * Counts the run's RunInstances requests whose outcome may have been a launch, across invocations
 * (functions/aws/benchmark-table.ts, countLaunchSend): the one exact way to know that a response
 * may be a replay, since EC2 returns the same instance to any request with the same ClientToken.
 */
export interface LaunchLedger {
  /**
   * Just before a request goes out: the requests that may have launched, this one included. Throws
   * RunEndedError, counting nothing, once terminate has closed the run's ledger: the request must not go out.
   */
  countSend(at: number): Promise<number>;
  /** EC2 answered the request with an error that launched nothing. */
  settle(): Promise<void>;
}

export interface LaunchInstanceDeps {
  /** Called once per launch: the timed request must open its own connection (see launchInstance). */
  createEc2Client: () => EC2Client;
  /** The shared client, for the DescribeInstances that looks for a private IP the launch response lacked. */
  ec2: EC2Client;
  clock: Clock;
  sleep: Sleep;
  config: LaunchConfig;
  ledger: LaunchLedger;
  /**
   * Retry a throttled RunInstances, or one that may have launched (5xx, no answer), inside the
   * invocation; without it the error goes straight back.
   */
  launchRetry?: LaunchRetry;
  /** How long to look for the private IP when the launch response has none, and how often. */
  addressWait?: { timeoutMs: number; intervalMs: number };
}

/**
 * Three kinds of failed RunInstances are retried here, with the same ClientToken and full-jitter backoff:
 * - throttling: RunInstances refills at 2 requests a second per account. Many runs launching at once
 *   exhaust the state machine's few, widely spaced retries; waiting here is cheaper (no state
 *   transitions) and spreads the launches. Past the budget, RequestLimitExceeded goes back to the state
 *   machine, whose own retries follow.
 * - a key pair not found yet: PrepareGuestKey imports the benchmark's key pair right before the first
 *   launch names it, and EC2 is eventually consistent, so `InvalidKeyPair.NotFound` may answer a name
 *   it has just accepted. A refusal (nothing launched), retried within the same budget.
 * - an answer that leaves open whether the instance was launched (a 5xx that is no refusal, a dropped
 *   connection, no answer in time): EC2 documents a retry with the same ClientToken as safe, returning
 *   the reservation the first request made, if it made one. Without this, the step fails and terminate
 *   hunts for an instance that may never have existed. At most `maxUncertainAttempts` such attempts.
 */
export interface LaunchRetry {
  /** Stop retrying when the next wait would end later than this after the first attempt. */
  budgetMs: number;
  /** Uniform [0, 1) for the jitter. */
  random: () => number;
  /** How many requests may end without a clear answer before the last such error goes back (default 4). */
  maxUncertainAttempts?: number;
  /** An attempt still unanswered after this long is abandoned and counts as one without an answer. */
  attemptTimeoutMs?: number;
}

const RETRY_BASE_DELAY_MS = 250;
const RETRY_MAX_DELAY_MS = 8_000;
const DEFAULT_MAX_UNCERTAIN_ATTEMPTS = 4;
const DEFAULT_ADDRESS_WAIT = { timeoutMs: 30_000, intervalMs: 100 };

/**
 * EC2 error codes that answer a request it did not carry out, whatever their HTTP status: throttling and
 * capacity are refusals. Other server-side errors (InternalError, ServiceUnavailable, …) and requests
 * that got no answer may have launched the instance (DESIGN section 4).
 */
const REFUSALS: ReadonlySet<string> = new Set([
  "RequestLimitExceeded",
  "InsufficientInstanceCapacity",
  "InsufficientHostCapacity",
  "InsufficientReservedInstanceCapacity",
  "InstanceLimitExceeded",
]);

/** Whether EC2's answer to a RunInstances request proves that it launched nothing. */
export function launchedNothing(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (REFUSALS.has(error.name)) return true;
  // A 4xx is a request EC2 rejected before acting on it (validation, permissions, a bad parameter).
  return (error as { $fault?: string }).$fault === "client";
}

/**
 * Whether a failed RunInstances send may have launched the instance: EC2 answered with a server fault
 * that is no refusal, or did not answer at all (no HTTP status: a dropped connection, a timeout).
 * Only for errors of the send itself.
 */
export function mayHaveLaunched(error: unknown): boolean {
  if (!(error instanceof Error) || launchedNothing(error)) return false;
  const { $fault, $metadata } = error as { $fault?: string; $metadata?: { httpStatusCode?: number } };
  const status = $metadata?.httpStatusCode;
  return $fault === "server" || status === undefined || status >= 500;
}

/** A refusal worth another attempt: throttling, or the launch's key pair not visible to RunInstances yet. */
function retriedRefusal(error: unknown, input: RunInstancesCommandInput): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === "RequestLimitExceeded" ||
    (error.name === "InvalidKeyPair.NotFound" && input.KeyName !== undefined)
  );
}

/** `SUBNET_IDS` is a comma-separated list; blanks around commas and empty entries are tolerated. */
export function parseSubnetIds(value: string): string[] {
  const ids = value
    .split(",")
    .map((id) => id.trim())
    .filter((id) => id !== "");
  if (ids.length === 0) throw new Error("SUBNET_IDS lists no subnet");
  return ids;
}

/**
 * The subnet of one run. Rotating by run index spreads runs over the AZs, so one AZ short of capacity
 * fails some runs instead of all. It must not change between retries of the same run: RunInstances
 * with a ClientToken it has seen and different parameters fails with IdempotentParameterMismatch.
 */
export function subnetFor(runIndex: number, subnetIds: readonly string[]): string {
  const subnet = subnetIds[runIndex % subnetIds.length];
  if (subnet === undefined) throw new Error("no subnet configured");
  return subnet;
}

export function buildRunInstancesInput(
  event: LaunchInstanceEvent,
  config: LaunchConfig,
): RunInstancesCommandInput {
  const { settings, image, run } = event;
  const tags = instanceTags(event, config.stackTag);
  const input: RunInstancesCommandInput = {
    ImageId: image.amiId,
    // The SDK types this as the enum of types it knows; newer types are valid requests all the same.
    InstanceType: settings.instanceType as RunInstancesCommandInput["InstanceType"],
    MinCount: 1,
    MaxCount: 1,
    // Makes a retried launch step return the instance the first attempt started, not a second one.
    ClientToken: run.clientToken,
    SubnetId: subnetFor(run.runIndex, config.subnetIds),
    SecurityGroupIds: [config.securityGroupId],
    // An instance that powers itself off (a failed first boot) must not linger as `stopped`.
    InstanceInitiatedShutdownBehavior: "terminate",
    // IMDSv2 only unless the benchmark explicitly allows IMDSv1 (settings stored before the field existed
    // have none: required).
    MetadataOptions: { HttpTokens: settings.imdsV2 ?? "required" },
    // Tagged in the same call, never with CreateTags afterwards: IAM requires the tags on the
    // RunInstances request, and an instance must never exist untagged where the sweeper cannot see it.
    TagSpecifications: [
      { ResourceType: "instance", Tags: tags },
      { ResourceType: "volume", Tags: tags },
    ],
    // No KeyName unless the benchmark asked for guest timings, and no IamInstanceProfile: nothing else
    // logs in, and the instance calls no AWS API.
    // No BlockDeviceMappings unless the root volume is to be encrypted: the AMI's root volume mapping
    // applies unchanged (DeleteOnTermination is true on the AMIs vendors publish), so the benchmark
    // boots the image exactly as users get it.
  };
  if (settings.encryptRootVolume === true) {
    const deviceName = image.rootDeviceName;
    // ResolveImage rejects such an image first; this guards direct invocations.
    if (deviceName === undefined) {
      throw new Error(`image ${image.amiId} has no recorded root device name to map an encrypted volume to`);
    }
    // Only the fields given here change: size, type and snapshot stay the AMI's. The account's default
    // EBS key encrypts it (no KmsKeyId, so no key permissions beyond EBS's own).
    input.BlockDeviceMappings = [
      { DeviceName: deviceName, Ebs: { Encrypted: true, DeleteOnTermination: true } },
    ];
  }
  const keyName = guestKeyNameOf(event.guestKey);
  if (keyName !== undefined) input.KeyName = keyName;
  if (settings.userData !== undefined && settings.userData !== "") {
    input.UserData = Buffer.from(settings.userData, "utf8").toString("base64");
  }
  return input;
}

/**
 * Starts the run's instance and times the RunInstances call as ec2-boot-bench does: from just before
 * the request is sent until its response arrives, including TCP and TLS setup, which is why every
 * launch gets a fresh client instead of reusing a warm connection.
 *
 * AWS errors propagate unchanged: the SDK names them by their AWS code (`RequestLimitExceeded`,
 * `InsufficientInstanceCapacity`, …), which is what the state machine retries and catches on. An
 * invocation that starts after terminate closed the run (its Task timed out before it ran) fails with
 * BootBench.RunEnded and sends nothing: an instance it launched would belong to no run.
 */
export async function launchInstance(
  event: LaunchInstanceEvent,
  deps: LaunchInstanceDeps,
): Promise<LaunchInstanceResult> {
  const input = buildRunInstancesInput(event, deps.config);
  const retry = deps.launchRetry;
  const maxUncertain = retry?.maxUncertainAttempts ?? DEFAULT_MAX_UNCERTAIN_ATTEMPTS;
  const firstAttemptAt = deps.clock();
  let uncertainAttempts = 0;
  for (let attempt = 1; ; attempt++) {
    // Only the attempt that gets through is timed, on its own fresh connection. Throttled attempts
    // launched nothing; one that may have launched was counted in the ledger, so a response that
    // replays its instance is reported as a possible replay (earlierLaunchSends).
    const outcome = await launchOnce(event, input, deps);
    if (outcome.launched !== undefined) return await withPrivateIp(outcome.launched, deps);
    const { error } = outcome;
    if (retry === undefined) throw error;
    if (mayHaveLaunched(error)) {
      uncertainAttempts++;
      if (uncertainAttempts >= maxUncertain) throw error;
    } else if (!retriedRefusal(error, input)) {
      throw error;
    }
    const delayMs = retry.random() * Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_DELAY_MS * 2 ** (attempt - 1));
    if (deps.clock() + delayMs - firstAttemptAt > retry.budgetMs) throw error;
    await deps.sleep(delayMs);
  }
}

/** A launch whose response may lack the private IP (`PrivateIpAddress` is optional in EC2's shape). */
type Launched = Omit<LaunchInstanceResult, "privateIp" | "privateIpSource" | "privateIpAt"> & {
  privateIp?: string;
};

/**
 * Without the private IP the probe has nothing to connect to, so a launch response without one is
 * followed by DescribeInstances until it appears; the probe starts that much later, which the run's
 * integrity checks compare with when the port could first answer.
 */
async function withPrivateIp(launched: Launched, deps: LaunchInstanceDeps): Promise<LaunchInstanceResult> {
  const { privateIp, ...rest } = launched;
  if (privateIp !== undefined) {
    return { ...rest, privateIp, privateIpSource: "runInstances", privateIpAt: launched.launchRespondedAt };
  }
  const { timeoutMs, intervalMs } = deps.addressWait ?? DEFAULT_ADDRESS_WAIT;
  const deadline = deps.clock() + timeoutMs;
  let lastProblem = "no DescribeInstances answer yet";
  for (;;) {
    try {
      const output = await deps.ec2.send(
        new DescribeInstancesCommand({ InstanceIds: [launched.instanceId] }),
      );
      const answeredAt = deps.clock();
      const instance = instanceIn(output, launched.instanceId);
      const address = privateIpOf(instance);
      if (address !== undefined) {
        return { ...rest, privateIp: address, privateIpSource: "describeInstances", privateIpAt: answeredAt };
      }
      lastProblem = instance === undefined ? "not visible yet" : `state ${instance.State?.Name ?? "unknown"}`;
    } catch (error) {
      // NotFound right after launch is eventual consistency; anything else is retried until the deadline.
      lastProblem = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    if (deps.clock() + intervalMs > deadline) {
      // The launch result is lost with this error, so terminate finds the instance by its client token.
      throw new Error(
        `instance ${launched.instanceId} has no private IP address ${timeoutMs} ms after RunInstances (${lastProblem})`,
      );
    }
    await deps.sleep(intervalMs);
  }
}

/**
 * One RunInstances request: the instance, or the error EC2 (or the connection) answered the send with.
 * Every other failure (the ledger, a response without an instance) is thrown: none is retried here.
 */
type LaunchAttempt = { launched: Launched; error?: never } | { launched?: never; error: unknown };

async function launchOnce(
  event: LaunchInstanceEvent,
  input: RunInstancesCommandInput,
  deps: LaunchInstanceDeps,
): Promise<LaunchAttempt> {
  const command = new RunInstancesCommand(input);
  const client = deps.createEc2Client();
  try {
    // A fresh client looks its credentials up on first use; doing that before the clock starts keeps a
    // slow credential source (profile files, container metadata) out of the API interval. A failure
    // here shows up again, properly named, when the request is sent. The ledger write, too, happens
    // before the clock starts; once terminate has closed the ledger it throws and nothing is sent.
    await client.config.credentials().catch(() => undefined);
    const sendsThatMayHaveLaunched = await deps.ledger.countSend(deps.clock());
    const timeoutMs = deps.launchRetry?.attemptTimeoutMs;
    const launchRequestedAt = deps.clock();
    let response: RunInstancesCommandOutput;
    try {
      response = await client.send(
        command,
        timeoutMs === undefined ? {} : { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
    } catch (error) {
      // A refusal takes its count back, so a retry of this run is not taken for a replay. A failed
      // ledger write only makes a later retry look like a possible replay: safe, so it is not fatal.
      if (launchedNothing(error)) await deps.ledger.settle().catch(() => undefined);
      return { error };
    }
    const launchRespondedAt = deps.clock();

    const instance = response.Instances?.[0];
    const instanceId = instance?.InstanceId;
    if (instanceId === undefined) {
      throw new Error(`RunInstances (client token ${event.run.clientToken}) returned no instance`);
    }
    const launchTime = instance?.LaunchTime?.getTime();
    const privateIp = privateIpOf(instance);
    return {
      launched: {
        instanceId,
        ...(privateIp !== undefined && { privateIp }),
        clientToken: event.run.clientToken,
        launchRequestedAt,
        launchRespondedAt,
        ...(launchTime !== undefined && { launchTime }),
        earlierLaunchSends: sendsThatMayHaveLaunched - 1,
      },
    };
  } finally {
    client.destroy();
  }
}
