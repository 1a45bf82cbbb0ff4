/**
 * What the deployed functions write for CloudWatch, seen on the local pipeline: Powertools' log lines
 * and EMF records go to stdout as in Lambda (turned on here: the local runner silences them unless
 * told otherwise). A RecordRun whose write stood but whose answer was lost is retried by Step
 * Functions; CloudWatch must still count that run once, as the table does.
 */
import { randomUUID } from "node:crypto";
import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unmarshallItem } from "../../functions/aws/benchmark-table.js";
import { benchmarkIdFor } from "../../functions/domain/benchmark-identity.js";
import { INTERVAL_METRICS, METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/domain/boot-metrics.js";
import type { RunRecord } from "../../functions/domain/run-record.js";
import type { LocalPipeline } from "../../local-cloud/local-pipeline.js";
import { runBenchmark, startTestPipeline } from "./local-pipeline-harness.js";

type Line = Record<string, unknown>;
const lines: Line[] = [];
const realWrites = { stdout: process.stdout.write, stderr: process.stderr.write };
let pipeline: LocalPipeline;

/** Powertools writes through a Console on stdout and stderr (errors): each line one JSON document. */
function capture(stream: NodeJS.WriteStream, realWrite: typeof process.stdout.write): void {
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    for (const line of text.split("\n")) {
      try {
        if (line.startsWith("{")) lines.push(JSON.parse(line) as Line);
      } catch {
        // Not one of Powertools' lines.
      }
    }
    return (realWrite as (...args: unknown[]) => boolean).call(stream, "", ...rest);
  }) as typeof process.stdout.write;
}

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = "INFO";
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
  capture(process.stdout, realWrites.stdout);
  capture(process.stderr, realWrites.stderr);
  pipeline = await startTestPipeline({ timeScale: 0.05 });
}, 60_000);

afterAll(async () => {
  process.stdout.write = realWrites.stdout;
  process.stderr.write = realWrites.stderr;
  await pipeline?.close();
});

const benchmarkInput = (runs: number, discardFirst: boolean) => ({
  image: "/aws/service/debian/release/bookworm/latest/amd64",
  instanceType: "c7i.large",
  runs,
  discardFirst,
  port: pipeline.localAws?.cloud.sshPort,
});

const emfRecords = (benchmarkId: string) =>
  lines.filter((line) => line._aws !== undefined && line.benchmarkId === benchmarkId);

describe("Powertools on the local pipeline", () => {
  it("publishes one EMF record per run, also when RecordRun's answer was lost and it ran again", async () => {
    let recordInvocations = 0;
    const input = benchmarkInput(3, true);
    const name = `observability-${randomUUID()}`;
    const execution = await pipeline.stateMachine.startExecution(input, name, {
      taskFaults: {
        RecordRun: {
          after: (invocation) => {
            recordInvocations = invocation;
            return invocation === 2
              ? Object.assign(new Error("socket hang up"), { name: "Lambda.SdkClientException" })
              : undefined;
          },
        },
      },
    }).result;
    expect(execution.status).toBe("SUCCEEDED");
    expect(recordInvocations).toBe(4);
    const benchmarkId = benchmarkIdFor(execution.executionArn);
    const { runs } = await runBenchmarkItems(benchmarkId);

    const records = emfRecords(benchmarkId);
    expect(records.map((record) => Number(record.runIndex)).sort()).toEqual([0, 1, 2]);
    for (const record of records) {
      const run = runs.find((r) => r.runIndex === Number(record.runIndex)) as RunRecord;
      const [directive] = (record._aws as { CloudWatchMetrics: Line[] }).CloudWatchMetrics;
      expect(directive).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        Dimensions: [["service", "Series", "InstanceType"]],
      });
      expect(record).toMatchObject({
        service: SERVICE_NAME,
        Series: input.image,
        InstanceType: input.instanceType,
        instanceId: run.instanceId,
        runs: 1,
        failedRuns: 0,
        timedOutRuns: 0,
      });
      // The discarded first run stays out of the boot-time graphs, as it stays out of the medians.
      for (const interval of INTERVAL_METRICS) {
        expect(record[interval]).toBe(run.counted ? run.intervals?.[interval] : undefined);
      }
    }
  }, 120_000);

  it("puts the benchmark id, run index and instance id on every line a run's step ends with", async () => {
    const { benchmarkId, runs } = await runBenchmark(pipeline, benchmarkInput(1, false));
    const [run] = runs;
    const stepLines = lines.filter(
      (line) => line.message === "step succeeded" && line.benchmarkId === benchmarkId,
    );
    // ValidateInput, ResolveImage, AcquireRunSlot, LaunchInstance, PollState, ProbePort,
    // CaptureScreenshots, CaptureConsole, TerminateInstance, ReleaseRunSlot, RecordRun, Summarise.
    expect(stepLines).toHaveLength(12);
    const runLines = stepLines.filter((line) => line.runIndex !== undefined);
    expect(runLines).toHaveLength(9);
    for (const line of runLines) expect(line).toMatchObject({ service: SERVICE_NAME, runIndex: 0 });
    // Each with its own function's context, also the Parallel's three branches, which run at once.
    const functions = runLines.map((line) => String(line.function_name).replace(/Function[0-9A-F]{8}$/, ""));
    expect(functions.sort()).toEqual(
      [
        "AcquireRunSlot",
        "LaunchInstance",
        "PollState",
        "ProbePort",
        "CaptureScreenshots",
        "CaptureConsole",
        "TerminateInstance",
        "ReleaseRunSlot",
        "RecordRun",
      ].sort(),
    );
    // Every step after the launch knows the instance; only the run slot is taken before there is one.
    expect(runLines.filter((line) => line.instanceId === run?.instanceId)).toHaveLength(8);
    expect(runLines.filter((line) => line.instanceId === undefined)).toHaveLength(1);
    const ends = lines.filter((line) => line.benchmarkId === benchmarkId && line.level === "ERROR");
    expect(ends).toEqual([]);
  }, 120_000);
});

async function runBenchmarkItems(benchmarkId: string): Promise<{ runs: RunRecord[] }> {
  const output = await pipeline.dynamoDb.send(
    new QueryCommand({
      TableName: pipeline.tableName,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :run)",
      ExpressionAttributeValues: { ":pk": { S: `BENCHMARK#${benchmarkId}` }, ":run": { S: "RUN#" } },
      ConsistentRead: true,
    }),
  );
  return { runs: (output.Items ?? []).map(unmarshallItem) as unknown as RunRecord[] };
}
