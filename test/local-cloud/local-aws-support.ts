/** Shared set-up for the local EC2 + SSM endpoint tests: real SDK clients against a fast local cloud. */
import {
  EC2Client,
  type Instance,
  RunInstancesCommand,
  type RunInstancesCommandInput,
} from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import { type LocalAws, type LocalAwsOptions, startLocalAws } from "../../local-cloud/local-aws.js";

const credentials = { accessKeyId: "x", secretAccessKey: "x" };

/**
 * Test files run in parallel processes that all use 127.0.1.x, so each cloud takes a random SSH port
 * (the fleet skips an address whose port is taken anyway).
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

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
