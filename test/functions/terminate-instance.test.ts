import {
  DescribeInstancesCommand,
  EC2Client,
  type Instance,
  type InstanceStateName,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { terminateInstance } from "../../functions/terminate-instance/terminate-instance.js";
import { ec2Error, runState } from "./ec2-test-helpers.js";

const ec2Mock = mockClient(EC2Client);
const deps = { ec2: new EC2Client({}), stackTag: "BootBench-prod" };

const launched = () =>
  runState(2, {
    launch: {
      instanceId: "i-0aaa",
      privateIp: "10.0.1.23",
      privateIpSource: "runInstances",
      privateIpAt: 2,
      clientToken: "weekly-2025-01-run0002",
      launchRequestedAt: 1,
      launchRespondedAt: 2,
      earlierLaunchSends: 0,
    },
    failure: { Error: "BootBench.RunningTimeout" },
  });

const instance = (InstanceId: string, Name: InstanceStateName): Instance => ({ InstanceId, State: { Name } });

beforeEach(() => {
  ec2Mock.reset();
  ec2Mock.on(TerminateInstancesCommand).resolves({});
});

describe("terminateInstance", () => {
  it("terminates the launched instance by id", async () => {
    await expect(terminateInstance(launched(), deps)).resolves.toEqual({ terminatedInstanceIds: ["i-0aaa"] });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ["i-0aaa"],
    });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
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
    await expect(terminateInstance(state, deps)).resolves.toEqual({ terminatedInstanceIds: ["i-0bbb"] });
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

  it("returns an empty list when EC2 refused the launch, so it started nothing", async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    for (const error of [
      "InsufficientInstanceCapacity",
      "InvalidParameterValue",
      "InvalidAMIID.NotFound",
      "RequestLimitExceeded",
      "VcpuLimitExceeded",
      "UnauthorizedOperation",
      "IdempotentParameterMismatch",
      "Unsupported",
    ]) {
      const state = runState(2, { failure: { Error: error } });
      await expect(terminateInstance(state, deps), error).resolves.toEqual({ terminatedInstanceIds: [] });
    }
    await expect(terminateInstance(runState(2), deps)).resolves.toEqual({ terminatedInstanceIds: [] });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });

  it("waits (a retryable NotFound) when nothing is visible yet but the failed launch may have started one", async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    for (const error of [
      "Sandbox.Timedout",
      "Lambda.ServiceException",
      "States.Timeout",
      "InternalError",
      "Error",
    ]) {
      const state = runState(2, { failure: { Error: error, Cause: "lost" } });
      await expect(terminateInstance(state, deps), error).rejects.toMatchObject({
        name: "InvalidInstanceID.NotFound",
        message: expect.stringContaining(
          `client token weekly-2025-01-run0002 is visible yet, and the launch failed with ${error}`,
        ),
      });
    }
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });

  it("does not wait for an instance that is visible but already terminated", async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [instance("i-0dead", "terminated")] }] });
    const state = runState(2, { failure: { Error: "Sandbox.Timedout" } });
    await expect(terminateInstance(state, deps)).resolves.toEqual({ terminatedInstanceIds: [] });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });
});
