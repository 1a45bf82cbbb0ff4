/**
 * Local mode uses endpoints that are already in the environment instead of starting its own, as long
 * as they are on loopback; anything else is refused before a single request is made.
 */
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleOutputKey } from "../../functions/domain/run-record.js";
import { type LocalAws, startLocalAws } from "../../local-cloud/local-aws.js";
import { startLocalPipeline } from "../../local-cloud/local-pipeline.js";
import { type LocalDynamoDb, startLocalDynamoDb } from "../../local-cloud/runner/local-dynamodb.js";
import { type LocalS3, startLocalS3 } from "../../local-cloud/s3/s3-server.js";
import { randomSshPort } from "../local-cloud/local-aws-support.js";
import { runBenchmark } from "./local-pipeline-harness.js";

let aws: LocalAws;
let dynamoDb: LocalDynamoDb;
let s3: LocalS3;
const saved = { ...process.env };

beforeAll(async () => {
  aws = await startLocalAws({ timeScale: 0.1, sshPort: randomSshPort() });
  dynamoDb = await startLocalDynamoDb();
  // Told the key pair the pipeline's handlers will sign with, as any S3 must know its callers' keys.
  process.env.AWS_ACCESS_KEY_ID ??= "local";
  process.env.AWS_SECRET_ACCESS_KEY ??= "local";
  s3 = await startLocalS3({
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID,
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
    },
  });
});
afterAll(async () => {
  process.env = saved;
  await aws?.close();
  await dynamoDb?.close();
  await s3?.close();
});

describe("endpoints from the environment", () => {
  it("refuses an endpoint that is not on loopback", async () => {
    process.env.AWS_ENDPOINT_URL_EC2 = "http://10.1.2.3:4566";
    process.env.AWS_ENDPOINT_URL_SSM = aws.ssmEndpoint;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamoDb.endpoint;
    await expect(startLocalPipeline()).rejects.toThrow(
      /AWS_ENDPOINT_URL_EC2=http:\/\/10.1.2.3:4566 is not a loopback address/,
    );
  });

  it("runs a benchmark against endpoints it did not start", async () => {
    process.env.AWS_ENDPOINT_URL_EC2 = aws.ec2Endpoint;
    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    const pipeline = await startLocalPipeline({ retryIntervalMs: 20 });
    try {
      expect(pipeline.localAws).toBeUndefined();
      expect(pipeline.localS3).toBeUndefined();
      expect(pipeline.endpoints).toEqual({
        ec2: aws.ec2Endpoint,
        ssm: aws.ssmEndpoint,
        dynamodb: dynamoDb.endpoint,
        s3: s3.endpoint,
      });
      const result = await runBenchmark(pipeline, {
        image: "/aws/service/debian/release/bookworm/latest/amd64",
        instanceType: "c7i.large",
        runs: 2,
        port: aws.cloud.sshPort,
      });
      expect(result.execution.status).toBe("SUCCEEDED");
      // Per run: its run item and its launch ledger (the count of its RunInstances requests); one summary.
      expect(result.items.map((item) => item.sk).sort()).toEqual(
        ["SUMMARY", ...[0, 1, 2].slice(0, 2).flatMap((i) => [`LAUNCH#000${i}`, `RUN#000${i}`])].sort(),
      );
      // The instances live in the endpoint we started, not in one the pipeline made; so do the consoles,
      // in the bucket the pipeline created there.
      expect(aws.cloud.instances()).toHaveLength(2);
      // That endpoint refuses the stack's placeholder ids as EC2 does: the runs launched into its default
      // VPC's default subnets, one run after the other in zone order, with that VPC's default group.
      const { subnets, securityGroups } = aws.cloud.network;
      expect(pipeline.network).toEqual({
        subnetIds: subnets.map((subnet) => subnet.subnetId),
        securityGroupId: securityGroups[0]?.groupId,
        vpcId: subnets[0]?.vpcId,
      });
      expect(
        result.runs.map((run) => {
          const instance = aws.cloud.instances().find((i) => i.instanceId === run.instanceId);
          return [run.runIndex, instance?.subnetId, instance?.securityGroupIds];
        }),
      ).toEqual([
        [0, subnets[0]?.subnetId, [securityGroups[0]?.groupId]],
        [1, subnets[1]?.subnetId, [securityGroups[0]?.groupId]],
      ]);
      const client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1" });
      try {
        for (const run of result.runs) {
          expect(run.console).toMatchObject({ status: "stored", bucket: pipeline.consoleBucket });
          const key = consoleOutputKey(result.benchmarkId, run.runIndex);
          const head = await client.send(new HeadObjectCommand({ Bucket: pipeline.consoleBucket, Key: key }));
          expect(head.ContentLength).toBe(run.console?.status === "stored" ? run.console.storedBytes : -1);
        }
      } finally {
        client.destroy();
      }
    } finally {
      await pipeline.close();
    }
  });
});
