import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { marshallItem } from "../../functions/aws/benchmark-table.js";
import { buildRunRecord, type RunRecord } from "../../functions/domain/run-record.js";
import { recordRun } from "../../functions/record-run/record-run.js";
import { failedRunState, succeededRunState } from "../domain/run-state-fixtures.js";

const ddb = mockClient(DynamoDBClient);
const published: RunRecord[] = [];
const deps = {
  client: new DynamoDBClient({}),
  tableName: "boot-bench-table",
  publishRunMetrics: (record: RunRecord) => published.push(record),
};

const conditionalCheckFailed = () =>
  new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });

beforeEach(() => {
  ddb.reset();
  published.length = 0;
});

describe("recordRun", () => {
  it("writes the run item once, conditional on its absence", async () => {
    ddb.on(PutItemCommand).resolves({});
    const state = succeededRunState(3);

    await expect(recordRun(state, deps)).resolves.toEqual({ runIndex: 3, status: "succeeded" });

    const puts = ddb.commandCalls(PutItemCommand);
    expect(puts).toHaveLength(1);
    const input = puts[0]?.args[0].input;
    expect(input?.TableName).toBe("boot-bench-table");
    expect(input?.ConditionExpression).toBe("attribute_not_exists(pk)");
    expect(input?.Item).toEqual(marshallItem(buildRunRecord(state)));
    expect(input?.Item?.pk).toEqual({ S: "BENCHMARK#bench-1" });
    expect(input?.Item?.sk).toEqual({ S: "RUN#0003" });
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(0);
    expect(published).toEqual([buildRunRecord(state)]);
  });

  it("puts a failed run into FailedRuns", async () => {
    ddb.on(PutItemCommand).resolves({});
    await expect(recordRun(failedRunState(1, "InsufficientInstanceCapacity", "none"), deps)).resolves.toEqual(
      {
        runIndex: 1,
        status: "failed",
      },
    );
    expect(ddb.commandCalls(PutItemCommand)[0]?.args[0].input.Item?.failedPk).toEqual({ S: "FAILED_RUN" });
  });

  it("returns the stored status when the run was already recorded (a retried step writes once)", async () => {
    const first = buildRunRecord(failedRunState(2, "BootBench.RunningTimeout", "slow"));
    ddb.on(PutItemCommand).rejects(conditionalCheckFailed());
    ddb.on(GetItemCommand).resolves({ Item: marshallItem(first) });

    // The retry carries a different state, but the first record stands.
    await expect(recordRun(succeededRunState(2), deps)).resolves.toEqual({ runIndex: 2, status: "timeout" });

    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(1);
    // The invocation that stored the run published its metrics; CloudWatch must not count it twice.
    expect(published).toEqual([]);
    const get = ddb.commandCalls(GetItemCommand)[0]?.args[0].input;
    expect(get).toEqual({
      TableName: "boot-bench-table",
      Key: { pk: { S: "BENCHMARK#bench-1" }, sk: { S: "RUN#0002" } },
      ConsistentRead: true,
    });
  });

  it("recognises the condition failure by name, whichever SDK copy threw it", async () => {
    const error = Object.assign(new Error("The conditional request failed"), {
      name: "ConditionalCheckFailedException",
    });
    ddb.on(PutItemCommand).rejects(error);
    ddb.on(GetItemCommand).resolves({ Item: marshallItem(buildRunRecord(succeededRunState(1))) });
    await expect(recordRun(succeededRunState(1), deps)).resolves.toEqual({
      runIndex: 1,
      status: "succeeded",
    });
  });

  it("fails when the existing item cannot be read back", async () => {
    ddb.on(PutItemCommand).rejects(conditionalCheckFailed());
    ddb.on(GetItemCommand).resolves({});
    await expect(recordRun(succeededRunState(1), deps)).rejects.toThrow(/exists but could not be read/);
  });

  it("fails when the existing item is not a run item", async () => {
    ddb.on(PutItemCommand).rejects(conditionalCheckFailed());
    ddb.on(GetItemCommand).resolves({ Item: { pk: { S: "BENCHMARK#bench-1" }, sk: { S: "RUN#0001" } } });
    await expect(recordRun(succeededRunState(1), deps)).rejects.toThrow(/is not a run item/);
  });

  it("lets other DynamoDB errors through for Step Functions to retry", async () => {
    ddb
      .on(PutItemCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} }));
    await expect(recordRun(succeededRunState(1), deps)).rejects.toMatchObject({
      name: "ProvisionedThroughputExceededException",
    });
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(0);
  });
});

describe("record-run handler", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it("reads TABLE_NAME at load and records through the module's client", async () => {
    vi.stubEnv("TABLE_NAME", "from-env");
    ddb.on(PutItemCommand).resolves({});
    const { handler } = await import("../../functions/record-run/index.js");
    await expect(handler(succeededRunState(1), {} as never)).resolves.toEqual({
      runIndex: 1,
      status: "succeeded",
    });
    expect(ddb.commandCalls(PutItemCommand)[0]?.args[0].input.TableName).toBe("from-env");
  });

  it("refuses to load without TABLE_NAME", async () => {
    vi.stubEnv("TABLE_NAME", "");
    await expect(import("../../functions/record-run/index.js")).rejects.toThrow(
      "Missing required environment variable TABLE_NAME",
    );
  });
});
