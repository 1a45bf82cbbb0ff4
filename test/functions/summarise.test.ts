import { DynamoDBClient, PutItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { marshallItem, unmarshallItem } from "../../functions/aws/benchmark-table.js";
import type { SummariseEvent } from "../../functions/domain/contract.js";
import { RunsMissingError } from "../../functions/domain/errors.js";
import { buildRunRecord, type RunRecord } from "../../functions/domain/run-record.js";
import { summarise } from "../../functions/summarise/summarise.js";
import {
  benchmark,
  failedRunState,
  image,
  settings,
  succeededRunState,
  T0,
} from "../domain/run-state-fixtures.js";

const ddb = mockClient(DynamoDBClient);
const published: RunRecord[] = [];
const deps = {
  client: new DynamoDBClient({}),
  tableName: "boot-bench-table",
  publishRunMetrics: (record: RunRecord) => published.push(record),
};
const recorded = [0, 1, 2, 3].map((runIndex) => ({ runIndex, status: "succeeded" as const }));
const event: SummariseEvent = { benchmark, settings: { ...settings, runs: 4 }, image, iterations: recorded };

const run = (runIndex: number, closedMs: number, openMs: number) =>
  marshallItem(
    buildRunRecord(
      succeededRunState(runIndex, {
        firstClosedAt: T0 + 8_400 + closedMs,
        firstOpenAt: T0 + 8_400 + closedMs + openMs,
      }),
    ),
  );
const failed = (runIndex: number) =>
  marshallItem(buildRunRecord(failedRunState(runIndex, "InsufficientInstanceCapacity", "none")));

const putItems = () =>
  ddb.commandCalls(PutItemCommand).flatMap((call) => {
    const item = call.args[0].input.Item;
    return item ? [unmarshallItem(item)] : [];
  });
const putSummaryItem = () => putItems().find((item) => item.sk === "SUMMARY");

beforeEach(() => {
  published.length = 0;
  ddb.reset();
  ddb.on(PutItemCommand).resolves({});
});

describe("summarise", () => {
  it("follows pagination to the end and summarises all pages", async () => {
    const lastKey = { pk: { S: "BENCHMARK#bench-1" }, sk: { S: "RUN#0001" } };
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [run(0, 50_000, 50_000), run(1, 6_000, 5_000)], LastEvaluatedKey: lastKey })
      .resolvesOnce({ Items: [run(2, 7_000, 3_000), failed(3)] });

    await expect(summarise(event, deps)).resolves.toEqual({
      status: "succeeded",
      runs: 4,
      countedRuns: 3,
      succeededRuns: 3,
      failedRuns: 1,
      timedOutRuns: 0,
      terminationFailedRuns: 0,
      unrecordedRuns: 0,
      medians: {
        runInstancesApi: 1.5,
        pendingToRunning: 6.9,
        runningToPortClosed: 6.5,
        portClosedToOpen: 4,
        total: 10.5,
      },
    });

    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries).toHaveLength(2);
    expect(queries[0]).toMatchObject({
      TableName: "boot-bench-table",
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :runPrefix)",
      ExpressionAttributeValues: { ":pk": { S: "BENCHMARK#bench-1" }, ":runPrefix": { S: "RUN#" } },
      ConsistentRead: true,
    });
    expect(queries[0]?.ExclusiveStartKey).toBeUndefined();
    expect(queries[1]?.ExclusiveStartKey).toEqual(lastKey);

    expect(putSummaryItem()).toMatchObject({
      pk: "BENCHMARK#bench-1",
      sk: "SUMMARY",
      recentPk: "BENCHMARK",
      amiId: image.amiId,
      sourceParameter: image.sourceParameter,
      status: "succeeded",
      countedSucceededRuns: 2,
    });
    // Overwriting is intended: a retried summarise writes the same item again.
    expect(ddb.commandCalls(PutItemCommand)[0]?.args[0].input.ConditionExpression).toBeUndefined();
  });

  it("throws BootBench.RunsMissing, naming the missing runs, and writes no summary", async () => {
    ddb.on(QueryCommand).resolves({ Items: [run(0, 6_000, 4_000), run(2, 6_000, 4_000)] });

    const error = await summarise(event, deps).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RunsMissingError);
    expect(error).toMatchObject({
      name: "BootBench.RunsMissing",
      message: "benchmark bench-1 has no record of runs 1, 3 of 4",
      missingRunIndexes: [1, 3],
    });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it("throws BootBench.RunsMissing when there are no runs at all", async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    await expect(summarise(event, deps)).rejects.toMatchObject({ name: "BootBench.RunsMissing" });
  });

  it("reports failed, without medians, when every counted run failed", async () => {
    ddb.on(QueryCommand).resolves({ Items: [run(0, 6_000, 4_000), failed(1), failed(2), failed(3)] });

    await expect(summarise(event, deps)).resolves.toEqual({
      status: "failed",
      runs: 4,
      countedRuns: 3,
      succeededRuns: 1,
      failedRuns: 3,
      timedOutRuns: 0,
      terminationFailedRuns: 0,
      unrecordedRuns: 0,
    });
    const summary = putSummaryItem();
    expect(summary).toMatchObject({ status: "failed", countedSucceededRuns: 0 });
    expect(summary).not.toHaveProperty("medians");
    expect(summary).not.toHaveProperty("statistics");
  });

  it("lists the runs whose instance could not be terminated, for the state machine to fail on", async () => {
    const leftRunning = buildRunRecord({
      ...succeededRunState(1),
      termination: undefined,
      terminationFailure: { Error: "UnauthorizedOperation", Cause: "not authorized" },
    });
    ddb.on(QueryCommand).resolves({
      Items: [run(0, 1, 1), marshallItem(leftRunning), run(2, 1, 1), run(3, 1, 1)],
    });
    await expect(summarise(event, deps)).resolves.toMatchObject({
      terminationFailedRuns: 1,
      unrecordedRuns: 0,
    });
    expect(putSummaryItem()?.terminationFailedRuns).toEqual([
      {
        runIndex: 1,
        instanceId: leftRunning.instanceId,
        error: { name: "UnauthorizedOperation", message: "not authorized" },
      },
    ]);
  });

  describe("a run RecordRun could not record", () => {
    const recordFailure = { Error: "ProvisionedThroughputExceededException", Cause: "throttled for minutes" };
    const unrecordedState = { ...succeededRunState(2), recordFailure };
    const withUnrecorded: SummariseEvent = {
      ...event,
      iterations: [
        recorded[0],
        recorded[1],
        { runIndex: 2, unrecorded: unrecordedState },
        recorded[3],
      ] as SummariseEvent["iterations"],
    };

    it("is recorded late, with RecordRun's error, and counts like any other", async () => {
      const lateRecord = marshallItem(buildRunRecord(unrecordedState));
      ddb.on(QueryCommand).resolves({ Items: [run(0, 1, 1), run(1, 1, 1), lateRecord, run(3, 1, 1)] });
      await expect(summarise(withUnrecorded, deps)).resolves.toMatchObject({
        succeededRuns: 4,
        unrecordedRuns: 0,
      });
      const [late] = ddb.commandCalls(PutItemCommand).map((call) => call.args[0].input);
      expect(late?.ConditionExpression).toBe("attribute_not_exists(pk)");
      expect(unmarshallItem(late?.Item ?? {})).toMatchObject({
        sk: "RUN#0002",
        status: "succeeded",
        recordError: { name: "ProvisionedThroughputExceededException", message: "throttled for minutes" },
      });
      expect(putSummaryItem()).not.toHaveProperty("unrecordedRuns");
      expect(published.map((record) => record.runIndex)).toEqual([2]);
    });

    it("is kept whole as an unrecorded-run item when it cannot be recorded late either", async () => {
      ddb.on(QueryCommand).resolves({ Items: [run(0, 1, 1), run(1, 1, 1), run(3, 1, 1)] });
      ddb
        .on(PutItemCommand, { Item: { pk: { S: "BENCHMARK#bench-1" }, sk: { S: "RUN#0002" } } as never })
        .rejects(
          Object.assign(new Error("still throttled"), { name: "ProvisionedThroughputExceededException" }),
        );

      await expect(summarise(withUnrecorded, deps)).resolves.toMatchObject({
        runs: 3,
        succeededRuns: 3,
        unrecordedRuns: 1,
        terminationFailedRuns: 0,
      });
      const kept = putItems().find((item) => item.sk === "UNRECORDED#0002");
      expect(kept).toMatchObject({
        pk: "BENCHMARK#bench-1",
        itemType: "unrecordedRun",
        runIndex: 2,
        recordError: { name: "ProvisionedThroughputExceededException", message: "throttled for minutes" },
        summariseError: { name: "ProvisionedThroughputExceededException", message: "still throttled" },
        terminated: true,
        instanceId: unrecordedState.launch?.instanceId,
      });
      expect(JSON.parse(String(kept?.state))).toEqual(unrecordedState);
      expect(putSummaryItem()?.unrecordedRuns).toEqual([
        {
          runIndex: 2,
          recordError: { name: "ProvisionedThroughputExceededException", message: "throttled for minutes" },
          summariseError: { name: "ProvisionedThroughputExceededException", message: "still throttled" },
        },
      ]);
    });
  });

  it("lets a failed summary write through for Step Functions to retry", async () => {
    ddb.on(QueryCommand).resolves({ Items: [run(0, 1, 1), run(1, 1, 1), run(2, 1, 1), run(3, 1, 1)] });
    ddb.on(PutItemCommand).rejects(Object.assign(new Error("throttled"), { name: "ThrottlingException" }));
    await expect(summarise(event, deps)).rejects.toMatchObject({ name: "ThrottlingException" });
  });
});

describe("summarise handler", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it("reads TABLE_NAME at load and summarises through the module's client", async () => {
    vi.stubEnv("TABLE_NAME", "from-env");
    ddb.on(QueryCommand).resolves({ Items: [run(0, 1, 1), run(1, 1, 1), run(2, 1, 1), run(3, 1, 1)] });
    const { handler } = await import("../../functions/summarise/index.js");
    await expect(handler(event, {} as never)).resolves.toMatchObject({ status: "succeeded", countedRuns: 3 });
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input.TableName).toBe("from-env");
    expect(ddb.commandCalls(PutItemCommand)[0]?.args[0].input.TableName).toBe("from-env");
  });
});
