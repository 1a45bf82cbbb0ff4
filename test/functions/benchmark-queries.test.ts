import { DynamoDBClient, QueryCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  queryBenchmark,
  queryFailedRuns,
  querySummaries,
  querySummariesByAmi,
  querySummariesBySource,
  summaryQueryFor,
} from "../../functions/aws/benchmark-queries.js";
import { marshallItem, putUnrecordedRun } from "../../functions/aws/benchmark-table.js";
import { buildUnrecordedRunRecord } from "../../functions/domain/run-record.js";
import { succeededRunState } from "../domain/run-state-fixtures.js";
import { benchmarkRecords, tenRuns } from "../support/benchmark-records.js";
import { type SeededTable, startSeededTable } from "../support/results-dynamodb.js";

const SERIES = "/aws/service/debian/release/bookworm/latest/amd64";
const benchmark = (n: number, extra: { failedRun?: boolean; instanceType?: string } = {}) =>
  benchmarkRecords({
    benchmarkId: `b${String(n).padStart(4, "0")}`,
    startedAt: new Date(Date.UTC(2025, 0, 1) + n * 3_600_000).toISOString(),
    amiId: `ami-${String(n % 3).padStart(17, "0")}`,
    name: `image ${n % 3}`,
    series: SERIES,
    runs: extra.failedRun ? [...tenRuns(5, 1).slice(0, 9), "failed"] : tenRuns(5, 1),
    ...(extra.instanceType !== undefined && { instanceType: extra.instanceType }),
  });

describe("the Query behind each filter", () => {
  it.each([
    [{ amiId: "ami-1", sourceParameter: SERIES }, "ByAmi", "amiId", ["sourceParameter"]],
    [{ sourceParameter: SERIES, instanceType: "c7i.large" }, "BySource", "sourceParameter", ["instanceType"]],
    [{ label: "x", instanceType: "c7i.large" }, "Recent", "recentPk", ["instanceType", "label"]],
  ])("%j uses %s", (filter, indexName, partitionAttribute, filtered) => {
    const input = summaryQueryFor("t", filter);
    expect(input).toMatchObject({ TableName: "t", IndexName: indexName, ScanIndexForward: true });
    expect(input.ExpressionAttributeNames?.["#partition"]).toBe(partitionAttribute);
    const filteredNames = Object.entries(input.ExpressionAttributeNames ?? {})
      .filter(([name]) => name.startsWith("#f"))
      .map(([, attribute]) => attribute);
    expect(filteredNames).toEqual(filtered);
  });

  it("puts --since into the key condition, where it narrows what DynamoDB reads", () => {
    const input = summaryQueryFor("t", { since: "2025-06-01T00:00:00.000Z", newestFirst: true });
    expect(input.KeyConditionExpression).toBe("#partition = :partition AND #startedAt >= :since");
    expect(input.ExpressionAttributeValues?.[":since"]).toEqual({ S: "2025-06-01T00:00:00.000Z" });
    expect(input.ScanIndexForward).toBe(false);
    expect(input.FilterExpression).toBeUndefined();
  });
});

describe("pagination (mocked client)", () => {
  it("follows LastEvaluatedKey to the end and never scans", async () => {
    const ddb = mockClient(DynamoDBClient);
    const [first, second] = [benchmark(1), benchmark(2)];
    const lastKey = { pk: { S: first.summary.pk }, sk: { S: "SUMMARY" } };
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [marshallItem(first.summary)], LastEvaluatedKey: lastKey })
      .resolvesOnce({ Items: [marshallItem(second.summary)], LastEvaluatedKey: {} });
    const summaries = await querySummaries(new DynamoDBClient({}), "t");
    expect(summaries.map((s) => s.benchmarkId)).toEqual(["b0001", "b0002"]);
    const calls = ddb.commandCalls(QueryCommand);
    expect(calls[0]?.args[0].input.ExclusiveStartKey).toBeUndefined();
    expect(calls[1]?.args[0].input.ExclusiveStartKey).toEqual(lastKey);
    expect(ddb.commandCalls(ScanCommand)).toHaveLength(0);
    ddb.restore();
  });

  it("rejects an item that is not a summary with its key", async () => {
    const ddb = mockClient(DynamoDBClient);
    ddb.on(QueryCommand).resolves({ Items: [marshallItem({ pk: "BENCHMARK#x", sk: "SUMMARY" })] });
    await expect(querySummaries(new DynamoDBClient({}), "t")).rejects.toThrow(
      "item BENCHMARK#x / SUMMARY is not a benchmark summary item",
    );
    ddb.restore();
  });
});

describe("against dynalite", () => {
  // Enough summaries that a Query needs more than one 1 MB page (dynalite sizes one at ≈ 0.8 KB, DynamoDB
  // at ≈ 1.25 KB). Only every fiftieth benchmark keeps its runs (one of them failed): all the tests read.
  const COUNT = 1500;
  let table: SeededTable;
  beforeAll(async () => {
    table = await startSeededTable(
      Array.from({ length: COUNT }, (_, n) => {
        const records = benchmark(n, {
          failedRun: n % 50 === 0,
          ...(n % 10 === 0 && { instanceType: "m7i.large" }),
        });
        return n % 50 === 0 ? records : { summary: records.summary, runs: [] };
      }),
    );
  });
  afterAll(async () => {
    await table?.close();
  });

  it("reads every summary of the Recent index over several pages, oldest first", async () => {
    const send = vi.spyOn(table.client, "send");
    const summaries = await querySummaries(table.client, table.tableName);
    expect(summaries).toHaveLength(COUNT);
    expect(send.mock.calls.length).toBeGreaterThan(1);
    send.mockRestore();
    const startedAt = summaries.map((s) => s.startedAt);
    expect(startedAt).toEqual([...startedAt].sort());
  });

  it("reads one AMI's benchmarks from ByAmi and one series' from BySource, newest first on request", async () => {
    const byAmi = await querySummariesByAmi(table.client, table.tableName, "ami-00000000000000001", {
      newestFirst: true,
    });
    expect(byAmi).toHaveLength(COUNT / 3);
    expect(byAmi[0]?.benchmarkId).toBe("b1498");
    const bySource = await querySummariesBySource(table.client, table.tableName, SERIES, {
      instanceType: "m7i.large",
      since: "2025-01-10T00:00:00.000Z",
    });
    // Hours 216 onwards, every tenth: 220, 230, …, 1490.
    expect(bySource.map((s) => s.benchmarkId)).toEqual(
      Array.from({ length: 128 }, (_, i) => `b${String(220 + i * 10).padStart(4, "0")}`),
    );
  });

  it("reads failed runs from FailedRuns, newest first", async () => {
    const failed = await queryFailedRuns(table.client, table.tableName, {
      since: "2025-01-05T00:00:00.000Z",
    });
    expect(failed.map((run) => [run.benchmarkId, run.runIndex, run.status])).toEqual(
      Array.from({ length: 28 }, (_, i) => 1450 - i * 50).map((n) => [
        `b${String(n).padStart(4, "0")}`,
        9,
        "failed",
      ]),
    );
  });

  it("reads a benchmark's summary and runs from its partition", async () => {
    const { summary, runs } = await queryBenchmark(table.client, table.tableName, "b0050");
    expect(summary?.benchmarkId).toBe("b0050");
    expect(runs.map((run) => run.runIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await queryBenchmark(table.client, table.tableName, "missing")).toEqual({
      runs: [],
      unrecorded: [],
    });
  });

  it("reads a benchmark's unrecorded runs, unless a later Summarise recorded them after all", async () => {
    const state = (runIndex: number) => ({
      ...succeededRunState(runIndex),
      benchmark: { ...succeededRunState(runIndex).benchmark, benchmarkId: "b0100" },
      recordFailure: { Error: "ValidationException", Cause: "too big" },
    });
    const reason = { name: "ValidationException", message: "still too big" };
    const kept = buildUnrecordedRunRecord(state(10), reason);
    await putUnrecordedRun(table.client, table.tableName, kept);
    // Run 3 of b0100 has a run item: an unrecorded-run item beside it is stale.
    await putUnrecordedRun(table.client, table.tableName, buildUnrecordedRunRecord(state(3), reason));
    const { runs, unrecorded } = await queryBenchmark(table.client, table.tableName, "b0100");
    expect(runs).toHaveLength(10);
    expect(unrecorded).toEqual([kept]);
    expect(JSON.parse(unrecorded[0]?.state ?? "")).toEqual(state(10));
  });
});
