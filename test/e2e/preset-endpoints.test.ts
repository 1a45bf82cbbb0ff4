/**
 * Local mode uses endpoints that are already in the environment instead of starting its own, as long
 * as they are on loopback; anything else is refused before a single request is made.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalAws, startLocalAws } from "../../local-cloud/local-aws.js";
import { startLocalPipeline } from "../../local-cloud/local-pipeline.js";
import { type LocalDynamoDb, startLocalDynamoDb } from "../../local-cloud/runner/local-dynamodb.js";
import { randomSshPort } from "../local-cloud/local-aws-support.js";
import { runBenchmark } from "./local-pipeline-harness.js";

let aws: LocalAws;
let dynamoDb: LocalDynamoDb;
const saved = { ...process.env };

beforeAll(async () => {
  aws = await startLocalAws({ timeScale: 0.1, sshPort: randomSshPort() });
  dynamoDb = await startLocalDynamoDb();
});
afterAll(async () => {
  process.env = saved;
  await aws?.close();
  await dynamoDb?.close();
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
    const pipeline = await startLocalPipeline({ retryIntervalMs: 20 });
    try {
      expect(pipeline.localAws).toBeUndefined();
      expect(pipeline.endpoints).toEqual({
        ec2: aws.ec2Endpoint,
        ssm: aws.ssmEndpoint,
        dynamodb: dynamoDb.endpoint,
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
      // The instances live in the endpoint we started, not in one the pipeline made.
      expect(aws.cloud.instances()).toHaveLength(2);
    } finally {
      await pipeline.close();
    }
  });
});
