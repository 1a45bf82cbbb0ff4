/**
 * End-to-end harness: the stack's synthesised state machine on aws-local-stepfunctions, the real
 * handlers, the local EC2 + SSM endpoint with real TCP on loopback, and in-memory dynalite. One
 * pipeline per test file: the handlers configure themselves from process.env when they load.
 */
import { randomUUID } from "node:crypto";
import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { expect } from "vitest";
import { unmarshallItem } from "../../functions/aws/benchmark-table.js";
import { benchmarkIdFor } from "../../functions/domain/benchmark-identity.js";
import { type BenchmarkInput, parseBenchmarkInput } from "../../functions/domain/input-schema.js";
import type { MarkName } from "../../functions/domain/integrity.js";
import type { RunRecord, SummaryRecord } from "../../functions/domain/run-record.js";
import type { BenchmarkAudit } from "../../local-cloud/audit.js";
import type { InstanceSnapshot, LocalCloud } from "../../local-cloud/cloud.js";
import type { LocalAwsOptions } from "../../local-cloud/local-aws.js";
import { type LocalPipeline, startLocalPipeline } from "../../local-cloud/local-pipeline.js";
import { intervalTolerancesMs, wrongValidIntervals } from "../../local-cloud/measurement-error.js";
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

export async function benchmarkItems(
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

// ---- fault scenarios (test/e2e/fault-matrix.test.ts, launch-ledger.test.ts) ----------------------
/** A short Debian benchmark on `cloud`'s SSH port: boots in about a second at time scale 0.05. */
export const shortBenchmark = (
  cloud: LocalCloud,
  overrides: Partial<BenchmarkInput> = {},
): BenchmarkInput => ({
  image: "/aws/service/debian/release/bookworm/latest/amd64",
  instanceType: "c7i.large",
  runs: 2,
  discardFirst: false,
  port: cloud.sshPort,
  runningTimeoutSeconds: 3,
  openTimeoutSeconds: 2,
  ...overrides,
});

/** An error with an AWS-style name, for a runner Task fault. */
export const fault = (name: string, message = `${name} (injected)`): Error =>
  Object.assign(new Error(message), { name });

/** The invariants every scenario must keep: nothing running, each run recorded exactly once. */
export function expectNothingLeakedOrLost(audit: BenchmarkAudit): void {
  expect(audit.instancesLeftRunning).toEqual([]);
  expect(audit.runsLost).toBe(0);
  expect(audit.runsDuplicated).toBe(0);
}

/**
 * Each interval a run counts as valid is as close to the local cloud's truth as its brackets allow: a
 * wrong number may be stored only with a mark that makes it invalid.
 */
export function expectNoWrongValidNumber(
  audit: BenchmarkAudit,
  benchmark: BenchmarkInput,
  cloud: LocalCloud,
): void {
  const tolerances = intervalTolerancesMs(parseBenchmarkInput(benchmark));
  for (const run of audit.runItems) {
    const truth = run.instanceId === undefined ? undefined : cloud.truth(run.instanceId);
    if (!truth) continue;
    const wrong = wrongValidIntervals(run, truth, tolerances);
    expect(wrong, `run ${run.runIndex}: ${JSON.stringify(run.integrity.marks.map((m) => m.detail))}`).toEqual(
      [],
    );
  }
}

export const markNames = (audit: BenchmarkAudit, runIndex: number): MarkName[] =>
  audit.runItems.find((r) => r.runIndex === runIndex)?.integrity.marks.map((m) => m.name) ?? [];
