import { type EC2Client, RunInstancesCommand, type RunInstancesCommandInput } from "@aws-sdk/client-ec2";
import type { LaunchInstanceEvent, LaunchInstanceResult } from "../domain/contract.js";
import type { Clock } from "../shared/clock.js";
import { instanceTags } from "./instance-tags.js";

export interface LaunchConfig {
  /** Instances go into one of these, chosen by run index. */
  subnetIds: readonly string[];
  securityGroupId: string;
  /** Value of the `boot-bench:stack` tag: the stack name. */
  stackTag: string;
}

export interface LaunchInstanceDeps {
  /** Called once per launch: the timed request must open its own connection (see launchInstance). */
  createEc2Client: () => EC2Client;
  clock: Clock;
  config: LaunchConfig;
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
    MetadataOptions: { HttpTokens: "required" },
    // Tagged in the same call, never with CreateTags afterwards: IAM requires the tags on the
    // RunInstances request, and an instance must never exist untagged where the sweeper cannot see it.
    TagSpecifications: [
      { ResourceType: "instance", Tags: tags },
      { ResourceType: "volume", Tags: tags },
    ],
    // No KeyName and no IamInstanceProfile: nothing logs in and the instance calls no AWS API.
    // No BlockDeviceMappings: the AMI's root volume mapping applies unchanged (DeleteOnTermination is
    // true on the AMIs vendors publish), so the benchmark boots the image exactly as users get it.
  };
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
 * `InsufficientInstanceCapacity`, …), which is what the state machine retries and catches on.
 */
export async function launchInstance(
  event: LaunchInstanceEvent,
  deps: LaunchInstanceDeps,
): Promise<LaunchInstanceResult> {
  const command = new RunInstancesCommand(buildRunInstancesInput(event, deps.config));
  const client = deps.createEc2Client();
  try {
    // A fresh client looks its credentials up on first use; doing that before the clock starts keeps a
    // slow credential source (profile files, container metadata) out of the API interval. A failure
    // here shows up again, properly named, when the request is sent.
    await client.config.credentials().catch(() => undefined);
    const launchRequestedAt = deps.clock();
    const response = await client.send(command);
    const launchRespondedAt = deps.clock();

    const instance = response.Instances?.[0];
    const instanceId = instance?.InstanceId;
    if (instanceId === undefined) {
      throw new Error(`RunInstances (client token ${event.run.clientToken}) returned no instance`);
    }
    // Without the private IP the probe has nothing to connect to. The instance may be running, but
    // the launch result is lost with this error, so terminate finds it by its client token.
    const privateIp = instance?.PrivateIpAddress;
    if (privateIp === undefined || privateIp === "") {
      throw new Error(`RunInstances returned instance ${instanceId} without a private IP address`);
    }
    return {
      instanceId,
      privateIp,
      clientToken: event.run.clientToken,
      launchRequestedAt,
      launchRespondedAt,
    };
  } finally {
    client.destroy();
  }
}
