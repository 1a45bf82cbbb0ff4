import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import { suites as configuredSuites } from "../config/suites.js";
import {
  type AllowLists,
  ANY_INSTANCE_TYPE,
  allowListsToEnvironment,
  PUBLIC_PARAMETER_PREFIX,
} from "../functions/domain/allow-lists.js";
import {
  MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS,
  PROBE_LAMBDA_TIMEOUT_SECONDS,
} from "../functions/domain/input-schema.js";
import { TAG_STACK } from "../functions/domain/instance-tags.js";
import {
  CONSOLE_KEY_PREFIX,
  FILMSTRIP_KEY_PREFIX,
  GUEST_KEY_READ_ATTRIBUTES,
  GUEST_OUTPUT_KEY_PREFIX,
  LAUNCH_LEDGER_ATTRIBUTES,
  OBSERVATION_MARK_ATTRIBUTES,
  PROBE_ENDED_ATTRIBUTES,
  RUN_ENDED_ATTRIBUTES,
} from "../functions/domain/run-record.js";
import {
  RUN_SLOT_ATTRIBUTES,
  RUN_SLOTS_PK,
  type RunSlotSettings,
  runSlotSettingsToEnvironment,
} from "../functions/domain/run-slots.js";
import { allowListsFromContext } from "./allow-lists.js";
import { Alerts } from "./constructs/alerts.js";
import { BenchmarkFunction, type BenchmarkFunctionProps } from "./constructs/benchmark-function.js";
import { Observability } from "./constructs/observability.js";
import { SuiteSchedules } from "./constructs/suite-schedules.js";
import { Sweeper } from "./constructs/sweeper.js";
import { integerFromContext, listFromContext } from "./context.js";
import { acknowledgeFindings } from "./nag-suppressions.js";
import { runLifeOf } from "./run-lifetime.js";
import { runSlotsFromContext } from "./run-slots.js";
import { BenchmarkStateMachine } from "./state-machine.js";
import { type LoadedSuite, loadSuites } from "./suites-schema.js";
import { benchmarkItemAttributes, GUEST_KEY_ITEM_CONDITIONS } from "./table-conditions.js";

/** Days a run's console output is kept (context `consoleRetentionDays`). */
export const DEFAULT_CONSOLE_RETENTION_DAYS = 90;

/** The tag every benchmark instance carries; IAM conditions and the sweeper key on it. */
export const STACK_TAG_KEY = TAG_STACK;

export const DEFAULT_PROBE_PORTS = [22];

/** The query indexes of docs/architecture.md: name and partition key; all sort on `startedAt`. */
const TABLE_INDEXES: [indexName: string, partitionKey: string][] = [
  ["ByAmi", "amiId"],
  ["BySource", "sourceParameter"],
  ["Recent", "recentPk"],
  ["FailedRuns", "failedPk"],
];

/**
 * Network settings, from CDK context (`cdk synth -c key=value` or cdk.json). None of them triggers a
 * context lookup: the stack synthesises offline and stays environment-agnostic.
 *
 * - `probePorts`: TCP ports the probe may reach on benchmark instances, a JSON array or a
 *   comma-separated list (default `[22]`). A benchmark whose `port` is not listed times out, because
 *   the instance security group drops the probe's SYNs.
 * - `vpcId` + `subnetIds` (JSON array or comma-separated): run in an existing VPC instead of the
 *   dedicated one. Instances and the probe go into these subnets; instances need a route to the
 *   internet only if their images update themselves on first boot.
 * - `availabilityZones`: the AZs of the dedicated VPC (default: the first two of the region); with
 *   `subnetIds`, the AZ of each subnet in the same order (optional).
 * - `routeTableIds` (with `subnetIds`, the route table of each subnet in the same order): the stack adds
 *   a DynamoDB gateway endpoint to them, through which the probe reads the run-ended mark. Leave it out
 *   when the subnets already reach DynamoDB (an endpoint of their own, a NAT); without either, a probe
 *   whose run has ended runs on to its own deadline. An endpoint changes the route of every workload's
 *   DynamoDB traffic in those subnets (its default policy allows everything, so nothing else changes).
 */
export interface NetworkSettings {
  probePorts: number[];
  existingVpc?: { vpcId: string; subnetIds: string[]; routeTableIds?: string[] };
  availabilityZones?: string[];
}

export function networkSettingsFromContext(scope: Construct): NetworkSettings {
  const probePorts = listFromContext(scope, "probePorts")?.map(Number) ?? DEFAULT_PROBE_PORTS;
  for (const port of probePorts) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`Context probePorts: ${String(port)} is not a TCP port (1-65535)`);
    }
  }
  const vpcId = scope.node.tryGetContext("vpcId") as string | undefined;
  const subnetIds = listFromContext(scope, "subnetIds");
  if ((vpcId === undefined) !== (subnetIds === undefined)) {
    throw new Error("Context vpcId and subnetIds go together: give both to use an existing VPC, or neither");
  }
  const availabilityZones = listFromContext(scope, "availabilityZones");
  const routeTableIds = listFromContext(scope, "routeTableIds");
  if (routeTableIds !== undefined && routeTableIds.length !== subnetIds?.length) {
    throw new Error(
      "Context routeTableIds must name the route table of each subnet in subnetIds, in the same order",
    );
  }
  if (
    subnetIds !== undefined &&
    availabilityZones !== undefined &&
    availabilityZones.length !== subnetIds.length
  ) {
    throw new Error(
      "Context availabilityZones must name the AZ of each subnet in subnetIds, in the same order",
    );
  }
  return {
    probePorts: [...new Set(probePorts)],
    ...(vpcId !== undefined &&
      subnetIds !== undefined && {
        existingVpc: { vpcId, subnetIds, ...(routeTableIds !== undefined && { routeTableIds }) },
      }),
    ...(availabilityZones !== undefined && { availabilityZones }),
  };
}

/** Context values arrive as JSON from cdk.json and as strings from `-c key=value`. */
export interface BootBenchStackProps extends StackProps {
  /** @default read from CDK context, see {@link networkSettingsFromContext} */
  network?: NetworkSettings;
  /** The suites to schedule, as config/suites.ts writes them (validated here). @default config/suites.ts */
  suites?: unknown;
}

/**
 * Suite settings from CDK context: `schedules=false` deploys every schedule DISABLED (they stay, so
 * turning them back on is an in-place update); `alertEmail` subscribes an address to regression alerts.
 */
export function suiteSettingsFromContext(scope: Construct): {
  schedulesEnabled: boolean;
  alertEmail?: string;
} {
  const schedules: unknown = scope.node.tryGetContext("schedules");
  const alertEmail: unknown = scope.node.tryGetContext("alertEmail");
  const schedulesEnabled = !(schedules === false || String(schedules).trim().toLowerCase() === "false");
  return {
    schedulesEnabled,
    ...(typeof alertEmail === "string" && alertEmail.trim() !== "" && { alertEmail: alertEmail.trim() }),
  };
}

export class BootBenchStack extends Stack {
  readonly table: dynamodb.TableV2;
  /** Every run's console output, gzip-compressed, under console/ (functions/capture-console). */
  readonly consoleBucket: s3.Bucket;
  readonly stateMachine: BenchmarkStateMachine;
  readonly suites: LoadedSuite[];
  /** What benchmarks may use (infra/allow-lists.ts): ValidateInput checks it, IAM enforces it. */
  readonly allowLists: AllowLists;
  /** The account-wide cap on runs in flight and the lease length (functions/domain/run-slots.ts). */
  readonly runSlots: RunSlotSettings;
  /** The alert topic: suites' regressions and the alarms' notifications. */
  readonly alerts: Alerts;
  readonly schedules: SuiteSchedules;
  readonly sweeper: Sweeper;
  /** The dashboard and the alarms (infra/constructs/observability.ts). */
  readonly observability: Observability;
  readonly functions: Record<
    | "validateInput"
    | "resolveImage"
    | "acquireRunSlot"
    | "launchInstance"
    | "pollState"
    | "probePort"
    | "captureScreenshots"
    | "captureConsole"
    | "terminateInstance"
    | "releaseRunSlot"
    | "recordRun"
    | "summarise"
    | "prepareGuestKey"
    | "deleteGuestKey"
    | "discoverTargets"
    | "summariseSuite",
    BenchmarkFunction
  >;

  constructor(scope: Construct, id: string, props: BootBenchStackProps = {}) {
    super(scope, id, props);
    const network = props.network ?? networkSettingsFromContext(this);
    // Validated first: a bad suite fails synth before anything else is built.
    this.suites = loadSuites(props.suites ?? configuredSuites);
    this.allowLists = allowListsFromContext(this, this.suites);
    const suiteSettings = suiteSettingsFromContext(this);
    const logRetention = logs.RetentionDays.THREE_MONTHS;
    const stackTag = this.stackName;

    // ---- network ------------------------------------------------------------------------------
    const { vpc, instanceSubnets, probeSubnets } = this.network(network, logRetention);

    const instanceSecurityGroup = new ec2.SecurityGroup(this, "InstanceSecurityGroup", {
      vpc,
      description:
        "boot-bench instances: probe port from the probe Lambda only; all outbound for first-boot updates",
      allowAllOutbound: true,
    });
    const probeSecurityGroup = new ec2.SecurityGroup(this, "ProbeSecurityGroup", {
      vpc,
      description: "boot-bench probe Lambda: TCP to benchmark instances on the probe ports only",
      allowAllOutbound: false,
    });
    for (const port of network.probePorts) {
      // Without this rule SYNs are dropped, RST is never seen and "closed" collapses into "open".
      probeSecurityGroup.connections.allowTo(
        instanceSecurityGroup,
        ec2.Port.tcp(port),
        `boot-bench probe to instances on TCP ${port}`,
      );
    }

    // ---- table --------------------------------------------------------------------------------
    this.table = new dynamodb.TableV2(this, "Results", {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      globalSecondaryIndexes: TABLE_INDEXES.map(([indexName, partitionKey]) => ({
        indexName,
        partitionKey: { name: partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: "startedAt", type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      })),
    });

    this.consoleBucket = this.consoleOutputBucket();
    this.probeEndpoints(network, vpc, probeSubnets);

    // The construct id predates the alarms: kept, so that the deployed topic, its ARN and its confirmed
    // subscriptions stay.
    this.alerts = new Alerts(this, "RegressionAlerts", {
      ...(suiteSettings.alertEmail !== undefined && { email: suiteSettings.alertEmail }),
    });

    // ---- functions ----------------------------------------------------------------------------
    const common = { logRetention };
    const fn = (constructId: string, props: BenchmarkFunctionProps) =>
      new BenchmarkFunction(this, constructId, props);
    this.functions = {
      validateInput: fn("ValidateInputFunction", {
        ...common,
        step: "validate-input",
        timeout: Duration.seconds(30),
        // The same lists IAM enforces below, so that a refusal names the field before anything runs.
        environment: allowListsToEnvironment(this.allowLists),
      }),
      resolveImage: fn("ResolveImageFunction", {
        ...common,
        step: "resolve-image",
        timeout: Duration.seconds(60),
      }),
      // The lease length is added once the state machine, whose definition bounds a run's life, exists.
      acquireRunSlot: fn("AcquireRunSlotFunction", {
        ...common,
        step: "acquire-run-slot",
        timeout: Duration.seconds(30),
        environment: { TABLE_NAME: this.table.tableName },
      }),
      launchInstance: fn("LaunchInstanceFunction", {
        ...common,
        step: "launch-instance",
        timeout: Duration.seconds(60),
        environment: {
          SUBNET_IDS: instanceSubnets.map((subnet) => subnet.subnetId).join(","),
          INSTANCE_SECURITY_GROUP_ID: instanceSecurityGroup.securityGroupId,
          STACK_TAG: stackTag,
          TABLE_NAME: this.table.tableName,
        },
      }),
      // Polls until runningTimeoutSeconds has passed. Validation bounds that only through
      // runningTimeout + openTimeout ≤ 840 s (today also by ≤ 600 s); a poll cut off by Lambda would
      // end as a bare timeout instead of BootBench.RunningTimeout. Idle time is not billed.
      pollState: fn("PollStateFunction", {
        ...common,
        step: "poll-state",
        timeout: Duration.seconds(MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS + 60),
        // Earlier runs of the benchmark say when running can be expected (the poll's schedule).
        environment: { TABLE_NAME: this.table.tableName },
      }),
      // Probes up to runningTimeout + openTimeout; more memory is more CPU for the tight connect
      // loop, which keeps timestamps sharp.
      probePort: fn("ProbePortFunction", {
        ...common,
        step: "probe-port",
        timeout: Duration.seconds(PROBE_LAMBDA_TIMEOUT_SECONDS),
        memorySize: 512,
        vpc,
        vpcSubnets: { subnets: probeSubnets },
        securityGroups: [probeSecurityGroup],
        // The run-ended mark and the guest key, read through the VPC's DynamoDB gateway endpoint; the
        // guest timings' answers, stored through its S3 gateway endpoint.
        environment: { CONSOLE_BUCKET: this.consoleBucket.bucketName, TABLE_NAME: this.table.tableName },
      }),
      // At most a screenshot a second until a few seconds after the probe: it ends by the probe's
      // deadline plus its tail and finish (functions/domain/filmstrip.ts), well inside this timeout.
      captureScreenshots: fn("CaptureScreenshotsFunction", {
        ...common,
        step: "capture-screenshots",
        timeout: Duration.seconds(PROBE_LAMBDA_TIMEOUT_SECONDS),
        environment: { CONSOLE_BUCKET: this.consoleBucket.bucketName, TABLE_NAME: this.table.tableName },
      }),
      // One GetConsoleOutput (two when Latest is refused) and one PutObject of at most 64 KB: short,
      // since every attempt counts in the sweeper's age bound.
      captureConsole: fn("CaptureConsoleFunction", {
        ...common,
        step: "capture-console",
        timeout: Duration.seconds(15),
        environment: { CONSOLE_BUCKET: this.consoleBucket.bucketName },
      }),
      terminateInstance: fn("TerminateInstanceFunction", {
        ...common,
        step: "terminate-instance",
        timeout: Duration.seconds(60),
        environment: { STACK_TAG: stackTag, TABLE_NAME: this.table.tableName },
      }),
      releaseRunSlot: fn("ReleaseRunSlotFunction", {
        ...common,
        step: "release-run-slot",
        timeout: Duration.seconds(30),
        environment: { TABLE_NAME: this.table.tableName },
      }),
      recordRun: fn("RecordRunFunction", {
        ...common,
        step: "record-run",
        timeout: Duration.seconds(30),
        environment: { TABLE_NAME: this.table.tableName },
      }),
      summarise: fn("SummariseFunction", {
        ...common,
        step: "summarise",
        timeout: Duration.seconds(60),
        environment: { TABLE_NAME: this.table.tableName },
      }),
      // Guest timings only (settings.guestTimings): the benchmark's key pair, made before its runs
      // and deleted after them; ImportKeyPair and DeleteKeyPair answer within a second.
      prepareGuestKey: fn("PrepareGuestKeyFunction", {
        ...common,
        step: "prepare-guest-key",
        timeout: Duration.seconds(30),
        environment: { STACK_TAG: stackTag, TABLE_NAME: this.table.tableName },
      }),
      deleteGuestKey: fn("DeleteGuestKeyFunction", {
        ...common,
        step: "delete-guest-key",
        timeout: Duration.seconds(30),
        environment: { TABLE_NAME: this.table.tableName },
      }),
      ...this.suiteFunctions(fn, common),
    };
    this.grantStepPermissions(
      { instanceSubnets, probeSubnets },
      { instanceSecurityGroup, probeSecurityGroup },
      stackTag,
    );
    this.grantSuitePermissions();

    // ---- state machine ------------------------------------------------------------------------
    this.stateMachine = new BenchmarkStateMachine(this, "StateMachine", {
      functions: {
        validateInput: this.functions.validateInput.function,
        resolveImage: this.functions.resolveImage.function,
        acquireRunSlot: this.functions.acquireRunSlot.function,
        launchInstance: this.functions.launchInstance.function,
        pollState: this.functions.pollState.function,
        probePort: this.functions.probePort.function,
        captureScreenshots: this.functions.captureScreenshots.function,
        captureConsole: this.functions.captureConsole.function,
        terminateInstance: this.functions.terminateInstance.function,
        releaseRunSlot: this.functions.releaseRunSlot.function,
        recordRun: this.functions.recordRun.function,
        summarise: this.functions.summarise.function,
        prepareGuestKey: this.functions.prepareGuestKey.function,
        deleteGuestKey: this.functions.deleteGuestKey.function,
        discoverTargets: this.functions.discoverTargets.function,
        summariseSuite: this.functions.summariseSuite.function,
      },
      logRetention,
    });
    this.schedules = new SuiteSchedules(this, "SuiteSchedules", {
      suites: this.suites,
      stateMachine: this.stateMachine.stateMachine,
      enabled: suiteSettings.schedulesEnabled,
    });

    this.runSlots = runSlotsFromContext(this, this.stateMachine.stateMachine);
    const slotEnvironment = runSlotSettingsToEnvironment(this.runSlots);
    for (const step of [this.functions.acquireRunSlot, this.functions.releaseRunSlot]) {
      for (const [name, value] of Object.entries(slotEnvironment)) step.function.addEnvironment(name, value);
    }

    new CfnOutput(this, "StateMachineArn", { value: this.stateMachine.stateMachine.stateMachineArn });
    new CfnOutput(this, "StateMachineName", { value: this.stateMachine.stateMachine.stateMachineName });
    new CfnOutput(this, "TableName", { value: this.table.tableName });
    new CfnOutput(this, "ConsoleBucketName", { value: this.consoleBucket.bucketName });
    new CfnOutput(this, "AlertTopicArn", { value: this.alerts.topic.topicArn });
    new CfnOutput(this, "ScheduleDeadLetterQueueUrl", { value: this.schedules.deadLetterQueue.queueUrl });

    // Last line of defence against leaked instances (infra/constructs/sweeper.ts).
    // Its age bound must exceed the longest life of a run, read from the state machine's definition.
    this.sweeper = new Sweeper(this, "Sweeper", {
      table: this.table,
      stateMachineName: this.stateMachine.stateMachineName,
      stackTag,
      logRetention,
      runLife: runLifeOf(this.stateMachine.stateMachine),
    });

    this.observability = new Observability(this, "Observability", {
      stateMachine: this.stateMachine.stateMachine,
      functions: {
        ...Object.fromEntries(Object.values(this.functions).map((step) => [step.step, step.function])),
        sweeper: this.sweeper.function,
      },
      scheduleDeadLetterQueue: this.schedules.deadLetterQueue,
      alerts: this.alerts,
    });

    acknowledgeFindings(this);
  }

  /**
   * The console output of every run, and the filmstrips of those that asked for one: private, SSE-S3,
   * TLS only, and gone after `consoleRetentionDays` (context, default 90). Retained with the stack like
   * the table, whose run items name its keys.
   */
  private consoleOutputBucket(): s3.Bucket {
    const retentionDays = integerFromContext(this, "consoleRetentionDays", DEFAULT_CONSOLE_RETENTION_DAYS, {
      min: 1,
      max: 3650,
      what: "days",
    });
    return new s3.Bucket(this, "ConsoleOutput", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      lifecycleRules: [
        {
          id: "ExpireConsoleOutput",
          prefix: CONSOLE_KEY_PREFIX,
          expiration: Duration.days(retentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          id: "ExpireFilmstrips",
          prefix: FILMSTRIP_KEY_PREFIX,
          expiration: Duration.days(retentionDays),
        },
        {
          id: "ExpireGuestTimings",
          prefix: GUEST_OUTPUT_KEY_PREFIX,
          expiration: Duration.days(retentionDays),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** The suite steps (infra/suite-flow.ts): both read the table; SummariseSuite publishes alerts. */
  private suiteFunctions(
    fn: (constructId: string, props: BenchmarkFunctionProps) => BenchmarkFunction,
    common: { logRetention: logs.RetentionDays },
  ): Pick<BootBenchStack["functions"], "discoverTargets" | "summariseSuite"> {
    return {
      // GetParametersByPath pages through a whole tree (10 parameters a call), so a minute.
      discoverTargets: fn("DiscoverTargetsFunction", {
        ...common,
        step: "discover-targets",
        timeout: Duration.seconds(60),
        environment: { TABLE_NAME: this.table.tableName },
      }),
      summariseSuite: fn("SummariseSuiteFunction", {
        ...common,
        step: "summarise-suite",
        timeout: Duration.seconds(60),
        environment: { TABLE_NAME: this.table.tableName, ALERT_TOPIC_ARN: this.alerts.topic.topicArn },
      }),
    };
  }

  private grantSuitePermissions(): void {
    const { discoverTargets, summariseSuite } = this.functions;
    const index = (name: string) => `${this.table.tableArn}/index/${name}`;
    discoverTargets.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "DiscoverImageParameters",
        actions: ["ssm:GetParameter", "ssm:GetParametersByPath"],
        resources: this.imageParameterArns(),
      }),
    );
    discoverTargets.addToRolePolicy(
      new iam.PolicyStatement({ sid: "DescribeImages", actions: ["ec2:DescribeImages"], resources: ["*"] }),
    );
    discoverTargets.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "FindEarlierBenchmarksOfAmi",
        actions: ["dynamodb:Query"],
        resources: [index("ByAmi")],
      }),
    );
    summariseSuite.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "ReadSummariesWriteSuite",
        actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        resources: [this.table.tableArn],
      }),
    );
    summariseSuite.addToRolePolicy(
      new iam.PolicyStatement({
        // A series' baseline by BySource; a control given by AMI id, its own last benchmark by ByAmi.
        sid: "FindBaselines",
        actions: ["dynamodb:Query"],
        resources: [index("BySource"), index("ByAmi")],
      }),
    );
    this.alerts.grantPublish(summariseSuite.role);
  }

  private network(
    settings: NetworkSettings,
    logRetention: logs.RetentionDays,
  ): { vpc: ec2.IVpc; instanceSubnets: ec2.ISubnet[]; probeSubnets: ec2.ISubnet[] } {
    if (settings.existingVpc !== undefined) {
      const { vpcId, subnetIds } = settings.existingVpc;
      const azs = settings.availabilityZones;
      // The subnets are passed explicitly wherever they are used, so the imported VPC needs none.
      const vpc = ec2.Vpc.fromVpcAttributes(this, "Vpc", {
        vpcId,
        availabilityZones: azs ?? this.availabilityZones,
      });
      const routeTableIds = settings.existingVpc.routeTableIds;
      const subnets = subnetIds.map((subnetId, i) =>
        azs?.[i] !== undefined || routeTableIds?.[i] !== undefined
          ? ec2.Subnet.fromSubnetAttributes(this, `Subnet${i}`, {
              subnetId,
              ...(azs?.[i] !== undefined && { availabilityZone: azs[i] }),
              ...(routeTableIds?.[i] !== undefined && { routeTableId: routeTableIds[i] }),
            })
          : ec2.Subnet.fromSubnetId(this, `Subnet${i}`, subnetId),
      );
      return { vpc, instanceSubnets: subnets, probeSubnets: subnets };
    }
    // Public subnets behind an internet gateway and no NAT: nothing to pay while idle, and images
    // whose first boot reaches the internet behave as they do for users.
    const vpc = new ec2.Vpc(this, "Vpc", {
      ...(settings.availabilityZones !== undefined
        ? { availabilityZones: settings.availabilityZones }
        : { maxAzs: 2 }),
      natGateways: 0,
      // The probe's subnets are apart, with route tables of their own: the gateway endpoints through
      // which it reaches DynamoDB and S3 (probeEndpoints) go there only, so that the instances' route to
      // AWS services is the internet's, as for users, and not an endpoint whose policy refuses them.
      // Listed after Public, so that the public subnets keep their CIDR blocks.
      subnetConfiguration: [
        { name: "Public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: "Probe", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // Nothing uses the default security group; restricting it costs a custom-resource Lambda.
      restrictDefaultSecurityGroup: false,
    });
    // Rejected flows only: they show SYNs dropped by a security group, the one network failure
    // that silently turns "closed" into "open".
    vpc.addFlowLog("RejectedFlows", {
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, "FlowLogGroup", {
          retention: logRetention,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      ),
    });
    return { vpc, instanceSubnets: vpc.publicSubnets, probeSubnets: vpc.isolatedSubnets };
  }

  /**
   * The probe has no NAT: gateway endpoints (free, unlike interface endpoints) are its one way to AWS
   * APIs, DynamoDB for the run-ended mark and its own end mark, S3 for the guest timings' answers. In
   * the dedicated VPC they sit on the probe's route tables only, and their policies allow exactly what
   * the probe's role may do there (test/infra/boot-bench-stack.test.ts holds the two together). An
   * existing VPC gets them only on the route tables named (NetworkSettings), with the default policy,
   * since other workloads' traffic would take the same route.
   */
  private probeEndpoints(settings: NetworkSettings, vpc: ec2.IVpc, probeSubnets: ec2.ISubnet[]): void {
    if (settings.existingVpc !== undefined && settings.existingVpc.routeTableIds === undefined) return;
    const endpoint = (id: string, service: ec2.GatewayVpcEndpointAwsService) =>
      new ec2.GatewayVpcEndpoint(this, id, { vpc, service, subnets: [{ subnets: probeSubnets }] });
    const dynamoDb = endpoint("DynamoDbEndpoint", ec2.GatewayVpcEndpointAwsService.DYNAMODB);
    const s3Endpoint = endpoint("S3Endpoint", ec2.GatewayVpcEndpointAwsService.S3);
    if (settings.existingVpc !== undefined) return;
    dynamoDb.addToPolicy(
      new iam.PolicyStatement({
        sid: "ReadRunEndedMarksAndMarkProbeEnded",
        principals: [new iam.AnyPrincipal()],
        actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        resources: [this.table.tableArn],
      }),
    );
    s3Endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: "StoreGuestTimings",
        principals: [new iam.AnyPrincipal()],
        actions: ["s3:PutObject"],
        resources: [this.consoleBucket.arnForObjects(`${GUEST_OUTPUT_KEY_PREFIX}*`)],
      }),
    );
  }

  private grantStepPermissions(
    subnets: { instanceSubnets: ec2.ISubnet[]; probeSubnets: ec2.ISubnet[] },
    securityGroups: { instanceSecurityGroup: ec2.ISecurityGroup; probeSecurityGroup: ec2.ISecurityGroup },
    stackTag: string,
  ): void {
    const { instanceSecurityGroup, probeSecurityGroup } = securityGroups;
    const instanceArn = this.formatArn({ service: "ec2", resource: "instance", resourceName: "*" });
    const volumeArn = this.formatArn({ service: "ec2", resource: "volume", resourceName: "*" });

    const arnsOf = (list: ec2.ISubnet[]) =>
      list.map((subnet) =>
        this.formatArn({ service: "ec2", resource: "subnet", resourceName: subnet.subnetId }),
      );
    const instanceSubnetArns = arnsOf(subnets.instanceSubnets);
    const probeSubnetArns = arnsOf(subnets.probeSubnets);

    const f = this.functions;
    // A ReturnValues of ALL_OLD or ALL_NEW would return attributes beyond those named in the request.
    const launchLedgerConditions = {
      "ForAllValues:StringEquals": { "dynamodb:Attributes": [...LAUNCH_LEDGER_ATTRIBUTES] },
      StringEqualsIfExists: { "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"] },
    };

    f.resolveImage.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "ReadImageParameters",
        // ResolveImage reads one parameter; only DiscoverTargets walks trees (GetParametersByPath).
        actions: ["ssm:GetParameter"],
        resources: this.imageParameterArns(),
      }),
    );
    f.resolveImage.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "DescribeImagesAndInstanceTypes",
        actions: ["ec2:DescribeImages", "ec2:DescribeInstanceTypes"],
        resources: ["*"],
      }),
    );

    const stackTagged = { [`aws:RequestTag/${STACK_TAG_KEY}`]: stackTag };
    const { instanceTypes } = this.allowLists;
    f.launchInstance.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "RunTaggedInstancesOfAllowedTypes",
        actions: ["ec2:RunInstances"],
        resources: [instanceArn],
        conditions: {
          StringEquals:
            instanceTypes === ANY_INSTANCE_TYPE
              ? stackTagged
              : { ...stackTagged, "ec2:InstanceType": [...instanceTypes] },
        },
      }),
    );
    // A separate statement: ec2:InstanceType exists only for the instance resource, so in one
    // statement with the volume it would deny every launch.
    f.launchInstance.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "RunTaggedVolumes",
        actions: ["ec2:RunInstances"],
        resources: [volumeArn],
        conditions: { StringEquals: stackTagged },
      }),
    );
    f.launchInstance.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "RunInstancesWithStackNetwork",
        actions: ["ec2:RunInstances"],
        resources: [
          this.formatArn({ service: "ec2", account: "", resource: "image", resourceName: "*" }),
          ...instanceSubnetArns,
          this.formatArn({
            service: "ec2",
            resource: "security-group",
            resourceName: instanceSecurityGroup.securityGroupId,
          }),
        ],
      }),
    );
    // The instance's network interface is created by the launch: its id is unknown, its subnet is not.
    f.launchInstance.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "RunInstancesInterfacesInStackSubnets",
        actions: ["ec2:RunInstances"],
        resources: [this.formatArn({ service: "ec2", resource: "network-interface", resourceName: "*" })],
        conditions: { ArnEquals: { "ec2:Subnet": instanceSubnetArns } },
      }),
    );
    // Guest timings: only the stack's own key pairs (PrepareGuestKey tags each at import).
    const keyPairArn = this.formatArn({ service: "ec2", resource: "key-pair", resourceName: "*" });
    const stackResource = { [`aws:ResourceTag/${STACK_TAG_KEY}`]: stackTag };
    f.launchInstance.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "RunInstancesWithStackKeyPairs",
        actions: ["ec2:RunInstances"],
        resources: [keyPairArn],
        conditions: { StringEquals: stackResource },
      }),
    );
    f.prepareGuestKey.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "ImportTaggedKeyPairs",
        actions: ["ec2:ImportKeyPair"],
        resources: [keyPairArn],
        conditions: { StringEquals: stackTagged },
      }),
    );
    f.prepareGuestKey.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "TagKeyPairsOnImportOnly",
        actions: ["ec2:CreateTags"],
        resources: [keyPairArn],
        conditions: { StringEquals: { "ec2:CreateAction": "ImportKeyPair" } },
      }),
    );
    f.prepareGuestKey.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "CheckImportedKeyPair",
        actions: ["ec2:DescribeKeyPairs"],
        resources: ["*"],
      }),
    );
    f.deleteGuestKey.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "DeleteStackKeyPairs",
        actions: ["ec2:DeleteKeyPair"],
        resources: [keyPairArn],
        conditions: { StringEquals: stackResource },
      }),
    );
    // The private half, for the probe: one item per benchmark, written once, its key removed at the end.
    f.prepareGuestKey.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "StoreGuestKey",
        actions: ["dynamodb:PutItem"],
        resources: [this.table.tableArn],
        conditions: GUEST_KEY_ITEM_CONDITIONS,
      }),
    );
    f.prepareGuestKey.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "ReadStoredGuestKey",
        actions: ["dynamodb:GetItem"],
        resources: [this.table.tableArn],
      }),
    );
    f.deleteGuestKey.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "RetireGuestKey",
        actions: ["dynamodb:UpdateItem"],
        resources: [this.table.tableArn],
        conditions: GUEST_KEY_ITEM_CONDITIONS,
      }),
    );
    f.launchInstance.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "TagOnLaunchOnly",
        actions: ["ec2:CreateTags"],
        resources: [instanceArn, volumeArn],
        conditions: { StringEquals: { "ec2:CreateAction": "RunInstances" } },
      }),
    );
    // A launch response without a private IP is followed by DescribeInstances until it has one.
    f.launchInstance.addToRolePolicy(
      new iam.PolicyStatement({ sid: "FindPrivateIp", actions: ["ec2:DescribeInstances"], resources: ["*"] }),
    );
    // The launch ledger: one counter item per run, which tells a retried launch that it may be a replay.
    f.launchInstance.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "CountLaunchSends",
        actions: ["dynamodb:UpdateItem"],
        resources: [this.table.tableArn],
        // The ledger's own attributes only: the launch step can never touch a run or a summary's figures.
        conditions: launchLedgerConditions,
      }),
    );

    f.pollState.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "DescribeInstances",
        actions: ["ec2:DescribeInstances"],
        resources: ["*"],
      }),
    );
    f.pollState.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "ReadEarlierRuns",
        actions: ["dynamodb:Query"],
        resources: [this.table.tableArn],
      }),
    );

    // Lambda creates and deletes the probe's network interfaces with the function's own role. The IAM
    // service reference gives CreateNetworkInterface the network-interface, subnet and security-group
    // resource types (the interface with the ec2:Subnet condition key): only in the probe's subnets,
    // with its security group. Delete and the address actions act on an interface Lambda made, whose
    // id is not known in advance (Lambda's guide asks for network-interface/* or wider for Delete), so
    // they stay on network-interface/* of this account and region; the Describe actions take only "*".
    const networkInterfaceArn = this.formatArn({
      service: "ec2",
      resource: "network-interface",
      resourceName: "*",
    });
    f.probePort.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "CreateProbeInterfacesInStackSubnets",
        actions: ["ec2:CreateNetworkInterface"],
        resources: [networkInterfaceArn],
        conditions: { ArnEquals: { "ec2:Subnet": probeSubnetArns } },
      }),
    );
    f.probePort.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "CreateProbeInterfacesWithProbeNetwork",
        actions: ["ec2:CreateNetworkInterface"],
        resources: [
          ...probeSubnetArns,
          this.formatArn({
            service: "ec2",
            resource: "security-group",
            resourceName: probeSecurityGroup.securityGroupId,
          }),
        ],
      }),
    );
    f.probePort.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "ManageProbeInterfaces",
        actions: [
          "ec2:DeleteNetworkInterface",
          "ec2:AssignPrivateIpAddresses",
          "ec2:UnassignPrivateIpAddresses",
        ],
        resources: [networkInterfaceArn],
      }),
    );
    f.probePort.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "DescribeProbeNetwork",
        actions: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
        resources: ["*"],
      }),
    );
    // The run-ended mark that terminate writes, so that a probe the state machine could not stop ends.
    f.probePort.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "ReadRunEndedMarks",
        actions: ["dynamodb:GetItem"],
        resources: [this.table.tableArn],
        // Benchmark partitions only, and of their items only the keys and the mark.
        conditions: benchmarkItemAttributes(RUN_ENDED_ATTRIBUTES),
      }),
    );

    // Guest timings: the private half of the benchmark's key, and nothing else of its item.
    f.probePort.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "ReadGuestKeys",
        actions: ["dynamodb:GetItem"],
        resources: [this.table.tableArn],
        conditions: benchmarkItemAttributes(GUEST_KEY_READ_ATTRIBUTES),
      }),
    );
    f.probePort.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "StoreGuestTimings",
        actions: ["s3:PutObject"],
        resources: [this.consoleBucket.arnForObjects(`${GUEST_OUTPUT_KEY_PREFIX}*`)],
      }),
    );

    // The probe's end mark, which ends the run's filmstrip.
    f.probePort.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "MarkProbeEnded",
        actions: ["dynamodb:UpdateItem"],
        resources: [this.table.tableArn],
        conditions: {
          ...benchmarkItemAttributes(PROBE_ENDED_ATTRIBUTES),
          StringEqualsIfExists: { "dynamodb:ReturnValues": ["NONE"] },
        },
      }),
    );

    f.captureScreenshots.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "ScreenshotStackInstances",
        actions: ["ec2:GetConsoleScreenshot"],
        resources: [instanceArn],
        conditions: { StringEquals: { [`aws:ResourceTag/${STACK_TAG_KEY}`]: stackTag } },
      }),
    );
    f.captureScreenshots.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "StoreFilmstrips",
        actions: ["s3:PutObject"],
        resources: [this.consoleBucket.arnForObjects(`${FILMSTRIP_KEY_PREFIX}*`)],
      }),
    );
    f.captureScreenshots.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "ReadObservationMarks",
        actions: ["dynamodb:GetItem"],
        resources: [this.table.tableArn],
        conditions: benchmarkItemAttributes(OBSERVATION_MARK_ATTRIBUTES),
      }),
    );

    f.captureConsole.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "ReadStackInstanceConsoles",
        actions: ["ec2:GetConsoleOutput"],
        resources: [instanceArn],
        conditions: { StringEquals: { [`aws:ResourceTag/${STACK_TAG_KEY}`]: stackTag } },
      }),
    );
    f.captureConsole.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "StoreConsoleOutput",
        actions: ["s3:PutObject"],
        resources: [this.consoleBucket.arnForObjects(`${CONSOLE_KEY_PREFIX}*`)],
      }),
    );

    f.terminateInstance.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "TerminateStackInstances",
        actions: ["ec2:TerminateInstances"],
        resources: [instanceArn],
        conditions: { StringEquals: { [`aws:ResourceTag/${STACK_TAG_KEY}`]: stackTag } },
      }),
    );
    f.terminateInstance.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "FindInstancesByClientToken",
        actions: ["ec2:DescribeInstances"],
        resources: ["*"],
      }),
    );
    // Closes the run's launch ledger: marks the run ended and learns whether a launch may have been sent.
    f.terminateInstance.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "CloseLaunchLedger",
        actions: ["dynamodb:UpdateItem"],
        resources: [this.table.tableArn],
        conditions: launchLedgerConditions,
      }),
    );

    // The run-slot partition only, and of its items only the lease attributes.
    const runSlotConditions = {
      "ForAllValues:StringEquals": {
        "dynamodb:LeadingKeys": [RUN_SLOTS_PK],
        "dynamodb:Attributes": [...RUN_SLOT_ATTRIBUTES],
      },
      StringEqualsIfExists: {
        "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"],
        "dynamodb:Select": ["SPECIFIC_ATTRIBUTES"],
      },
    };
    for (const [sid, step] of [
      ["TakeRunSlots", f.acquireRunSlot],
      ["GiveBackRunSlots", f.releaseRunSlot],
    ] as const) {
      step.addToRolePolicy(
        new iam.PolicyStatement({
          sid,
          actions: ["dynamodb:Query", "dynamodb:UpdateItem"],
          resources: [this.table.tableArn],
          conditions: runSlotConditions,
        }),
      );
    }

    f.recordRun.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "WriteRuns",
        actions: ["dynamodb:PutItem", "dynamodb:GetItem"],
        resources: [this.table.tableArn],
      }),
    );
    f.summarise.addToRolePolicy(
      new iam.PolicyStatement({
        // GetItem and PutItem also record late the runs RecordRun could not (putRunOnce).
        sid: "ReadRunsWriteSummary",
        actions: ["dynamodb:Query", "dynamodb:PutItem", "dynamodb:GetItem"],
        resources: [this.table.tableArn],
      }),
    );
  }

  /**
   * The SSM parameters images may be read from: the allow-list's prefixes, never `parameter/*` (an
   * image step's error could otherwise show any parameter of the account to whoever starts an
   * execution). Public parameters have no account in their ARN. Each prefix also names its own level,
   * which is the resource GetParametersByPath checks for a path without the trailing slash.
   */
  imageParameterArns(): string[] {
    return this.allowLists.imageParameterPrefixes.flatMap((prefix) => {
      const path = prefix.slice(1, -1);
      const account = prefix.startsWith(PUBLIC_PARAMETER_PREFIX) ? { account: "" } : {};
      return [path, `${path}/*`].map((resourceName) =>
        this.formatArn({ service: "ssm", ...account, resource: "parameter", resourceName }),
      );
    });
  }
}
