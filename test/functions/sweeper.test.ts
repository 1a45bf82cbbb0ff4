import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import {
  DescribeInstancesCommand,
  EC2Client,
  type Instance,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { MetricRecord } from "../../functions/domain/boot-metrics.js";
import { expiredInstances } from "../../functions/domain/sweep-record.js";
import { parseMaxAgeMinutes, type SweeperDeps, sweep } from "../../functions/sweeper/sweeper.js";
import { ec2Error } from "./ec2-test-helpers.js";

const ec2Mock = mockClient(EC2Client);
const dynamoMock = mockClient(DynamoDBClient);

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

let logs: Record<string, unknown>[];
let metricRecords: MetricRecord[];
let sleeps: number[];
const deps = (): SweeperDeps => ({
  ec2: new EC2Client({}),
  dynamodb: new DynamoDBClient({}),
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

beforeEach(() => {
  ec2Mock.reset();
  dynamoMock.reset();
  ec2Mock.on(TerminateInstancesCommand).resolves({});
  dynamoMock.on(PutItemCommand).resolves({});
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
