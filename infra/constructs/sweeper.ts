import { join } from "node:path";
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { TAG_STACK } from "../../functions/domain/instance-tags.js";
import type { RunLifetime } from "../run-lifetime.js";
import { GUEST_KEY_ITEM_CONDITIONS } from "../table-conditions.js";
import { BENCHMARK_RUNTIME, BUNDLING, POWERTOOLS_ENVIRONMENT, PROJECT_ROOT } from "./benchmark-function.js";

export const DEFAULT_SWEEP_INTERVAL_MINUTES = 10;
export const MAX_SWEEP_MAX_AGE_MINUTES = 7 * 24 * 60;
/**
 * The default bound is the smallest safe one plus this: room for what the run's life does not count
 * (Step Functions' state transitions, tens of milliseconds each; clock differences between EC2 and
 * Lambda), so that the default is never the edge case.
 */
export const SWEEP_MAX_AGE_MARGIN_MINUTES = 10;

export interface SweepAgeBounds {
  /** The smallest bound that cannot end a run in progress. */
  minimumMinutes: number;
  defaultMinutes: number;
}

/**
 * The bounds that follow from the longest legitimate life of a run (infra/run-lifetime.ts). The
 * sweeper ends an instance at least `maxAgeMinutes` old, so the bound must be more than that life,
 * not merely equal: whole minutes strictly above it. The sweep interval is not added: an instance is
 * swept at the first sweep after it has passed the bound, so the interval only lengthens how long a
 * leaked instance lives (at most bound + interval); what could end a run in progress is the bound alone.
 */
export function sweepAgeBounds(runLife: RunLifetime): SweepAgeBounds {
  const minimumMinutes = Math.floor(runLife.totalSeconds / 60) + 1;
  return { minimumMinutes, defaultMinutes: minimumMinutes + SWEEP_MAX_AGE_MARGIN_MINUTES };
}

/** Refuses a bound that could end a run in progress, with the arithmetic that says why. */
export function assertBoundCoversRunLife(maxAgeMinutes: number, runLife: RunLifetime, source: string): void {
  const { minimumMinutes, defaultMinutes } = sweepAgeBounds(runLife);
  if (maxAgeMinutes >= minimumMinutes) return;
  const terms = runLife.terms.map((term) => `${term.name} ${term.seconds} s (${term.arithmetic})`);
  throw new Error(
    `${source}=${maxAgeMinutes} could end runs in progress: a run's instance may legitimately live ` +
      `${runLife.totalSeconds} s from its first RunInstances until its TerminateInstances is sent ` +
      `(${terms.join(" + ")} = ${runLife.totalSeconds} s), and the sweeper ends instances at least ` +
      `${maxAgeMinutes} minutes (${maxAgeMinutes * 60} s) old; it must be at least ${minimumMinutes} minutes ` +
      `(default ${defaultMinutes})`,
  );
}

/**
 * Sweeper settings, from CDK context:
 * - `sweeperMaxAgeMinutes` (default and minimum from {@link sweepAgeBounds}): instances with the stack
 *   tag at least this old are terminated.
 * - `sweeperIntervalMinutes` (default 10, 1 to 60): how often the sweep runs.
 */
export interface SweeperSettings {
  maxAgeMinutes: number;
  intervalMinutes: number;
}

export function sweeperSettingsFromContext(scope: Construct, runLife: RunLifetime): SweeperSettings {
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
  const { defaultMinutes } = sweepAgeBounds(runLife);
  const maxAgeMinutes = read("sweeperMaxAgeMinutes", defaultMinutes, 0, MAX_SWEEP_MAX_AGE_MINUTES);
  assertBoundCoversRunLife(maxAgeMinutes, runLife, "Context sweeperMaxAgeMinutes");
  return {
    maxAgeMinutes,
    intervalMinutes: read("sweeperIntervalMinutes", DEFAULT_SWEEP_INTERVAL_MINUTES, 1, 60),
  };
}

export interface SweeperProps {
  /** Sweep records go here (`pk = SWEEP#<date>`). */
  table: dynamodb.ITableV2;
  /**
   * The benchmark state machine's name: the sweeper asks whether a key pair's benchmark still runs
   * (DescribeExecution) before it deletes the key pair.
   */
  stateMachineName: string;
  /** Value of the `boot-bench:stack` tag on the stack's instances: the stack name. */
  stackTag: string;
  logRetention: logs.RetentionDays;
  /**
   * The longest legitimate life of a run's instance (infra/run-lifetime.ts, from the state machine's
   * definition): the age bound must exceed it, and the default derives from it.
   */
  runLife: RunLifetime;
  /** @default read from CDK context, see {@link sweeperSettingsFromContext} */
  settings?: SweeperSettings;
}

/**
 * The last line of defence against leaked instances: a scheduled Lambda that terminates every
 * instance carrying the stack's tag that is older than a bound, whatever happened upstream (an
 * execution stopped by hand or timed out, a terminate step that gave up), and deletes the stack's
 * key pairs older than the same bound. It may describe every instance and key pair but terminate and
 * delete only tagged ones, and write only to the results table.
 */
export class Sweeper extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly rule: events.Rule;
  readonly settings: SweeperSettings;
  private readonly stateMachineName: string;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.settings = props.settings ?? sweeperSettingsFromContext(this, props.runLife);
    this.stateMachineName = props.stateMachineName;
    assertBoundCoversRunLife(this.settings.maxAgeMinutes, props.runLife, "Sweeper settings.maxAgeMinutes");

    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description:
        "boot-bench sweeper: terminates the stack's instances and deletes its key pairs older than a bound",
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
        ...POWERTOOLS_ENVIRONMENT,
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
    // DescribeKeyPairs supports no resource-level permissions; DeleteKeyPair takes the key-pair
    // resource and aws:ResourceTag (Service Authorization Reference, Amazon EC2).
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "FindStackKeyPairs",
        actions: ["ec2:DescribeKeyPairs"],
        resources: ["*"],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "DeleteStackKeyPairs",
        actions: ["ec2:DeleteKeyPair"],
        resources: [stack.formatArn({ service: "ec2", resource: "key-pair", resourceName: "*" })],
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
    // Guest keys: whose benchmark still runs (the key item names the execution), and the private half
    // of a key pair it deleted.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "ReadGuestKeys",
        actions: ["dynamodb:GetItem"],
        resources: [props.table.tableArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "RetireGuestKeys",
        actions: ["dynamodb:UpdateItem"],
        resources: [props.table.tableArn],
        conditions: GUEST_KEY_ITEM_CONDITIONS,
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "AskWhetherBenchmarksRun",
        actions: ["states:DescribeExecution"],
        resources: [
          stack.formatArn({
            service: "states",
            resource: "execution",
            resourceName: `${props.stateMachineName}:*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
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
      "ec2:DescribeInstances and ec2:DescribeKeyPairs support no resource-level permissions; " +
        "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) neither.",
    );
    const instanceArn = stack.resolve(
      stack.formatArn({ service: "ec2", resource: "instance", resourceName: "*" }),
    );
    ack(
      this.role,
      `AwsSolutions-IAM5[Resource::${flattenArn(instanceArn)}]`,
      `Instance ids are not known in advance; TerminateInstances requires aws:ResourceTag/${TAG_STACK} = the stack name.`,
    );
    const keyPairArn = stack.resolve(
      stack.formatArn({ service: "ec2", resource: "key-pair", resourceName: "*" }),
    );
    ack(
      this.role,
      `AwsSolutions-IAM5[Resource::${flattenArn(keyPairArn)}]`,
      "Key pair names (one per benchmark) are not known at deploy time; DeleteKeyPair requires " +
        `aws:ResourceTag/${TAG_STACK} = the stack name.`,
    );
    ack(
      this.role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${this.stateMachineName}:*]`,
      "Executions are named per benchmark; DescribeExecution (read only) is limited to the benchmark state " +
        "machine's executions, to know whether a key pair's benchmark still runs.",
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
