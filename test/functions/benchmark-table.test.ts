import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryBenchmark } from "../../functions/aws/benchmark-queries.js";
import {
  closeLaunchLedger,
  countLaunchSend,
  getItem,
  type LaunchLedgerKey,
  markProbeEnded,
  marshallItem,
  queryRuns,
  readObservationMarks,
  readRunEnded,
  settleLaunchSend,
  unmarshallItem,
} from "../../functions/aws/benchmark-table.js";
import { buildRunRecord } from "../../functions/domain/run-record.js";
import { succeededRunState } from "../domain/run-state-fixtures.js";
import { type SeededTable, startSeededTable } from "../support/results-dynamodb.js";

describe("marshalling", () => {
  it("round-trips a run record exactly, sub-millisecond timestamps included", () => {
    const record = buildRunRecord(succeededRunState(2));
    expect(unmarshallItem(marshallItem(record))).toEqual(record);
  });
});

describe("launch ledger (dynalite)", () => {
  let table: SeededTable;
  beforeAll(async () => {
    table = await startSeededTable([]);
  });
  afterAll(async () => {
    await table?.close();
  });

  const key = (runIndex: number): LaunchLedgerKey => ({
    benchmarkId: "bench-1",
    runIndex,
    clientToken: `bench-1-run${String(runIndex).padStart(4, "0")}`,
  });
  const count = (runIndex: number, at: number) =>
    countLaunchSend(table.client, table.tableName, key(runIndex), at);
  const settle = (runIndex: number) => settleLaunchSend(table.client, table.tableName, key(runIndex));
  const ledgerItem = (runIndex: number) =>
    getItem(table.client, table.tableName, {
      pk: "BENCHMARK#bench-1",
      sk: `LAUNCH#${String(runIndex).padStart(4, "0")}`,
    });

  it("counts every send of a run in one item of the benchmark's partition, this send included", async () => {
    expect(await count(3, 1_750_000_000_000.25)).toBe(1);
    expect(await count(3, 1_750_000_060_000.5)).toBe(2);
    expect(await ledgerItem(3)).toEqual({
      pk: "BENCHMARK#bench-1",
      sk: "LAUNCH#0003",
      itemType: "launchLedger",
      clientToken: "bench-1-run0003",
      lastSendAt: 1_750_000_060_000.5,
      sends: 2,
      unsettledSends: 2,
    });
  });

  it("takes a settled send back, so the send after a refusal is not taken for a replay", async () => {
    expect(await count(4, 1)).toBe(1);
    await settle(4);
    expect(await count(4, 2)).toBe(1);
    expect(await ledgerItem(4)).toMatchObject({ sends: 2, unsettledSends: 1 });
  });

  it("never settles below zero", async () => {
    await expect(settle(5)).rejects.toMatchObject({ name: "ConditionalCheckFailedException" });
    expect(await count(5, 1)).toBe(1);
    await settle(5);
    await expect(settle(5)).rejects.toMatchObject({ name: "ConditionalCheckFailedException" });
    expect(await ledgerItem(5)).toMatchObject({ sends: 1, unsettledSends: 0 });
  });

  it("keeps each run's sends apart", async () => {
    expect(await count(6, 1)).toBe(1);
    expect(await count(7, 1)).toBe(1);
    expect(await count(6, 2)).toBe(2);
  });

  const close = (runIndex: number, at: number) =>
    closeLaunchLedger(table.client, table.tableName, key(runIndex), at);
  const ended = (runIndex: number) =>
    readRunEnded(table.client, table.tableName, { benchmarkId: "bench-1", runIndex });

  it("closes a run that never sent: nothing may have launched, and the item says so", async () => {
    expect(await ended(8)).toBe(false);
    expect(await close(8, 5_000.5)).toEqual({ endedAt: 5_000.5, unsettledSends: 0 });
    expect(await ended(8)).toBe(true);
    expect(await ledgerItem(8)).toEqual({
      pk: "BENCHMARK#bench-1",
      sk: "LAUNCH#0008",
      itemType: "launchLedger",
      clientToken: "bench-1-run0008",
      unsettledSends: 0,
      endedAt: 5_000.5,
    });
  });

  it("closes a run with the count of its sends that may have launched, keeping the first end mark", async () => {
    await count(9, 1);
    await count(9, 2);
    await settle(9);
    expect(await close(9, 3)).toEqual({ endedAt: 3, unsettledSends: 1 });
    // A retried terminate learns the same, and the first mark stands.
    expect(await close(9, 4)).toEqual({ endedAt: 3, unsettledSends: 1 });
    expect(await ledgerItem(9)).toMatchObject({ sends: 2, unsettledSends: 1, endedAt: 3 });
  });

  it("refuses to count a send once the run is closed: the late launch sends nothing", async () => {
    await close(10, 1);
    await expect(count(10, 2)).rejects.toMatchObject({ name: "BootBench.RunEnded" });
    expect(await ledgerItem(10)).toMatchObject({ unsettledSends: 0 });
    expect(await ledgerItem(10)).not.toHaveProperty("sends");
  });

  const marks = (runIndex: number) =>
    readObservationMarks(table.client, table.tableName, { benchmarkId: "bench-1", runIndex });
  const markProbe = (runIndex: number, at: number) =>
    markProbeEnded(table.client, table.tableName, { benchmarkId: "bench-1", runIndex }, at);

  it("keeps the probe's first end mark beside the ledger's own attributes, and reads both marks", async () => {
    await count(11, 1);
    expect(await marks(11)).toEqual({});
    await markProbe(11, 20_000.25);
    await markProbe(11, 30_000);
    expect(await marks(11)).toEqual({ probeEndedAt: 20_000.25 });
    // Terminate's close keeps the probe's mark; the launch ledger's attributes are as before.
    expect(await close(11, 21_000)).toEqual({ endedAt: 21_000, unsettledSends: 1 });
    expect(await marks(11)).toEqual({ probeEndedAt: 20_000.25, runEndedAt: 21_000 });
    expect(await ledgerItem(11)).toMatchObject({ sends: 1, probeEndedAt: 20_000.25, endedAt: 21_000 });
    expect(await marks(12)).toEqual({});
  });

  it("is no run item: the run queries of the benchmark skip it", async () => {
    await count(2, 1);
    const run = buildRunRecord(succeededRunState(2));
    await table.client.send(new PutItemCommand({ TableName: table.tableName, Item: marshallItem(run) }));
    expect(await queryRuns(table.client, table.tableName, "bench-1")).toEqual([run]);
    expect(await queryBenchmark(table.client, table.tableName, "bench-1")).toEqual({
      runs: [run],
      unrecorded: [],
    });
  });
});

describe("launch ledger (mocked DynamoDB)", () => {
  it("fails, naming the run, when the update returns no count", async () => {
    const ddb = mockClient(DynamoDBClient);
    ddb.on(UpdateItemCommand).resolves({});
    await expect(
      countLaunchSend(
        new DynamoDBClient({}),
        "t",
        { benchmarkId: "b", runIndex: 3, clientToken: "b-run0003" },
        1,
      ),
    ).rejects.toThrow("launch ledger of run 3 returned no count");
    expect(ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input).toMatchObject({
      TableName: "t",
      Key: { pk: { S: "BENCHMARK#b" }, sk: { S: "LAUNCH#0003" } },
      ReturnValues: "UPDATED_NEW",
    });
    ddb.restore();
  });
});
