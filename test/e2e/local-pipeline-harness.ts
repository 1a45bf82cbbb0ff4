/**
 * End-to-end harness: the stack's synthesised state machine on aws-local-stepfunctions, the real
 * handlers, the local EC2 + SSM endpoint with real TCP on loopback, and in-memory dynalite. One
 * pipeline per test file: the handlers configure themselves from process.env when they load.
 */
import { randomUUID } from "node:crypto";
import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { unmarshallItem } from "../../functions/aws/benchmark-table.js";
import { benchmarkIdFor } from "../../functions/domain/benchmark-identity.js";
import type { RunRecord, SummaryRecord } from "../../functions/domain/run-record.js";
import type { InstanceSnapshot } from "../../local-cloud/cloud.js";
import type { LocalAwsOptions } from "../../local-cloud/local-aws.js";
import { type LocalPipeline, startLocalPipeline } from "../../local-cloud/local-pipeline.js";
import type { ExecutionOutcome } from "../../local-cloud/runner/local-state-machine.js";
import { randomSshPort } from "../local-cloud/local-aws-support.js";

export interface BenchmarkRun {
  execution: ExecutionOutcome;
  benchmarkId: string;
  /** Every item of the benchmark's partition, as stored. */
  items: Record<string, unknown>[];
  runs: RunRecord[];
  summary?: SummaryRecord;
  /** Every instance the local cloud launched for this benchmark. */
  instances: InstanceSnapshot[];
}

export async function startTestPipeline(cloud: LocalAwsOptions = {}): Promise<LocalPipeline> {
  // Test files run in parallel, each with its own local cloud handing out the same 127.0.1.x addresses:
  // a port of its own keeps one cloud's instance from answering for another's while that one is closed.
  return startLocalPipeline({
    cloud: { timeScale: 0.2, sshPort: randomSshPort(), ...cloud },
    retryIntervalMs: 20,
  });
}

export async function runBenchmark(pipeline: LocalPipeline, input: unknown): Promise<BenchmarkRun> {
  const execution = await pipeline.stateMachine.startExecution(input, `e2e-${randomUUID()}`).result;
  const benchmarkId = benchmarkIdFor(execution.executionArn);
  const items = await benchmarkItems(pipeline, benchmarkId);
  const cloud = pipeline.localAws?.cloud;
  const instances = (cloud?.instances() ?? []).filter((instance) =>
    instance.tags.some((tag) => tag.key === "boot-bench:benchmark" && tag.value === benchmarkId),
  );
  const summary = items.find((item) => item.sk === "SUMMARY") as SummaryRecord | undefined;
  return {
    execution,
    benchmarkId,
    items,
    runs: items.filter((item) => String(item.sk).startsWith("RUN#")) as unknown as RunRecord[],
    ...(summary && { summary }),
    instances,
  };
}

async function benchmarkItems(
  pipeline: LocalPipeline,
  benchmarkId: string,
): Promise<Record<string, unknown>[]> {
  const output = await pipeline.dynamoDb.send(
    new QueryCommand({
      TableName: pipeline.tableName,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": { S: `BENCHMARK#${benchmarkId}` } },
      ConsistentRead: true,
    }),
  );
  return (output.Items ?? []).map(unmarshallItem);
}

/** Terminate was requested for the instance (it is shutting down or gone). */
export const wasTerminated = (instance: InstanceSnapshot): boolean =>
  instance.truth.shuttingDownAt !== undefined || instance.state === "terminated";
