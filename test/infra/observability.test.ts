/**
 * The dashboard and the alarms (infra/constructs/observability.ts), and what lets the alarms reach the
 * alert topic: its customer managed key's policy and the topic policy. The dashboard body is an
 * Fn::Join; it is flattened (tokens as `<Id>`) and read as the JSON CloudWatch gets.
 */
import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { INTERVAL_METRICS } from "../../functions/domain/boot-metrics.js";
import { type CfnResource, flatten, resourcesOfType, STACK_NAME, synthesize } from "./synth.js";

const { template } = synthesize();

const only = (type: string): [string, CfnResource] => {
  const found = Object.entries(resourcesOfType(template, type));
  if (found.length !== 1) throw new Error(`Expected one ${type}, found ${found.length}`);
  return found[0] as [string, CfnResource];
};
const [topicId, topic] = only("AWS::SNS::Topic");
const [keyId, key] = only("AWS::KMS::Key");
const [queueId] = only("AWS::SQS::Queue");
const [machineId] = only("AWS::StepFunctions::StateMachine");
const [, dashboard] = only("AWS::CloudWatch::Dashboard");
const alarms = resourcesOfType(template, "AWS::CloudWatch::Alarm");

/** Every intrinsic inside a value flattened, so that conditions compare as plain strings. */
const flattenAll = (value: unknown): unknown => {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(flattenAll);
  const keys = Object.keys(value);
  if (keys.length === 1 && ["Ref", "Fn::Join", "Fn::GetAtt"].includes(keys[0] as string))
    return flatten(value);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, flattenAll(v)]));
};

interface Widget {
  type: string;
  properties: {
    title?: string;
    markdown?: string;
    alarms?: string[];
    metrics?: unknown[][];
  };
}
const body = JSON.parse(flatten(dashboard.Properties.DashboardBody)) as { start?: string; widgets: Widget[] };
const widget = (title: RegExp): Widget => {
  const found = body.widgets.filter((w) => title.test(w.properties.title ?? ""));
  if (found.length !== 1) throw new Error(`Expected one widget titled ${title}, found ${found.length}`);
  return found[0] as Widget;
};
/** The SEARCH expressions of a graph, in order. */
const expressions = (w: Widget): string[] =>
  (w.properties.metrics ?? []).map((line) => (line.at(-1) as { expression?: string }).expression ?? "");
/** A graph's plain metrics as [namespace, metric name, dimension name, dimension value]. */
const plainMetrics = (w: Widget): unknown[][] =>
  (w.properties.metrics ?? []).map((line) => line.filter((part) => typeof part === "string"));
const search = (metricName: string, statistic: string) =>
  `SEARCH('{BootBench,InstanceType,Series,service} service="boot-bench" MetricName="${metricName}"', '${statistic}', 86400)`;

const ALARM_ARN = "arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:";
const ALARM_CONDITIONS = {
  StringEquals: { "aws:SourceAccount": "<AWS::AccountId>" },
  ArnLike: { "aws:SourceArn": `${ALARM_ARN}${STACK_NAME}-*` },
};

describe("dashboard", () => {
  it("is named after the stack and shows twelve weeks by default", () => {
    expect(dashboard.Properties.DashboardName).toBe(STACK_NAME);
    expect(body.start).toBe("-P84D");
  });

  it("graphs each series' total boot time by a SEARCH over the run dimensions, p50 a day", () => {
    expect(expressions(widget(/^Boot time: total\b/))).toEqual([search("total", "p50")]);
    // The headline first, right below the text and the alarms.
    expect(body.widgets.findIndex((w) => /^Boot time: total\b/.test(w.properties.title ?? ""))).toBe(2);
    for (const interval of INTERVAL_METRICS) {
      expect(expressions(widget(new RegExp(`^Boot time: ${interval} `)))).toEqual([search(interval, "p50")]);
    }
  });

  it("graphs failed and timed-out runs, untrusted intervals, throttled calls and bracket widths by SEARCH", () => {
    expect(expressions(widget(/^Runs, failed and timed-out/))).toEqual([
      search("runs", "Sum"),
      search("failedRuns", "Sum"),
      search("timedOutRuns", "Sum"),
    ]);
    expect(expressions(widget(/^Untrusted intervals/))).toEqual([search("untrustedIntervals", "Sum")]);
    expect(expressions(widget(/^EC2 throttling/))).toEqual([search("throttledCalls", "Sum")]);
    expect(expressions(widget(/^Bracket widths/))).toEqual([
      search("runningBracketWidth", "p99"),
      search("closedBracketWidth", "p99"),
      search("openBracketWidth", "p99"),
    ]);
  });

  it("graphs the sweeper's actions, with the service dimension only", () => {
    expect(plainMetrics(widget(/^Sweeper/))).toEqual(
      ["instancesExpired", "instancesSwept", "keyPairsDeleted", "sweepFailures"].map((name) => [
        "BootBench",
        name,
        "service",
        "boot-bench",
      ]),
    );
    expect(plainMetrics(widget(/^Regression alerts sent/))).toEqual([
      ["BootBench", "regressions", "service", "boot-bench"],
    ]);
  });

  it("graphs Lambda errors and throttles of every function in the stack, the sweeper's included", () => {
    const functions = Object.keys(resourcesOfType(template, "AWS::Lambda::Function"));
    expect(functions.some((id) => id.startsWith("SweeperFunction"))).toBe(true);
    for (const [title, metric] of [
      [/^Lambda errors/, "Errors"],
      [/^Lambda throttles/, "Throttles"],
    ] as const) {
      const lines = plainMetrics(widget(title));
      expect(lines.map(([namespace, name, dimension]) => [namespace, name, dimension])).toEqual(
        functions.map(() => ["AWS/Lambda", metric, "FunctionName"]),
      );
      expect(lines.map((line) => line[3]).sort()).toEqual(functions.map((id) => `<${id}>`).sort());
    }
  });

  it("graphs the state machine's executions and the schedule dead-letter queue's depth", () => {
    expect(plainMetrics(widget(/^State machine executions/))).toEqual(
      ["ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"].map((name) => [
        "AWS/States",
        name,
        "StateMachineArn",
        `<${machineId}>`,
      ]),
    );
    expect(plainMetrics(widget(/dead-letter queue/))).toEqual([
      ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", `<${queueId}.QueueName>`],
    ]);
  });

  it("shows the state of every alarm", () => {
    const status = body.widgets.filter((w) => w.type === "alarm");
    expect(status).toHaveLength(1);
    expect(status[0]?.properties.alarms?.sort()).toEqual(
      Object.keys(alarms)
        .map((id) => `<${id}.Arn>`)
        .sort(),
    );
  });
});

describe("alarms", () => {
  const onEvent = {
    Threshold: 1,
    ComparisonOperator: "GreaterThanOrEqualToThreshold",
    EvaluationPeriods: 1,
    TreatMissingData: "notBreaching",
    AlarmActions: [{ Ref: topicId }],
  };
  const service = [{ Name: "service", Value: "boot-bench" }];

  it("are four, each notifying the alert topic and nothing else, named with the stack's name first", () => {
    expect(Object.keys(alarms)).toHaveLength(4);
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.AlarmName).toMatch(new RegExp(`^${STACK_NAME}-`));
    }
  });

  it("fires on a suite's regression", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...onEvent,
      AlarmName: `${STACK_NAME}-SuiteRegression`,
      Namespace: "BootBench",
      MetricName: "regressions",
      Dimensions: service,
      Statistic: "Sum",
      Period: 300,
    });
  });

  it("fires on any instance the sweeper had to terminate, or could not", () => {
    const stat = (id: string, name: string) =>
      Match.objectLike({
        Id: id,
        MetricStat: {
          Metric: { Namespace: "BootBench", MetricName: name, Dimensions: service },
          Period: 300,
          Stat: "Sum",
        },
        ReturnData: false,
      });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...onEvent,
      AlarmName: `${STACK_NAME}-InstanceSwept`,
      Metrics: [
        Match.objectLike({ Expression: "FILL(swept, 0) + FILL(failed, 0)", ReturnData: true }),
        stat("swept", "instancesSwept"),
        stat("failed", "sweepFailures"),
      ],
    });
  });

  it("fires while the schedule dead-letter queue holds a message", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...onEvent,
      AlarmName: `${STACK_NAME}-ScheduleDeadLetters`,
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [queueId, "QueueName"] } }],
      Statistic: "Maximum",
      Period: 300,
    });
  });

  it("fires on an execution that failed or timed out", () => {
    const stat = (name: string) => ({
      MetricStat: {
        Metric: {
          Namespace: "AWS/States",
          MetricName: name,
          Dimensions: [{ Name: "StateMachineArn", Value: { Ref: machineId } }],
        },
        Period: 300,
        Stat: "Sum",
      },
      ReturnData: false,
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...onEvent,
      AlarmName: `${STACK_NAME}-ExecutionFailed`,
      Metrics: [
        Match.objectLike({ Expression: "FILL(failed, 0) + FILL(timedOut, 0)", ReturnData: true }),
        Match.objectLike({ Id: "failed", ...stat("ExecutionsFailed") }),
        Match.objectLike({ Id: "timedOut", ...stat("ExecutionsTimedOut") }),
      ],
    });
  });
});

describe("the alarms reach the encrypted alert topic", () => {
  const statementsOf = (document: unknown) =>
    (flattenAll(document) as { Statement: Record<string, unknown>[] }).Statement;

  it("encrypts the topic with the stack's own key, rotated, deleted with the stack after 7 days", () => {
    expect(topic.Properties.KmsMasterKeyId).toEqual({ "Fn::GetAtt": [keyId, "Arn"] });
    expect(key.Properties).toMatchObject({ EnableKeyRotation: true, PendingWindowInDays: 7 });
    expect(key.DeletionPolicy).toBe("Delete");
  });

  it("lets CloudWatch use the key only for this account's alarms named with the stack's name", () => {
    const cloudwatch = statementsOf(key.Properties.KeyPolicy).filter(
      (s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: "cloudwatch.amazonaws.com" }),
    );
    expect(cloudwatch).toEqual([
      {
        Sid: "CloudWatchAlarmsEncrypt",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
        Resource: "*",
        Condition: ALARM_CONDITIONS,
      },
    ]);
  });

  it("lets CloudWatch publish to the topic under the same conditions, beside the TLS-only deny", () => {
    const [, policy] = only("AWS::SNS::TopicPolicy");
    expect(policy.Properties.Topics).toEqual([{ Ref: topicId }]);
    expect(statementsOf(policy.Properties.PolicyDocument)).toEqual([
      expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
      {
        Sid: "CloudWatchAlarmsPublish",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: "sns:Publish",
        Resource: `<${topicId}>`,
        Condition: ALARM_CONDITIONS,
      },
    ]);
  });

  it("admits every alarm of the stack by that name pattern", () => {
    const pattern = new RegExp(`^${ALARM_CONDITIONS.ArnLike["aws:SourceArn"].replace("*", ".*")}$`);
    for (const alarm of Object.values(alarms)) {
      expect(`${ALARM_ARN}${alarm.Properties.AlarmName as string}`).toMatch(pattern);
    }
  });
});
