/**
 * `boot-bench run` against a deployed stack, with mocked Step Functions, CloudFormation and DynamoDB
 * (aws-sdk-client-mock): the stack's outputs, StartExecution, progress from the history, the table.
 */
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { findDeployment, progressDescriber, runDeployed } from "../../cli/deployed-run.js";
import { marshallItem } from "../../functions/aws/benchmark-table.js";
import { compareWithPrevious } from "../../functions/domain/regression.js";
import type { SuiteRecord } from "../../functions/domain/suite.js";
import { benchmarkRecords } from "../support/benchmark-records.js";

const sfnMock = mockClient(SFNClient);
const cfnMock = mockClient(CloudFormationClient);
const dynamoDbMock = mockClient(DynamoDBClient);
const MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:BootBench-Benchmark";
const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:BootBench-Benchmark:weekly-1";

const clients = () => ({
  sfn: new SFNClient({}),
  cloudFormation: new CloudFormationClient({}),
  dynamoDb: new DynamoDBClient({}),
});

function io() {
  const out: string[] = [];
  const err: string[] = [];
  let now = 0;
  return {
    out,
    err,
    io: {
      out: (line: string) => out.push(line),
      err: (line: string) => err.push(line),
      pollMs: 5000,
      sleep: async (ms: number) => {
        now += ms;
      },
      now: () => now,
    },
  };
}

const history: HistoryEvent[] = [
  { id: 1, type: "ExecutionStarted", timestamp: new Date() },
  {
    id: 2,
    type: "TaskStateEntered",
    timestamp: new Date(),
    stateEnteredEventDetails: { name: "ResolveImage" },
  },
  {
    id: 3,
    type: "MapIterationStarted",
    timestamp: new Date(),
    mapIterationStartedEventDetails: { index: 1 },
  },
  {
    id: 4,
    type: "TaskStateEntered",
    timestamp: new Date(),
    stateEnteredEventDetails: { name: "LaunchInstance" },
  },
  { id: 5, type: "ExecutionSucceeded", timestamp: new Date() },
];

beforeEach(() => {
  sfnMock.reset();
  cfnMock.reset();
  dynamoDbMock.reset();
  cfnMock.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: "BootBench",
        CreationTime: new Date(),
        StackStatus: "CREATE_COMPLETE",
        Outputs: [
          { OutputKey: "StateMachineArn", OutputValue: MACHINE },
          { OutputKey: "TableName", OutputValue: "BootBench-Results" },
        ],
      },
    ],
  });
  sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
});

describe("finding the deployment", () => {
  it("reads the state machine and table from the stack's outputs", async () => {
    expect(await findDeployment({ stack: "BootBench" }, new CloudFormationClient({}))).toEqual({
      stateMachineArn: MACHINE,
      tableName: "BootBench-Results",
    });
    expect(cfnMock.commandCalls(DescribeStacksCommand)[0]?.args[0].input).toEqual({ StackName: "BootBench" });
  });

  it("takes --state-machine-arn and --table as given", async () => {
    const found = await findDeployment(
      { stack: "BootBench", stateMachineArn: "arn:x", table: "t" },
      new CloudFormationClient({}),
    );
    expect(found).toEqual({ stateMachineArn: "arn:x", tableName: "t" });
  });

  it("says what to do when the stack has no such output", async () => {
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [] });
    await expect(findDeployment({ stack: "Other" }, new CloudFormationClient({}))).rejects.toThrow(
      /Stack Other has no StateMachineArn output; is it deployed\? Or pass --state-machine-arn/,
    );
  });
});

describe("a deployed single benchmark", () => {
  const { summary } = benchmarkRecords({
    benchmarkId: "weekly-1",
    startedAt: "2025-09-05T10:00:00.000Z",
    amiId: "ami-0123456789abcdef0",
    name: "FreeBSD 15.0-CURRENT-amd64-20250904 UFS",
    runs: [
      { closed: 6, open: 2 },
      { closed: 5, open: 2.5 },
      { closed: 5.2, open: 2.4 },
    ],
  });

  it("starts the execution, reports progress from the history, prints the table, exits 0", async () => {
    sfnMock
      .on(DescribeExecutionCommand)
      .resolvesOnce({
        executionArn: EXECUTION,
        status: "RUNNING",
        stateMachineArn: MACHINE,
        startDate: new Date(),
      })
      .resolves({
        executionArn: EXECUTION,
        status: "SUCCEEDED",
        stateMachineArn: MACHINE,
        startDate: new Date(),
      });
    sfnMock
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: history.slice(0, 2) })
      .resolves({ events: history });
    dynamoDbMock.on(GetItemCommand).resolves({ Item: marshallItem(summary) });
    const t = io();

    const code = await runDeployed(
      { image: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT", instanceType: "c7i.large" },
      { stateMachineArn: MACHINE, tableName: "BootBench-Results" },
      clients(),
      t.io,
      "weekly-1",
    );

    expect(code).toBe(0);
    expect(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: MACHINE,
      name: "weekly-1",
      input: JSON.stringify({
        image: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
        instanceType: "c7i.large",
      }),
    });
    expect(t.err).toEqual([
      `started benchmark execution ${EXECUTION}`,
      "[+0s] resolving image",
      "[+5s] run 2: launching",
      "[+5s] succeeded",
    ]);
    expect(dynamoDbMock.commandCalls(GetItemCommand)[0]?.args[0].input.Key).toEqual({
      pk: { S: "BENCHMARK#weekly-1" },
      sk: { S: "SUMMARY" },
    });
    expect(t.out[0]).toMatch(/^AMI Id +AMI Name/);
    expect(t.out[0]).toContain("FreeBSD 15.0-CURRENT-amd64-20250904 UFS");
  });

  it("exits 2 and says why when the execution failed", async () => {
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION,
      status: "FAILED",
      stateMachineArn: MACHINE,
      startDate: new Date(),
      error: "BootBench.ImageNotFound",
      cause: JSON.stringify({
        errorType: "BootBench.ImageNotFound",
        errorMessage: "SSM parameter /x does not exist",
      }),
    });
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [] });
    dynamoDbMock.on(GetItemCommand).resolves({});
    const t = io();
    const code = await runDeployed(
      { image: "/x", instanceType: "c7i.large" },
      { stateMachineArn: MACHINE, tableName: "t" },
      clients(),
      t.io,
    );
    expect(code).toBe(2);
    expect(t.out.at(-1)).toBe(
      "\nExecution FAILED with BootBench.ImageNotFound: SSM parameter /x does not exist",
    );
  });
});

/** Six runs (the first discarded) with totals `total` plus 0, 0.1 … 0.5 s. */
const steadyRuns = (total: number) =>
  Array.from({ length: 6 }, (_, i) => ({ closed: total - 3 + i / 10, open: 3 }));

describe("a deployed suite", () => {
  it("follows the child executions and prints the suite's table, skipped targets and regressions", async () => {
    const { summary } = benchmarkRecords({
      benchmarkId: "freebsd-weekly-1a2b3c4d-000",
      startedAt: "2025-09-05T10:00:00.000Z",
      amiId: "ami-0123456789abcdef0",
      name: "FreeBSD 15.0-CURRENT-amd64-20250904 UFS",
      series: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
      runs: steadyRuns(12),
    });
    const { summary: previous } = benchmarkRecords({
      benchmarkId: "freebsd-weekly-99999999-000",
      startedAt: "2025-08-29T10:00:00.000Z",
      amiId: "ami-0aaaaaaaaaaaaaaaa",
      name: "FreeBSD 15.0-CURRENT-amd64-20250828 UFS",
      series: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
      runs: steadyRuns(8),
    });
    const suiteRecord: SuiteRecord = {
      pk: "SUITE#weekly-1",
      sk: "SUMMARY",
      itemType: "suite",
      suiteRunId: "weekly-1",
      name: "freebsd-weekly",
      executionId: EXECUTION,
      startedAt: "2025-09-05T10:00:00.000Z",
      finishedAt: "2025-09-05T10:20:00.000Z",
      force: false,
      status: "succeeded",
      thresholds: { relative: 0.1, absoluteSeconds: 0.5 },
      benchmarks: [
        {
          benchmarkId: "freebsd-weekly-1a2b3c4d-000",
          image: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
          amiId: "ami-0123456789abcdef0",
          imageName: "FreeBSD 15.0-CURRENT-amd64-20250904 UFS",
          instanceType: "c7i.large",
          status: "succeeded",
          total: 12,
          comparison: compareWithPrevious(summary, previous, { relative: 0.1, absoluteSeconds: 0.5 }),
          // The control slowed by as much, the same week: the platform's change more likely.
          platform: {
            controlBenchmarkId: "freebsd-weekly-1a2b3c4d-001",
            controlImage: "ami-0cccccccccccccccc",
            controlAmiId: "ami-0cccccccccccccccc",
            controlImageName: "debian-12-amd64-20250814-2204",
            control: compareWithPrevious(summary, previous, { relative: 0.1, absoluteSeconds: 0.5 }),
            drift: true,
          },
        },
      ],
      skipped: [
        {
          target: 0,
          reason: "already-benchmarked",
          image: "/aws/service/freebsd/amd64/base/ufs/14.3/STABLE",
          amiId: "ami-0bbbbbbbbbbbbbbbb",
          architecture: "x86_64",
          instanceType: "c7i.large",
          previousBenchmarkId: "freebsd-weekly-99999999-001",
          previousStartedAt: "2025-08-29T10:00:00.000Z",
        },
      ],
      unresolved: [],
    };
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION,
      status: "SUCCEEDED",
      stateMachineArn: MACHINE,
      startDate: new Date(),
    });
    const child =
      "arn:aws:states:us-east-1:123456789012:execution:BootBench-Benchmark:freebsd-weekly-1a2b3c4d-000";
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: [
        {
          id: 1,
          type: "TaskStateEntered",
          timestamp: new Date(),
          stateEnteredEventDetails: { name: "DiscoverTargets" },
        },
        {
          id: 2,
          type: "TaskSubmitted",
          timestamp: new Date(),
          taskSubmittedEventDetails: {
            resourceType: "states",
            resource: "startExecution.sync:2",
            output: JSON.stringify({ ExecutionArn: child }),
          },
        },
        {
          id: 3,
          type: "TaskSucceeded",
          timestamp: new Date(),
          taskSucceededEventDetails: {
            resourceType: "states",
            resource: "startExecution.sync:2",
            output: JSON.stringify({ ExecutionArn: child, Status: "SUCCEEDED" }),
          },
        },
      ],
    });
    dynamoDbMock.on(GetItemCommand, { Key: { pk: { S: "SUITE#weekly-1" }, sk: { S: "SUMMARY" } } }).resolves({
      Item: marshallItem(suiteRecord),
    });
    dynamoDbMock
      .on(GetItemCommand, {
        Key: { pk: { S: "BENCHMARK#freebsd-weekly-1a2b3c4d-000" }, sk: { S: "SUMMARY" } },
      })
      .resolves({ Item: marshallItem(summary) });
    const t = io();

    const code = await runDeployed(
      { suite: { name: "freebsd-weekly" } },
      { stateMachineArn: MACHINE, tableName: "t" },
      clients(),
      t.io,
    );

    expect(code).toBe(0);
    expect(t.err).toEqual([
      `started suite execution ${EXECUTION}`,
      "[+0s] discovering targets",
      "[+0s] started benchmark freebsd-weekly-1a2b3c4d-000",
      "[+0s] benchmark freebsd-weekly-1a2b3c4d-000 succeeded",
    ]);
    const report = t.out.join("\n");
    expect(report).toContain(
      "Suite freebsd-weekly, run weekly-1: succeeded (1 benchmarked, 1 skipped, 0 unresolved)",
    );
    expect(report).toMatch(/c7i\.large +slower \(\+4\.00 s\) PLATFORM DRIFT/);
    expect(report).toContain(
      // Five counted runs against five, all later ones slower: exact two-sided p = 2/252.
      "  FreeBSD 15.0-CURRENT-amd64-20250904 UFS on c7i.large: slower by 4.00 s, 95 % CI 3.70 to 4.30 s, " +
        "p = 0.008; against FreeBSD 15.0-CURRENT-amd64-20250828 UFS (freebsd-weekly-99999999-000)",
    );
    expect(report).toContain(
      "    control debian-12-amd64-20250814-2204 (ami-0cccccccccccccccc): slower by 4.00 s, 95 % CI 3.70 to " +
        "4.30 s, p = 0.008; it regressed the same way, so this is more likely the platform's (EC2's) change " +
        "than the image's",
    );
    expect(report).toContain(
      "/aws/service/freebsd/amd64/base/ufs/14.3/STABLE (ami-0bbbbbbbbbbbbbbbb, x86_64) on c7i.large: already benchmarked " +
        "with these settings as freebsd-weekly-99999999-001 (2025-08-29T10:00:00.000Z); --force to run again",
    );
    expect(report).toContain("Regressions (alerted on the stack's AlertTopicArn):");
  });
});

describe("progress lines", () => {
  it("names a failed child benchmark and its error", () => {
    const describe = progressDescriber();
    expect(
      describe({
        id: 9,
        type: "TaskFailed",
        timestamp: new Date(),
        taskFailedEventDetails: {
          resourceType: "states",
          resource: "startExecution.sync:2",
          error: "States.TaskFailed",
          cause: JSON.stringify({
            ExecutionArn: "arn:…:execution:M:child-7",
            Error: "BootBench.NoSuccessfulRuns",
          }),
        },
      }),
    ).toBe("benchmark child-7 failed: BootBench.NoSuccessfulRuns");
  });
});
