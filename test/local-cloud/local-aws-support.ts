/** Shared set-up for the local EC2 + SSM endpoint tests: real SDK clients against a fast local cloud. */
import {
  EC2Client,
  type Instance,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import type { ConsoleSource } from "../../local-cloud/ec2/console-output.js";
import { INSTANCE_TYPES } from "../../local-cloud/ec2/instance-types.js";
import { type LocalAws, type LocalAwsOptions, startLocalAws } from "../../local-cloud/local-aws.js";

const credentials = { accessKeyId: "x", secretAccessKey: "x" };

/**
 * Each cloud owns its address block, so parallel test files' clouds never share an address; a random
 * SSH port still keeps them clear of the emulated ports other tests place by hand on 127.0.1.x.
 */
export const randomSshPort = (): number => 20_000 + Math.floor(Math.random() * 30_000);

export interface TestCloud {
  aws: LocalAws;
  ec2: EC2Client;
  ssm: SSMClient;
  close(): Promise<void>;
}

/** 50× faster than real time: a FreeBSD boot takes about 140 ms to running and 100 ms more to closed. */
export const FAST = 0.02;

export async function startTestCloud(options: LocalAwsOptions = {}): Promise<TestCloud> {
  const aws = await startLocalAws({ timeScale: FAST, sshPort: randomSshPort(), jitter: 0.01, ...options });
  // No SDK retries: every error the server sends must reach the test as it was sent.
  const ec2 = new EC2Client({ endpoint: aws.ec2Endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
  const ssm = new SSMClient({ endpoint: aws.ssmEndpoint, region: "us-east-1", credentials, maxAttempts: 1 });
  return {
    aws,
    ec2,
    ssm,
    close: async () => {
      ec2.destroy();
      ssm.destroy();
      await aws.close();
    },
  };
}

/**
 * Leaves no instance running between tests (a fresh cloud per test is not needed), and waits until
 * each is terminated, so that its address is back in the pool and address reuse is predictable.
 */
export async function terminateEveryInstance(t: TestCloud): Promise<void> {
  const running = t.aws.cloud.instances().filter((i) => i.state === "pending" || i.state === "running");
  if (running.length > 0) {
    await t.ec2.send(new TerminateInstancesCommand({ InstanceIds: running.map((i) => i.instanceId) }));
  }
  const live = t.aws.cloud.instances().filter((i) => i.state !== "terminated");
  await Promise.all(live.map((i) => t.aws.cloud.waitFor(i.instanceId, "terminated")));
}

/** The console source of a cloud instance, from the cloud's public views only. */
export function consoleSourceOf(t: TestCloud, instanceId: string): ConsoleSource {
  const truth = t.aws.cloud.truth(instanceId);
  if (truth === undefined) throw new Error(`no truth for ${instanceId}`);
  const image = t.aws.cloud.catalogue.image(truth.imageId);
  if (image === undefined) throw new Error(`no image ${truth.imageId}`);
  const instanceType = INSTANCE_TYPES.get(truth.instanceType);
  if (instanceType === undefined) throw new Error(`no instance type ${truth.instanceType}`);
  return { image, instanceType, bootMode: truth.bootMode, truth };
}

export async function runOne(
  ec2: EC2Client,
  input: Partial<RunInstancesCommandInput> = {},
): Promise<Instance> {
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: BUILT_IN_AMI_IDS.freebsdCurrentAmd64,
      InstanceType: "c5.xlarge",
      MinCount: 1,
      MaxCount: 1,
      ...input,
    }),
  );
  const instance = out.Instances?.[0];
  if (!instance?.InstanceId) throw new Error("RunInstances returned no instance");
  return instance;
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

/** The instance addresses (.1 to .254) of a cloud's block, `127.x.y.0/24`. */
export function addressesOf(block: string | undefined): RegExp {
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(block ?? "");
  if (!m) throw new Error(`not an address block: ${block}`);
  return new RegExp(`^127\\.${m[1]}\\.${m[2]}\\.([1-9]|[1-9]\\d|1\\d\\d|2[0-4]\\d|25[0-4])$`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
