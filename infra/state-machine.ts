/**
 * The benchmark state machine, exactly as docs/architecture.md draws it. The payloads built here are
 * the other half of functions/domain/contract.ts: change both together.
 *
 * JSONPath only (no JSONata, no variables): the same definition runs in aws-local-stepfunctions.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { ErrorNames } from "../functions/domain/contract.js";
import { EC2_TRANSIENT_ERRORS } from "../functions/domain/ec2-errors.js";
import { buildSuiteFlow } from "./suite-flow.js";

/**
 * The Lambda behind each step. `lambda.Function` rather than `IFunction`: every Task's TimeoutSeconds
 * is derived from its function's timeout, which only the concrete construct carries.
 */
export interface StepFunctions {
  validateInput: lambda.Function;
  resolveImage: lambda.Function;
  /** Takes and gives back the run's slot of the account-wide cap (functions/domain/run-slots.ts). */
  acquireRunSlot: lambda.Function;
  launchInstance: lambda.Function;
  pollState: lambda.Function;
  probePort: lambda.Function;
  /** The boot filmstrip, beside the poll and the probe (on request; returns at once otherwise). */
  captureScreenshots: lambda.Function;
  /** Keeps the instance's console output after the observation, before terminate. */
  captureConsole: lambda.Function;
  terminateInstance: lambda.Function;
  releaseRunSlot: lambda.Function;
  recordRun: lambda.Function;
  summarise: lambda.Function;
  /** Guest timings: the benchmark's key pair, made before its runs and deleted after them. */
  prepareGuestKey: lambda.Function;
  deleteGuestKey: lambda.Function;
  /** Suites (infra/suite-flow.ts): resolve the targets, then close the suite run. */
  discoverTargets: lambda.Function;
  summariseSuite: lambda.Function;
}

/**
 * Added to a function's timeout to give its Task's TimeoutSeconds. The Task's timer starts when Step
 * Functions invokes, the function's when its handler starts: in between come the invoke round trip
 * and a cold start, whose Init phase Lambda bounds at 10 s outside the function timeout; after the
 * handler, the response's way back. 15 s covers those with room to spare, so that a function that
 * overruns fails with Lambda's own Sandbox.Timedout ("Task timed out after N seconds", with a request
 * id to find its logs) before the Task's bare States.Timeout; yet it is small next to every step's
 * timeout, so a lost invocation is not waited on for long after Lambda would have stopped it.
 */
export const TASK_TIMEOUT_MARGIN = Duration.seconds(15);

/**
 * How a run waits for a run slot while all are held (or the account's next start is not yet due):
 * AcquireRunSlot fails with RunSlotsBusy and is retried, 1 s at first and then up to 10 s apart
 * (full jitter: 5 s on average, so that a slot given back is taken within a fraction of a second
 * while many runs wait, and few idle seconds are lost when only a few do). Each retry is one state transition ($0.025 per 1,000). After 8,640 tries (at
 * most 24 h, about 12 h on average) the run fails with RunSlotsBusy: by then leases held by crashed
 * executions have long expired, so something else holds the account's slots.
 */
export const RUN_SLOT_WAIT = {
  interval: Duration.seconds(1),
  backoffRate: 1.5,
  maxDelay: Duration.seconds(10),
  maxAttempts: 8_640,
} as const;

const LAMBDA_TRANSIENT_ERRORS = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
];
const DYNAMODB_TRANSIENT_ERRORS = [
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "InternalServerError",
];

/**
 * What a step mostly talks to, for the retriers of its service's transient errors. An `ec2` step
 * retries EC2's throttling, its server errors and requests left unanswered
 * (functions/domain/ec2-errors.ts): its client makes one attempt, and every EC2 call of the stack is
 * safe to send again.
 */
type StepKind = "plain" | "ec2" | "dynamodb";

function addRetries(task: tasks.LambdaInvoke, kind: StepKind, extraErrors: string[] = []): void {
  task.addRetry({
    errors: LAMBDA_TRANSIENT_ERRORS,
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 5,
    maxDelay: Duration.seconds(30),
    jitterStrategy: sfn.JitterType.FULL,
  });
  // A VPC function's network interface is reclaimed after weeks idle; re-creating it takes minutes,
  // and a weekly schedule sits right at that window.
  task.addRetry({
    errors: ["Lambda.ResourceNotReadyException"],
    interval: Duration.seconds(5),
    backoffRate: 2,
    maxAttempts: 6,
    maxDelay: Duration.seconds(60),
    jitterStrategy: sfn.JitterType.FULL,
  });
  const serviceErrors =
    kind === "ec2" ? EC2_TRANSIENT_ERRORS : kind === "dynamodb" ? DYNAMODB_TRANSIENT_ERRORS : [];
  const errors = [...serviceErrors, ...extraErrors];
  if (errors.length > 0) {
    task.addRetry({
      errors,
      interval: Duration.seconds(1),
      backoffRate: 2,
      maxAttempts: 6,
      maxDelay: Duration.seconds(20),
      jitterStrategy: sfn.JitterType.FULL,
    });
  }
}

/**
 * The retries of a step whose failure is recorded and changes nothing else (CaptureConsole): every
 * attempt holds the instance and its run slot, and each one is in the sweeper's age bound
 * (infra/run-lifetime.ts), so a few quick ones, and the failure is kept with the run.
 */
function addBestEffortRetries(task: tasks.LambdaInvoke, kind: StepKind, extraErrors: string[]): void {
  const brief = { interval: Duration.seconds(1), backoffRate: 2, maxDelay: Duration.seconds(5) };
  task.addRetry({
    errors: LAMBDA_TRANSIENT_ERRORS,
    ...brief,
    maxAttempts: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
  const errors = [...(kind === "ec2" ? EC2_TRANSIENT_ERRORS : []), ...extraErrors];
  if (errors.length > 0) {
    task.addRetry({ errors, ...brief, maxAttempts: 3, jitterStrategy: sfn.JitterType.FULL });
  }
}

export function invoke(
  scope: Construct,
  stateName: string,
  fn: lambda.Function,
  kind: StepKind,
  props: {
    payload?: sfn.TaskInput;
    resultPath?: string;
    extraRetryErrors?: string[];
    /** A step that may fail without harm: a few brief retries (addBestEffortRetries). */
    bestEffort?: boolean;
    /** A step that must not run twice: no Retry at all, its Catch takes every failure. */
    noRetry?: boolean;
  } = {},
): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, stateName, {
    lambdaFunction: fn,
    // Without TimeoutSeconds AWS waits up to a year, aws-local-stepfunctions 60 s: both must agree.
    taskTimeout: sfn.Timeout.duration(taskTimeoutFor(stateName, fn)),
    // The Resource is the function ARN and Parameters are the payload itself: the local runner maps
    // Resources to handlers, and Lambda's response envelope never reaches the state.
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    payload: props.payload,
    resultPath: props.resultPath,
  });
  if (props.noRetry) return task;
  if (props.bestEffort) addBestEffortRetries(task, kind, props.extraRetryErrors ?? []);
  else addRetries(task, kind, props.extraRetryErrors);
  return task;
}

/**
 * A function without a timeout gets Lambda's default of 3 s, which no step is written for: a Task
 * timeout derived from that accident, or a default picked here, would hide it. Refuse at synth.
 */
function taskTimeoutFor(stateName: string, fn: lambda.Function): Duration {
  if (fn.timeout === undefined) {
    throw new Error(
      `Task ${stateName}: its function ${fn.node.path} sets no timeout, so the Task's TimeoutSeconds ` +
        "cannot be derived from it; give the function an explicit timeout",
    );
  }
  return fn.timeout.plus(TASK_TIMEOUT_MARGIN);
}

/**
 * Builds the definition; state names are the construct ids. A top-level Choice sends an input with
 * `suite` to the suite flow (infra/suite-flow.ts), whose benchmarks are child executions of this same
 * state machine, `selfArn`; everything else is a single benchmark, as before.
 */
export function buildDefinition(scope: Construct, fns: StepFunctions, selfArn: string): sfn.IChainable {
  return new sfn.Choice(scope, "Suite?")
    .when(sfn.Condition.isPresent("$.suite"), buildSuiteFlow(scope, fns, selfArn))
    .otherwise(buildBenchmarkFlow(scope, fns));
}

/** The single-benchmark flow of docs/architecture.md. */
export function buildBenchmarkFlow(scope: Construct, fns: StepFunctions): sfn.IChainable {
  const catchAll = (resultPath: string): sfn.CatchProps => ({ errors: [sfn.Errors.ALL], resultPath });

  const validateInput = invoke(scope, "ValidateInput", fns.validateInput, "plain", {
    payload: sfn.TaskInput.fromObject({
      input: sfn.JsonPath.entirePayload,
      executionId: sfn.JsonPath.executionId,
      startTime: sfn.JsonPath.executionStartTime,
    }),
    // No ResultPath: the result replaces the state, which is the default. (aws-local-stepfunctions
    // mishandles an explicit "$", and the local runner must execute this very definition.)
  });

  // SSM reports throttling as ThrottlingException, EC2 as RequestLimitExceeded.
  const resolveImage = invoke(scope, "ResolveImage", fns.resolveImage, "ec2", {
    payload: sfn.TaskInput.fromObject({
      benchmarkId: sfn.JsonPath.stringAt("$.benchmark.benchmarkId"),
      settings: sfn.JsonPath.objectAt("$.settings"),
    }),
    resultPath: "$.image",
    extraRetryErrors: ["ThrottlingException"],
  });

  // ---- one run (Map iteration): RunState in, RunState out --------------------------------------
  // The account-wide cap on runs in flight: nothing goes to EC2 before the run holds a slot.
  const acquireRunSlot = invoke(scope, "AcquireRunSlot", fns.acquireRunSlot, "dynamodb", {
    resultPath: "$.slot",
  });
  acquireRunSlot.addRetry({
    errors: [ErrorNames.runSlotsBusy],
    ...RUN_SLOT_WAIT,
    jitterStrategy: sfn.JitterType.FULL,
  });
  const launchInstance = invoke(scope, "LaunchInstance", fns.launchInstance, "ec2", {
    resultPath: "$.launch",
  });

  const pollState = invoke(scope, "PollState", fns.pollState, "ec2", {
    payload: sfn.TaskInput.fromObject({
      benchmarkId: sfn.JsonPath.stringAt("$.benchmark.benchmarkId"),
      runIndex: sfn.JsonPath.numberAt("$.run.runIndex"),
      instanceId: sfn.JsonPath.stringAt("$.launch.instanceId"),
      launchRespondedAt: sfn.JsonPath.numberAt("$.launch.launchRespondedAt"),
      runningTimeoutSeconds: sfn.JsonPath.numberAt("$.settings.runningTimeoutSeconds"),
    }),
  });
  const probePort = invoke(scope, "ProbePort", fns.probePort, "plain", {
    payload: sfn.TaskInput.fromObject({
      // The run's launch ledger, whose run-ended mark stops a probe this Parallel could not cancel.
      benchmarkId: sfn.JsonPath.stringAt("$.benchmark.benchmarkId"),
      runIndex: sfn.JsonPath.numberAt("$.run.runIndex"),
      instanceId: sfn.JsonPath.stringAt("$.launch.instanceId"),
      privateIp: sfn.JsonPath.stringAt("$.launch.privateIp"),
      port: sfn.JsonPath.numberAt("$.settings.port"),
      probeIntervalMs: sfn.JsonPath.numberAt("$.settings.probeIntervalMs"),
      launchRespondedAt: sfn.JsonPath.numberAt("$.launch.launchRespondedAt"),
      runningTimeoutSeconds: sfn.JsonPath.numberAt("$.settings.runningTimeoutSeconds"),
      openTimeoutSeconds: sfn.JsonPath.numberAt("$.settings.openTimeoutSeconds"),
      // Guest timings: with a key pair ({} without), the probe logs in once the port is open.
      guestKey: sfn.JsonPath.objectAt("$.guestKey"),
      image: sfn.JsonPath.objectAt("$.image"),
    }),
  });
  // Beside both, on every run: the handler reads settings.screenshots, which JSONPath cannot test
  // without a Choice. It ends by itself (functions/domain/filmstrip.ts), and no retry: a second attempt
  // would start a second stream over the first one's frames. Its failure is kept with the run, which it
  // never fails.
  const captureScreenshots = invoke(scope, "CaptureScreenshots", fns.captureScreenshots, "plain", {
    payload: sfn.TaskInput.fromObject({
      benchmarkId: sfn.JsonPath.stringAt("$.benchmark.benchmarkId"),
      runIndex: sfn.JsonPath.numberAt("$.run.runIndex"),
      instanceId: sfn.JsonPath.stringAt("$.launch.instanceId"),
      launchRespondedAt: sfn.JsonPath.numberAt("$.launch.launchRespondedAt"),
      settings: sfn.JsonPath.objectAt("$.settings"),
    }),
    noRetry: true,
  });
  captureScreenshots.addCatch(
    new sfn.Pass(scope, "FilmstripFailed", {
      parameters: { status: "failed", "error.$": "$.filmstripFailure" },
    }),
    catchAll("$.filmstripFailure"),
  );

  // The probe starts together with the poll, so that a port that closes right after `running` is seen.
  const observe = new sfn.Parallel(scope, "Observe", { resultPath: "$.observation" })
    .branch(pollState)
    .branch(probePort)
    .branch(captureScreenshots);

  // Once the run is over, on the open, timeout and failure paths alike, and before terminate: the
  // console of a run whose sshd never started is the one most worth reading. Its failure is recorded
  // with the run and never fails it; acquire and launch failures have no instance id to ask about.
  const captureConsole = invoke(scope, "CaptureConsole", fns.captureConsole, "ec2", {
    resultPath: "$.console",
    extraRetryErrors: ["InvalidInstanceID.NotFound"],
    bestEffort: true,
  });

  const terminateInstance = invoke(scope, "TerminateInstance", fns.terminateInstance, "ec2", {
    resultPath: "$.termination",
    // Right after RunInstances the instance may not be visible to TerminateInstances yet.
    extraRetryErrors: ["InvalidInstanceID.NotFound"],
  });
  // After terminate on every path, so that the slot is held for as long as the instance may live.
  const releaseRunSlot = invoke(scope, "ReleaseRunSlot", fns.releaseRunSlot, "dynamodb", {
    resultPath: "$.slotRelease",
  });
  const recordRun = invoke(scope, "RecordRun", fns.recordRun, "dynamodb", { resultPath: "$.recorded" });

  // Every failure of a run ends in its own record, never in a failed iteration: an error inside the
  // inline Map fails the whole Map and stops the other runs mid-flight, leaving their instances to the
  // sweeper and their runs unrecorded. A termination failure is recorded with the run and fails the
  // execution only after all runs are recorded and summarised.
  // A run that got no slot (or whose acquire failed) still passes terminate, which then knows from the
  // launch ledger that nothing was sent, and release, which gives back a slot whose answer was lost.
  acquireRunSlot.addCatch(terminateInstance, catchAll("$.failure"));
  launchInstance.addCatch(terminateInstance, catchAll("$.failure"));
  observe.addCatch(captureConsole, catchAll("$.failure"));
  captureConsole.addCatch(terminateInstance, catchAll("$.consoleFailure"));
  terminateInstance.addCatch(releaseRunSlot, catchAll("$.terminationFailure"));
  // A slot that could not be given back expires with its lease; the run is recorded all the same.
  releaseRunSlot.addCatch(recordRun, catchAll("$.slotReleaseFailure"));
  // A record that could not be written after all retries ends the iteration with the run's whole
  // state, which Summarise records late or keeps as an unrecorded-run item.
  const runUnrecorded = new sfn.Pass(scope, "RunUnrecorded", {
    parameters: { "runIndex.$": "$.run.runIndex", "unrecorded.$": "$" },
  });
  recordRun.addCatch(runUnrecorded, catchAll("$.recordFailure"));
  const runRecorded = new sfn.Pass(scope, "RunRecorded", {
    parameters: { "runIndex.$": "$.recorded.runIndex", "status.$": "$.recorded.status" },
  });

  // Terminate comes before record, so that no DynamoDB failure can leave an instance running.
  const run = acquireRunSlot
    .next(launchInstance)
    .next(observe)
    .next(captureConsole)
    .next(terminateInstance)
    .next(releaseRunSlot)
    .next(recordRun)
    .next(runRecorded);

  const runs = new sfn.Map(scope, "Runs", {
    itemsPath: "$.runs",
    maxConcurrencyPath: "$.settings.concurrency",
    itemSelector: {
      "benchmark.$": "$.benchmark",
      "settings.$": "$.settings",
      "image.$": "$.image",
      "guestKey.$": "$.guestKey",
      "run.$": "$$.Map.Item.Value",
    },
    resultPath: "$.iterations",
  }).itemProcessor(run);

  const summarise = invoke(scope, "Summarise", fns.summarise, "dynamodb", {
    payload: sfn.TaskInput.fromObject({
      benchmark: sfn.JsonPath.objectAt("$.benchmark"),
      settings: sfn.JsonPath.objectAt("$.settings"),
      image: sfn.JsonPath.objectAt("$.image"),
      iterations: sfn.JsonPath.listAt("$.iterations"),
    }),
    resultPath: "$.summary",
  });

  // Cleanup and bookkeeping failures come first: a benchmark whose numbers are fine but which left an
  // instance running, or lost a record, must not end as a success.
  const benchmarkOutcome = new sfn.Choice(scope, "BenchmarkOutcome?")
    .when(
      sfn.Condition.numberGreaterThan("$.summary.terminationFailedRuns", 0),
      new sfn.Fail(scope, "TerminationFailed", {
        error: ErrorNames.terminateFailed,
        cause:
          "An instance could not be terminated after all retries. Every run was recorded (that run with its " +
          "terminationError) and the benchmark summarised (terminationFailedRuns); the instance carries the " +
          "boot-bench:stack tag and must be terminated by the sweeper or by hand.",
      }),
    )
    .when(
      sfn.Condition.numberGreaterThan("$.summary.unrecordedRuns", 0),
      new sfn.Fail(scope, "RunsUnrecorded", {
        error: ErrorNames.runsUnrecorded,
        cause:
          "A run's record could not be written after all retries, nor by Summarise. It is kept whole as an " +
          "UNRECORDED# item of the benchmark and listed in the summary's unrecordedRuns; the statistics leave it out.",
      }),
    )
    .when(sfn.Condition.stringEquals("$.summary.status", "succeeded"), new sfn.Succeed(scope, "Succeeded"))
    .otherwise(
      new sfn.Fail(scope, "NoSuccessfulRuns", {
        error: ErrorNames.noSuccessfulRuns,
        cause:
          "No counted run of the benchmark succeeded; the run items in the table say why each one failed.",
      }),
    );

  // Guest timings: the benchmark's key pair exists from before the first run until after the last.
  // Nothing between its making and the Map can fail (the Map never does), so its delete always comes;
  // a delete that fails is kept with the state, and the sweeper removes the key pair.
  const guestTimingsAsked = sfn.Condition.and(
    sfn.Condition.isPresent("$.settings.guestTimings"),
    sfn.Condition.booleanEquals("$.settings.guestTimings", true),
  );
  const prepareGuestKey = invoke(scope, "PrepareGuestKey", fns.prepareGuestKey, "ec2", {
    payload: sfn.TaskInput.fromObject({ benchmark: sfn.JsonPath.objectAt("$.benchmark") }),
    resultPath: "$.guestKey",
    // A retry whose first import went through finds the name taken, then asks DescribeKeyPairs for the
    // key pair, which EC2 (eventually consistent) may not show yet for seconds after the import.
    extraRetryErrors: ["InvalidKeyPair.NotFound"],
  });
  const noGuestKey = new sfn.Pass(scope, "NoGuestKey", {
    result: sfn.Result.fromObject({}),
    resultPath: "$.guestKey",
  });
  const deleteGuestKey = invoke(scope, "DeleteGuestKey", fns.deleteGuestKey, "ec2", {
    payload: sfn.TaskInput.fromObject({
      benchmark: sfn.JsonPath.objectAt("$.benchmark"),
      guestKey: sfn.JsonPath.objectAt("$.guestKey"),
    }),
    resultPath: "$.guestKeyDeleted",
  });
  deleteGuestKey.addCatch(summarise, catchAll("$.guestKeyDeleteFailure"));
  prepareGuestKey.next(runs);
  noGuestKey.next(runs);
  runs.next(
    new sfn.Choice(scope, "GuestKeyMade?")
      .when(sfn.Condition.isPresent("$.guestKey.keyPairId"), deleteGuestKey.next(summarise))
      .otherwise(summarise),
  );
  summarise.next(benchmarkOutcome);

  return validateInput
    .next(resolveImage)
    .next(
      new sfn.Choice(scope, "GuestTimings?").when(guestTimingsAsked, prepareGuestKey).otherwise(noGuestKey),
    );
}

export interface BenchmarkStateMachineProps {
  functions: StepFunctions;
  logRetention: logs.RetentionDays;
}

export class BenchmarkStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;
  /** Fixed, so that the suite flow can name this state machine's ARN in its own definition. */
  readonly stateMachineName: string;

  constructor(scope: Construct, id: string, props: BenchmarkStateMachineProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      // The /aws/vendedlogs/ prefix keeps Step Functions from growing the account's CloudWatch Logs
      // resource policy, which is capped at 5,120 characters.
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-${id}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stack = Stack.of(this);
    // A fixed name lets the suite flow start child executions of this very state machine by an ARN
    // built from it, without a reference from the definition to the resource itself (a cycle).
    this.stateMachineName = `${stack.stackName}-Benchmark`;
    const selfArn = stack.formatArn({
      service: "states",
      resource: "stateMachine",
      resourceName: this.stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.stateMachine = new sfn.StateMachine(this, "Resource", {
      stateMachineName: this.stateMachineName,
      definitionBody: sfn.DefinitionBody.fromChainable(buildDefinition(this, props.functions, selfArn)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      comment:
        "boot-bench: EC2 boot time, RunInstances to port open, N runs of one image, or a suite of them",
    });
    grantChildExecutions(this.stateMachine.role, stack, selfArn, this.stateMachineName);
  }
}

/**
 * What `states:startExecution.sync:2` needs on the parent's role: start, describe and stop the child
 * executions, and the managed EventBridge rule through which Step Functions learns that a child ended.
 */
function grantChildExecutions(
  role: iam.IRole,
  stack: Stack,
  selfArn: string,
  stateMachineName: string,
): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: "StartChildBenchmarks",
      actions: ["states:StartExecution"],
      resources: [selfArn],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: "FollowChildBenchmarks",
      actions: ["states:DescribeExecution", "states:StopExecution"],
      resources: [
        stack.formatArn({
          service: "states",
          resource: "execution",
          resourceName: `${stateMachineName}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: "ChildExecutionEvents",
      actions: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
      resources: [
        stack.formatArn({
          service: "events",
          resource: "rule",
          resourceName: "StepFunctionsGetEventsForStepFunctionsExecutionRule",
        }),
      ],
    }),
  );
}
