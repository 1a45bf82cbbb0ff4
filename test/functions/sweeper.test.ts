import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import {
  DeleteKeyPairCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  EC2Client,
  type Instance,
  type KeyPairInfo,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { DescribeExecutionCommand, SFNClient } from "@aws-sdk/client-sfn";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { MetricRecord } from "../../functions/domain/boot-metrics.js";
import { expiredInstances, expiredKeyPairs } from "../../functions/domain/sweep-record.js";
import { parseMaxAgeMinutes, type SweeperDeps, sweep } from "../../functions/sweeper/sweeper.js";
import { ec2Error } from "./ec2-test-helpers.js";

const ec2Mock = mockClient(EC2Client);
const dynamoMock = mockClient(DynamoDBClient);
const sfnMock = mockClient(SFNClient);

const NOW = Date.parse("2025-06-15T12:00:00.000Z");
const minutesAgo = (minutes: number) => new Date(NOW - minutes * 60_000);

const tagged = (
  InstanceId: string,
  ageMinutes: number,
  state = "running",
  stack = "BootBench",
): Instance => ({
  InstanceId,
  LaunchTime: minutesAgo(ageMinutes),
  State: { Name: state as never },
  ClientToken: `${InstanceId}-token`,
  Tags: [
    { Key: "boot-bench:stack", Value: stack },
    { Key: "boot-bench:benchmark", Value: "weekly-2025-24" },
    { Key: "boot-bench:run", Value: "3" },
  ],
});

/** A benchmark's key pair as ImportKeyPair tags it (the guest-timings steps). */
const keyPair = (benchmarkId: string, ageMinutes: number, stack = "BootBench"): KeyPairInfo => ({
  KeyPairId: `key-${benchmarkId}`,
  KeyName: `boot-bench-${benchmarkId}`,
  KeyType: "ed25519",
  CreateTime: minutesAgo(ageMinutes),
  Tags: [
    { Key: "boot-bench:stack", Value: stack },
    { Key: "boot-bench:benchmark", Value: benchmarkId },
  ],
});
const STACK_FILTER = [{ Name: "tag:boot-bench:stack", Values: ["BootBench"] }];

let logs: Record<string, unknown>[];
let metricRecords: MetricRecord[];
let sleeps: number[];
const deps = (): SweeperDeps => ({
  ec2: new EC2Client({}),
  dynamodb: new DynamoDBClient({}),
  sfn: new SFNClient({}),
  config: { stackTag: "BootBench", tableName: "results", maxAgeMinutes: 30 },
  clock: () => NOW,
  sleep: async (ms) => {
    sleeps.push(ms);
  },
  logger: {
    info: (message, attributes) => logs.push({ level: "INFO", message, ...attributes }),
    error: (message, attributes) => logs.push({ level: "ERROR", message, ...attributes }),
  },
  publishMetrics: (record) => metricRecords.push(record),
  invocationId: "req-1",
  random: () => 0.5,
});

const describing = (...instances: Instance[]) =>
  ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: instances }] });
/**
 * DescribeKeyPairs as EC2 answers it: the stack's filter gets these key pairs; any other request (no
 * filter, another one) also gets `others`, key pairs of another stack.
 */
const describingKeyPairs = (keyPairs: KeyPairInfo[], others: KeyPairInfo[] = []) =>
  ec2Mock
    .on(DescribeKeyPairsCommand)
    .resolves({ KeyPairs: [...keyPairs, ...others] })
    .on(DescribeKeyPairsCommand, { Filters: STACK_FILTER })
    .resolves({ KeyPairs: keyPairs });
const deletedKeyPairIds = () =>
  ec2Mock.commandCalls(DeleteKeyPairCommand).map((c) => c.args[0].input.KeyPairId);
const sweepItem = () => unmarshall(dynamoMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item ?? {});

beforeEach(() => {
  ec2Mock.reset();
  dynamoMock.reset();
  sfnMock.reset();
  ec2Mock.on(TerminateInstancesCommand).resolves({});
  ec2Mock.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [] });
  ec2Mock.on(DeleteKeyPairCommand).resolves({ Return: true });
  dynamoMock.on(PutItemCommand).resolves({});
  // No guest key item unless a test stores one: its key pair's benchmark is not running.
  dynamoMock.on(GetItemCommand).resolves({});
  dynamoMock.on(UpdateItemCommand).resolves({});
  logs = [];
  metricRecords = [];
  sleeps = [];
});

describe("sweep", () => {
  it("looks only at this stack's tagged instances that are not already going away", async () => {
    describing();
    await sweep({}, deps());
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters).toEqual([
      { Name: "tag:boot-bench:stack", Values: ["BootBench"] },
      { Name: "instance-state-name", Values: ["pending", "running", "stopping", "stopped"] },
    ]);
  });

  it("terminates instances older than the bound, keeps younger ones, and records what it did", async () => {
    describing(tagged("i-0old", 45), tagged("i-0young", 29), tagged("i-0stopped", 31, "stopped"));
    const result = await sweep({ source: "aws.events", "detail-type": "Scheduled Event" }, deps());

    expect(ec2Mock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([
      ["i-0old", "i-0stopped"],
    ]);
    expect(result).toMatchObject({ examined: 3, maxAgeMinutes: 30, dryRun: false });
    expect(result.terminated.map((i) => [i.instanceId, i.state, i.ageSeconds])).toEqual([
      ["i-0old", "running", 2700],
      ["i-0stopped", "stopped", 1860],
    ]);
    expect(result.record).toEqual({
      pk: "SWEEP#2025-06-15",
      sk: "2025-06-15T12:00:00.000Z#req-1",
    });
    const item = unmarshall(dynamoMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item ?? {});
    expect(item).toMatchObject({
      pk: "SWEEP#2025-06-15",
      itemType: "sweep",
      trigger: "schedule",
      stackTag: "BootBench",
      maxAgeMinutes: 30,
      examined: 3,
      failed: [],
      terminated: [
        {
          instanceId: "i-0old",
          benchmarkId: "weekly-2025-24",
          runIndex: 3,
          clientToken: "i-0old-token",
          launchTime: "2025-06-15T11:15:00.000Z",
        },
        expect.objectContaining({ instanceId: "i-0stopped" }),
      ],
    });
    expect(dynamoMock.commandCalls(PutItemCommand)[0]?.args[0].input.TableName).toBe("results");
    expect(logs).toEqual([
      expect.objectContaining({
        level: "INFO",
        message: "boot-bench sweep",
        trigger: "schedule",
        examined: 3,
        expired: 2,
        terminated: [expect.objectContaining({ instanceId: "i-0old" }), expect.anything()],
      }),
    ]);
    expect(metricRecords).toEqual([
      {
        dimensions: {},
        metrics: [
          { name: "instancesExpired", unit: "Count", value: 2 },
          { name: "instancesSwept", unit: "Count", value: 2 },
          { name: "keyPairsDeleted", unit: "Count", value: 0 },
          { name: "sweepFailures", unit: "Count", value: 0 },
        ],
        metadata: { maxAgeMinutes: 30, dryRun: "false" },
      },
    ]);
  });

  it("writes no item when nothing was old enough, but still logs the sweep", async () => {
    describing(tagged("i-0young", 5));
    const result = await sweep({}, deps());
    expect(result.terminated).toEqual([]);
    expect(result.record).toBeUndefined();
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(dynamoMock.commandCalls(PutItemCommand)).toHaveLength(0);
    expect(logs).toEqual([expect.objectContaining({ examined: 1, expired: 0, trigger: "manual" })]);
  });

  it("takes a lower bound from a manual invocation, down to 0 (everything)", async () => {
    describing(tagged("i-0new", 0));
    const result = await sweep({ maxAgeMinutes: 0 }, deps());
    expect(result.terminated.map((i) => i.instanceId)).toEqual(["i-0new"]);
    await expect(sweep({ maxAgeMinutes: -1 }, deps())).rejects.toThrow(/maxAgeMinutes/);
    await expect(sweep({ maxAgeMinutes: "5" as never }, deps())).rejects.toThrow(/maxAgeMinutes/);
  });

  it("only reports in a dry run", async () => {
    describing(tagged("i-0old", 45));
    const result = await sweep({ dryRun: true }, deps());
    expect(result.expired.map((i) => i.instanceId)).toEqual(["i-0old"]);
    expect(result.terminated).toEqual([]);
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(dynamoMock.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it("ignores an instance without the stack's tag even when the endpoint returns it", async () => {
    describing(tagged("i-0other", 600, "running", "SomeoneElse"));
    const result = await sweep({}, deps());
    expect(result.examined).toBe(0);
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });

  it("follows DescribeInstances pages", async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [tagged("i-0a", 60)] }], NextToken: "page-2" })
      .resolvesOnce({ Reservations: [{ Instances: [tagged("i-0b", 60)] }] });
    const result = await sweep({}, deps());
    expect(result.terminated.map((i) => i.instanceId)).toEqual(["i-0a", "i-0b"]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[1]?.args[0].input.NextToken).toBe("page-2");
  });

  it("retries throttling with backoff", async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejectsOnce(ec2Error("RequestLimitExceeded"))
      .resolves({ Reservations: [{ Instances: [tagged("i-0a", 60)] }] });
    ec2Mock
      .on(TerminateInstancesCommand)
      .rejectsOnce(ec2Error("RequestLimitExceeded"))
      .rejectsOnce(ec2Error("RequestLimitExceeded"))
      .resolves({});
    const result = await sweep({}, deps());
    expect(result.terminated.map((i) => i.instanceId)).toEqual(["i-0a"]);
    expect(sleeps).toEqual([125, 125, 250]);
  });

  it("goes one by one when one id fails a batch, skipping instances that are already gone", async () => {
    describing(tagged("i-0a", 60), tagged("i-0gone", 61));
    ec2Mock
      .on(TerminateInstancesCommand, { InstanceIds: ["i-0gone", "i-0a"] })
      .rejects(ec2Error("InvalidInstanceID.NotFound"))
      .on(TerminateInstancesCommand, { InstanceIds: ["i-0gone"] })
      .rejects(ec2Error("InvalidInstanceID.NotFound"));
    const result = await sweep({}, deps());
    expect(result.terminated.map((i) => i.instanceId)).toEqual(["i-0a"]);
    expect(result.failed).toEqual([]);
  });

  it("records an instance it could not terminate, then fails the invocation", async () => {
    describing(tagged("i-0a", 60), tagged("i-0denied", 61));
    ec2Mock
      .on(TerminateInstancesCommand, { InstanceIds: ["i-0denied", "i-0a"] })
      .rejects(ec2Error("UnauthorizedOperation"))
      .on(TerminateInstancesCommand, { InstanceIds: ["i-0denied"] })
      .rejects(ec2Error("UnauthorizedOperation", "not authorized"));
    await expect(sweep({}, deps())).rejects.toMatchObject({
      name: "BootBench.SweepIncomplete",
      message: expect.stringContaining("i-0denied (UnauthorizedOperation)"),
    });
    const item = unmarshall(dynamoMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item ?? {});
    expect(item.terminated.map((i: { instanceId: string }) => i.instanceId)).toEqual(["i-0a"]);
    expect(item.failed).toEqual([
      { instanceId: "i-0denied", error: { name: "UnauthorizedOperation", message: "not authorized" } },
    ]);
    expect(logs[0]).toMatchObject({ level: "ERROR" });
    // Published before the sweep fails: the failure is what the sweepFailures count is for.
    expect(metricRecords[0]?.metrics).toContainEqual({ name: "sweepFailures", unit: "Count", value: 1 });
  });
});

describe("sweep, key pairs", () => {
  const guestKeyItem = (benchmarkId: string, extra: Record<string, { S: string }> = {}) => ({
    Item: {
      pk: { S: `BENCHMARK#${benchmarkId}` },
      sk: { S: "GUESTKEY" },
      itemType: { S: "guestKey" },
      executionId: {
        S: `arn:aws:states:us-east-1:123456789012:execution:BootBench-Benchmark:${benchmarkId}`,
      },
      ...extra,
    },
  });

  it("keeps an old key pair whose benchmark still runs: its runs go on launching with it", async () => {
    describing();
    describingKeyPairs([keyPair("long-bench", 300), keyPair("done-bench", 300)]);
    dynamoMock
      .on(GetItemCommand)
      .callsFake((input: { Key: { pk: { S: string } } }) =>
        guestKeyItem(input.Key.pk.S.replace("BENCHMARK#", "")),
      );
    sfnMock.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => ({
      status: input.executionArn.endsWith(":long-bench") ? "RUNNING" : "SUCCEEDED",
    }));
    const result = await sweep({}, deps());
    expect(deletedKeyPairIds()).toEqual(["key-done-bench"]);
    expect(result.keyPairsInUse.map((k) => k.keyPairId)).toEqual(["key-long-bench"]);
    expect(sfnMock.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn)).toEqual([
      "arn:aws:states:us-east-1:123456789012:execution:BootBench-Benchmark:long-bench",
      "arn:aws:states:us-east-1:123456789012:execution:BootBench-Benchmark:done-bench",
    ]);
    // The deleted key pair's private half goes too.
    const retire = dynamoMock.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(retire?.Key).toEqual({ pk: { S: "BENCHMARK#done-bench" }, sk: { S: "GUESTKEY" } });
    expect(retire?.UpdateExpression).toBe("SET retiredAt = :at REMOVE privateKey");
  });

  it("deletes without asking Step Functions when the key is retired or was never stored, or the execution is gone", async () => {
    describing();
    describingKeyPairs([keyPair("retired", 300), keyPair("unknown", 300), keyPair("forgotten", 300)]);
    dynamoMock.on(GetItemCommand).callsFake((input: { Key: { pk: { S: string } } }) => {
      const id = input.Key.pk.S.replace("BENCHMARK#", "");
      if (id === "retired") return guestKeyItem(id, { retiredAt: { S: "2025-06-15T12:00:00.000Z" } });
      if (id === "forgotten") return guestKeyItem(id);
      return {};
    });
    sfnMock
      .on(DescribeExecutionCommand)
      .rejects(Object.assign(new Error("gone"), { name: "ExecutionDoesNotExist" }));
    const result = await sweep({}, deps());
    expect(deletedKeyPairIds()).toEqual(["key-retired", "key-unknown", "key-forgotten"]);
    expect(result.keyPairsInUse).toEqual([]);
    expect(sfnMock.commandCalls(DescribeExecutionCommand)).toHaveLength(1);
  });

  it("keeps a key pair it cannot tell about, and says so: the sweep fails and the next one asks again", async () => {
    describing();
    describingKeyPairs([keyPair("unsure", 300)]);
    dynamoMock.on(GetItemCommand).resolves(guestKeyItem("unsure"));
    sfnMock
      .on(DescribeExecutionCommand)
      .rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
    await expect(sweep({}, deps())).rejects.toMatchObject({ name: "BootBench.SweepIncomplete" });
    expect(deletedKeyPairIds()).toEqual([]);
  });

  it("describes only this stack's key pairs, after the instances", async () => {
    describing(tagged("i-0old", 45));
    await sweep({}, deps());
    const calls = ec2Mock.calls().map((c) => c.args[0].constructor.name);
    expect(calls).toEqual([
      "DescribeInstancesCommand",
      "TerminateInstancesCommand",
      "DescribeKeyPairsCommand",
    ]);
    expect(ec2Mock.commandCalls(DescribeKeyPairsCommand)[0]?.args[0].input).toEqual({
      Filters: STACK_FILTER,
    });
  });

  it("deletes key pairs older than the bound by id, keeps younger ones and other stacks', and records them", async () => {
    describing();
    describingKeyPairs(
      [keyPair("weekly-a", 45), keyPair("weekly-young", 29), keyPair("weekly-b", 31)],
      [keyPair("theirs", 600, "SomeoneElse")],
    );
    const result = await sweep({ source: "aws.events", "detail-type": "Scheduled Event" }, deps());

    expect(deletedKeyPairIds()).toEqual(["key-weekly-a", "key-weekly-b"]);
    expect(ec2Mock.commandCalls(DeleteKeyPairCommand)[0]?.args[0].input).toEqual({
      KeyPairId: "key-weekly-a",
    });
    const deleted = [
      {
        keyName: "boot-bench-weekly-a",
        keyPairId: "key-weekly-a",
        benchmarkId: "weekly-a",
        createTime: "2025-06-15T11:15:00.000Z",
        ageSeconds: 2700,
      },
      {
        keyName: "boot-bench-weekly-b",
        keyPairId: "key-weekly-b",
        benchmarkId: "weekly-b",
        createTime: "2025-06-15T11:29:00.000Z",
        ageSeconds: 1860,
      },
    ];
    expect(result).toMatchObject({
      examined: 0,
      terminated: [],
      keyPairsExamined: 3,
      keyPairsExpired: deleted,
      keyPairsDeleted: deleted,
      keyPairsFailed: [],
    });
    // Written although no instance was terminated: the key pairs alone are worth a record.
    expect(result.record).toEqual({ pk: "SWEEP#2025-06-15", sk: "2025-06-15T12:00:00.000Z#req-1" });
    expect(sweepItem()).toEqual({
      pk: "SWEEP#2025-06-15",
      sk: "2025-06-15T12:00:00.000Z#req-1",
      itemType: "sweep",
      sweptAt: "2025-06-15T12:00:00.000Z",
      stackTag: "BootBench",
      maxAgeMinutes: 30,
      trigger: "schedule",
      invocationId: "req-1",
      examined: 0,
      terminated: [],
      failed: [],
      keyPairsExamined: 3,
      keyPairsDeleted: deleted,
      keyPairsFailed: [],
    });
    expect(logs).toEqual([
      expect.objectContaining({
        level: "INFO",
        message: "boot-bench sweep",
        keyPairsExamined: 3,
        keyPairsExpired: 2,
        keyPairsDeleted: deleted.map(({ createTime, ...logged }) => logged),
        keyPairsFailed: [],
      }),
    ]);
    expect(metricRecords).toEqual([
      {
        dimensions: {},
        metrics: [
          { name: "instancesExpired", unit: "Count", value: 0 },
          { name: "instancesSwept", unit: "Count", value: 0 },
          { name: "keyPairsDeleted", unit: "Count", value: 2 },
          { name: "sweepFailures", unit: "Count", value: 0 },
        ],
        metadata: { maxAgeMinutes: 30, dryRun: "false" },
      },
    ]);
  });

  it("writes no item when no key pair was old enough", async () => {
    describing();
    describingKeyPairs([keyPair("weekly-young", 5)]);
    const result = await sweep({}, deps());
    expect(result).toMatchObject({ keyPairsExamined: 1, keyPairsExpired: [], keyPairsDeleted: [] });
    expect(deletedKeyPairIds()).toEqual([]);
    expect(dynamoMock.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it("takes the lower bound of a manual invocation for key pairs too", async () => {
    describing();
    describingKeyPairs([keyPair("weekly-now", 0)]);
    const result = await sweep({ maxAgeMinutes: 0 }, deps());
    expect(result.keyPairsDeleted.map((k) => k.keyName)).toEqual(["boot-bench-weekly-now"]);
  });

  it("only reports key pairs in a dry run", async () => {
    describing();
    describingKeyPairs([keyPair("weekly-a", 45)]);
    const result = await sweep({ dryRun: true }, deps());
    expect(result.keyPairsExpired.map((k) => k.keyPairId)).toEqual(["key-weekly-a"]);
    expect(result.keyPairsDeleted).toEqual([]);
    expect(ec2Mock.commandCalls(DeleteKeyPairCommand)).toHaveLength(0);
    expect(dynamoMock.commandCalls(PutItemCommand)).toHaveLength(0);
    expect(metricRecords[0]?.metrics).toContainEqual({ name: "keyPairsDeleted", unit: "Count", value: 0 });
  });

  it("leaves a key pair without the stack's tag, or without a CreateTime, even when the endpoint returns it", async () => {
    describing();
    const { CreateTime: _, ...undated } = keyPair("undated", 600);
    ec2Mock
      .on(DescribeKeyPairsCommand)
      .resolves({ KeyPairs: [keyPair("theirs", 600, "SomeoneElse"), undated] });
    const result = await sweep({}, deps());
    expect(result.keyPairsExamined).toBe(0);
    expect(ec2Mock.commandCalls(DeleteKeyPairCommand)).toHaveLength(0);
  });

  it("retries throttled key pair calls with the instances' backoff", async () => {
    describing();
    ec2Mock
      .on(DescribeKeyPairsCommand)
      .rejectsOnce(ec2Error("RequestLimitExceeded"))
      .resolves({ KeyPairs: [keyPair("weekly-a", 45)] });
    ec2Mock
      .on(DeleteKeyPairCommand)
      .rejectsOnce(ec2Error("RequestLimitExceeded"))
      .rejectsOnce(ec2Error("RequestLimitExceeded"))
      .resolves({ Return: true, KeyPairId: "key-weekly-a" });
    const result = await sweep({}, deps());
    expect(result.keyPairsDeleted.map((k) => k.keyPairId)).toEqual(["key-weekly-a"]);
    expect(deletedKeyPairIds()).toEqual(["key-weekly-a", "key-weekly-a", "key-weekly-a"]);
    expect(sleeps).toEqual([125, 125, 250]);
  });

  it("counts a key pair deleted meanwhile as neither deleted nor failed", async () => {
    describing();
    describingKeyPairs([keyPair("weekly-gone", 45)]);
    ec2Mock.on(DeleteKeyPairCommand).rejects(ec2Error("InvalidKeyPair.NotFound"));
    const result = await sweep({}, deps());
    expect(result).toMatchObject({ keyPairsDeleted: [], keyPairsFailed: [] });
  });

  it("records a key pair it could not delete, goes on with the others, then fails the invocation", async () => {
    describing(tagged("i-0old", 45));
    describingKeyPairs([keyPair("weekly-denied", 50), keyPair("weekly-b", 45)]);
    ec2Mock
      .on(DeleteKeyPairCommand, { KeyPairId: "key-weekly-denied" })
      .rejects(ec2Error("UnauthorizedOperation", "not authorized"));
    await expect(sweep({}, deps())).rejects.toMatchObject({
      name: "BootBench.SweepIncomplete",
      message: "could not delete key pair boot-bench-weekly-denied key-weekly-denied (UnauthorizedOperation)",
    });
    expect(deletedKeyPairIds()).toEqual(["key-weekly-denied", "key-weekly-b"]);
    const item = sweepItem();
    expect(item.terminated.map((i: { instanceId: string }) => i.instanceId)).toEqual(["i-0old"]);
    expect(item.keyPairsDeleted.map((k: { keyPairId: string }) => k.keyPairId)).toEqual(["key-weekly-b"]);
    expect(item.keyPairsFailed).toEqual([
      {
        keyName: "boot-bench-weekly-denied",
        keyPairId: "key-weekly-denied",
        error: { name: "UnauthorizedOperation", message: "not authorized" },
      },
    ]);
    expect(logs[0]).toMatchObject({ level: "ERROR", keyPairsFailed: item.keyPairsFailed });
    expect(metricRecords[0]?.metrics).toEqual(
      expect.arrayContaining([
        { name: "instancesSwept", unit: "Count", value: 1 },
        { name: "keyPairsDeleted", unit: "Count", value: 1 },
        { name: "sweepFailures", unit: "Count", value: 1 },
      ]),
    );
  });

  it("names failed instances and key pairs together", async () => {
    describing(tagged("i-0denied", 60));
    describingKeyPairs([keyPair("weekly-denied", 50)]);
    ec2Mock.on(TerminateInstancesCommand).rejects(ec2Error("UnauthorizedOperation"));
    ec2Mock.on(DeleteKeyPairCommand).rejects(ec2Error("UnauthorizedOperation"));
    await expect(sweep({}, deps())).rejects.toThrow(
      "could not terminate i-0denied (UnauthorizedOperation); could not delete key pair " +
        "boot-bench-weekly-denied key-weekly-denied (UnauthorizedOperation)",
    );
    expect(metricRecords[0]?.metrics).toContainEqual({ name: "sweepFailures", unit: "Count", value: 2 });
  });

  it("still terminates and records the instances when key pairs cannot be listed, then fails", async () => {
    describing(tagged("i-0old", 45));
    ec2Mock.on(DescribeKeyPairsCommand).rejects(ec2Error("UnauthorizedOperation", "not authorized"));
    await expect(sweep({}, deps())).rejects.toThrow("could not describe key pairs (UnauthorizedOperation)");
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    expect(sweepItem()).toMatchObject({
      terminated: [expect.objectContaining({ instanceId: "i-0old" })],
      keyPairsExamined: 0,
      keyPairsDeleted: [],
      keyPairsDescribeError: { name: "UnauthorizedOperation", message: "not authorized" },
    });
    expect(metricRecords[0]?.metrics).toContainEqual({ name: "sweepFailures", unit: "Count", value: 1 });
  });
});

describe("expiredKeyPairs", () => {
  it("takes key pairs created at or before the cutoff, oldest first", () => {
    const at = (minutes: number) => NOW - minutes * 60_000;
    const expired = expiredKeyPairs(
      [
        { keyPairId: "key-a", keyName: "a", createTime: at(30) },
        { keyPairId: "key-b", keyName: "b", createTime: at(50) },
        { keyPairId: "key-c", keyName: "c", createTime: at(29.99) },
      ],
      NOW,
      30,
    );
    expect(expired.map((k) => k.keyPairId)).toEqual(["key-b", "key-a"]);
  });
});

describe("expiredInstances", () => {
  it("takes instances launched at or before the cutoff, oldest first, in sweepable states only", () => {
    const at = (minutes: number) => NOW - minutes * 60_000;
    const expired = expiredInstances(
      [
        { instanceId: "i-a", state: "running", launchTime: at(30) },
        { instanceId: "i-b", state: "pending", launchTime: at(50) },
        { instanceId: "i-c", state: "running", launchTime: at(29.99) },
        { instanceId: "i-d", state: "shutting-down", launchTime: at(90) },
      ],
      NOW,
      30,
    );
    expect(expired.map((i) => i.instanceId)).toEqual(["i-b", "i-a"]);
  });
});

describe("parseMaxAgeMinutes", () => {
  it("accepts minutes >= 0 and names a bad value", () => {
    expect(parseMaxAgeMinutes("30")).toBe(30);
    expect(parseMaxAgeMinutes("0")).toBe(0);
    expect(() => parseMaxAgeMinutes("soon")).toThrow(/MAX_AGE_MINUTES.*"soon"/);
    expect(() => parseMaxAgeMinutes(" ")).toThrow(/MAX_AGE_MINUTES/);
  });
});
