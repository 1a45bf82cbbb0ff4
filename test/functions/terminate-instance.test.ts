import {
  DescribeInstancesCommand,
  EC2Client,
  type Instance,
  type InstanceStateName,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  type RunLedger,
  type TerminateInstanceDeps,
  terminateInstance,
} from "../../functions/terminate-instance/terminate-instance.js";
import { ec2Error, launchedRunState, runState } from "./ec2-test-helpers.js";

const ec2Mock = mockClient(EC2Client);
/** The order in which the ledger was closed and EC2 was called. */
let calls: string[] = [];
/** A launch ledger whose requests may have launched `unsettledSends` instances (one by default). */
const ledger = (unsettledSends = 1) =>
  ({
    close: vi.fn(async () => {
      calls.push("close");
      return { unsettledSends };
    }),
  }) satisfies RunLedger;
let deps: TerminateInstanceDeps;

const launched = () => launchedRunState({ failure: { Error: "BootBench.RunningTimeout" } });

const instance = (InstanceId: string, Name: InstanceStateName): Instance => ({ InstanceId, State: { Name } });

beforeEach(() => {
  calls = [];
  ec2Mock.reset();
  ec2Mock.on(TerminateInstancesCommand).callsFake(() => {
    calls.push("TerminateInstances");
    return {};
  });
  deps = { ec2: new EC2Client({}), stackTag: "BootBench-prod", ledger: ledger() };
});

describe("terminateInstance", () => {
  it("marks the run ended, then terminates the launched instance by id", async () => {
    await expect(terminateInstance(launched(), deps)).resolves.toEqual({ terminatedInstanceIds: ["i-0aaa"] });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ["i-0aaa"],
    });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    // Before the address is released: the probe must stop hitting it first.
    expect(calls).toEqual(["close", "TerminateInstances"]);
  });

  it("terminates all the same when the run-ended mark cannot be written, and says so", async () => {
    deps.ledger.close = vi.fn(async () => {
      throw Object.assign(new Error("rate exceeded"), { name: "ThrottlingException" });
    });
    await expect(terminateInstance(launched(), deps)).resolves.toEqual({
      terminatedInstanceIds: ["i-0aaa"],
      runEndedMarkError: "ThrottlingException: rate exceeded",
    });
  });

  it("rethrows InvalidInstanceID.NotFound by name, for the state machine to retry", async () => {
    ec2Mock.on(TerminateInstancesCommand).rejects(ec2Error("InvalidInstanceID.NotFound"));
    await expect(terminateInstance(launched(), deps)).rejects.toMatchObject({
      name: "InvalidInstanceID.NotFound",
    });
  });

  it("succeeds again for an instance that is already terminated", async () => {
    ec2Mock.on(TerminateInstancesCommand).resolves({
      TerminatingInstances: [
        { InstanceId: "i-0aaa", PreviousState: { Name: "terminated" }, CurrentState: { Name: "terminated" } },
      ],
    });
    await expect(terminateInstance(launched(), deps)).resolves.toEqual({ terminatedInstanceIds: ["i-0aaa"] });
  });

  it("without a launch result, finds the run's instances by client token and stack tag", async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [instance("i-0old", "terminated"), instance("i-0bbb", "pending")] }],
    });
    const state = runState(2, { failure: { Error: "States.Timeout" } });
    await expect(terminateInstance(state, deps)).resolves.toEqual({
      terminatedInstanceIds: ["i-0bbb"],
      launchSent: true,
    });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input).toEqual({
      Filters: [
        { Name: "client-token", Values: ["weekly-2025-01-run0002"] },
        { Name: "tag:boot-bench:stack", Values: ["BootBench-prod"] },
      ],
      NextToken: undefined,
    });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ["i-0bbb"],
    });
  });

  it("follows DescribeInstances pages", async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [instance("i-0bbb", "running")] }], NextToken: "page-2" })
      .resolvesOnce({ Reservations: [{ Instances: [instance("i-0ccc", "stopped")] }] });
    const result = await terminateInstance(runState(2), deps);
    expect(result.terminatedInstanceIds).toEqual(["i-0bbb", "i-0ccc"]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[1]?.args[0].input.NextToken).toBe("page-2");
  });

  it("neither searches nor waits when the ledger shows no request that may have launched", async () => {
    // A launch that failed before sending (a Lambda throttle, a crash, a late start refused by the
    // fence), or whose every request EC2 refused: whatever the failure's name.
    deps.ledger = ledger(0);
    for (const error of ["Lambda.TooManyRequestsException", "States.Timeout", "InternalError", "Error"]) {
      const state = runState(2, { failure: { Error: error } });
      await expect(terminateInstance(state, deps), error).resolves.toEqual({
        terminatedInstanceIds: [],
        launchSent: false,
      });
    }
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });

  it("waits (a retryable NotFound) when nothing is visible yet but a request of the run may have launched", async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    // Whatever the failure's name, a refusal included: the ledger decides, and it says a send is unsettled.
    for (const error of [
      "Sandbox.Timedout",
      "States.Timeout",
      "InternalError",
      "InsufficientInstanceCapacity",
    ]) {
      const state = runState(2, { failure: { Error: error, Cause: "lost" } });
      await expect(terminateInstance(state, deps), error).rejects.toMatchObject({
        name: "InvalidInstanceID.NotFound",
        message: expect.stringContaining(
          "client token weekly-2025-01-run0002 is visible yet, and 1 RunInstances request(s) of the run may have launched one",
        ),
      });
    }
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });

  it("searches, and waits, when the ledger cannot be read: a request may have launched", async () => {
    deps.ledger.close = vi.fn(async () => {
      throw Object.assign(new Error("down"), { name: "InternalServerError" });
    });
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    await expect(terminateInstance(runState(2, { failure: { Error: "Error" } }), deps)).rejects.toMatchObject(
      {
        name: "InvalidInstanceID.NotFound",
        message: expect.stringContaining("the launch ledger could not be read (InternalServerError: down)"),
      },
    );
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [instance("i-0bbb", "running")] }] });
    await expect(terminateInstance(runState(2), deps)).resolves.toEqual({
      terminatedInstanceIds: ["i-0bbb"],
      launchSent: true,
      runEndedMarkError: "InternalServerError: down",
    });
  });

  it("does not wait for an instance that is visible but already terminated", async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [instance("i-0dead", "terminated")] }] });
    const state = runState(2, { failure: { Error: "Sandbox.Timedout" } });
    await expect(terminateInstance(state, deps)).resolves.toEqual({
      terminatedInstanceIds: [],
      launchSent: true,
    });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });
});
