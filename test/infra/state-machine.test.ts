import { describe, expect, it } from "vitest";
import { ErrorNames } from "../../functions/domain/contract.js";
import {
  type AslState,
  allStates,
  definitionOf,
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
  LaunchInstance: "launch-instance",
  PollState: "poll-state",
  ProbePort: "probe-port",
  TerminateInstance: "terminate-instance",
  RecordRun: "record-run",
  Summarise: "summarise",
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
        "LaunchInstance",
        "Observe",
        "PollState",
        "ProbePort",
        "TerminateInstance",
        "RecordRun",
        "RunTerminated?",
        "TerminationFailed",
        "RunDone",
        "Summarise",
        "BenchmarkSucceeded?",
        "Succeeded",
        "NoSuccessfulRuns",
        // The suite branch (infra/suite-flow.ts) behind the top-level choice.
        "Suite?",
        "DiscoverTargets",
        "Benchmarks",
        "RunBenchmark",
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

  it("runs ValidateInput → ResolveImage → Runs → Summarise → BenchmarkSucceeded?", () => {
    // A top-level choice sends suites to their own branch; every other input is a single benchmark.
    expect(definition.StartAt).toBe("Suite?");
    expect(state("Suite?")).toEqual({
      Type: "Choice",
      Choices: [{ Variable: "$.suite", IsPresent: true, Next: "DiscoverTargets" }],
      Default: "ValidateInput",
    });
    expect(state("ValidateInput").Next).toBe("ResolveImage");
    expect(state("ResolveImage").Next).toBe("Runs");
    expect(runs.Next).toBe("Summarise");
    expect(state("Summarise").Next).toBe("BenchmarkSucceeded?");
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
      Parameters: { "settings.$": "$.settings" },
      ResultPath: "$.image",
    });
  });

  it("maps over $.runs with the concurrency from the settings and discards the Map's result", () => {
    expect(runs).toMatchObject({
      Type: "Map",
      ItemsPath: "$.runs",
      MaxConcurrencyPath: "$.settings.concurrency",
      ResultPath: null,
      ItemSelector: {
        "benchmark.$": "$.benchmark",
        "settings.$": "$.settings",
        "image.$": "$.image",
        "run.$": "$$.Map.Item.Value",
      },
    });
    expect(runs).not.toHaveProperty("MaxConcurrency");
    expect(processor?.StartAt).toBe("LaunchInstance");
  });

  it("launches with the whole run state, then observes in a Parallel of PollState and ProbePort", () => {
    expect(state("LaunchInstance")).toMatchObject({ ResultPath: "$.launch", Next: "Observe" });
    expect(state("LaunchInstance").Parameters).toBeUndefined();
    const observe = state("Observe");
    expect(observe).toMatchObject({
      Type: "Parallel",
      ResultPath: "$.observation",
      Next: "TerminateInstance",
    });
    expect(observe.Branches?.map((branch) => branch.StartAt)).toEqual(["PollState", "ProbePort"]);
    expect(observe.Branches?.map((branch) => Object.keys(branch.States))).toEqual([
      ["PollState"],
      ["ProbePort"],
    ]);
  });

  it("passes the poll and the probe exactly their contract fields", () => {
    expect(state("PollState").Parameters).toEqual({
      "instanceId.$": "$.launch.instanceId",
      "launchRespondedAt.$": "$.launch.launchRespondedAt",
      "runningTimeoutSeconds.$": "$.settings.runningTimeoutSeconds",
    });
    expect(state("ProbePort").Parameters).toEqual({
      "privateIp.$": "$.launch.privateIp",
      "port.$": "$.settings.port",
      "probeIntervalMs.$": "$.settings.probeIntervalMs",
      "launchRespondedAt.$": "$.launch.launchRespondedAt",
      "runningTimeoutSeconds.$": "$.settings.runningTimeoutSeconds",
      "openTimeoutSeconds.$": "$.settings.openTimeoutSeconds",
    });
  });

  it("sends any failure of LaunchInstance or Observe to TerminateInstance, under $.failure", () => {
    for (const name of ["LaunchInstance", "Observe"]) {
      expect(state(name).Catch, name).toEqual([
        { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: "TerminateInstance" },
      ]);
    }
  });

  it("terminates before recording, and records even when terminating failed", () => {
    expect(state("TerminateInstance")).toMatchObject({ ResultPath: "$.termination", Next: "RecordRun" });
    expect(state("TerminateInstance").Parameters).toBeUndefined();
    expect(state("TerminateInstance").Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.terminationFailure", Next: "RecordRun" },
    ]);
    expect(state("RecordRun")).toMatchObject({ ResultPath: "$.recorded", Next: "RunTerminated?" });
    expect(state("RecordRun").Parameters).toBeUndefined();
    expect(state("RecordRun").Catch).toBeUndefined();
  });

  it("fails the run with BootBench.TerminateFailed when its instance could not be terminated", () => {
    expect(state("RunTerminated?")).toEqual({
      Type: "Choice",
      Choices: [{ Variable: "$.terminationFailure", IsPresent: true, Next: "TerminationFailed" }],
      Default: "RunDone",
    });
    expect(state("TerminationFailed")).toEqual({
      Type: "Fail",
      Error: "BootBench.TerminateFailed",
      Cause: expect.stringMatching(/terminated/),
    });
    expect(state("RunDone")).toEqual({ Type: "Succeed" });
  });

  it("summarises and fails with BootBench.NoSuccessfulRuns unless the summary succeeded", () => {
    expect(state("Summarise")).toMatchObject({
      Parameters: { "benchmark.$": "$.benchmark", "settings.$": "$.settings", "image.$": "$.image" },
      ResultPath: "$.summary",
    });
    expect(state("BenchmarkSucceeded?")).toEqual({
      Type: "Choice",
      Choices: [{ Variable: "$.summary.status", StringEquals: "succeeded", Next: "Succeeded" }],
      Default: "NoSuccessfulRuns",
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
    for (const name of Object.keys(TASK_STEPS)) {
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
        expect(retry.BackoffRate, name).toBe(2);
        expect(retry.ErrorEquals, name).not.toContain("States.ALL");
      }
    }
  });

  it("retries service throttling on the steps that call EC2 and DynamoDB", () => {
    for (const name of ["ResolveImage", "LaunchInstance", "PollState", "TerminateInstance"]) {
      expect(retriedErrors(name), name).toContain("RequestLimitExceeded");
    }
    expect(retriedErrors("TerminateInstance")).toContain("InvalidInstanceID.NotFound");
    expect(retriedErrors("ResolveImage")).toContain("ThrottlingException");
    for (const name of ["RecordRun", "Summarise"]) {
      expect(retriedErrors(name), name).toEqual(
        expect.arrayContaining([
          "ProvisionedThroughputExceededException",
          "ThrottlingException",
          "InternalServerError",
        ]),
      );
    }
    for (const name of ["ValidateInput", "ProbePort"]) {
      expect(retriedErrors(name), name).toEqual([...LAMBDA_TRANSIENT, "Lambda.ResourceNotReadyException"]);
    }
  });
});
