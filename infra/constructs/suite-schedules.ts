import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { type LoadedSuite, scheduleName } from "../suites-schema.js";

/** How often Scheduler retries a StartExecution that failed, and for how long, before the DLQ. */
export const SCHEDULE_RETRY_ATTEMPTS = 5;
export const SCHEDULE_MAX_EVENT_AGE = Duration.hours(6);

export interface SuiteSchedulesProps {
  suites: readonly LoadedSuite[];
  stateMachine: sfn.IStateMachine;
  /** false (context `schedules=false`): every schedule is created DISABLED. */
  enabled: boolean;
}

/**
 * One EventBridge Scheduler schedule per suite, each starting the state machine with its suite input.
 * Scheduler retries a StartExecution that fails (throttling, a service error) and then puts the event
 * in a dead-letter queue, so a week that was not benchmarked leaves a trace. Its role may start
 * executions of this one state machine and send to that queue, nothing else.
 */
export class SuiteSchedules extends Construct {
  readonly deadLetterQueue: sqs.Queue;
  readonly role: iam.Role;
  readonly schedules: Record<string, scheduler.CfnSchedule> = {};

  constructor(scope: Construct, id: string, props: SuiteSchedulesProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        // Only schedules of this account may use the role (confused deputy).
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
      description: "boot-bench suite schedules: start the benchmark state machine",
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "StartSuiteExecutions",
        actions: ["states:StartExecution"],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );
    // Scheduler delivers to the dead-letter queue with the schedule's role.
    this.deadLetterQueue.grantSendMessages(this.role);
    const dlqReason =
      "This queue is itself the dead-letter queue of the suite schedules (their DeadLetterConfig); " +
      "nothing consumes it automatically, so it needs no dead-letter queue or redrive policy of its own.";
    Validations.of(this.deadLetterQueue).acknowledge(
      { id: "AwsSolutions-SQS3", reason: dlqReason },
      { id: "Serverless-SQSRedrivePolicy", reason: dlqReason },
    );

    for (const suite of props.suites) {
      const name = scheduleName(stack.stackName, suite.name);
      if (name.length > 64) {
        throw new Error(
          `Schedule name ${name} is longer than 64 characters: shorten the stack or suite name`,
        );
      }
      this.schedules[suite.name] = new scheduler.CfnSchedule(this, `Schedule-${suite.name}`, {
        name,
        description: (suite.description ?? `boot-bench suite ${suite.name}`).slice(0, 512),
        scheduleExpression: suite.schedule.expression,
        scheduleExpressionTimezone: suite.schedule.timezone,
        flexibleTimeWindow: { mode: "OFF" },
        state: props.enabled && suite.enabled ? "ENABLED" : "DISABLED",
        target: {
          // Scheduler's templated target for Step Functions: StartExecution with this input.
          arn: props.stateMachine.stateMachineArn,
          roleArn: this.role.roleArn,
          input: JSON.stringify(suite.input),
          retryPolicy: {
            maximumRetryAttempts: SCHEDULE_RETRY_ATTEMPTS,
            maximumEventAgeInSeconds: SCHEDULE_MAX_EVENT_AGE.toSeconds(),
          },
          deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
        },
      });
    }
  }
}
