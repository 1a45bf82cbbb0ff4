/**
 * SummariseSuite with mocked DynamoDB and SNS (aws-sdk-client-mock): the baseline of a series is found
 * through BySource, a regression is marked on the summary and published, the suite item written.
 */
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { marshallItem } from "../../functions/aws/benchmark-table.js";
import type { MetricRecord } from "../../functions/domain/boot-metrics.js";
import { comparabilityKey, comparabilityOf } from "../../functions/domain/comparability.js";
import { parseBenchmarkInput } from "../../functions/domain/input-schema.js";
import type { IntegritySummary } from "../../functions/domain/integrity-summary.js";
import type { SummaryRecord } from "../../functions/domain/run-record.js";
import type { SuiteBenchmarkResult, SuiteRef, SummariseSuiteEvent } from "../../functions/domain/suite.js";
import { summariseSuite } from "../../functions/summarise-suite/summarise-suite.js";

const SERIES = "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT";
const TOPIC = "arn:aws:sns:us-east-1:123456789012:BootBench-RegressionAlerts";
const dynamoDbMock = mockClient(DynamoDBClient);
const snsMock = mockClient(SNSClient);

const suite: SuiteRef = {
  name: "freebsd-weekly",
  suiteRunId: "weekly-2025-09-05",
  executionId: "arn:aws:states:us-east-1:123456789012:execution:BootBench-Benchmark:weekly-2025-09-05",
  startedAt: "2025-09-05T10:00:00.000Z",
  force: false,
  regression: { relative: 0.1, absoluteSeconds: 0.5 },
  targets: 1,
};

const settings = (extra: Record<string, unknown> = {}) =>
  parseBenchmarkInput({ image: SERIES, instanceType: "c7i.large", ...extra });

/** A summary's integrity figures when all `valid` counted succeeded runs were clean. */
const integrityOf = (valid: number): IntegritySummary => {
  const width = (ms: number) => ({ count: valid, medianMs: ms, p99Ms: ms, maxMs: ms, unbounded: 0 });
  return {
    rulesVersion: 1,
    markedRuns: 0,
    marks: {},
    validRuns: {
      runInstancesApi: valid,
      pendingToRunning: valid,
      runningToPortClosed: valid,
      portClosedToOpen: valid,
      total: valid,
    },
    bracketWidths: valid === 0 ? {} : { running: width(100), closed: width(10), open: width(10) },
  };
};

function summary(
  benchmarkId: string,
  amiId: string,
  total: number | undefined,
  extra: Partial<SummaryRecord> = {},
): SummaryRecord {
  const benchmarkSettings = extra.settings ?? settings();
  const comparability = comparabilityOf(benchmarkSettings, suite.executionId);
  return {
    pk: `BENCHMARK#${benchmarkId}`,
    sk: "SUMMARY",
    itemType: "summary",
    recentPk: "BENCHMARK",
    amiId,
    sourceParameter: SERIES,
    benchmarkId,
    executionId: `${suite.executionId}:${benchmarkId}`,
    startedAt: "2025-09-05T10:01:00.000Z",
    status: total === undefined ? "failed" : "succeeded",
    image: { amiId, name: `FreeBSD ${amiId}`, architecture: "x86_64", sourceParameter: SERIES },
    instanceType: benchmarkSettings.instanceType,
    settings: benchmarkSettings,
    runs: 10,
    countedRuns: 9,
    succeededRuns: 10,
    failedRuns: 0,
    timedOutRuns: 0,
    countedSucceededRuns: total === undefined ? 0 : 9,
    countedFailedRuns: 0,
    countedTimedOutRuns: 0,
    countedValues: total === undefined ? {} : { total: Array.from({ length: 9 }, () => total) },
    comparability,
    comparabilityKey: comparabilityKey(comparability),
    integrity: integrityOf(total === undefined ? 0 : 9),
    discarded: { rule: "firstRun", runIndexes: [0] },
    ...(total !== undefined && {
      medians: {
        runInstancesApi: 1.5,
        pendingToRunning: 6.9,
        runningToPortClosed: total - 3,
        portClosedToOpen: 3,
        total,
      },
    }),
    ...extra,
  };
}

const result = (
  benchmarkId: string,
  amiId: string,
  extra: Partial<SuiteBenchmarkResult> = {},
): SuiteBenchmarkResult => ({
  target: 0,
  executionName: benchmarkId,
  image: SERIES,
  amiId,
  imageName: `FreeBSD ${amiId}`,
  architecture: "x86_64",
  sourceParameter: SERIES,
  instanceType: "c7i.large",
  input: { image: SERIES, instanceType: "c7i.large" },
  execution: { status: "SUCCEEDED", executionArn: `${suite.executionId}:${benchmarkId}` },
  ...extra,
});

const event = (
  results: SuiteBenchmarkResult[],
  extra: Partial<SummariseSuiteEvent> = {},
): SummariseSuiteEvent => ({
  suite,
  results,
  skipped: [],
  unresolved: [],
  ...extra,
});

/** Summaries by benchmark id for GetItem; the BySource history, newest first, for Query. */
function tableHolds(summaries: SummaryRecord[], history: SummaryRecord[]) {
  dynamoDbMock.on(GetItemCommand).callsFake((input: { Key: { pk: { S: string } } }) => {
    const found = summaries.find((s) => s.pk === input.Key.pk.S);
    return found ? { Item: marshallItem(found) } : {};
  });
  dynamoDbMock.on(QueryCommand).resolves({ Items: history.map((s) => marshallItem(s)) });
}

let metricRecords: MetricRecord[] = [];
const run = (e: SummariseSuiteEvent) =>
  summariseSuite(e, {
    dynamoDb: new DynamoDBClient({}),
    sns: new SNSClient({}),
    tableName: "results",
    topicArn: TOPIC,
    publishMetrics: (record) => metricRecords.push(record),
    now: () => new Date("2025-09-05T10:30:00.000Z"),
  });

beforeEach(() => {
  metricRecords = [];
  dynamoDbMock.reset();
  snsMock.reset();
  dynamoDbMock.on(PutItemCommand).resolves({});
  dynamoDbMock.on(UpdateItemCommand).resolves({});
  snsMock.on(PublishCommand).resolves({ MessageId: "msg-1" });
});

describe("regression alerts", () => {
  const current = summary("new", "ami-0000000000000000b", 12.0);
  const previous = summary("old", "ami-0000000000000000a", 8.0, { startedAt: "2025-08-29T10:01:00.000Z" });

  it("compares with the previous AMI of the series, marks the regression and publishes it", async () => {
    tableHolds([current], [current, previous]);
    const out = await run(event([result("new", current.amiId)]));

    // BySource, newest first, for this series.
    const query = dynamoDbMock.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(query).toMatchObject({
      IndexName: "BySource",
      ScanIndexForward: false,
      ExpressionAttributeValues: { ":value": { S: SERIES } },
    });
    expect(out).toMatchObject({ status: "succeeded", succeeded: 1, failed: 0, alerts: ["msg-1"] });
    expect(out.regressions).toHaveLength(1);
    // Nine runs of 12 s against nine of 8 s: every pairwise difference is 4 s.
    expect(out.benchmarks[0]?.comparison).toMatchObject({
      previousBenchmarkId: "old",
      previousAmiId: previous.amiId,
      timing: "slower",
      shifts: { total: { shift: 4, low: 4, high: 4, earlierMedian: 8, laterMedian: 12 } },
      regressions: ["boot-time"],
      regression: true,
    });

    const update = dynamoDbMock.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(update?.Key).toEqual({ pk: { S: "BENCHMARK#new" }, sk: { S: "SUMMARY" } });
    // No control ran: a platform entry of an earlier attempt would be stale.
    expect(update?.UpdateExpression).toBe(
      "SET previousComparison = :comparison, regression = :regression REMOVE platform",
    );
    expect(update?.ConditionExpression).toBe("attribute_exists(pk)");

    const publish = snsMock.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(publish?.TopicArn).toBe(TOPIC);
    expect(publish?.Subject).toBe(
      "boot-bench regression: FreeBSD ami-0000000000000000b on c7i.large: slower",
    );
    expect(publish?.Message).toContain(
      "per-run totals (running to port open): slower by 4.00 s, 95 % CI 4.00 to 4.00 s, p < 0.001; " +
        "median run total 12.00 s, was 8.00 s",
    );
    expect(publish?.Message).toContain(SERIES);
    expect(publish?.MessageAttributes?.series).toEqual({ DataType: "String", StringValue: SERIES });
    expect(metricRecords).toEqual([
      {
        dimensions: {},
        metrics: [{ name: "regressions", unit: "Count", value: 1 }],
        metadata: expect.objectContaining({ benchmarkId: "new", series: SERIES, instanceType: "c7i.large" }),
      },
    ]);

    const put = dynamoDbMock.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(unmarshall(put?.Item ?? {})).toMatchObject({
      pk: "SUITE#weekly-2025-09-05",
      sk: "SUMMARY",
      itemType: "suite",
      status: "succeeded",
      finishedAt: "2025-09-05T10:30:00.000Z",
    });
    expect(unmarshall(put?.Item ?? {})).not.toHaveProperty("amiId");
  });

  it("needs both thresholds: +0.4 s on 2 s (20 %) and +0.6 s on 10 s (6 %) are no regression", async () => {
    for (const [was, now] of [
      [2.0, 2.4],
      [10.0, 10.6],
    ] as const) {
      dynamoDbMock.reset();
      dynamoDbMock.on(PutItemCommand).resolves({});
      dynamoDbMock.on(UpdateItemCommand).resolves({});
      const c = summary("new", "ami-0000000000000000b", now);
      tableHolds(
        [c],
        [c, summary("old", "ami-0000000000000000a", was, { startedAt: "2025-08-29T10:01:00.000Z" })],
      );
      const out = await run(event([result("new", c.amiId)]));
      expect(out.regressions).toEqual([]);
      expect(out.benchmarks[0]?.comparison?.regression).toBe(false);
      expect(dynamoDbMock.commandCalls(UpdateItemCommand)[0]?.args[0].input.UpdateExpression).toBe(
        "SET previousComparison = :comparison REMOVE regression, platform",
      );
    }
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(0);
    expect(metricRecords).toEqual([]);
  });

  it("compares only with an older, successful benchmark of another AMI with the same comparability key", async () => {
    const older = { startedAt: "2025-08-01T10:01:00.000Z" };
    const { comparabilityKey: _key, ...unkeyed } = summary("unkeyed", "ami-00000000000000010", 5, older);
    tableHolds(
      [current],
      [
        current,
        summary("same-ami", current.amiId, 5, older),
        summary("failed", "ami-0000000000000000c", undefined, older),
        summary("other-type", "ami-0000000000000000d", 5, {
          ...older,
          settings: settings({ instanceType: "m7i.large" }),
        }),
        summary("other-port", "ami-0000000000000000e", 5, { ...older, settings: settings({ port: 2222 }) }),
        summary("newer", "ami-0000000000000000f", 5, { startedAt: "2025-09-06T00:00:00.000Z" }),
        // Summarised before keys were stored: compared with nothing.
        unkeyed as SummaryRecord,
        // Fewer runs measure the same thing: the run count is not part of the key.
        summary("the-one", "ami-0000000000000000a", 11.9, { ...older, settings: settings({ runs: 7 }) }),
      ],
    );
    const out = await run(event([result("new", current.amiId)]));
    expect(out.benchmarks[0]?.comparison).toMatchObject({
      previousBenchmarkId: "the-one",
      regression: false,
    });
  });

  it("records no comparison for the first AMI of a series or an image given by id", async () => {
    const byId = summary("by-id", "ami-0000000000000000b", 12, { sourceParameter: undefined });
    tableHolds([current, byId], [current]);
    const out = await run(
      event([result("new", current.amiId), result("by-id", byId.amiId, { sourceParameter: undefined })]),
    );
    expect(out.benchmarks.map((b) => b.comparison)).toEqual([undefined, undefined]);
    expect(dynamoDbMock.commandCalls(QueryCommand)).toHaveLength(1);
    expect(dynamoDbMock.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });
});

describe("a control target", () => {
  const CONTROL_AMI = "ami-0000000000000000c";
  const older = { startedAt: "2025-08-29T10:01:00.000Z" };
  /** A control given by AMI id: no series, compared with its own last benchmark (ByAmi). */
  const control = (benchmarkId: string, total: number, extra: Partial<SummaryRecord> = {}) =>
    summary(benchmarkId, CONTROL_AMI, total, { sourceParameter: undefined, ...extra });
  const controlResult = (benchmarkId: string) =>
    result(benchmarkId, CONTROL_AMI, { image: CONTROL_AMI, sourceParameter: undefined, control: true });

  /** BySource answers with the series' history, ByAmi with the control's. */
  function tableHoldsWithControls(
    summaries: SummaryRecord[],
    series: SummaryRecord[],
    controls: SummaryRecord[],
  ) {
    dynamoDbMock.on(GetItemCommand).callsFake((input: { Key: { pk: { S: string } } }) => {
      const found = summaries.find((s) => s.pk === input.Key.pk.S);
      return found ? { Item: marshallItem(found) } : {};
    });
    dynamoDbMock.on(QueryCommand).callsFake((input: { IndexName: string }) => ({
      Items: (input.IndexName === "ByAmi" ? controls : series).map((s) => marshallItem(s)),
    }));
  }

  it("is compared with its own last benchmark of the same AMI, and flags a shared regression as platform drift", async () => {
    const current = summary("new", "ami-0000000000000000b", 12.0);
    const previous = summary("old", "ami-0000000000000000a", 8.0, older);
    const controlNow = control("control-now", 14.0);
    const controlBefore = control("control-before", 10.0, older);
    tableHoldsWithControls([current, controlNow], [current, previous], [controlNow, controlBefore]);
    const out = await run(event([result("new", current.amiId), controlResult("control-now")]));

    const [series, ctrl] = out.benchmarks;
    expect(ctrl).toMatchObject({
      control: true,
      comparison: { previousBenchmarkId: "control-before", previousAmiId: CONTROL_AMI, timing: "slower" },
    });
    expect(ctrl?.platform).toBeUndefined();
    expect(series?.platform).toMatchObject({
      controlBenchmarkId: "control-now",
      controlAmiId: CONTROL_AMI,
      control: { timing: "slower", shifts: { total: { shift: 4 } } },
      drift: true,
    });
    // The summary keeps the control's change beside its own comparison, for history and the report.
    const update = dynamoDbMock
      .commandCalls(UpdateItemCommand)
      .map((call) => call.args[0].input)
      .find((input) => input.Key?.pk?.S === "BENCHMARK#new");
    expect(update?.UpdateExpression).toBe(
      "SET previousComparison = :comparison, regression = :regression, platform = :platform",
    );
    expect(unmarshall(update?.ExpressionAttributeValues ?? {})[":platform"]).toMatchObject({ drift: true });
    const query = dynamoDbMock.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(query.find((q) => q.IndexName === "ByAmi")?.ExpressionAttributeValues).toEqual({
      ":value": { S: CONTROL_AMI },
    });
    const subjects = snsMock.commandCalls(PublishCommand).map((call) => call.args[0].input.Subject);
    expect(subjects).toContain(
      "boot-bench platform drift: FreeBSD ami-0000000000000000b on c7i.large: slower",
    );
    const message = snsMock
      .commandCalls(PublishCommand)
      .map((call) => call.args[0].input.Message ?? "")
      .find((text) => text.startsWith("FreeBSD ami-0000000000000000b"));
    expect(message).toContain(
      `control FreeBSD ${CONTROL_AMI} (${CONTROL_AMI}): slower by 4.00 s, 95 % CI 4.00 to 4.00 s, p < 0.001; ` +
        "it regressed the same way, so this is more likely the platform's (EC2's) change than the image's",
    );
  });

  it("that did not move leaves the regression the image's own", async () => {
    const current = summary("new", "ami-0000000000000000b", 12.0);
    const previous = summary("old", "ami-0000000000000000a", 8.0, older);
    const controlNow = control("control-now", 10.0);
    tableHoldsWithControls(
      [current, controlNow],
      [current, previous],
      [controlNow, control("control-before", 10.0, older)],
    );
    const out = await run(event([result("new", current.amiId), controlResult("control-now")]));
    expect(out.benchmarks[0]?.platform).toMatchObject({ control: { timing: "no-change" }, drift: false });
    expect(snsMock.commandCalls(PublishCommand)[0]?.args[0].input.Subject).toBe(
      "boot-bench regression: FreeBSD ami-0000000000000000b on c7i.large: slower",
    );
  });

  it("stands beside benchmarks on its own instance type only", async () => {
    const onM7i = { settings: settings({ instanceType: "m7i.large" }) };
    const current = summary("new", "ami-0000000000000000b", 12.0);
    const previous = summary("old", "ami-0000000000000000a", 8.0, older);
    const controlNow = control("control-now", 14.0, onM7i);
    tableHoldsWithControls(
      [current, controlNow],
      [current, previous],
      [controlNow, control("control-before", 10.0, { ...older, ...onM7i })],
    );
    const out = await run(
      event([result("new", current.amiId), { ...controlResult("control-now"), instanceType: "m7i.large" }]),
    );
    expect(out.benchmarks[1]?.comparison?.timing).toBe("slower");
    expect(out.benchmarks[0]?.platform).toBeUndefined();
  });
});

describe("a control another suite ran (sharedControls)", () => {
  const CONTROL_AMI = "ami-0000000000000000c";
  const withShared = { ...suite, sharedControls: { images: [CONTROL_AMI], withinDays: 7 } };
  /** The control as the baseline suite benchmarked it: by AMI id, with that suite's label. */
  const control = (benchmarkId: string, total: number, startedAt: string) =>
    summary(benchmarkId, CONTROL_AMI, total, {
      sourceParameter: undefined,
      startedAt,
      settings: settings({ image: CONTROL_AMI, label: "baseline" }),
    });
  const current = summary("new", "ami-0000000000000000b", 12.0);
  const previous = summary("old", "ami-0000000000000000a", 8.0, { startedAt: "2025-08-29T10:01:00.000Z" });

  /** BySource answers with the series, ByAmi with the control's history, each honouring `startedAt >=`. */
  function tableHoldsControls(controls: SummaryRecord[]) {
    dynamoDbMock.on(GetItemCommand).callsFake((input: { Key: { pk: { S: string } } }) => {
      const found = [current].find((s) => s.pk === input.Key.pk.S);
      return found ? { Item: marshallItem(found) } : {};
    });
    dynamoDbMock
      .on(QueryCommand)
      .callsFake((input: { IndexName: string; ExpressionAttributeValues: Record<string, { S: string }> }) => {
        const since = input.ExpressionAttributeValues[":since"]?.S ?? "";
        const items = input.IndexName === "ByAmi" ? controls : [current, previous];
        return { Items: items.filter((s) => s.startedAt >= since).map((s) => marshallItem(s)) };
      });
  }

  it("stands beside each series on its instance type: its newest benchmark within the window, against its own last", async () => {
    tableHoldsControls([
      control("control-sunday", 14.0, "2025-08-31T04:00:00.000Z"),
      control("control-week-before", 10.0, "2025-08-24T04:00:00.000Z"),
    ]);
    const out = await run(event([result("new", current.amiId)], { suite: withShared }));
    expect(out.benchmarks[0]?.platform).toMatchObject({
      controlBenchmarkId: "control-sunday",
      controlImage: CONTROL_AMI,
      control: {
        previousBenchmarkId: "control-week-before",
        timing: "slower",
        shifts: { total: { shift: 4 } },
      },
      drift: true,
    });
    // The control is looked up from 7 days before this suite run started; its baseline at any age.
    const byAmi = dynamoDbMock
      .commandCalls(QueryCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.IndexName === "ByAmi");
    expect(byAmi.map((q) => [q.KeyConditionExpression, q.ExpressionAttributeValues?.[":since"]?.S])).toEqual([
      ["#key = :value AND startedAt >= :since", "2025-08-29T10:00:00.000Z"],
      ["#key = :value", undefined],
    ]);
    expect(snsMock.commandCalls(PublishCommand)[0]?.args[0].input.Subject).toBe(
      "boot-bench platform drift: FreeBSD ami-0000000000000000b on c7i.large: slower",
    );
  });

  it("is not used when its newest benchmark is older than the window, or has no baseline of its own", async () => {
    tableHoldsControls([
      control("control-stale", 14.0, "2025-08-24T04:00:00.000Z"),
      control("control-older", 10.0, "2025-08-17T04:00:00.000Z"),
    ]);
    const stale = await run(event([result("new", current.amiId)], { suite: withShared }));
    expect(stale.benchmarks[0]?.comparison?.regression).toBe(true);
    expect(stale.benchmarks[0]?.platform).toBeUndefined();

    tableHoldsControls([control("control-first", 14.0, "2025-08-31T04:00:00.000Z")]);
    const first = await run(event([result("new", current.amiId)], { suite: withShared }));
    expect(first.benchmarks[0]?.platform).toBeUndefined();
  });

  it("gives way to a control of the suite's own run", async () => {
    const own = summary("own-control", "ami-0000000000000000d", 10.0, { sourceParameter: undefined });
    const ownBefore = summary("own-control-before", "ami-0000000000000000d", 10.0, {
      sourceParameter: undefined,
      startedAt: "2025-08-29T10:01:00.000Z",
    });
    dynamoDbMock.on(GetItemCommand).callsFake((input: { Key: { pk: { S: string } } }) => {
      const found = [current, own].find((s) => s.pk === input.Key.pk.S);
      return found ? { Item: marshallItem(found) } : {};
    });
    // ByAmi holds both controls' histories; the shared one slowed, the suite's own did not.
    const byAmi = [
      own,
      ownBefore,
      control("control-sunday", 14.0, "2025-08-31T04:00:00.000Z"),
      control("control-week-before", 10.0, "2025-08-24T04:00:00.000Z"),
    ];
    dynamoDbMock
      .on(QueryCommand)
      .callsFake((input: { IndexName: string; ExpressionAttributeValues: Record<string, { S: string }> }) => {
        const ami = input.ExpressionAttributeValues[":value"]?.S;
        const items =
          input.IndexName === "ByAmi" ? byAmi.filter((s) => s.amiId === ami) : [current, previous];
        return { Items: items.map((s) => marshallItem(s)) };
      });
    const ownResult = result("own-control", own.amiId, {
      image: own.amiId,
      sourceParameter: undefined,
      control: true,
    });
    const out = await run(event([result("new", current.amiId), ownResult], { suite: withShared }));
    expect(out.benchmarks[0]?.platform).toMatchObject({ controlBenchmarkId: "own-control", drift: false });
  });
});

describe("a child that failed", () => {
  it("is compared when its summary holds its runs: every run timing out is a regression of its own", async () => {
    const allTimedOut = summary("new", "ami-0000000000000000b", undefined, {
      succeededRuns: 0,
      timedOutRuns: 10,
      countedTimedOutRuns: 9,
    });
    const previous = summary("old", "ami-0000000000000000a", 8.0, { startedAt: "2025-08-29T10:01:00.000Z" });
    tableHolds([allTimedOut], [allTimedOut, previous]);
    const cause = JSON.stringify({ Error: "BootBench.NoSuccessfulRuns", Cause: "No counted run succeeded" });
    const out = await run(
      event([
        result("new", allTimedOut.amiId, {
          execution: undefined,
          failure: { Error: "States.TaskFailed", Cause: cause },
        }),
      ]),
    );
    expect(out).toMatchObject({ status: "failed", failed: 1 });
    expect(out.benchmarks[0]).toMatchObject({
      status: "failed",
      error: { name: "BootBench.NoSuccessfulRuns" },
      comparison: {
        timing: "not-enough-runs",
        timeouts: { earlier: 0, earlierRuns: 9, later: 9, laterRuns: 9 },
        regressions: ["timeouts"],
      },
    });
    const publish = snsMock.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(publish?.Subject).toBe(
      "boot-bench regression: FreeBSD ami-0000000000000000b on c7i.large: more timeouts",
    );
    // Fisher one-sided: 9 of 9 against 0 of 9 is 1 / C(18, 9) = 1/48620.
    expect(out.benchmarks[0]?.comparison?.timeouts.pGreater).toBeCloseTo(1 / 48620, 12);
  });
});

describe("suite status", () => {
  it("fails the suite when a child failed, with the child's own error, and still records the others", async () => {
    const ok = summary("ok", "ami-0000000000000000a", 8);
    const bad = summary("bad", "ami-0000000000000000b", undefined);
    tableHolds([ok, bad], [ok]);
    const cause = JSON.stringify({
      ExecutionArn: `${suite.executionId}:bad`,
      Status: "FAILED",
      Error: "BootBench.NoSuccessfulRuns",
      Cause: "No counted run of the benchmark succeeded",
    });
    const out = await run(
      event([
        result("ok", ok.amiId),
        result("bad", bad.amiId, {
          execution: undefined,
          failure: { Error: "States.TaskFailed", Cause: cause },
        }),
      ]),
    );
    expect(out).toMatchObject({ status: "failed", succeeded: 1, failed: 1 });
    expect(out.benchmarks[1]).toMatchObject({
      status: "failed",
      executionArn: `${suite.executionId}:bad`,
      error: { name: "BootBench.NoSuccessfulRuns", message: "No counted run of the benchmark succeeded" },
    });
  });

  it("fails the suite when a target could not be resolved; skipped targets are no failure", async () => {
    tableHolds([], []);
    const skipped = [
      {
        target: 0,
        reason: "already-benchmarked" as const,
        image: SERIES,
        amiId: "ami-0000000000000000a",
        architecture: "x86_64",
        previousBenchmarkId: "old",
      },
    ];
    expect(await run(event([], { skipped }))).toMatchObject({ status: "succeeded", skipped: 1, failed: 0 });
    const unresolved = [
      { target: 1, reason: "no-parameter-matched" as const, reference: "/aws/service/x/*", message: "none" },
    ];
    expect(await run(event([], { unresolved }))).toMatchObject({
      status: "failed",
      unresolved: 1,
      failed: 1,
    });
  });
});

describe("an alert is published once per suite run, however often the step runs", () => {
  /** A table that keeps what is put, for GetItem by key: the alert marks must survive the retry. */
  function statefulTable(summaries: SummaryRecord[], history: SummaryRecord[]) {
    const items = new Map<string, object>(summaries.map((s) => [`${s.pk}|${s.sk}`, s]));
    const keyOf = (item: { pk: { S?: string }; sk: { S?: string } }) => `${item.pk.S}|${item.sk.S}`;
    dynamoDbMock.on(GetItemCommand).callsFake((input) => {
      const found = items.get(keyOf(input.Key));
      return found ? { Item: marshallItem(found) } : {};
    });
    dynamoDbMock.on(PutItemCommand).callsFake((input) => {
      items.set(keyOf(input.Item), unmarshall(input.Item));
      return {};
    });
    dynamoDbMock
      .on(QueryCommand)
      .callsFake((input: { ExpressionAttributeValues: { ":value": { S: string } } }) => ({
        Items: history
          .filter((s) => s.sourceParameter === input.ExpressionAttributeValues[":value"].S)
          .map((s) => marshallItem(s)),
      }));
    return items;
  }

  const OTHER = "/aws/service/freebsd/amd64/base/ufs/14.3/STABLE";
  const older = { startedAt: "2025-08-29T10:01:00.000Z" };
  const inOther = (s: SummaryRecord): SummaryRecord => ({
    ...s,
    sourceParameter: OTHER,
    image: { ...s.image, sourceParameter: OTHER },
  });
  const current = summary("new", "ami-0000000000000000b", 12.0);
  const stable = inOther(summary("new-stable", "ami-0000000000000000d", 12.0));
  const history = [
    current,
    summary("old", "ami-0000000000000000a", 8.0, older),
    stable,
    inOther(summary("old-stable", "ami-0000000000000000c", 8.0, older)),
  ];
  const twoRegressions = event([
    result("new", current.amiId),
    result("new-stable", stable.amiId, { image: OTHER, sourceParameter: OTHER }),
  ]);
  const published = () =>
    snsMock.commandCalls(PublishCommand).map((call) => call.args[0].input.Subject as string);

  it("retried after the second publish failed, it sends only the alert that did not go out", async () => {
    const items = statefulTable([current, stable], history);
    let publishes = 0;
    snsMock.on(PublishCommand).callsFake(() => {
      publishes++;
      if (publishes === 2) {
        throw Object.assign(new Error("Internal error (injected)"), { name: "InternalErrorException" });
      }
      return { MessageId: `msg-${publishes}` };
    });

    await expect(run(twoRegressions)).rejects.toMatchObject({ name: "InternalErrorException" });
    const retried = await run(twoRegressions);

    // Publish requests: the first alert, the second (failed), then the second again, never the first.
    expect(published()).toEqual([
      "boot-bench regression: FreeBSD ami-0000000000000000b on c7i.large: slower",
      "boot-bench regression: FreeBSD ami-0000000000000000d on c7i.large: slower",
      "boot-bench regression: FreeBSD ami-0000000000000000d on c7i.large: slower",
    ]);
    expect(retried.regressions.map((r) => r.benchmarkId)).toEqual(["new", "new-stable"]);
    // Both alerts reported with the ids SNS gave them, the first from its mark.
    expect(retried.alerts).toEqual(["msg-1", "msg-3"]);
    // Counted once each, like the alerts: the retry counts only the one it sent.
    expect(metricRecords.map((record) => record.metadata.benchmarkId)).toEqual(["new", "new-stable"]);
    expect(items.get("SUITE#weekly-2025-09-05|ALERT#new")).toMatchObject({
      itemType: "alertSent",
      benchmarkId: "new",
      messageId: "msg-1",
      sentAt: "2025-09-05T10:30:00.000Z",
    });
    expect(items.get("SUITE#weekly-2025-09-05|ALERT#new-stable")).toMatchObject({ messageId: "msg-3" });
  });

  it("run again after it completed (a lost response, a redrive), it publishes nothing more", async () => {
    statefulTable([current, stable], history);
    snsMock.on(PublishCommand).resolves({ MessageId: "msg-x" });
    await run(twoRegressions);
    const again = await run(twoRegressions);
    expect(published()).toHaveLength(2);
    expect(again.alerts).toEqual(["msg-x", "msg-x"]);
  });
});

describe("a child that had already run (a redriven Map iteration)", () => {
  const alreadyRan = {
    execution: undefined,
    alreadyRan: {
      Error: "StepFunctions.ExecutionAlreadyExistsException",
      Cause:
        "Execution Already Exists: 'arn:aws:states:us-east-1:123456789012:execution:BootBench-Benchmark:x'",
    },
  };

  it("ends as its summary says the benchmark flow ended, and is compared like any other", async () => {
    const current = summary("new", "ami-0000000000000000b", 12.0);
    const previous = summary("old", "ami-0000000000000000a", 8.0, { startedAt: "2025-08-29T10:01:00.000Z" });
    tableHolds([current], [current, previous]);
    const out = await run(event([result("new", current.amiId, alreadyRan)]));
    expect(out).toMatchObject({ status: "succeeded", succeeded: 1, failed: 0 });
    expect(out.benchmarks[0]).toMatchObject({
      status: "succeeded",
      alreadyRan: true,
      executionArn: current.executionId,
      comparison: { previousBenchmarkId: "old", regression: true },
    });
  });

  it("counts as failed, with the benchmark flow's error, when its summary says that flow failed", async () => {
    const leftRunning = summary("new", "ami-0000000000000000b", 12.0, {
      terminationFailedRuns: [{ runIndex: 3, instanceId: "i-0123456789abcdef0" }],
    });
    tableHolds([leftRunning], [leftRunning]);
    const out = await run(event([result("new", leftRunning.amiId, alreadyRan)]));
    expect(out).toMatchObject({ status: "failed", failed: 1 });
    expect(out.benchmarks[0]?.error?.name).toBe("BootBench.TerminateFailed");
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it("counts as failed with a named reason when it left no summary", async () => {
    tableHolds([], []);
    const out = await run(event([result("gone", "ami-0000000000000000b", alreadyRan)]));
    expect(out.benchmarks[0]).toMatchObject({
      status: "failed",
      alreadyRan: true,
      error: { name: "BootBench.EarlierChildUnsummarised" },
    });
    expect(out.benchmarks[0]?.error?.message).toContain("left no summary");
  });
});
