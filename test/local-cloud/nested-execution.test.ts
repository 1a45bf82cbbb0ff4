/**
 * The local runner's `states:startExecution.sync:2`: a nested execution of the same definition,
 * answering as Step Functions does, and refused for any other state machine.
 */
import { describe, expect, it } from "vitest";
import type { AslDefinition } from "../../infra/asl.js";
import {
  type CfnTemplate,
  localDefinitionFrom,
  START_EXECUTION_SYNC,
} from "../../local-cloud/runner/local-definition.js";
import { LocalStateMachine } from "../../local-cloud/runner/local-state-machine.js";

const REGION = "us-east-1";
const SELF = "arn:aws:states:us-east-1:000000000000:stateMachine:Mini";

/** A state machine that, given `{ name, value, fail }`, runs itself as a child with `{ child: value }`. */
function definition(stateMachineArn: unknown = SELF): AslDefinition {
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
        Default: "ChildDone",
      },
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
        End: true,
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

const load = (stateMachineName = "Mini") =>
  LocalStateMachine.load(localDefinitionFrom(template(definition()), { region: REGION, tableName: "t" }), {
    region: REGION,
    projectRoot: "/nonexistent",
    stateMachineName,
  });

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
