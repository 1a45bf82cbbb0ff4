import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  type RunInstancesCommandInput,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  buildRunInstancesInput,
  type LaunchConfig,
  type LaunchInstanceDeps,
  type LaunchLedger,
  launchedNothing,
  launchInstance,
  parseSubnetIds,
  subnetFor,
} from "../../functions/launch-instance/launch-instance.js";
import { anchorToWallClock } from "../../functions/shared/clock.js";
import { ec2Error, runState } from "./ec2-test-helpers.js";

const config: LaunchConfig = {
  subnetIds: ["subnet-aaaa", "subnet-bbbb", "subnet-cccc"],
  securityGroupId: "sg-0123456789abcdef0",
  stackTag: "BootBench-prod",
};

/** A clock the mocked RunInstances moves forward, so the test can see which side of the call each
 * timestamp was taken on. */
function steppedClock(start: number) {
  let now = start;
  return { clock: () => now, advance: (ms: number) => (now += ms) };
}

/**
 * The launch ledger as DynamoDB keeps it (functions/aws/benchmark-table.ts, tested against dynalite in
 * benchmark-table.test.ts): a counter of sends not known to have launched nothing.
 */
function memoryLedger(unsettledBefore = 0) {
  let unsettled = unsettledBefore;
  const ledger = {
    countSend: vi.fn(async (_at: number) => ++unsettled),
    settle: vi.fn(async () => {
      unsettled -= 1;
    }),
  } satisfies LaunchLedger;
  return { ledger, unsettled: () => unsettled };
}

describe("launchInstance (mocked EC2)", () => {
  const client = new EC2Client({});
  const ec2Mock = mockClient(client);
  const createEc2Client = vi.fn(() => client);
  const destroy = vi.spyOn(client, "destroy");
  // The shared client, for the DescribeInstances that looks up a private IP the launch response lacked.
  const shared = new EC2Client({});
  const sharedMock = mockClient(shared);
  let ledger: ReturnType<typeof memoryLedger>;
  const sleep = vi.fn(async (_ms: number) => {});

  /** Everything launchInstance needs, with a fixed clock and no throttle retry unless given. */
  const deps = (overrides: Partial<LaunchInstanceDeps> = {}): LaunchInstanceDeps => ({
    createEc2Client,
    ec2: shared,
    clock: () => 0,
    sleep,
    config,
    ledger: ledger.ledger,
    ...overrides,
  });

  beforeEach(() => {
    ec2Mock.reset();
    sharedMock.reset();
    createEc2Client.mockClear();
    destroy.mockClear();
    sleep.mockClear();
    ledger = memoryLedger();
  });

  it("sends the exact RunInstances request", async () => {
    ec2Mock.on(RunInstancesCommand).resolves({
      Instances: [{ InstanceId: "i-0aaa", PrivateIpAddress: "10.0.2.7" }],
    });
    const state = runState(4);
    state.settings.userData = "#!/bin/sh\necho 'firstboot_freebsd_update_enable=NO' >> /etc/rc.conf\n";
    await launchInstance(state, deps());

    const tags = [
      { Key: "boot-bench:stack", Value: "BootBench-prod" },
      { Key: "boot-bench:benchmark", Value: "weekly-2025-01" },
      { Key: "boot-bench:run", Value: "4" },
      { Key: "Name", Value: "boot-bench weekly-2025-01 #4" },
    ];
    const input = ec2Mock.commandCalls(RunInstancesCommand)[0]?.args[0].input;
    expect(input).toStrictEqual<RunInstancesCommandInput>({
      ImageId: "ami-0123456789abcdef0",
      InstanceType: "c7i.large",
      MinCount: 1,
      MaxCount: 1,
      ClientToken: "weekly-2025-01-run0004",
      SubnetId: "subnet-bbbb",
      SecurityGroupIds: ["sg-0123456789abcdef0"],
      InstanceInitiatedShutdownBehavior: "terminate",
      MetadataOptions: { HttpTokens: "required" },
      TagSpecifications: [
        { ResourceType: "instance", Tags: tags },
        { ResourceType: "volume", Tags: tags },
      ],
      UserData: Buffer.from(state.settings.userData, "utf8").toString("base64"),
    });
    expect(input).not.toHaveProperty("KeyName");
    expect(input).not.toHaveProperty("IamInstanceProfile");
    expect(input).not.toHaveProperty("BlockDeviceMappings");
    expect(Buffer.from(input?.UserData ?? "", "base64").toString("utf8")).toBe(state.settings.userData);
  });

  it("launches with the benchmark's key pair when it has one (guest timings), with none otherwise", () => {
    const state = runState(1);
    expect(buildRunInstancesInput({ ...state, guestKey: {} }, config)).not.toHaveProperty("KeyName");
    const withKey = buildRunInstancesInput(
      { ...state, guestKey: { keyName: "boot-bench-weekly-2025-01", keyPairId: "key-0123456789abcdef0" } },
      config,
    );
    expect(withKey.KeyName).toBe("boot-bench-weekly-2025-01");
  });

  it("allows IMDSv1 only when the benchmark says imdsV2 optional", () => {
    const state = runState(0);
    expect(buildRunInstancesInput(state, config).MetadataOptions).toEqual({ HttpTokens: "required" });
    state.settings.imdsV2 = "required";
    expect(buildRunInstancesInput(state, config).MetadataOptions).toEqual({ HttpTokens: "required" });
    state.settings.imdsV2 = "optional";
    expect(buildRunInstancesInput(state, config).MetadataOptions).toEqual({ HttpTokens: "optional" });
  });

  it("maps an encrypted, deleted-on-termination volume onto the image's root device when asked", () => {
    const state = runState(0);
    state.image.rootDeviceName = "/dev/sda1";
    state.settings.encryptRootVolume = false;
    expect(buildRunInstancesInput(state, config)).not.toHaveProperty("BlockDeviceMappings");
    state.settings.encryptRootVolume = true;
    expect(buildRunInstancesInput(state, config).BlockDeviceMappings).toEqual([
      { DeviceName: "/dev/sda1", Ebs: { Encrypted: true, DeleteOnTermination: true } },
    ]);
    delete state.image.rootDeviceName;
    expect(() => buildRunInstancesInput(state, config)).toThrow(/no recorded root device name/);
  });

  it("sends no UserData when none is given", () => {
    expect(buildRunInstancesInput(runState(0), config)).not.toHaveProperty("UserData");
  });

  it("rotates subnets by run index, the same subnet for every retry of a run", () => {
    expect([0, 1, 2, 3, 4].map((runIndex) => subnetFor(runIndex, config.subnetIds))).toEqual([
      "subnet-aaaa",
      "subnet-bbbb",
      "subnet-cccc",
      "subnet-aaaa",
      "subnet-bbbb",
    ]);
    expect(parseSubnetIds(" subnet-aaaa, subnet-bbbb,,")).toEqual(["subnet-aaaa", "subnet-bbbb"]);
    expect(() => parseSubnetIds(" , ")).toThrow(/SUBNET_IDS/);
  });

  it("times the call from just before sending to the response, on a fresh client it then destroys", async () => {
    const time = steppedClock(1_750_000_000_000.25);
    ec2Mock.on(RunInstancesCommand).callsFake(() => {
      time.advance(1_512.5);
      return { Instances: [{ InstanceId: "i-0aaa", PrivateIpAddress: "10.0.2.7" }] };
    });
    await expect(launchInstance(runState(1), deps({ clock: time.clock }))).resolves.toEqual({
      instanceId: "i-0aaa",
      privateIp: "10.0.2.7",
      privateIpSource: "runInstances",
      privateIpAt: 1_750_000_001_512.75,
      clientToken: "weekly-2025-01-run0001",
      launchRequestedAt: 1_750_000_000_000.25,
      launchRespondedAt: 1_750_000_001_512.75,
      earlierLaunchSends: 0,
    });
    expect(createEc2Client).toHaveBeenCalledTimes(1);
    expect(destroy).toHaveBeenCalledTimes(1);
    // The address was in the response: nothing else was asked.
    expect(sharedMock.calls()).toHaveLength(0);
  });

  it.each(["InsufficientInstanceCapacity", "RequestLimitExceeded", "InvalidParameterValue"])(
    "lets %s propagate under its AWS name and still destroys the client",
    async (code) => {
      ec2Mock.on(RunInstancesCommand).rejects(ec2Error(code));
      await expect(launchInstance(runState(1), deps())).rejects.toMatchObject({
        name: code,
      });
      expect(destroy).toHaveBeenCalledTimes(1);
    },
  );

  it("returns the same instance when a retried launch repeats the client token", async () => {
    const byToken = new Map<string, string>();
    ec2Mock.on(RunInstancesCommand).callsFake((input: RunInstancesCommandInput) => {
      const token = input.ClientToken ?? "";
      if (!byToken.has(token)) byToken.set(token, `i-0${byToken.size + 1}`);
      return { Instances: [{ InstanceId: byToken.get(token), PrivateIpAddress: "10.0.2.7" }] };
    });
    const first = await launchInstance(runState(2), deps());
    const retry = await launchInstance(runState(2), deps());
    expect(retry.instanceId).toBe(first.instanceId);
    // The ledger says the retry may be a replay: the first request launched the instance.
    expect(first.earlierLaunchSends).toBe(0);
    expect(retry.earlierLaunchSends).toBe(1);
    const inputs = ec2Mock.commandCalls(RunInstancesCommand).map((call) => call.args[0].input);
    expect(inputs).toHaveLength(2);
    expect(inputs[1]).toEqual(inputs[0]);
    expect(createEc2Client).toHaveBeenCalledTimes(2);
  });

  it("rides out throttling with jittered backoff inside its budget, timing only the attempt that got through", async () => {
    const time = steppedClock(1_000);
    const sleeps: number[] = [];
    ec2Mock
      .on(RunInstancesCommand)
      .rejectsOnce(ec2Error("RequestLimitExceeded"))
      .rejectsOnce(ec2Error("RequestLimitExceeded"))
      .callsFake(() => {
        time.advance(40);
        return { Instances: [{ InstanceId: "i-0aaa", PrivateIpAddress: "10.0.2.7" }] };
      });
    const launchRetry = { budgetMs: 30_000, random: () => 0.5 };
    const result = await launchInstance(
      runState(1),
      deps({
        clock: time.clock,
        sleep: async (ms: number) => {
          sleeps.push(ms);
          time.advance(ms);
        },
        launchRetry,
      }),
    );
    expect(sleeps).toEqual([125, 250]);
    expect(result).toMatchObject({
      instanceId: "i-0aaa",
      launchRequestedAt: 1_375,
      launchRespondedAt: 1_415,
      // Both throttled sends were taken back: the one that got through is the only one that may have launched.
      earlierLaunchSends: 0,
    });
    expect(ledger.ledger.countSend).toHaveBeenCalledTimes(3);
    expect(ledger.ledger.settle).toHaveBeenCalledTimes(2);
    // Each attempt on its own fresh client, every one destroyed; the same client token throughout.
    expect(createEc2Client).toHaveBeenCalledTimes(3);
    expect(destroy).toHaveBeenCalledTimes(3);
    const tokens = ec2Mock.commandCalls(RunInstancesCommand).map((call) => call.args[0].input.ClientToken);
    expect(new Set(tokens)).toEqual(new Set(["weekly-2025-01-run0001"]));
  });

  it("asks again for a key pair EC2 does not find yet when the launch names one, and never without", async () => {
    const withKey = {
      ...runState(1),
      guestKey: { keyName: "boot-bench-weekly-2025-01", keyPairId: "key-0123456789abcdef0" },
    };
    const launchRetry = { budgetMs: 30_000, random: () => 0.5 };
    const time = steppedClock(0);
    const sleep = async (ms: number) => void time.advance(ms);
    ec2Mock
      .on(RunInstancesCommand)
      .rejectsOnce(ec2Error("InvalidKeyPair.NotFound"))
      .resolves({ Instances: [{ InstanceId: "i-0aaa", PrivateIpAddress: "10.0.2.7" }] });
    const result = await launchInstance(withKey, deps({ clock: time.clock, sleep, launchRetry }));
    // The refusal launched nothing: its send is taken back, and the launch is no possible replay.
    expect(result).toMatchObject({ instanceId: "i-0aaa", earlierLaunchSends: 0 });
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(2);

    // Without a key pair in the launch, the error is no consistency delay: it goes straight back.
    ec2Mock.reset();
    ec2Mock.on(RunInstancesCommand).rejects(ec2Error("InvalidKeyPair.NotFound"));
    await expect(
      launchInstance(runState(1), deps({ clock: time.clock, sleep, launchRetry })),
    ).rejects.toMatchObject({ name: "InvalidKeyPair.NotFound" });
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(1);
  });

  it("hands RequestLimitExceeded back to the state machine once the budget is spent", async () => {
    const time = steppedClock(0);
    ec2Mock.on(RunInstancesCommand).rejects(ec2Error("RequestLimitExceeded"));
    const launchRetry = { budgetMs: 5_000, random: () => 1 };
    await expect(
      launchInstance(
        runState(1),
        deps({ clock: time.clock, sleep: async (ms: number) => void time.advance(ms), launchRetry }),
      ),
    ).rejects.toMatchObject({ name: "RequestLimitExceeded" });
    // 250 + 500 + 1000 + 2000 = 3750 ms waited; the next 4000 ms wait would pass 5000 ms.
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(5);
  });

  it.each([
    ["InternalError (500)", () => ec2Error("InternalError", "An internal error has occurred", "server")],
    ["Unavailable (503)", () => ec2Error("Unavailable", "The service is unavailable", "server")],
    ["a dropped connection", () => Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })],
    ["an abandoned attempt", () => Object.assign(new Error("aborted"), { name: "AbortError" })],
  ])(
    "retries a send that may have launched with the same client token, timing only the one that got through: %s",
    async (_name, error) => {
      const time = steppedClock(1_000);
      const sleeps: number[] = [];
      ec2Mock
        .on(RunInstancesCommand)
        .callsFakeOnce(() => {
          time.advance(300);
          throw error();
        })
        .callsFake(() => {
          time.advance(40);
          return { Instances: [{ InstanceId: "i-0aaa", PrivateIpAddress: "10.0.2.7" }] };
        });
      const result = await launchInstance(
        runState(1),
        deps({
          clock: time.clock,
          sleep: async (ms: number) => {
            sleeps.push(ms);
            time.advance(ms);
          },
          launchRetry: { budgetMs: 30_000, random: () => 0.5 },
        }),
      );
      expect(sleeps).toEqual([125]);
      // The failed send stays counted: the response may be a replay of the instance it launched.
      expect(result).toMatchObject({
        instanceId: "i-0aaa",
        launchRequestedAt: 1_425,
        launchRespondedAt: 1_465,
        earlierLaunchSends: 1,
      });
      expect(ledger.ledger.countSend).toHaveBeenCalledTimes(2);
      expect(ledger.ledger.settle).not.toHaveBeenCalled();
      const inputs = ec2Mock.commandCalls(RunInstancesCommand).map((call) => call.args[0].input);
      expect(inputs).toHaveLength(2);
      expect(inputs[1]).toEqual(inputs[0]);
    },
  );

  it("gives the last error back after maxUncertainAttempts sends that may have launched", async () => {
    ec2Mock.on(RunInstancesCommand).rejects(ec2Error("InternalError", "An internal error", "server"));
    await expect(
      launchInstance(
        runState(1),
        deps({ launchRetry: { budgetMs: 30_000, random: () => 0, maxUncertainAttempts: 3 } }),
      ),
    ).rejects.toMatchObject({ name: "InternalError" });
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(3);
    expect(ledger.unsettled()).toBe(3);
  });

  it("gives the last error back when the budget is spent, throttling and 5xx sharing one loop", async () => {
    const time = steppedClock(0);
    ec2Mock
      .on(RunInstancesCommand)
      .rejectsOnce(ec2Error("RequestLimitExceeded"))
      .rejects(ec2Error("Unavailable", "unavailable", "server"));
    await expect(
      launchInstance(
        runState(1),
        deps({
          clock: time.clock,
          sleep: async (ms: number) => void time.advance(ms),
          launchRetry: { budgetMs: 1_000, random: () => 1, maxUncertainAttempts: 10 },
        }),
      ),
    ).rejects.toMatchObject({ name: "Unavailable" });
    // Waits of 250 and 500 ms; the next (1000 ms) would end past the 1 s budget.
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(3);
  });

  it("sends nothing once terminate has closed the run's ledger (a launch that started too late)", async () => {
    const ended = Object.assign(new Error("run 1 has ended"), { name: "BootBench.RunEnded" });
    ledger.ledger.countSend.mockRejectedValue(ended);
    ec2Mock
      .on(RunInstancesCommand)
      .resolves({ Instances: [{ InstanceId: "i-0aaa", PrivateIpAddress: "10.0.2.7" }] });
    await expect(
      launchInstance(runState(1), deps({ launchRetry: { budgetMs: 30_000, random: () => 0 } })),
    ).rejects.toBe(ended);
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });

  it("does not retry other errors inside the invocation", async () => {
    ec2Mock.on(RunInstancesCommand).rejects(ec2Error("InsufficientInstanceCapacity"));
    const launchRetry = { budgetMs: 30_000, random: () => 0 };
    await expect(launchInstance(runState(1), deps({ launchRetry }))).rejects.toMatchObject({
      name: "InsufficientInstanceCapacity",
    });
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(1);
  });

  it("counts the send in the ledger before the clock starts, and reports earlier sends that may have launched", async () => {
    // Two earlier sends of this run were never settled (a lost response, a 5xx): this may be a replay.
    ledger = memoryLedger(2);
    const time = steppedClock(1_000);
    const order: string[] = [];
    ledger.ledger.countSend.mockImplementation(async () => {
      order.push("ledger");
      time.advance(25); // the DynamoDB write, kept out of the API interval
      return 3;
    });
    ec2Mock.on(RunInstancesCommand).callsFake(() => {
      order.push("RunInstances");
      time.advance(1_500);
      return {
        Instances: [
          {
            InstanceId: "i-0aaa",
            PrivateIpAddress: "10.0.2.7",
            LaunchTime: new Date("2025-06-15T14:13:19.000Z"),
          },
        ],
      };
    });
    const result = await launchInstance(runState(1), deps({ clock: time.clock }));
    expect(order).toEqual(["ledger", "RunInstances"]);
    expect(ledger.ledger.countSend).toHaveBeenCalledWith(1_000);
    expect(result).toEqual({
      instanceId: "i-0aaa",
      privateIp: "10.0.2.7",
      privateIpSource: "runInstances",
      privateIpAt: 2_525,
      clientToken: "weekly-2025-01-run0001",
      launchRequestedAt: 1_025,
      launchRespondedAt: 2_525,
      launchTime: Date.parse("2025-06-15T14:13:19.000Z"),
      earlierLaunchSends: 2,
    });
    expect(ledger.ledger.settle).not.toHaveBeenCalled();
  });

  const networkError = () => Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });

  it.each([
    [
      "RequestLimitExceeded (503)",
      () => ec2Error("RequestLimitExceeded", "Request limit exceeded.", "server"),
    ],
    ["InsufficientInstanceCapacity (500)", () => ec2Error("InsufficientInstanceCapacity", "none", "server")],
    ["InstanceLimitExceeded", () => ec2Error("InstanceLimitExceeded", "vCPU limit", "client")],
    ["InvalidParameterValue (a 4xx)", () => ec2Error("InvalidParameterValue", "bad", "client")],
    ["UnauthorizedOperation (a 4xx)", () => ec2Error("UnauthorizedOperation", "denied", "client")],
  ])("takes the send back when EC2 refused it: %s", async (_name, error) => {
    const refusal = error();
    expect(launchedNothing(refusal)).toBe(true);
    ec2Mock.on(RunInstancesCommand).rejects(refusal);
    await expect(launchInstance(runState(1), deps())).rejects.toBe(refusal);
    expect(ledger.ledger.countSend).toHaveBeenCalledTimes(1);
    expect(ledger.ledger.settle).toHaveBeenCalledTimes(1);
    expect(ledger.unsettled()).toBe(0);
  });

  it.each([
    ["InternalError (500)", () => ec2Error("InternalError", "An internal error has occurred", "server")],
    ["Unavailable (503)", () => ec2Error("Unavailable", "The service is unavailable", "server")],
    ["a network error (no answer)", networkError],
    ["a timeout (no answer)", () => Object.assign(new Error("timed out"), { name: "TimeoutError" })],
  ])("keeps the send counted when it may have launched: %s", async (_name, error) => {
    const failure = error();
    expect(launchedNothing(failure)).toBe(false);
    ec2Mock.on(RunInstancesCommand).rejects(failure);
    await expect(launchInstance(runState(1), deps())).rejects.toBe(failure);
    expect(ledger.ledger.settle).not.toHaveBeenCalled();
    expect(ledger.unsettled()).toBe(1);
    // So the retry the state machine makes reports the possible replay.
    ec2Mock
      .on(RunInstancesCommand)
      .resolves({ Instances: [{ InstanceId: "i-0aaa", PrivateIpAddress: "10.0.2.7" }] });
    expect((await launchInstance(runState(1), deps())).earlierLaunchSends).toBe(1);
  });

  it("gives EC2's refusal back even when taking the send back fails", async () => {
    ledger.ledger.settle.mockRejectedValue(new Error("ProvisionedThroughputExceededException"));
    ec2Mock.on(RunInstancesCommand).rejects(ec2Error("InsufficientInstanceCapacity", "none", "server"));
    await expect(launchInstance(runState(1), deps())).rejects.toMatchObject({
      name: "InsufficientInstanceCapacity",
    });
    expect(ledger.ledger.settle).toHaveBeenCalledTimes(1);
  });

  it("sends no RunInstances when the ledger cannot count the send", async () => {
    ledger.ledger.countSend.mockRejectedValue(
      Object.assign(new Error("throttled"), { name: "ThrottlingException" }),
    );
    ec2Mock
      .on(RunInstancesCommand)
      .resolves({ Instances: [{ InstanceId: "i-0aaa", PrivateIpAddress: "10.0.2.7" }] });
    await expect(launchInstance(runState(1), deps())).rejects.toMatchObject({ name: "ThrottlingException" });
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(0);
    expect(destroy).toHaveBeenCalledTimes(1);
  });

  it("looks the private IP up with DescribeInstances when the launch response has none", async () => {
    const time = steppedClock(10_000);
    const sleeps: number[] = [];
    ec2Mock.on(RunInstancesCommand).callsFake(() => {
      time.advance(1_500);
      return { Instances: [{ InstanceId: "i-0aaa", State: { Name: "pending" } }] };
    });
    sharedMock
      .on(DescribeInstancesCommand)
      .callsFakeOnce(() => {
        time.advance(20);
        throw ec2Error("InvalidInstanceID.NotFound", "The instance ID 'i-0aaa' does not exist");
      })
      .callsFakeOnce(() => {
        time.advance(20);
        return { Reservations: [{ Instances: [{ InstanceId: "i-0aaa", State: { Name: "pending" } }] }] };
      })
      .callsFake(() => {
        time.advance(20);
        return {
          Reservations: [
            {
              Instances: [
                { InstanceId: "i-0other", PrivateIpAddress: "10.0.9.9" },
                { InstanceId: "i-0aaa", State: { Name: "pending" }, PrivateIpAddress: "10.0.2.9" },
              ],
            },
          ],
        };
      });
    const result = await launchInstance(
      runState(1),
      deps({
        clock: time.clock,
        sleep: async (ms) => {
          sleeps.push(ms);
          time.advance(ms);
        },
        addressWait: { timeoutMs: 5_000, intervalMs: 100 },
      }),
    );
    // Responded at 11 500; answers at +20, +140 (after a 100 ms wait) and +260, the one with the address.
    expect(result).toEqual({
      instanceId: "i-0aaa",
      privateIp: "10.0.2.9",
      privateIpSource: "describeInstances",
      privateIpAt: 11_760,
      clientToken: "weekly-2025-01-run0001",
      launchRequestedAt: 10_000,
      launchRespondedAt: 11_500,
      earlierLaunchSends: 0,
    });
    expect(sleeps).toEqual([100, 100]);
    const lookups = sharedMock.commandCalls(DescribeInstancesCommand).map((call) => call.args[0].input);
    expect(lookups).toEqual([
      { InstanceIds: ["i-0aaa"] },
      { InstanceIds: ["i-0aaa"] },
      { InstanceIds: ["i-0aaa"] },
    ]);
    // The timed launch client is not the one that looks: it was destroyed right after the response.
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
  });

  it("gives up looking for the private IP after addressWait.timeoutMs, naming the instance and what it saw", async () => {
    const time = steppedClock(0);
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: "i-0aaa" }] });
    sharedMock
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: "i-0aaa", State: { Name: "pending" } }] }] });
    await expect(
      launchInstance(
        runState(1),
        deps({
          clock: time.clock,
          sleep: async (ms) => void time.advance(ms),
          addressWait: { timeoutMs: 1_000, intervalMs: 100 },
        }),
      ),
    ).rejects.toThrow("instance i-0aaa has no private IP address 1000 ms after RunInstances (state pending)");
    // At 0, 100, …, 1000: the next wait would end past the deadline.
    expect(sharedMock.commandCalls(DescribeInstancesCommand)).toHaveLength(11);
    expect(time.clock()).toBe(1_000);
  });

  it("names the last error when the instance never became visible", async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: "i-0aaa", PrivateIpAddress: "" }] });
    sharedMock
      .on(DescribeInstancesCommand)
      .rejects(ec2Error("InvalidInstanceID.NotFound", "The instance ID 'i-0aaa' does not exist"));
    const time = steppedClock(0);
    await expect(
      launchInstance(
        runState(1),
        deps({
          clock: time.clock,
          sleep: async (ms) => void time.advance(ms),
          addressWait: { timeoutMs: 300, intervalMs: 100 },
        }),
      ),
    ).rejects.toThrow(
      "instance i-0aaa has no private IP address 300 ms after RunInstances " +
        "(InvalidInstanceID.NotFound: The instance ID 'i-0aaa' does not exist)",
    );
  });
});

// The SDK's real wire handling, against a loopback endpoint: proves that an EC2 error's `name` is its
// AWS code (what Step Functions retries and catches on) and that the request carries what IAM checks.
describe("launchInstance over the EC2 Query protocol (loopback)", () => {
  let server: Server;
  let endpoint: string;
  let reply: { status: number; body: string } | "hang up";
  /** The next this many requests are read and never answered, their connections held open. */
  let unansweredRequests = 0;
  const requests: URLSearchParams[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        requests.push(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
        if (unansweredRequests > 0) unansweredRequests--;
        else if (reply === "hang up") req.socket.destroy();
        else res.writeHead(reply.status, { "content-type": "text/xml;charset=UTF-8" }).end(reply.body);
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  let ledger: ReturnType<typeof memoryLedger>;
  beforeEach(() => {
    requests.length = 0;
    ledger = memoryLedger();
  });

  const createEc2Client = () =>
    new EC2Client({
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });

  const errorBody = (code: string, message: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code>` +
    `<Message>${message}</Message></Error></Errors><RequestID>req-1</RequestID></Response>`;

  it("returns the instance id and private IP, and sends the client token and tags", async () => {
    reply = {
      status: 200,
      body:
        '<RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId>' +
        "<reservationId>r-0abc</reservationId><ownerId>123456789012</ownerId><instancesSet><item>" +
        "<instanceId>i-0123456789abcdef0</instanceId><privateIpAddress>10.0.1.23</privateIpAddress>" +
        "<launchTime>2025-01-06T06:00:01.000Z</launchTime>" +
        "<instanceState><code>0</code><name>pending</name></instanceState></item></instancesSet>" +
        "</RunInstancesResponse>",
    };
    const result = await launchInstance(runState(0), {
      createEc2Client,
      ec2: createEc2Client(),
      clock: anchorToWallClock().now,
      sleep: async () => {},
      config,
      ledger: ledger.ledger,
    });
    expect(result).toMatchObject({
      instanceId: "i-0123456789abcdef0",
      privateIp: "10.0.1.23",
      privateIpSource: "runInstances",
      launchTime: Date.parse("2025-01-06T06:00:01.000Z"),
      earlierLaunchSends: 0,
    });
    expect(result.launchRespondedAt).toBeGreaterThan(result.launchRequestedAt);

    const sent = requests[0];
    expect(sent?.get("Action")).toBe("RunInstances");
    expect(sent?.get("ClientToken")).toBe("weekly-2025-01-run0000");
    expect(sent?.get("InstanceInitiatedShutdownBehavior")).toBe("terminate");
    expect(sent?.get("MetadataOptions.HttpTokens")).toBe("required");
    expect(sent?.get("TagSpecification.1.ResourceType")).toBe("instance");
    expect(sent?.get("TagSpecification.2.ResourceType")).toBe("volume");
    expect(sent?.get("TagSpecification.2.Tag.1.Key")).toBe("boot-bench:stack");
    expect(sent?.get("TagSpecification.2.Tag.1.Value")).toBe("BootBench-prod");
    expect([...(sent?.keys() ?? [])].filter((key) => /KeyName|IamInstanceProfile/.test(key))).toEqual([]);
  });

  const deps = (): LaunchInstanceDeps => ({
    createEc2Client,
    ec2: createEc2Client(),
    clock: () => 0,
    sleep: async () => {},
    config,
    ledger: ledger.ledger,
  });

  it.each([
    [500, "InsufficientInstanceCapacity", true],
    [503, "RequestLimitExceeded", true],
    [400, "InvalidParameterValue", true],
    [403, "UnauthorizedOperation", true],
    [500, "InternalError", false],
    [503, "Unavailable", false],
  ])(
    "an HTTP %i %s error reaches the caller named by its code (launched nothing: %s)",
    async (status, code, refused) => {
      reply = { status, body: errorBody(code, `${code} from the loopback endpoint`) };
      await expect(launchInstance(runState(0), deps())).rejects.toMatchObject({
        name: code,
        message: `${code} from the loopback endpoint`,
      });
      // The SDK's own error decides whether the send is taken back out of the ledger.
      expect(ledger.ledger.settle).toHaveBeenCalledTimes(refused ? 1 : 0);
      expect(ledger.unsettled()).toBe(refused ? 0 : 1);
    },
  );

  it("abandons a request that gets no answer within attemptTimeoutMs and sends it again, same client token", async () => {
    unansweredRequests = 1;
    reply = {
      status: 200,
      body:
        '<RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-2</requestId>' +
        "<reservationId>r-0abc</reservationId><ownerId>123456789012</ownerId><instancesSet><item>" +
        "<instanceId>i-0123456789abcdef0</instanceId><privateIpAddress>10.0.1.23</privateIpAddress>" +
        "<instanceState><code>0</code><name>pending</name></instanceState></item></instancesSet>" +
        "</RunInstancesResponse>",
    };
    const result = await launchInstance(runState(0), {
      ...deps(),
      launchRetry: { budgetMs: 30_000, random: () => 0, attemptTimeoutMs: 200 },
    });
    expect(result).toMatchObject({ instanceId: "i-0123456789abcdef0", earlierLaunchSends: 1 });
    expect(requests.map((r) => r.get("ClientToken"))).toEqual([
      "weekly-2025-01-run0000",
      "weekly-2025-01-run0000",
    ]);
  });

  it("keeps the send counted when the connection drops before any answer", async () => {
    reply = "hang up";
    await expect(launchInstance(runState(0), deps())).rejects.toThrow();
    expect(requests).toHaveLength(1);
    expect(ledger.ledger.settle).not.toHaveBeenCalled();
    expect(ledger.unsettled()).toBe(1);
  });
});
