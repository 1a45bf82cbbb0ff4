import { Duration, Stack } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import { ErrorNames } from "../../functions/domain/contract.js";
import { benchmarkInputSchema } from "../../functions/domain/input-schema.js";
import type { AslState } from "../../infra/asl.js";
import { invoke, TASK_TIMEOUT_MARGIN } from "../../infra/state-machine.js";
import { RUN_BENCHMARK_TIMEOUT } from "../../infra/suite-flow.js";
import {
  allStates,
  definitionOf,
  resourcesOfType,
  type STEPS,
  type SUITE_STEPS,
  stateNamed,
  stepFunction,
  synthesize,
} from "./synth.js";

const { template } = synthesize();
const definition = definitionOf(template);
const state = (name: string): AslState => stateNamed(definition, name);
const runs = state("Runs");
const processor = runs.ItemProcessor;

const TASK_STEPS: Record<string, (typeof STEPS)[number] | (typeof SUITE_STEPS)[number]> = {
  ValidateInput: "validate-input",
  ResolveImage: "resolve-image",
  AcquireRunSlot: "acquire-run-slot",
  LaunchInstance: "launch-instance",
  PollState: "poll-state",
  ProbePort: "probe-port",
  CaptureScreenshots: "capture-screenshots",
  CaptureConsole: "capture-console",
  TerminateInstance: "terminate-instance",
  ReleaseRunSlot: "release-run-slot",
  RecordRun: "record-run",
  Summarise: "summarise",
  PrepareGuestKey: "prepare-guest-key",
  DeleteGuestKey: "delete-guest-key",
  DiscoverTargets: "discover-targets",
  SummariseSuite: "summarise-suite",
};
/** The suite's child executions (test/infra/suite-stack.test.ts): the one Task that is no Lambda. */
const NESTED_EXECUTION_TASKS = ["RunBenchmark"];
const LAMBDA_TRANSIENT = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
];
const retriedErrors = (name: string) => (state(name).Retry ?? []).flatMap((retry) => retry.ErrorEquals);

describe("state machine definition", () => {
  it("has exactly the states of docs/architecture.md", () => {
    expect(
      allStates(definition)
        .map(([name]) => name)
        .sort(),
    ).toEqual(
      [
        "ValidateInput",
        "ResolveImage",
        "Runs",
        "AcquireRunSlot",
        "LaunchInstance",
        "Observe",
        "PollState",
        "ProbePort",
        "CaptureScreenshots",
        "FilmstripFailed",
        "CaptureConsole",
        "TerminateInstance",
        "ReleaseRunSlot",
        "RecordRun",
        "RunRecorded",
        "RunUnrecorded",
        "Summarise",
        "GuestTimings?",
        "PrepareGuestKey",
        "NoGuestKey",
        "GuestKeyMade?",
        "DeleteGuestKey",
        "BenchmarkOutcome?",
        "TerminationFailed",
        "RunsUnrecorded",
        "Succeeded",
        "NoSuccessfulRuns",
        // The suite branch (infra/suite-flow.ts) behind the top-level choice.
        "Suite?",
        "DiscoverTargets",
        "Benchmarks",
        "RunBenchmark",
        "BenchmarkAlreadyRan",
        "BenchmarkFailed",
        "SummariseSuite",
        "SuiteSucceeded?",
        "SuiteDone",
        "SuiteFailed",
      ].sort(),
    );
  });

  it("uses JSONPath only: no JSONata, no variables", () => {
    expect(definition.QueryLanguage ?? "JSONPath").toBe("JSONPath");
    for (const [name, s] of allStates(definition)) {
      expect(s.QueryLanguage ?? "JSONPath", name).toBe("JSONPath");
      for (const key of ["Assign", "Arguments", "Output", "Items"]) expect(s, name).not.toHaveProperty(key);
    }
  });

  it("runs ValidateInput → ResolveImage → Runs → Summarise → BenchmarkOutcome?", () => {
    // A top-level choice sends suites to their own branch; every other input is a single benchmark.
    expect(definition.StartAt).toBe("Suite?");
    expect(state("Suite?")).toEqual({
      Type: "Choice",
      Choices: [{ Variable: "$.suite", IsPresent: true, Next: "DiscoverTargets" }],
      Default: "ValidateInput",
    });
    expect(state("ValidateInput").Next).toBe("ResolveImage");
    expect(state("ResolveImage").Next).toBe("GuestTimings?");
    expect(state("GuestTimings?")).toEqual({
      Type: "Choice",
      Choices: [
        {
          And: [
            { Variable: "$.settings.guestTimings", IsPresent: true },
            { Variable: "$.settings.guestTimings", BooleanEquals: true },
          ],
          Next: "PrepareGuestKey",
        },
      ],
      Default: "NoGuestKey",
    });
    expect(state("NoGuestKey")).toMatchObject({
      Type: "Pass",
      Result: {},
      ResultPath: "$.guestKey",
      Next: "Runs",
    });
    expect(state("PrepareGuestKey")).toMatchObject({
      Parameters: { "benchmark.$": "$.benchmark" },
      ResultPath: "$.guestKey",
      Next: "Runs",
    });
    // The key pair is deleted once the runs are over, whatever they did (the Map never fails).
    expect(runs.Next).toBe("GuestKeyMade?");
    expect(state("GuestKeyMade?")).toEqual({
      Type: "Choice",
      Choices: [{ Variable: "$.guestKey.keyPairId", IsPresent: true, Next: "DeleteGuestKey" }],
      Default: "Summarise",
    });
    expect(state("DeleteGuestKey")).toMatchObject({
      Parameters: { "benchmark.$": "$.benchmark", "guestKey.$": "$.guestKey" },
      ResultPath: "$.guestKeyDeleted",
      Next: "Summarise",
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.guestKeyDeleteFailure", Next: "Summarise" }],
    });
    expect(state("Summarise").Next).toBe("BenchmarkOutcome?");
  });

  it("points every Task at its step function's ARN, with the payload as Parameters", () => {
    const tasks = allStates(definition).filter(
      ([name, s]) => s.Type === "Task" && !NESTED_EXECUTION_TASKS.includes(name),
    );
    expect(tasks.map(([name]) => name).sort()).toEqual(Object.keys(TASK_STEPS).sort());
    for (const [name, task] of tasks) {
      const step = TASK_STEPS[name] as string;
      expect(task.Resource, name).toBe(`<${stepFunction(template, step).logicalId}.Arn>`);
      expect(task.Parameters ?? {}, name).not.toHaveProperty("FunctionName");
      expect(task.Parameters ?? {}, name).not.toHaveProperty("Payload.$");
    }
  });

  it("validates the raw input with the execution's identity, failing the execution on bad input", () => {
    expect(state("ValidateInput")).toMatchObject({
      Parameters: {
        "input.$": "$",
        "executionId.$": "$$.Execution.Id",
        "startTime.$": "$$.Execution.StartTime",
      },
    });
    // The result replaces the state by default; aws-local-stepfunctions mishandles an explicit "$".
    expect(state("ValidateInput")).not.toHaveProperty("ResultPath");
    expect(state("ValidateInput").Catch).toBeUndefined();
    expect(state("ResolveImage")).toMatchObject({
      Parameters: { "benchmarkId.$": "$.benchmark.benchmarkId", "settings.$": "$.settings" },
      ResultPath: "$.image",
    });
  });

  it("maps over $.runs with the concurrency from the settings, each iteration's result under $.iterations", () => {
    expect(runs).toMatchObject({
      Type: "Map",
      ItemsPath: "$.runs",
      MaxConcurrencyPath: "$.settings.concurrency",
      ResultPath: "$.iterations",
      ItemSelector: {
        "benchmark.$": "$.benchmark",
        "settings.$": "$.settings",
        "image.$": "$.image",
        "guestKey.$": "$.guestKey",
        "run.$": "$$.Map.Item.Value",
      },
    });
    expect(runs).not.toHaveProperty("MaxConcurrency");
    expect(processor?.StartAt).toBe("AcquireRunSlot");
  });

  it("takes a run slot before anything goes to EC2, waiting on RunSlotsBusy with capped, jittered retries", () => {
    expect(state("AcquireRunSlot")).toMatchObject({ ResultPath: "$.slot", Next: "LaunchInstance" });
    expect(state("AcquireRunSlot").Parameters).toBeUndefined();
    const busy = (state("AcquireRunSlot").Retry ?? []).filter((r) =>
      r.ErrorEquals.includes("BootBench.RunSlotsBusy"),
    );
    expect(busy).toEqual([
      {
        ErrorEquals: ["BootBench.RunSlotsBusy"],
        IntervalSeconds: 1,
        BackoffRate: 1.5,
        MaxDelaySeconds: 10,
        MaxAttempts: 8640,
        JitterStrategy: "FULL",
      },
    ]);
    // A run that never got a slot is still ended and recorded like any failed launch.
    expect(state("AcquireRunSlot").Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: "TerminateInstance" },
    ]);
  });

  it("launches with the whole run state, then observes in a Parallel of PollState, ProbePort and CaptureScreenshots", () => {
    expect(state("LaunchInstance")).toMatchObject({ ResultPath: "$.launch", Next: "Observe" });
    expect(state("LaunchInstance").Parameters).toBeUndefined();
    const observe = state("Observe");
    expect(observe).toMatchObject({
      Type: "Parallel",
      ResultPath: "$.observation",
      Next: "CaptureConsole",
    });
    expect(observe.Branches?.map((branch) => branch.StartAt)).toEqual([
      "PollState",
      "ProbePort",
      "CaptureScreenshots",
    ]);
    expect(observe.Branches?.map((branch) => Object.keys(branch.States))).toEqual([
      ["PollState"],
      ["ProbePort"],
      ["CaptureScreenshots", "FilmstripFailed"],
    ]);
  });

  it("films beside the poll and the probe, never twice, and keeps its failure as the branch's result", () => {
    expect(state("CaptureScreenshots").Parameters).toEqual({
      "benchmarkId.$": "$.benchmark.benchmarkId",
      "runIndex.$": "$.run.runIndex",
      "instanceId.$": "$.launch.instanceId",
      "launchRespondedAt.$": "$.launch.launchRespondedAt",
      "settings.$": "$.settings",
    });
    // A second attempt would start a second stream over the first one's frames.
    expect(state("CaptureScreenshots").Retry).toBeUndefined();
    expect(state("CaptureScreenshots")).toMatchObject({ End: true });
    expect(state("CaptureScreenshots").Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.filmstripFailure", Next: "FilmstripFailed" },
    ]);
    expect(state("FilmstripFailed")).toEqual({
      Type: "Pass",
      Parameters: { status: "failed", "error.$": "$.filmstripFailure" },
      End: true,
    });
  });

  it("passes ResolveImage the settings and, for its log lines, the benchmark id", () => {
    expect(state("ResolveImage").Parameters).toEqual({
      "benchmarkId.$": "$.benchmark.benchmarkId",
      "settings.$": "$.settings",
    });
  });

  it("passes the poll and the probe exactly their contract fields", () => {
    expect(state("PollState").Parameters).toEqual({
      "benchmarkId.$": "$.benchmark.benchmarkId",
      "runIndex.$": "$.run.runIndex",
      "instanceId.$": "$.launch.instanceId",
      "launchRespondedAt.$": "$.launch.launchRespondedAt",
      "runningTimeoutSeconds.$": "$.settings.runningTimeoutSeconds",
    });
    expect(state("ProbePort").Parameters).toEqual({
      "benchmarkId.$": "$.benchmark.benchmarkId",
      "runIndex.$": "$.run.runIndex",
      "instanceId.$": "$.launch.instanceId",
      "privateIp.$": "$.launch.privateIp",
      "port.$": "$.settings.port",
      "probeIntervalMs.$": "$.settings.probeIntervalMs",
      "launchRespondedAt.$": "$.launch.launchRespondedAt",
      "runningTimeoutSeconds.$": "$.settings.runningTimeoutSeconds",
      "openTimeoutSeconds.$": "$.settings.openTimeoutSeconds",
      // The guest session's: the key pair ({} without one) and whose family and user to log in as.
      "guestKey.$": "$.guestKey",
      "image.$": "$.image",
    });
  });

  it("sends a failed observation to CaptureConsole and a failed launch to TerminateInstance, under $.failure", () => {
    // A failed launch has no instance id to ask for a console; a failed observation is the run whose
    // console matters most.
    expect(state("LaunchInstance").Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: "TerminateInstance" },
    ]);
    expect(state("Observe").Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: "CaptureConsole" },
    ]);
  });

  it("keeps the console with the whole run state before terminate, and terminates even when that failed", () => {
    expect(state("CaptureConsole")).toMatchObject({ ResultPath: "$.console", Next: "TerminateInstance" });
    expect(state("CaptureConsole").Parameters).toBeUndefined();
    expect(state("CaptureConsole").Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.consoleFailure", Next: "TerminateInstance" },
    ]);
    // Brief retries: each attempt holds the instance, and counts in the sweeper's age bound.
    expect(state("CaptureConsole").Retry).toEqual([
      {
        ErrorEquals: LAMBDA_TRANSIENT,
        IntervalSeconds: 1,
        MaxAttempts: 2,
        BackoffRate: 2,
        MaxDelaySeconds: 5,
        JitterStrategy: "FULL",
      },
      {
        ErrorEquals: [
          "RequestLimitExceeded",
          "InternalError",
          "Unavailable",
          "ServiceUnavailable",
          "TimeoutError",
          "InvalidInstanceID.NotFound",
        ],
        IntervalSeconds: 1,
        MaxAttempts: 3,
        BackoffRate: 2,
        MaxDelaySeconds: 5,
        JitterStrategy: "FULL",
      },
    ]);
  });

  it("terminates before recording, and records even when terminating failed", () => {
    expect(state("TerminateInstance")).toMatchObject({ ResultPath: "$.termination", Next: "ReleaseRunSlot" });
    expect(state("TerminateInstance").Parameters).toBeUndefined();
    expect(state("TerminateInstance").Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.terminationFailure", Next: "ReleaseRunSlot" },
    ]);
    // The slot is given back on every path once the instance is terminated (or could not be).
    expect(state("ReleaseRunSlot")).toMatchObject({ ResultPath: "$.slotRelease", Next: "RecordRun" });
    expect(state("ReleaseRunSlot").Parameters).toBeUndefined();
    expect(state("ReleaseRunSlot").Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.slotReleaseFailure", Next: "RecordRun" },
    ]);
    expect(state("RecordRun")).toMatchObject({ ResultPath: "$.recorded", Next: "RunRecorded" });
    expect(state("RecordRun").Parameters).toBeUndefined();
    expect(state("RecordRun").Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.recordFailure", Next: "RunUnrecorded" },
    ]);
  });

  it("ends every iteration with its run index and either the stored status or the unrecorded state", () => {
    expect(state("RunRecorded")).toEqual({
      Type: "Pass",
      Parameters: { "runIndex.$": "$.recorded.runIndex", "status.$": "$.recorded.status" },
      End: true,
    });
    expect(state("RunUnrecorded")).toEqual({
      Type: "Pass",
      Parameters: { "runIndex.$": "$.run.runIndex", "unrecorded.$": "$" },
      End: true,
    });
  });

  it("lets no run fail its Map iteration: every Task inside is caught, and there is no Fail state", () => {
    // A failed iteration fails the whole inline Map and stops the other runs in the middle.
    const inside = allStates(processor as never);
    expect(inside.filter(([, s]) => s.Type === "Fail")).toEqual([]);
    const catching = inside.filter(([, s]) => s.Type === "Task" || s.Type === "Parallel");
    const branchTasks = ["PollState", "ProbePort"]; // inside Observe, whose Catch covers them
    for (const [name, s] of catching) {
      if (branchTasks.includes(name)) continue;
      expect(
        s.Catch?.map((c) => c.ErrorEquals),
        name,
      ).toEqual([["States.ALL"]]);
    }
    expect(catching.map(([name]) => name).sort()).toEqual(
      [
        "AcquireRunSlot",
        "LaunchInstance",
        "Observe",
        "PollState",
        "ProbePort",
        "CaptureScreenshots",
        "CaptureConsole",
        "TerminateInstance",
        "ReleaseRunSlot",
        "RecordRun",
      ].sort(),
    );
  });

  it("summarises, then fails on a termination failure, an unrecorded run, or no successful run", () => {
    expect(state("Summarise")).toMatchObject({
      Parameters: {
        "benchmark.$": "$.benchmark",
        "settings.$": "$.settings",
        "image.$": "$.image",
        "iterations.$": "$.iterations",
      },
      ResultPath: "$.summary",
    });
    expect(state("BenchmarkOutcome?")).toEqual({
      Type: "Choice",
      Choices: [
        { Variable: "$.summary.terminationFailedRuns", NumericGreaterThan: 0, Next: "TerminationFailed" },
        { Variable: "$.summary.unrecordedRuns", NumericGreaterThan: 0, Next: "RunsUnrecorded" },
        { Variable: "$.summary.status", StringEquals: "succeeded", Next: "Succeeded" },
      ],
      Default: "NoSuccessfulRuns",
    });
    expect(state("TerminationFailed")).toEqual({
      Type: "Fail",
      Error: "BootBench.TerminateFailed",
      Cause: expect.stringMatching(/could not be terminated/),
    });
    expect(state("RunsUnrecorded")).toEqual({
      Type: "Fail",
      Error: "BootBench.RunsUnrecorded",
      Cause: expect.stringMatching(/UNRECORDED#/),
    });
    expect(state("Succeeded")).toEqual({ Type: "Succeed" });
    expect(state("NoSuccessfulRuns")).toEqual({
      Type: "Fail",
      Error: ErrorNames.noSuccessfulRuns,
      Cause: expect.any(String),
    });
    expect(ErrorNames.noSuccessfulRuns).toBe("BootBench.NoSuccessfulRuns");
  });

  it("retries Lambda's transient errors on every Task with backoff and full jitter", () => {
    // CaptureConsole's brief retries and CaptureScreenshots' none are tested with their paths above.
    const ownRetries = ["CaptureConsole", "CaptureScreenshots"];
    for (const name of Object.keys(TASK_STEPS).filter((task) => !ownRetries.includes(task))) {
      const retries = state(name).Retry ?? [];
      expect(retries[0], name).toMatchObject({
        ErrorEquals: LAMBDA_TRANSIENT,
        BackoffRate: 2,
        JitterStrategy: "FULL",
      });
      expect(retries[1], name).toEqual({
        ErrorEquals: ["Lambda.ResourceNotReadyException"],
        IntervalSeconds: 5,
        MaxAttempts: 6,
        BackoffRate: 2,
        MaxDelaySeconds: 60,
        JitterStrategy: "FULL",
      });
      for (const retry of retries) {
        expect(retry.JitterStrategy, name).toBe("FULL");
        // The wait for a run slot has its own, gentler backoff (tested above).
        if (retry.ErrorEquals.includes("BootBench.RunSlotsBusy")) continue;
        expect(retry.BackoffRate, name).toBe(2);
        expect(retry.ErrorEquals, name).not.toContain("States.ALL");
      }
    }
  });

  it("retries service throttling on the steps that call EC2 and DynamoDB, and EC2's server errors", () => {
    for (const name of ["ResolveImage", "LaunchInstance", "PollState", "TerminateInstance"]) {
      expect(retriedErrors(name), name).toContain("RequestLimitExceeded");
    }
    expect(retriedErrors("TerminateInstance")).toContain("InvalidInstanceID.NotFound");
    expect(retriedErrors("ResolveImage")).toContain("ThrottlingException");
    for (const name of ["AcquireRunSlot", "ReleaseRunSlot", "RecordRun", "Summarise"]) {
      expect(retriedErrors(name), name).toEqual(
        expect.arrayContaining([
          "ProvisionedThroughputExceededException",
          "ThrottlingException",
          "InternalServerError",
        ]),
      );
    }
    // An EC2 client makes one attempt: every step that calls EC2 retries its server errors and requests
    // it gave up on unanswered too, or one passing 5xx or lost answer fails a week's suite
    // (DescribeImages) or leaves an instance to the sweeper (TerminateInstances).
    const ec2Steps = [
      "DiscoverTargets",
      "ResolveImage",
      "PrepareGuestKey",
      "LaunchInstance",
      "PollState",
      "CaptureConsole",
      "TerminateInstance",
      "DeleteGuestKey",
    ];
    for (const name of ec2Steps) {
      expect(retriedErrors(name), name).toEqual(
        expect.arrayContaining([
          "RequestLimitExceeded",
          "InternalError",
          "Unavailable",
          "ServiceUnavailable",
          "TimeoutError",
        ]),
      );
    }
    // A retried import finds its key pair by DescribeKeyPairs, which may not show it yet.
    expect(retriedErrors("PrepareGuestKey")).toContain("InvalidKeyPair.NotFound");
    // Steps that call no EC2 do not retry its errors.
    for (const name of Object.keys(TASK_STEPS).filter((task) => !ec2Steps.includes(task))) {
      expect(retriedErrors(name), name).not.toContain("InternalError");
    }
    for (const name of ["ValidateInput", "ProbePort"]) {
      expect(retriedErrors(name), name).toEqual([...LAMBDA_TRANSIENT, "Lambda.ResourceNotReadyException"]);
    }
  });
});

describe("Task timeouts", () => {
  const tasks = allStates(definition).filter(([, s]) => s.Type === "Task");
  const functions = resourcesOfType(template, "AWS::Lambda::Function");
  const marginSeconds = TASK_TIMEOUT_MARGIN.toSeconds();
  // aws-local-stepfunctions arms one setTimeout per Task attempt; a longer one overflows and fires at once.
  const LONGEST_NODE_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

  it("sets a fixed TimeoutSeconds on every Task (aws-local-stepfunctions would give it 60 s)", () => {
    expect(tasks.length).toBeGreaterThan(NESTED_EXECUTION_TASKS.length);
    for (const [name, task] of tasks) {
      expect(task, name).not.toHaveProperty("TimeoutSecondsPath");
      expect(Number.isInteger(task.TimeoutSeconds), name).toBe(true);
      expect(task.TimeoutSeconds as number, name).toBeGreaterThanOrEqual(1);
      expect(task.TimeoutSeconds as number, name).toBeLessThanOrEqual(LONGEST_NODE_TIMER_SECONDS);
    }
  });

  it("gives every Lambda Task its function's Timeout plus the margin, so Lambda's Sandbox.Timedout comes first", () => {
    const lambdaTasks = tasks.filter(([name]) => !NESTED_EXECUTION_TASKS.includes(name));
    expect(lambdaTasks.length).toBeGreaterThan(0);
    for (const [name, task] of lambdaTasks) {
      const logicalId = /^<(.+)\.Arn>$/.exec(task.Resource ?? "")?.[1];
      const fn = logicalId === undefined ? undefined : functions[logicalId];
      if (!fn) throw new Error(`Task ${name} calls ${String(task.Resource)}, no function of the template`);
      const functionTimeout = fn.Properties.Timeout;
      expect(typeof functionTimeout, `${name}: ${logicalId} sets Timeout`).toBe("number");
      expect(task.TimeoutSeconds, name).toBe((functionTimeout as number) + marginSeconds);
    }
    expect(marginSeconds).toBeGreaterThan(0);
  });

  it("lets RunBenchmark wait well beyond the longest valid benchmark, and for less than a Node.js timer holds", () => {
    const maxRuns = benchmarkInputSchema.shape.runs.unwrap().maxValue ?? Number.NaN;
    // One attempt of every Task at its TimeoutSeconds, runs one after another (concurrency 1), from the
    // single flow's first state: Parallel branches overlap, the Map repeats its processor per run.
    const longest = (stateName: string | undefined): number => {
      let total = 0;
      for (let name = stateName; name !== undefined; ) {
        const s = state(name);
        if (s.Type === "Task") total += s.TimeoutSeconds as number;
        if (s.Type === "Parallel") total += Math.max(...(s.Branches ?? []).map((b) => longest(b.StartAt)));
        if (s.Type === "Map") total += maxRuns * longest(s.ItemProcessor?.StartAt);
        if (s.Type === "Choice") {
          const choices = (s.Choices as { Next: string }[]).map((choice) => choice.Next);
          return total + Math.max(...[...choices, s.Default as string].map(longest));
        }
        name = s.Next;
      }
      return total;
    };
    const longestBenchmark = longest(state("Suite?").Default as string);
    expect(maxRuns).toBe(100);
    // Sanity of the walk: 100 runs of launch + probe + terminate + record, about 31 h.
    expect(longestBenchmark).toBeGreaterThan(Duration.hours(30).toSeconds());

    const runBenchmark = state("RunBenchmark").TimeoutSeconds as number;
    expect(runBenchmark).toBe(RUN_BENCHMARK_TIMEOUT.toSeconds());
    // Room for retries and their waits on top of one attempt of everything.
    expect(runBenchmark).toBeGreaterThan(2 * longestBenchmark);
    expect(runBenchmark).toBeLessThanOrEqual(LONGEST_NODE_TIMER_SECONDS);
  });

  it("refuses at synth a Task whose function sets no timeout, naming the state", () => {
    const stack = new Stack();
    const untimed = new lambda.Function(stack, "Untimed", {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: "index.handler",
      code: lambda.Code.fromInline("exports.handler = async () => null;"),
    });
    expect(() => invoke(stack, "UntimedStep", untimed, "plain")).toThrow(
      /^Task UntimedStep: its function Default\/Untimed sets no timeout/,
    );
    const timed = new lambda.Function(stack, "Timed", {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: "index.handler",
      code: lambda.Code.fromInline("exports.handler = async () => null;"),
      timeout: Duration.seconds(42),
    });
    expect(stack.resolve(invoke(stack, "TimedStep", timed, "plain").toStateJson())).toMatchObject({
      TimeoutSeconds: 42 + marginSeconds,
    });
  });
});
