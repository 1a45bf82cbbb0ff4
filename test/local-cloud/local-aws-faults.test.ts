import { DescribeInstancesCommand, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import type { LocalAwsOptions } from "../../local-cloud/local-aws.js";
import { observe } from "../support/loopback-ports.js";
import { rejection, runOne, sleep, startTestCloud, type TestCloud } from "./local-aws-support.js";

const REFUSED = { kind: "error", code: "ECONNREFUSED" };
const NO_ANSWER = { kind: "no answer" };

const started: TestCloud[] = [];
async function cloud(options: LocalAwsOptions = {}): Promise<TestCloud> {
  const t = await startTestCloud(options);
  started.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.close()));
});

describe("local cloud faults", () => {
  it("throttles DescribeInstances with EC2's bucket: 100 at once, then RequestLimitExceeded (503)", async () => {
    const t = await cloud({ faults: { throttling: true } });
    const startedAt = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: 130 }, () => t.ec2.send(new DescribeInstancesCommand({}))),
    );
    const elapsedS = (performance.now() - startedAt) / 1000;
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const throttled = results.flatMap((r) =>
      r.status === "rejected" ? [r.reason as Error & { $metadata: { httpStatusCode: number } }] : [],
    );
    expect(ok).toBeGreaterThanOrEqual(100);
    expect(ok).toBeLessThanOrEqual(100 + Math.ceil(20 * elapsedS));
    expect(throttled.length).toBeGreaterThan(0);
    for (const error of throttled) {
      expect(error.name).toBe("RequestLimitExceeded");
      expect(error.$metadata.httpStatusCode).toBe(503);
    }
    expect(t.aws.cloud.stats().errors.DescribeInstances?.RequestLimitExceeded).toBe(throttled.length);

    // The bucket refills at 20 per second.
    await sleep(300);
    await t.ec2.send(new DescribeInstancesCommand({}));
  });

  it("throttles RunInstances after a burst of 5, and can be switched off at runtime", async () => {
    const t = await cloud({ faults: { throttling: true } });
    const results = await Promise.allSettled(Array.from({ length: 7 }, () => runOne(t.ec2)));
    const rejected = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).name] : []));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(5);
    expect(rejected).toEqual(["RequestLimitExceeded", "RequestLimitExceeded"]);
    expect(t.aws.cloud.instances()).toHaveLength(5);

    t.aws.cloud.faults.set({ throttling: false });
    await Promise.all(Array.from({ length: 3 }, () => runOne(t.ec2)));
    expect(t.aws.cloud.instances()).toHaveLength(8);
  });

  it("uses custom buckets when given", async () => {
    const t = await cloud({
      faults: { throttling: { terminateInstances: { burst: 1, refillPerSecond: 0.001 } } },
    });
    const a = await runOne(t.ec2);
    const b = await runOne(t.ec2);
    await t.ec2.send(new TerminateInstancesCommand({ InstanceIds: [a.InstanceId as string] }));
    const error = await rejection(
      t.ec2.send(new TerminateInstancesCommand({ InstanceIds: [b.InstanceId as string] })),
    );
    expect(error.name).toBe("RequestLimitExceeded");
  });

  it("throttles the next N requests of a named action in a burst, then serves it again", async () => {
    const t = await cloud({ faults: { throttleBursts: { DescribeInstances: 2, RunInstances: 1 } } });
    const describe = () => t.ec2.send(new DescribeInstancesCommand({}));
    expect((await rejection(describe())).name).toBe("RequestLimitExceeded");
    expect((await rejection(runOne(t.ec2))).name).toBe("RequestLimitExceeded");
    expect((await rejection(describe())).name).toBe("RequestLimitExceeded");
    await describe();
    await runOne(t.ec2);
    expect(t.aws.cloud.faults.get().throttleBursts).toEqual({ DescribeInstances: 0, RunInstances: 0 });
    expect(t.aws.cloud.stats().errors.DescribeInstances?.RequestLimitExceeded).toBe(2);
  });

  it("answers InvalidInstanceID.NotFound for a new instance during the eventual-consistency window", async () => {
    const t = await cloud({ faults: { notFoundWindowMs: 300 } });
    const instance = await runOne(t.ec2, { ClientToken: "window" });
    const id = instance.InstanceId as string;
    const describe = () => t.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect((await rejection(describe())).name).toBe("InvalidInstanceID.NotFound");
    const terminate = await rejection(t.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })));
    expect(terminate.name).toBe("InvalidInstanceID.NotFound");
    const byToken = await t.ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: "client-token", Values: ["window"] }] }),
    );
    expect(byToken.Reservations).toEqual([]);

    const launchedAt = t.aws.cloud.truth(id)?.launchedAt ?? 0;
    await sleep(Math.max(0, launchedAt + 320 - (performance.timeOrigin + performance.now())));
    const out = await describe();
    expect(out.Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe(id);
  });

  it("fails the next N launches with InsufficientInstanceCapacity, or every launch of a type", async () => {
    const t = await cloud({ faults: { insufficientCapacity: { count: 1 } } });
    const error = await rejection(runOne(t.ec2, { ClientToken: "capacity" }));
    expect(error.name).toBe("InsufficientInstanceCapacity");
    expect(error.message).toContain("c5.xlarge");
    expect(error.$metadata?.httpStatusCode).toBe(500);
    // The failed launch left nothing behind: the same token launches now.
    const retried = await runOne(t.ec2, { ClientToken: "capacity" });
    expect(retried.State?.Name).toBe("pending");
    expect(t.aws.cloud.faults.get().insufficientCapacity).toBeUndefined();

    t.aws.cloud.faults.set({ insufficientCapacity: { instanceTypes: ["c5.large"] } });
    expect((await rejection(runOne(t.ec2, { InstanceType: "c5.large" }))).name).toBe(
      "InsufficientInstanceCapacity",
    );
    expect((await rejection(runOne(t.ec2, { InstanceType: "c5.large" }))).name).toBe(
      "InsufficientInstanceCapacity",
    );
    await runOne(t.ec2, { InstanceType: "c5.xlarge" });
    t.aws.cloud.faults.clear();
    await runOne(t.ec2, { InstanceType: "c5.large" });
  });

  it("takes an instance from pending to terminated with StateReason Server.InternalError", async () => {
    const t = await cloud({ faults: { internalErrorOnLaunch: { count: 1 } } });
    const instance = await runOne(t.ec2);
    const id = instance.InstanceId as string;
    const truth = await t.aws.cloud.waitFor(id, "terminated");
    expect(truth.runningAt).toBeUndefined();
    expect(truth.faults).toEqual(["internalErrorOnLaunch"]);
    const out = await t.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    const described = out.Reservations?.[0]?.Instances?.[0];
    expect(described?.State).toEqual({ Code: 48, Name: "terminated" });
    expect(described?.StateReason).toEqual({
      Code: "Server.InternalError",
      Message: "Server.InternalError: Internal error on launch",
    });
    expect(described?.PrivateIpAddress).toBeUndefined();
    expect(await observe(instance.PrivateIpAddress as string, t.aws.cloud.sshPort, 150)).toEqual(REFUSED);
    // Only the next launch was hit.
    const next = await runOne(t.ec2);
    await t.aws.cloud.waitFor(next.InstanceId as string, "running");
  });

  it("keeps the port silent forever when the network never comes up", async () => {
    const t = await cloud({ faults: { networkNeverUp: true } });
    const instance = await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.clearLinuxLike });
    const id = instance.InstanceId as string;
    await t.aws.cloud.waitFor(id, "running");
    await sleep(150); // well past the planned 1.23 s × 0.02
    const truth = t.aws.cloud.truth(id);
    expect(truth?.networkUpAt).toBeUndefined();
    expect(truth?.plan.runningToNetworkMs).toBeNull();
    expect(await observe(instance.PrivateIpAddress as string, t.aws.cloud.sshPort, 200)).toEqual(NO_ANSWER);
  });

  it("keeps the port closed forever when sshd never starts (fault, or the catalogue's image)", async () => {
    const t = await cloud({ faults: { portNeverOpens: { imageIds: [BUILT_IN_AMI_IDS.debian12Amd64] } } });
    const viaFault = await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.debian12Amd64 });
    const viaImage = await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.sshdNeverStarts });
    for (const instance of [viaFault, viaImage]) {
      const id = instance.InstanceId as string;
      await t.aws.cloud.waitFor(id, "networkUp");
      await sleep(150); // well past the planned closed → open of Debian (3.4 s × 0.02)
      expect(t.aws.cloud.truth(id)?.sshUpAt).toBeUndefined();
      expect(await observe(instance.PrivateIpAddress as string, t.aws.cloud.sshPort, 200)).toEqual(REFUSED);
    }
  });

  it("opens the port the instant the network comes up for the clear-linux-like image", async () => {
    const t = await cloud();
    const instance = await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.clearLinuxLike });
    const id = instance.InstanceId as string;
    // Watch the port from launch: it must go from no answer straight to open, never refusing.
    const views: string[] = [];
    let truth = t.aws.cloud.truth(id);
    while (truth?.sshUpAt === undefined) {
      const view = await observe(instance.PrivateIpAddress as string, t.aws.cloud.sshPort, 20);
      views.push(view.kind === "error" ? view.code : view.kind);
      truth = t.aws.cloud.truth(id);
    }
    expect(views).not.toContain("ECONNREFUSED");
    expect(truth.networkUpAt).toBe(truth.sshUpAt);
    expect((await observe(instance.PrivateIpAddress as string, t.aws.cloud.sshPort, 200)).kind).toBe(
      "connect",
    );
  });
});
