import { DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { amiIdFor, BUILT_IN_AMI_IDS, builtInImages, Catalogue } from "../../local-cloud/catalogue.js";
import { LoopbackAddressPool } from "../../local-cloud/ec2/instances.js";
import { Faults } from "../../local-cloud/faults.js";
import { startLocalAws } from "../../local-cloud/local-aws.js";
import { observe, settleHandles, tcpHandles } from "../support/loopback-ports.js";
import { runOne, sleep, startTestCloud } from "./local-aws-support.js";

const REFUSED = { kind: "error", code: "ECONNREFUSED" };

describe("local cloud lifecycle", () => {
  it("close() terminates every instance, closes every port and the server, and leaves no handle", async () => {
    await settleHandles();
    const handlesBefore = tcpHandles().length;
    const t = await startTestCloud();
    const { cloud } = t.aws;
    const booted = await runOne(t.ec2);
    await cloud.waitFor(booted.InstanceId as string, "sshUp");
    const pending = await runOne(t.ec2);
    const ips = [booted.PrivateIpAddress as string, pending.PrivateIpAddress as string];
    expect((await observe(ips[0] as string, cloud.sshPort, 200)).kind).toBe("connect");

    await t.close();
    await settleHandles();
    expect(tcpHandles()).toHaveLength(handlesBefore);
    expect(cloud.instances().map((i) => i.state)).toEqual(["terminated", "terminated"]);
    expect(cloud.fleet.addressesInUse).toBe(0);
    for (const ip of ips) expect(await observe(ip, cloud.sshPort, 200)).toEqual(REFUSED);
    const port = Number(new URL(t.aws.ec2Endpoint).port);
    expect(await observe("127.0.0.1", port, 200)).toEqual(REFUSED);
    // No timer fires after close: the pending instance never reaches running.
    await sleep(250);
    expect(cloud.truth(pending.InstanceId as string)?.runningAt).toBeUndefined();
    await t.aws.close(); // idempotent
  });

  it("close() waits for a launch in progress and releases its port too", async () => {
    const t = await startTestCloud({ runInstancesSeconds: 10 }); // 200 ms at this time scale
    const launching = runOne(t.ec2).catch((error: Error) => error);
    await sleep(50);
    t.ec2.destroy();
    t.ssm.destroy();
    await t.aws.close();
    await launching;
    expect(t.aws.cloud.fleet.addressesInUse).toBe(0);
    expect(t.aws.cloud.instances().every((i) => i.state === "terminated")).toBe(true);
  });

  it("listens on loopback only", async () => {
    await expect(startLocalAws({ host: "0.0.0.0" })).rejects.toThrow(/loopback/);
    const t = await startTestCloud();
    try {
      expect(new URL(t.aws.ec2Endpoint).hostname).toBe("127.0.0.1");
      expect(t.aws.ssmEndpoint).toBe(t.aws.ec2Endpoint);
      await t.ec2.send(new DescribeInstancesCommand({}));
    } finally {
      await t.close();
    }
  });

  it("refuses a server request it does not know", async () => {
    const t = await startTestCloud();
    try {
      const res = await fetch(`${t.aws.ec2Endpoint}/`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "Action=StopInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0",
      });
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(text).toContain("<Code>InvalidAction</Code>");
      expect(text).toMatch(/^<\?xml[^>]*>\s*<Response><Errors><Error>/);
      const ssm = await fetch(`${t.aws.ssmEndpoint}/`, {
        method: "POST",
        headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.PutParameter" },
        body: "{}",
      });
      expect(ssm.status).toBe(400);
      expect(await ssm.json()).toMatchObject({ __type: "UnknownOperationException" });
    } finally {
      await t.close();
    }
  });
});

describe("loopback address pool", () => {
  it("hands out 127.0.1.1 upwards, skips .0 and .255, wraps into 127.0.2.x and reuses released addresses", async () => {
    // Every block free, as on a machine with no other local cloud.
    const pool = new LoopbackAddressPool(async (row) => ({
      row,
      cidr: `row ${row}`,
      release: async () => {},
    }));
    const first: string[] = [];
    for (let i = 0; i < 256; i++) first.push(await pool.allocate());
    expect(first[0]).toBe("127.0.1.1");
    expect(first[253]).toBe("127.0.1.254");
    expect(first[254]).toBe("127.0.2.1");
    expect(first.some((a) => /\.(0|255)$/.test(a))).toBe(false);
    pool.release("127.0.1.7");
    expect(await pool.allocate()).toBe("127.0.1.7");
    expect(await pool.allocate(new Set(["127.0.2.3"]))).toBe("127.0.2.4");
  });

  it("stays inside 127.0.0.0/8 and never uses 127.0.0.x, to the last address", () => {
    expect(LoopbackAddressPool.address(LoopbackAddressPool.size - 1)).toBe("127.255.255.254");
    for (const i of [0, 253, 254, 254 * 255, 254 * 256, LoopbackAddressPool.size - 1]) {
      const address = LoopbackAddressPool.address(i);
      expect(address).toMatch(/^127\./);
      expect(address.startsWith("127.0.0.")).toBe(false);
      expect(LoopbackAddressPool.index(address)).toBe(i);
    }
  });
});

describe("catalogue", () => {
  it("has deterministic ami- ids of 17 hex digits", () => {
    const again = builtInImages();
    for (const [i, image] of builtInImages().entries()) {
      expect(image.imageId).toMatch(/^ami-[0-9a-f]{17}$/);
      expect(again[i]?.imageId).toBe(image.imageId);
    }
    expect(amiIdFor("x")).toBe(amiIdFor("x"));
    expect(new Set(builtInImages().map((i) => i.imageId)).size).toBe(builtInImages().length);
  });

  it("publishes the newest snapshot of a series as the parameter's value", () => {
    const catalogue = new Catalogue();
    const current = catalogue.parameter("/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT");
    expect(current?.versions.map((v) => v.version)).toEqual([1, 2, 3, 4]);
    expect(current?.versions.at(-1)?.value).toBe(BUILT_IN_AMI_IDS.freebsdCurrentAmd64);
    expect(catalogue.image(BUILT_IN_AMI_IDS.freebsdCurrentAmd64)?.bootMode).toBe("uefi-preferred");
    expect(catalogue.image(BUILT_IN_AMI_IDS.clearLinuxLike)?.boot.networkToSsh).toBe(0);
    expect(catalogue.image(BUILT_IN_AMI_IDS.sshdNeverStarts)?.boot.networkToSsh).toBeNull();
  });
});

describe("faults", () => {
  it("refills a token bucket over time", () => {
    let now = 0;
    const faults = new Faults({ throttling: { runInstances: { burst: 2, refillPerSecond: 2 } } }, () => now);
    expect([
      faults.admit("RunInstances"),
      faults.admit("RunInstances"),
      faults.admit("RunInstances"),
    ]).toEqual([true, true, false]);
    now = 499;
    expect(faults.admit("RunInstances")).toBe(false);
    now = 500;
    expect(faults.admit("RunInstances")).toBe(true);
    // Other classes keep EC2's defaults.
    for (let i = 0; i < 100; i++) expect(faults.admit("DescribeInstances")).toBe(true);
    expect(faults.admit("DescribeImages")).toBe(false);
  });

  it("counts down per-launch faults and matches them by type and image", () => {
    const faults = new Faults({ portNeverOpens: { count: 2, instanceTypes: ["t3.micro"] } });
    const launch = (instanceType: string) =>
      faults.hits("portNeverOpens", { instanceType, imageId: "ami-1" });
    expect([launch("c5.large"), launch("t3.micro"), launch("t3.micro"), launch("t3.micro")]).toEqual([
      false,
      true,
      true,
      false,
    ]);
    expect(faults.get()).toEqual({});
  });
});
