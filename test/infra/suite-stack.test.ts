/**
 * The suite half of the stack: one EventBridge Scheduler schedule per configured suite (cron, time
 * zone, retry policy, dead-letter queue), the alert topic, the suite branch of the state machine
 * with its child executions, and the least privilege of everything involved.
 */
import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { suites as configuredSuites } from "../../config/suites.js";
import type { AslState } from "../../infra/asl.js";
import { SCHEDULE_MAX_EVENT_AGE, SCHEDULE_RETRY_ATTEMPTS } from "../../infra/constructs/suite-schedules.js";
import { START_EXECUTION_SYNC } from "../../infra/suite-flow.js";
import { loadSuites } from "../../infra/suites-schema.js";
import {
  actionsOf,
  type CfnResource,
  definitionOf,
  type PolicyStatement,
  resourcesOf,
  resourcesOfType,
  STACK_NAME,
  statementsOfFunctionRole,
  statementsOfRole,
  stateNamed,
  synthesize,
} from "./synth.js";

const { stack, template } = synthesize();
const suites = loadSuites(configuredSuites);
const definition = definitionOf(template);
const state = (name: string): AslState => stateNamed(definition, name);
const only = (type: string): [string, CfnResource] => {
  const found = Object.entries(resourcesOfType(template, type));
  if (found.length !== 1) throw new Error(`Expected one ${type}, found ${found.length}`);
  return found[0] as [string, CfnResource];
};
const [queueId, queue] = only("AWS::SQS::Queue");
const [topicId, topic] = only("AWS::SNS::Topic");
const [machineId, machine] = only("AWS::StepFunctions::StateMachine");
const schedules = Object.values(resourcesOfType(template, "AWS::Scheduler::Schedule"));
const getAtt = (logicalId: string, attribute: string) => ({ "Fn::GetAtt": [logicalId, attribute] });
const SELF_ARN =
  "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:BootBench-Benchmark";

describe("suite schedules", () => {
  it("creates one schedule per configured suite, with its cron and time zone, enabled", () => {
    expect(schedules).toHaveLength(suites.length);
    for (const suite of suites) {
      template.hasResourceProperties("AWS::Scheduler::Schedule", {
        Name: `${STACK_NAME}-${suite.name}`,
        ScheduleExpression: suite.schedule.expression,
        ScheduleExpressionTimezone: suite.schedule.timezone,
        FlexibleTimeWindow: { Mode: "OFF" },
        State: "ENABLED",
      });
    }
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      Name: "BootBench-freebsd-weekly",
      ScheduleExpression: "cron(0 3 ? * FRI *)",
      ScheduleExpressionTimezone: "America/Vancouver",
    });
  });

  it("starts the state machine with the suite as input, user data inlined", () => {
    const freebsd = schedules.find((s) => s.Properties.Name === "BootBench-freebsd-weekly");
    const target = freebsd?.Properties.Target as { Arn: unknown; Input: string };
    expect(target.Arn).toEqual({ Ref: machineId });
    const input = JSON.parse(target.Input) as {
      suite: { name: string; userData: string; targets: unknown[] };
    };
    expect(input.suite.name).toBe("freebsd-weekly");
    expect(input.suite.targets).toEqual([
      {
        pattern: "/aws/service/freebsd/*/base/ufs/*/{CURRENT,STABLE}",
        instanceTypes: { x86_64: ["c7i.large"], arm64: ["c7g.large"] },
      },
    ]);
    expect(input.suite.userData).toBe(
      '>>/etc/rc.conf\nfirstboot_freebsd_update_enable="NO"\nfirstboot_pkgs_enable="NO"\n',
    );
  });

  it("retries a failed StartExecution and then sends the event to the dead-letter queue", () => {
    for (const schedule of schedules) {
      expect(schedule.Properties.Target).toMatchObject({
        RetryPolicy: {
          MaximumRetryAttempts: SCHEDULE_RETRY_ATTEMPTS,
          MaximumEventAgeInSeconds: SCHEDULE_MAX_EVENT_AGE.toSeconds(),
        },
        DeadLetterConfig: { Arn: getAtt(queueId, "Arn") },
      });
    }
    expect(SCHEDULE_RETRY_ATTEMPTS).toBeGreaterThan(0);
  });

  it("keeps the dead-letter queue encrypted, for 14 days, reachable over TLS only", () => {
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Action: "sqs:*",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      },
    });
  });

  it("gives the scheduler a role that may only start this state machine and write to the dead-letter queue", () => {
    const target = schedules[0]?.Properties.Target as { RoleArn: { "Fn::GetAtt": [string, string] } };
    const roleId = target.RoleArn["Fn::GetAtt"][0];
    for (const schedule of schedules) {
      expect((schedule.Properties.Target as { RoleArn: unknown }).RoleArn).toEqual(getAtt(roleId, "Arn"));
    }
    const role = resourcesOfType(template, "AWS::IAM::Role")[roleId] as CfnResource;
    expect(role.Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [
        {
          Action: "sts:AssumeRole",
          Effect: "Allow",
          Principal: { Service: "scheduler.amazonaws.com" },
          Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
        },
      ],
    });
    const statements = statementsOfRole(template, roleId);
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage", "states:StartExecution"].sort(),
    );
    const start = statements.find((s) => actionsOf(s).includes("states:StartExecution")) as PolicyStatement;
    expect(start.Resource).toEqual({ Ref: machineId });
    const send = statements.find((s) => actionsOf(s).includes("sqs:SendMessage")) as PolicyStatement;
    expect(send.Resource).toEqual(getAtt(queueId, "Arn"));
  });
});

describe("schedules=false", () => {
  const { template: off } = synthesize({ schedules: "false" });

  it("keeps every schedule but deploys it DISABLED", () => {
    const offSchedules = Object.values(resourcesOfType(off, "AWS::Scheduler::Schedule"));
    expect(offSchedules).toHaveLength(suites.length);
    for (const schedule of offSchedules) expect(schedule.Properties.State).toBe("DISABLED");
  });
});

describe("alert topic", () => {
  it("is an SNS topic encrypted with its own rotated key, for TLS publishers only", () => {
    const [keyId] = only("AWS::KMS::Key");
    expect(topic.Properties.KmsMasterKeyId).toEqual(getAtt(keyId, "Arn"));
    template.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
    template.resourceCountIs("AWS::SNS::Subscription", 0);
  });

  it("subscribes the address given as context alertEmail", () => {
    const { template: withEmail } = synthesize({ alertEmail: "freebsd-ec2@example.org" });
    withEmail.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "freebsd-ec2@example.org",
      TopicArn: { Ref: Match.stringLikeRegexp("^RegressionAlertsTopic") },
    });
  });

  it("lets only summarise-suite publish, to this topic", () => {
    const publish = statementsOfFunctionRole(template, "summarise-suite").filter((s) =>
      actionsOf(s).includes("sns:Publish"),
    );
    expect(publish).toHaveLength(1);
    expect(publish[0]?.Resource).toEqual({ Ref: topicId });
    expect(stack.alerts.topic.node.defaultChild).toBeDefined();
  });

  it("outputs the topic ARN for subscriptions", () => {
    template.hasOutput("AlertTopicArn", { Value: { Ref: topicId } });
  });
});

describe("suite branch of the state machine", () => {
  it("has a fixed name, so that the definition can name its own ARN without a reference cycle", () => {
    expect(machine.Properties.StateMachineName).toBe("BootBench-Benchmark");
  });

  it("discovers targets with the execution's identity, then maps over the benchmarks with the suite's concurrency", () => {
    expect(state("DiscoverTargets")).toMatchObject({
      Parameters: {
        "input.$": "$",
        "executionId.$": "$$.Execution.Id",
        "startTime.$": "$$.Execution.StartTime",
      },
      Next: "Benchmarks",
    });
    expect(state("DiscoverTargets")).not.toHaveProperty("ResultPath");
    expect(state("Benchmarks")).toMatchObject({
      Type: "Map",
      ItemsPath: "$.benchmarks",
      MaxConcurrencyPath: "$.concurrency",
      ResultPath: "$.results",
      Next: "SummariseSuite",
    });
  });

  it("runs each benchmark as a child execution of this state machine, one failure caught per child", () => {
    const run = state("RunBenchmark");
    expect(run.Resource).toBe(START_EXECUTION_SYNC);
    expect(run.Parameters).toEqual({
      StateMachineArn: SELF_ARN,
      "Name.$": "$.executionName",
      "Input.$": "$.input",
    });
    expect(run).toMatchObject({
      ResultSelector: {
        "status.$": "$.Status",
        "executionArn.$": "$.ExecutionArn",
        "summary.$": "$.Output.summary",
      },
      ResultPath: "$.execution",
      End: true,
      Catch: [
        // A redriven iteration whose child already ran: its summary is its result.
        {
          ErrorEquals: ["StepFunctions.ExecutionAlreadyExistsException"],
          ResultPath: "$.alreadyRan",
          Next: "BenchmarkAlreadyRan",
        },
        { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: "BenchmarkFailed" },
      ],
    });
    // Retrying a failed child would run the whole benchmark again.
    expect(run.Retry).toBeUndefined();
    expect(state("BenchmarkFailed")).toEqual({ Type: "Pass", End: true });
    expect(state("BenchmarkAlreadyRan")).toEqual({ Type: "Pass", End: true });
  });

  it("summarises the suite, then succeeds or fails with BootBench.SuiteIncomplete", () => {
    expect(state("SummariseSuite")).toMatchObject({
      Parameters: {
        "suite.$": "$.suite",
        "results.$": "$.results",
        "skipped.$": "$.skipped",
        "unresolved.$": "$.unresolved",
      },
      ResultPath: "$.summary",
      Next: "SuiteSucceeded?",
    });
    expect(state("SuiteSucceeded?")).toEqual({
      Type: "Choice",
      Choices: [{ Variable: "$.summary.status", StringEquals: "succeeded", Next: "SuiteDone" }],
      Default: "SuiteFailed",
    });
    expect(state("SuiteFailed")).toMatchObject({ Type: "Fail", Error: "BootBench.SuiteIncomplete" });
  });

  it("lets the state machine start, follow and stop only its own executions", () => {
    const role = (machine.Properties.RoleArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    const statements = statementsOfRole(template, role);
    const withAction = (action: string) => statements.filter((s) => actionsOf(s).includes(action));
    expect(withAction("states:StartExecution").map(resourcesOf)).toEqual([[SELF_ARN]]);
    expect(withAction("states:DescribeExecution").map(resourcesOf)).toEqual([
      ["arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:BootBench-Benchmark:*"],
    ]);
    expect(withAction("states:StopExecution")).toEqual(withAction("states:DescribeExecution"));
    expect(withAction("events:PutRule").map(resourcesOf)).toEqual([
      [
        "arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule",
      ],
    ]);
  });
});

describe("suite steps' permissions", () => {
  const table = only("AWS::DynamoDB::GlobalTable")[0];
  const serviceStatements = (step: string) =>
    statementsOfFunctionRole(template, step).filter(
      (s) => !actionsOf(s).some((a) => a.startsWith("logs:") || a.startsWith("xray:")),
    );

  it("lets discover-targets read parameters and images, and query only the ByAmi index", () => {
    const statements = serviceStatements("discover-targets");
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      ["dynamodb:Query", "ec2:DescribeImages", "ssm:GetParameter", "ssm:GetParametersByPath"].sort(),
    );
    const query = statements.find((s) => actionsOf(s).includes("dynamodb:Query"));
    expect(resourcesOf(query)).toEqual([`<${table}.Arn>/index/ByAmi`]);
  });

  it("lets summarise-suite read and mark summaries, write the suite item, query BySource and ByAmi, publish alerts", () => {
    const statements = serviceStatements("summarise-suite");
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "sns:Publish",
      ].sort(),
    );
    const query = statements.find((s) => actionsOf(s).includes("dynamodb:Query"));
    expect(resourcesOf(query)).toEqual([`<${table}.Arn>/index/BySource`, `<${table}.Arn>/index/ByAmi`]);
    const write = statements.find((s) => actionsOf(s).includes("dynamodb:PutItem"));
    expect(write?.Resource).toEqual(getAtt(table, "Arn"));
  });
});
