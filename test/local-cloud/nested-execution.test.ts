/**
 * The local runner's `states:startExecution.sync:2`: a nested execution of the same definition,
 * answering as Step Functions does (attached to a running execution of the same name and input,
 * refused for a closed one), and refused for any other state machine; and its redrive.
 */
import { describe, expect, it } from "vitest";
import type { AslDefinition } from "../../infra/asl.js";
import {
  type CfnTemplate,
  localDefinitionFrom,
  START_EXECUTION_SYNC,
} from "../../local-cloud/runner/local-definition.js";
import { type LocalExecution, LocalStateMachine } from "../../local-cloud/runner/local-state-machine.js";

const REGION = "us-east-1";
const SELF = "arn:aws:states:us-east-1:000000000000:stateMachine:Mini";

/**
 * A state machine that, given `{ name, value, fail }`, runs itself as a child with `{ child: value }`.
 * `wait`: the child waits 1 s before it ends; the parent waits 1 s after its child.
 */
function definition(stateMachineArn: unknown = SELF, wait = false): AslDefinition {
  return {
    StartAt: "Child?",
    States: {
      "Child?": {
        Type: "Choice",
        Choices: [{ Variable: "$.child", IsPresent: true, Next: "ChildWork" }],
        Default: "StartChild",
      },
      ChildWork: {
        Type: "Choice",
        Choices: [{ Variable: "$.fail", BooleanEquals: true, Next: "ChildFails" }],
        Default: wait ? "ChildWaits" : "ChildDone",
      },
      ...(wait && {
        ChildWaits: { Type: "Wait", Seconds: 1, Next: "ChildDone" },
        ParentWaits: { Type: "Wait", Seconds: 1, End: true },
      }),
      ChildDone: { Type: "Pass", Parameters: { "echo.$": "$.child" }, End: true },
      ChildFails: { Type: "Fail", Error: "Mini.Failed", Cause: "as asked" },
      StartChild: {
        Type: "Task",
        Resource: START_EXECUTION_SYNC,
        Parameters: {
          ...(typeof stateMachineArn === "string"
            ? { StateMachineArn: stateMachineArn }
            : { "StateMachineArn.$": "$.target" }),
          "Name.$": "$.name",
          Input: { "child.$": "$.value", "fail.$": "$.fail" },
        },
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: "Caught" }],
        ...(wait ? { Next: "ParentWaits" } : { End: true }),
      },
      Caught: { Type: "Pass", End: true },
    },
  };
}

function template(def: AslDefinition, name: string | null = "Mini"): CfnTemplate {
  return {
    Resources: {
      Table: {
        Type: "AWS::DynamoDB::Table",
        Properties: {
          KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
          AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        },
      },
      Machine: {
        Type: "AWS::StepFunctions::StateMachine",
        Properties: {
          DefinitionString: JSON.stringify(def),
          ...(name !== null && { StateMachineName: name }),
        },
      },
    },
  };
}

const load = (stateMachineName = "Mini", options: { wait?: boolean; started?: string[] } = {}) =>
  LocalStateMachine.load(
    localDefinitionFrom(template(definition(SELF, options.wait)), { region: REGION, tableName: "t" }),
    {
      region: REGION,
      projectRoot: "/nonexistent",
      stateMachineName,
      // Every execution that really starts (a redrive's replayed child does not).
      onEvent: (name, event) => {
        if (event.type === "ExecutionStarted") options.started?.push(name);
      },
    },
  );

const failureOf = (outcome: { output?: unknown }) =>
  (outcome.output as { failure?: { Error: string; Cause: string } }).failure;

describe("nested executions in the local runner", () => {
  it("runs a child execution of the same definition and returns its description, Output as JSON", async () => {
    const machine = await load();
    const outcome = await machine.startExecution(
      { name: "child-1", value: { x: 1 }, fail: false },
      "parent-1",
    ).result;

    expect(outcome.status).toBe("SUCCEEDED");
    expect(outcome.output).toMatchObject({
      ExecutionArn: "arn:aws:states:us-east-1:000000000000:execution:Mini:child-1",
      Name: "child-1",
      StateMachineArn: SELF,
      Status: "SUCCEEDED",
      Input: { child: { x: 1 }, fail: false },
      Output: { echo: { x: 1 } },
      OutputDetails: { Included: true },
    });
    const output = outcome.output as { StartDate: number; StopDate: number };
    expect(output.StopDate).toBeGreaterThanOrEqual(output.StartDate);
  });

  it("fails the task with States.TaskFailed and the child's description as Cause when the child fails", async () => {
    const machine = await load();
    const outcome = await machine.startExecution({ name: "child-2", value: 1, fail: true }, "parent-2")
      .result;

    const failure = (outcome.output as { failure: { Error: string; Cause: string } }).failure;
    expect(failure.Error).toBe("States.TaskFailed");
    expect(JSON.parse(failure.Cause)).toMatchObject({
      ExecutionArn: "arn:aws:states:us-east-1:000000000000:execution:Mini:child-2",
      Status: "FAILED",
      Error: "Mini.Failed",
      Cause: "as asked",
    });
  });

  it("refuses to reuse an execution name, as Step Functions does", async () => {
    const machine = await load();
    await machine.startExecution({ name: "once", value: 1, fail: false }).result;
    const again = await machine.startExecution({ name: "once", value: 2, fail: false }).result;
    expect((again.output as { failure: { Error: string } }).failure.Error).toBe(
      "StepFunctions.ExecutionAlreadyExistsException",
    );
  });

  it("attaches to a running child of the same name and input, as StartExecution does", async () => {
    const started: string[] = [];
    const machine = await load("Mini", { wait: true, started });
    const first = machine.startExecution({ name: "shared", value: 1, fail: false }, "parent-a");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = machine.startExecution({ name: "shared", value: 1, fail: false }, "parent-b");
    const other = machine.startExecution({ name: "shared", value: 2, fail: false }, "parent-c");
    const [a, b, c] = await Promise.all([first.result, second.result, other.result]);

    expect(started.filter((name) => name === "shared")).toHaveLength(1);
    expect(a.output).toMatchObject({ Name: "shared", Status: "SUCCEEDED", Output: { echo: 1 } });
    expect(b.output).toEqual(a.output);
    // Another input under a running execution's name is refused.
    expect(failureOf(c)?.Error).toBe("StepFunctions.ExecutionAlreadyExistsException");
  });

  it("redrives an aborted execution: same ARN and start time, the completed child is not run again", async () => {
    const started: string[] = [];
    const machine = await load("Mini", { wait: true, started });
    let parent: LocalExecution | undefined;
    parent = machine.startExecution({ name: "kept", value: 3, fail: false }, "parent-r", {
      // Stopped while it waits after its child, which had completed.
      onEvent: (_, event) => {
        if (event.type === "StateEntered" && event.state.name === "ParentWaits") parent?.abort();
      },
    });
    const aborted = await parent.result;
    expect(aborted.status).toBe("ABORTED");

    const redriven = await machine.redrive(aborted.executionArn).result;
    expect(redriven).toMatchObject({ status: "SUCCEEDED", executionArn: aborted.executionArn });
    expect(redriven.startedAt).toBe(aborted.startedAt);
    expect(redriven.output).toMatchObject({ Name: "kept", Status: "SUCCEEDED", Output: { echo: 3 } });
    expect(started).toEqual(["parent-r", "kept", "parent-r"]);
    // A succeeded execution is not redrivable.
    expect(() => machine.redrive(aborted.executionArn)).toThrow(
      expect.objectContaining({ name: "ExecutionNotRedrivable" }),
    );
  });

  it("redriven after it was stopped as its child ended, the Task meets the closed child's name", async () => {
    const machine = await load("Mini", { wait: true });
    let parent: LocalExecution | undefined;
    parent = machine.startExecution({ name: "ended", value: 4, fail: false }, "parent-e", {
      // The child has succeeded; its parent has not yet seen the answer.
      onEvent: (name, event) => {
        if (name === "ended" && event.type === "ExecutionSucceeded") parent?.abort();
      },
    });
    const aborted = await parent.result;
    expect(aborted.status).toBe("ABORTED");
    const redriven = await machine.redrive(aborted.executionArn).result;
    expect(failureOf(redriven)?.Error).toBe("StepFunctions.ExecutionAlreadyExistsException");
    expect(failureOf(redriven)?.Cause).toContain(":execution:Mini:ended");
  });

  it("refuses at run time when the runner is not the state machine the definition names", async () => {
    const machine = await load("SomethingElse");
    const outcome = await machine.startExecution({ name: "c", value: 1, fail: false }).result;
    expect((outcome.output as { failure: { Error: string } }).failure.Error).toBe(
      "StepFunctions.StateMachineDoesNotExistException",
    );
  });

  it("refuses any other state machine, a dynamic ARN, or a template without a name, before running anything", () => {
    const names = { region: REGION, tableName: "t" };
    expect(() =>
      localDefinitionFrom(
        template(definition("arn:aws:states:us-east-1:000000000000:stateMachine:Other")),
        names,
      ),
    ).toThrow(
      /StartChild starts an execution of .*:stateMachine:Other, which is not this stack's state machine/,
    );
    expect(() => localDefinitionFrom(template(definition(null)), names)).toThrow(
      /starts an execution of \$\.target, which is not this stack's state machine/,
    );
    expect(() => localDefinitionFrom(template(definition(), null), names)).toThrow(
      /gives it no StateMachineName/,
    );
  });

  it("still refuses any other non-Lambda resource", () => {
    const def = definition();
    (def.States.StartChild as { Resource: string }).Resource = "arn:aws:states:::states:startExecution";
    expect(() => localDefinitionFrom(template(def), { region: REGION, tableName: "t" })).toThrow(
      /is not a Lambda function of this stack; the local runner refuses to run it/,
    );
  });
});
