import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { EC2Client, RunInstancesCommand, type RunInstancesCommandInput } from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  buildRunInstancesInput,
  type LaunchConfig,
  launchInstance,
  parseSubnetIds,
  subnetFor,
} from "../../functions/launch-instance/launch-instance.js";
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

describe("launchInstance (mocked EC2)", () => {
  const client = new EC2Client({});
  const ec2Mock = mockClient(client);
  const createEc2Client = vi.fn(() => client);
  const destroy = vi.spyOn(client, "destroy");

  beforeEach(() => {
    ec2Mock.reset();
    createEc2Client.mockClear();
    destroy.mockClear();
  });

  it("sends the exact RunInstances request", async () => {
    ec2Mock.on(RunInstancesCommand).resolves({
      Instances: [{ InstanceId: "i-0aaa", PrivateIpAddress: "10.0.2.7" }],
    });
    const state = runState(4);
    state.settings.userData = "#!/bin/sh\necho 'firstboot_freebsd_update_enable=NO' >> /etc/rc.conf\n";
    await launchInstance(state, { createEc2Client, clock: () => 0, config });

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
    await expect(
      launchInstance(runState(1), { createEc2Client, clock: time.clock, config }),
    ).resolves.toEqual({
      instanceId: "i-0aaa",
      privateIp: "10.0.2.7",
      clientToken: "weekly-2025-01-run0001",
      launchRequestedAt: 1_750_000_000_000.25,
      launchRespondedAt: 1_750_000_001_512.75,
    });
    expect(createEc2Client).toHaveBeenCalledTimes(1);
    expect(destroy).toHaveBeenCalledTimes(1);
  });

  it.each(["InsufficientInstanceCapacity", "RequestLimitExceeded", "InvalidParameterValue"])(
    "lets %s propagate under its AWS name and still destroys the client",
    async (code) => {
      ec2Mock.on(RunInstancesCommand).rejects(ec2Error(code));
      await expect(
        launchInstance(runState(1), { createEc2Client, clock: () => 0, config }),
      ).rejects.toMatchObject({
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
    const deps = { createEc2Client, clock: () => 0, config };
    const first = await launchInstance(runState(2), deps);
    const retry = await launchInstance(runState(2), deps);
    expect(retry.instanceId).toBe(first.instanceId);
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
    const throttleRetry = {
      budgetMs: 30_000,
      random: () => 0.5,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        time.advance(ms);
      },
    };
    const result = await launchInstance(runState(1), {
      createEc2Client,
      clock: time.clock,
      config,
      throttleRetry,
    });
    expect(sleeps).toEqual([125, 250]);
    expect(result).toMatchObject({
      instanceId: "i-0aaa",
      launchRequestedAt: 1_375,
      launchRespondedAt: 1_415,
    });
    // Each attempt on its own fresh client, every one destroyed; the same client token throughout.
    expect(createEc2Client).toHaveBeenCalledTimes(3);
    expect(destroy).toHaveBeenCalledTimes(3);
    const tokens = ec2Mock.commandCalls(RunInstancesCommand).map((call) => call.args[0].input.ClientToken);
    expect(new Set(tokens)).toEqual(new Set(["weekly-2025-01-run0001"]));
  });

  it("hands RequestLimitExceeded back to the state machine once the budget is spent", async () => {
    const time = steppedClock(0);
    ec2Mock.on(RunInstancesCommand).rejects(ec2Error("RequestLimitExceeded"));
    const throttleRetry = {
      budgetMs: 5_000,
      random: () => 1,
      sleep: async (ms: number) => void time.advance(ms),
    };
    await expect(
      launchInstance(runState(1), { createEc2Client, clock: time.clock, config, throttleRetry }),
    ).rejects.toMatchObject({ name: "RequestLimitExceeded" });
    // 250 + 500 + 1000 + 2000 = 3750 ms waited; the next 4000 ms wait would pass 5000 ms.
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(5);
  });

  it("does not retry other errors inside the invocation", async () => {
    ec2Mock.on(RunInstancesCommand).rejects(ec2Error("InsufficientInstanceCapacity"));
    const throttleRetry = { budgetMs: 30_000, random: () => 0, sleep: async () => {} };
    await expect(
      launchInstance(runState(1), { createEc2Client, clock: () => 0, config, throttleRetry }),
    ).rejects.toMatchObject({ name: "InsufficientInstanceCapacity" });
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(1);
  });

  it("fails when the response has no private IP, naming the instance", async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: "i-0aaa" }] });
    await expect(launchInstance(runState(1), { createEc2Client, clock: () => 0, config })).rejects.toThrow(
      "RunInstances returned instance i-0aaa without a private IP address",
    );
  });
});

// The SDK's real wire handling, against a loopback endpoint: proves that an EC2 error's `name` is its
// AWS code (what Step Functions retries and catches on) and that the request carries what IAM checks.
describe("launchInstance over the EC2 Query protocol (loopback)", () => {
  let server: Server;
  let endpoint: string;
  let reply: { status: number; body: string };
  const requests: URLSearchParams[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        requests.push(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
        res.writeHead(reply.status, { "content-type": "text/xml;charset=UTF-8" }).end(reply.body);
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    requests.length = 0;
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
        "<instanceState><code>0</code><name>pending</name></instanceState></item></instancesSet>" +
        "</RunInstancesResponse>",
    };
    const result = await launchInstance(runState(0), {
      createEc2Client,
      clock: () => performance.timeOrigin + performance.now(),
      config,
    });
    expect(result).toMatchObject({ instanceId: "i-0123456789abcdef0", privateIp: "10.0.1.23" });
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

  it.each([
    [500, "InsufficientInstanceCapacity"],
    [503, "RequestLimitExceeded"],
    [400, "InvalidParameterValue"],
  ])("an HTTP %i %s error reaches the caller named by its code", async (status, code) => {
    reply = { status, body: errorBody(code, `${code} from the loopback endpoint`) };
    await expect(
      launchInstance(runState(0), { createEc2Client, clock: () => 0, config }),
    ).rejects.toMatchObject({ name: code, message: `${code} from the loopback endpoint` });
  });
});
