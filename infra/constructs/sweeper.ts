import { join } from "node:path";
import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { PROBE_LAMBDA_TIMEOUT_SECONDS } from "../../functions/domain/input-schema.js";
import { TAG_STACK } from "../../functions/domain/instance-tags.js";
import { BENCHMARK_RUNTIME, BUNDLING, PROJECT_ROOT } from "./benchmark-function.js";

export const DEFAULT_SWEEP_MAX_AGE_MINUTES = 30;
export const DEFAULT_SWEEP_INTERVAL_MINUTES = 10;
/**
 * A run's instance legitimately lives for its launch, the observation (at most the probe Lambda's
 * timeout) and the terminate step's retries; a bound below that would end benchmarks in progress.
 */
export const MIN_SWEEP_MAX_AGE_MINUTES = Math.ceil(PROBE_LAMBDA_TIMEOUT_SECONDS / 60) + 5;

/**
 * Sweeper settings, from CDK context:
 * - `sweeperMaxAgeMinutes` (default 30, at least {@link MIN_SWEEP_MAX_AGE_MINUTES}): instances with
 *   the stack tag older than this are terminated.
 * - `sweeperIntervalMinutes` (default 10, 1 to 60): how often the sweep runs.
 */
export interface SweeperSettings {
  maxAgeMinutes: number;
  intervalMinutes: number;
}

export function sweeperSettingsFromContext(scope: Construct): SweeperSettings {
  const read = (key: string, fallback: number, min: number, max: number): number => {
    const raw: unknown = scope.node.tryGetContext(key);
    if (raw === undefined || raw === null || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(
        `Context ${key} must be a whole number of minutes from ${min} to ${max}, got ${String(raw)}`,
      );
    }
    return value;
  };
  return {
    maxAgeMinutes: read(
      "sweeperMaxAgeMinutes",
      DEFAULT_SWEEP_MAX_AGE_MINUTES,
      MIN_SWEEP_MAX_AGE_MINUTES,
      7 * 24 * 60,
    ),
    intervalMinutes: read("sweeperIntervalMinutes", DEFAULT_SWEEP_INTERVAL_MINUTES, 1, 60),
  };
}

export interface SweeperProps {
  /** Sweep records go here (`pk = SWEEP#<date>`). */
  table: dynamodb.ITableV2;
  /** Value of the `boot-bench:stack` tag on the stack's instances: the stack name. */
  stackTag: string;
  logRetention: logs.RetentionDays;
  /** @default read from CDK context, see {@link sweeperSettingsFromContext} */
  settings?: SweeperSettings;
}

/**
 * The last line of defence against leaked instances: a scheduled Lambda that terminates every
 * instance carrying the stack's tag that is older than a bound, whatever happened upstream (an
 * execution stopped by hand or timed out, a terminate step that gave up). It may describe every
 * instance but terminate only tagged ones, and write only to the results table.
 */
export class Sweeper extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly rule: events.Rule;
  readonly settings: SweeperSettings;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.settings = props.settings ?? sweeperSettingsFromContext(this);

    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: "boot-bench sweeper: terminates the stack's instances older than a bound",
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, "Function", {
      entry: join(PROJECT_ROOT, "functions", "sweeper", "index.ts"),
      handler: "handler",
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, "package-lock.json"),
      runtime: BENCHMARK_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // Describing and terminating a few hundred instances with throttling backoff takes seconds;
      // the rest is headroom, and it stays well inside the interval so sweeps do not pile up.
      timeout: Duration.minutes(2),
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
        STACK_TAG: props.stackTag,
        TABLE_NAME: props.table.tableName,
        MAX_AGE_MINUTES: String(this.settings.maxAgeMinutes),
      },
      bundling: BUNDLING,
    });

    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "FindStackInstances",
        actions: ["ec2:DescribeInstances"],
        resources: ["*"],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "TerminateStackInstances",
        actions: ["ec2:TerminateInstances"],
        resources: [stack.formatArn({ service: "ec2", resource: "instance", resourceName: "*" })],
        conditions: { StringEquals: { [`aws:ResourceTag/${TAG_STACK}`]: props.stackTag } },
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "RecordSweeps",
        actions: ["dynamodb:PutItem"],
        resources: [props.table.tableArn],
      }),
    );

    this.rule = new events.Rule(this, "Schedule", {
      description: `boot-bench: terminate ${props.stackTag} instances older than ${this.settings.maxAgeMinutes} minutes`,
      schedule: events.Schedule.rate(Duration.minutes(this.settings.intervalMinutes)),
      targets: [
        new targets.LambdaFunction(this.function, {
          // A sweep that could not be delivered in time is superseded by the next one.
          maxEventAge: Duration.minutes(this.settings.intervalMinutes),
          retryAttempts: 2,
        }),
      ],
    });

    this.acknowledgeFindings(stack);
  }

  private acknowledgeFindings(stack: Stack): void {
    const ack = (scope: Construct, id: string, reason: string) =>
      Validations.of(scope).acknowledge({ id, reason });
    ack(
      this.function,
      "Serverless-LambdaDLQ",
      "A sweep carries no data: a failed invocation is retried by Lambda and superseded by the next scheduled " +
        "sweep, and it shows in the function's Errors metric and its structured ERROR log line.",
    );
    ack(
      this.rule,
      "Serverless-EventBusDLQ",
      "The scheduled event carries no data: an event EventBridge could not deliver is superseded by the next " +
        "sweep, at most one interval later.",
    );
    ack(
      this.role,
      "AwsSolutions-IAM5[Resource::*]",
      "ec2:DescribeInstances supports no resource-level permissions; xray:PutTraceSegments and " +
        "xray:PutTelemetryRecords (active tracing) neither.",
    );
    const instanceArn = stack.resolve(
      stack.formatArn({ service: "ec2", resource: "instance", resourceName: "*" }),
    );
    ack(
      this.role,
      `AwsSolutions-IAM5[Resource::${flattenArn(instanceArn)}]`,
      `Instance ids are not known in advance; TerminateInstances requires aws:ResourceTag/${TAG_STACK} = the stack name.`,
    );
  }
}

/** The string cdk-nag shows for an ARN token: pseudo parameters as `<…>`. */
function flattenArn(value: unknown): string {
  if (typeof value === "string") return value;
  const v = value as Record<string, unknown>;
  const join = v["Fn::Join"] as [string, unknown[]] | undefined;
  if (join) return join[1].map(flattenArn).join(join[0]);
  if (typeof v.Ref === "string") return `<${v.Ref}>`;
  throw new Error(`Cannot flatten ${JSON.stringify(value)} for a cdk-nag finding id`);
}
