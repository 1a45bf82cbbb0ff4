import { connect } from "node:net";
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type Instance,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
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

/** A promise's outcome so far, without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: Error } = { settled: false };
  const done = promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: Error) => Object.assign(state, { settled: true, error }),
  );
  return { state, done };
}

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** DescribeInstances on a bare socket, so every byte the server sends (or does not) is seen. */
function rawDescribeInstances(endpoint: string) {
  const { hostname, port } = new URL(endpoint);
  const body = "Action=DescribeInstances&Version=2016-11-15";
  const socket = connect(Number(port), hostname);
  socket.write(
    `POST / HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  let received = 0;
  socket.on("data", (chunk: Buffer) => {
    received += chunk.length;
  });
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return { received: () => received, closed, destroy: () => socket.destroy() };
}

async function describeOne(t: TestCloud, instanceId: string): Promise<Instance | undefined> {
  const out = await t.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return out.Reservations?.[0]?.Instances?.[0];
}

async function findByAddress(t: TestCloud, address: string): Promise<(string | undefined)[]> {
  const out = await t.ec2.send(
    new DescribeInstancesCommand({ Filters: [{ Name: "private-ip-address", Values: [address] }] }),
  );
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId);
}

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

  it("answers the next N requests of a named action with a server error, carried out or not, then serves it", async () => {
    const t = await cloud({
      faults: {
        serverErrors: {
          DescribeImages: { count: 2 },
          TerminateInstances: { count: 1, carriedOut: true, code: "Unavailable" },
        },
      },
    });
    const describeImages = () =>
      t.ec2.send(new DescribeImagesCommand({ ImageIds: [BUILT_IN_AMI_IDS.freebsdCurrentAmd64] }));
    for (let i = 0; i < 2; i++) {
      const error = await rejection(describeImages());
      expect(error.name).toBe("InternalError");
      expect(error.$metadata?.httpStatusCode).toBe(500);
    }
    expect((await describeImages()).Images).toHaveLength(1);

    const id = (await runOne(t.ec2)).InstanceId as string;
    const terminate = () => t.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const lost = await rejection(terminate());
    expect(lost.name).toBe("Unavailable");
    expect(lost.$metadata?.httpStatusCode).toBe(503);
    // Carried out all the same: only the answer was lost, so the retry finds it shutting down.
    expect(t.aws.cloud.instances()[0]?.state).toBe("shutting-down");
    const again = await terminate();
    expect(again.TerminatingInstances?.[0]?.PreviousState?.Name).toBe("shutting-down");
    expect(t.aws.cloud.stats().errors.DescribeImages?.InternalError).toBe(2);
    expect(t.aws.cloud.stats().errors.TerminateInstances?.Unavailable).toBe(1);
    expect(() => t.aws.cloud.faults.set({ serverErrors: { RunInstances: { count: 1 } } })).toThrow(
      /runInstancesInternalError/,
    );
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

  it("answers RunInstances with a 500 InternalError after launching the instance: the retry returns it", async () => {
    const t = await cloud({ faults: { runInstancesInternalError: { count: 1, launched: true } } });
    const error = await rejection(runOne(t.ec2, { ClientToken: "lost-answer" }));
    expect(error.name).toBe("InternalError");
    expect(error.$metadata?.httpStatusCode).toBe(500);
    // It exists and boots, and its client token finds it.
    const [launched] = t.aws.cloud.instances();
    expect(launched?.clientToken).toBe("lost-answer");
    expect(launched?.truth.faults).toContain("runInstancesInternalError");
    await until(() => t.aws.cloud.instances()[0]?.state === "running");
    const replay = await runOne(t.ec2, { ClientToken: "lost-answer" });
    expect(replay.InstanceId).toBe(launched?.instanceId);
    expect(t.aws.cloud.instances()).toHaveLength(1);
    expect(t.aws.cloud.faults.get().runInstancesInternalError).toBeUndefined();
  });

  it("answers RunInstances with a 500 InternalError without launching: the retry launches afresh", async () => {
    const t = await cloud({ faults: { runInstancesInternalError: { count: 1, launched: false } } });
    const error = await rejection(runOne(t.ec2, { ClientToken: "nothing" }));
    expect(error.name).toBe("InternalError");
    expect(error.$metadata?.httpStatusCode).toBe(500);
    expect(t.aws.cloud.instances()).toEqual([]);
    const retried = await runOne(t.ec2, { ClientToken: "nothing" });
    expect(retried.State?.Name).toBe("pending");
    expect(t.aws.cloud.instances()).toHaveLength(1);
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

  it("slows every image's running to network by the platform slowdown, from the next launch on", async () => {
    const t = await cloud({ jitter: 0 });
    const plannedNetworkMs = async (imageId: string) => {
      const instance = await runOne(t.ec2, { ImageId: imageId });
      return t.aws.cloud.truth(instance.InstanceId as string)?.plan.runningToNetworkMs as number;
    };
    const images = [BUILT_IN_AMI_IDS.debian12Amd64, BUILT_IN_AMI_IDS.freebsdCurrentAmd64];
    const before = await Promise.all(images.map(plannedNetworkMs));
    t.aws.cloud.faults.set({ platformSlowdownSeconds: 5 });
    const slowed = await Promise.all(images.map(plannedNetworkMs));
    t.aws.cloud.faults.set({ platformSlowdownSeconds: undefined });
    const after = await Promise.all(images.map(plannedNetworkMs));
    // 5 s of boot at the test cloud's time scale, exactly: no jitter.
    const scaledMs = 5 * 1000 * t.aws.cloud.timeScale;
    for (const [i, ms] of slowed.entries()) expect(ms - (before[i] as number)).toBeCloseTo(scaledMs, 6);
    expect(after).toEqual(before);
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
  it("leaves the next N DescribeInstances unanswered until the client aborts, then answers again", async () => {
    const t = await cloud({ faults: { stalledRequests: { DescribeInstances: 2 } } });
    const aborts = [new AbortController(), new AbortController()];
    const stalled = aborts.map((c) =>
      track(t.ec2.send(new DescribeInstancesCommand({}), { abortSignal: c.signal })),
    );
    // Both were read (counted), and the fault is used up.
    await until(() => t.aws.cloud.stats().calls.DescribeInstances === 2);
    expect(t.aws.cloud.faults.get().stalledRequests).toEqual({ DescribeInstances: 0 });

    // Request N+1 answers at once, while the stalled ones still wait.
    const third = await t.ec2.send(new DescribeInstancesCommand({}));
    expect(third.Reservations).toEqual([]);
    await sleep(500);
    expect(stalled.map((s) => s.state.settled)).toEqual([false, false]);

    for (const [i, c] of aborts.entries()) {
      const abortedAt = performance.now();
      c.abort();
      await stalled[i]?.done;
      expect(performance.now() - abortedAt).toBeLessThan(200);
      expect(stalled[i]?.state.error?.name).toBe("AbortError");
    }
    expect(t.aws.cloud.stats()).toEqual({ calls: { DescribeInstances: 3 }, errors: {} });
    await t.ec2.send(new DescribeInstancesCommand({}));
  });

  it("stalls any named action the same way, without carrying it out: a stalled TerminateInstances terminates nothing", async () => {
    const t = await cloud({ faults: { stalledRequests: { TerminateInstances: 1 } } });
    const id = (await runOne(t.ec2)).InstanceId as string;
    const abort = new AbortController();
    const stalled = track(
      t.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }), { abortSignal: abort.signal }),
    );
    await until(() => t.aws.cloud.stats().calls.TerminateInstances === 1);
    await sleep(300);
    expect(stalled.state.settled).toBe(false);
    expect(t.aws.cloud.instances()[0]?.state).not.toBe("shutting-down");
    abort.abort();
    await stalled.done;
    expect(stalled.state.error?.name).toBe("AbortError");
    const answered = await t.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(answered.TerminatingInstances?.[0]?.CurrentState?.Name).toBe("shutting-down");
  });

  it("sends not one byte for a stalled request, and stops promptly with stalled requests outstanding", async () => {
    const t = await cloud({ faults: { stalledRequests: { DescribeInstances: 3 } } });
    const raw = [rawDescribeInstances(t.aws.ec2Endpoint), rawDescribeInstances(t.aws.ec2Endpoint)];
    const viaSdk = track(t.ec2.send(new DescribeInstancesCommand({})));
    await until(() => t.aws.cloud.stats().calls.DescribeInstances === 3);
    await sleep(500);
    expect(raw.map((r) => r.received())).toEqual([0, 0]);
    expect(viaSdk.state.settled).toBe(false);

    const stoppingAt = performance.now();
    await t.aws.close();
    expect(performance.now() - stoppingAt).toBeLessThan(1_000);
    // The server ended the held connections itself, without a byte of answer.
    await Promise.all(raw.map((r) => r.closed));
    expect(raw.map((r) => r.received())).toEqual([0, 0]);
    await viaSdk.done;
    expect(viaSdk.state.error).toBeInstanceOf(Error);
  });

  it("launches without a private IP in the RunInstances response (also on replay); DescribeInstances has it", async () => {
    const t = await cloud({ faults: { launchWithoutPrivateIp: { count: 1 } } });
    const launched = await runOne(t.ec2, { ClientToken: "without-ip" });
    const id = launched.InstanceId as string;
    expect(launched.PrivateIpAddress).toBeUndefined();
    expect(launched.PrivateDnsName).toBeUndefined();
    expect(launched.State?.Name).toBe("pending");
    const truth = t.aws.cloud.truth(id);
    const address = truth?.privateIp as string;
    expect(address).toMatch(/^127\./);
    expect(truth?.faults).toEqual(["launchWithoutPrivateIp"]);
    expect(t.aws.cloud.faults.get().launchWithoutPrivateIp).toBeUndefined();

    const described = await describeOne(t, id);
    expect(described?.PrivateIpAddress).toBe(address);
    expect(described?.PrivateDnsName).toBe(`ip-${address.replaceAll(".", "-")}.ec2.internal`);
    expect(await findByAddress(t, address)).toEqual([id]);

    // A replay is the original response again: the same instance, still without the address.
    const replay = await runOne(t.ec2, { ClientToken: "without-ip" });
    expect(replay.InstanceId).toBe(id);
    expect(replay.PrivateIpAddress).toBeUndefined();

    // The instance itself boots and answers on its address as usual.
    await t.aws.cloud.waitFor(id, "sshUp");
    expect((await observe(address, t.aws.cloud.sshPort, 200)).kind).toBe("connect");

    // Only the next launch was hit.
    const next = await runOne(t.ec2);
    expect(next.PrivateIpAddress).toBe(t.aws.cloud.truth(next.InstanceId as string)?.privateIp);
  });

  it("hides a hit launch's address from DescribeInstances for addressVisibleAfterSeconds, time-scaled", async () => {
    // 30 s before scaling: 600 ms at the tests' 0.02.
    const t = await cloud({ faults: { launchWithoutPrivateIp: { addressVisibleAfterSeconds: 30 } } });
    const launched = await runOne(t.ec2);
    const answeredAt = performance.now();
    const id = launched.InstanceId as string;
    const address = t.aws.cloud.truth(id)?.privateIp as string;
    expect(launched.PrivateIpAddress).toBeUndefined();
    const hidden = await describeOne(t, id);
    expect(hidden?.PrivateIpAddress).toBeUndefined();
    expect(hidden?.PrivateDnsName).toBeUndefined();
    expect(await findByAddress(t, address)).toEqual([]);
    await sleep(Math.max(0, answeredAt + 250 - performance.now()));
    expect((await describeOne(t, id))?.PrivateIpAddress).toBeUndefined();

    await sleep(Math.max(0, answeredAt + 700 - performance.now()));
    expect((await describeOne(t, id))?.PrivateIpAddress).toBe(address);
    expect(await findByAddress(t, address)).toEqual([id]);
  });

  it("answers a RunInstances replay with the original instance and LaunchTime, whole seconds", async () => {
    // A retried launch (after a 5xx or a dropped connection) must not look like a later launch.
    const t = await cloud();
    const first = await runOne(t.ec2, { ClientToken: "launch-time" });
    const launchTime = first.LaunchTime as Date;
    expect(launchTime.getTime() % 1000).toBe(0);
    // The replay arrives in a later second than the launch.
    await sleep(1000 - (Date.now() % 1000) + 20);
    expect(Date.now() - launchTime.getTime()).toBeGreaterThanOrEqual(1000);
    const replay = await runOne(t.ec2, { ClientToken: "launch-time" });
    expect(replay.InstanceId).toBe(first.InstanceId);
    expect(replay.LaunchTime).toEqual(launchTime);
    const described = await describeOne(t, first.InstanceId as string);
    expect(described?.LaunchTime).toEqual(launchTime);
  });
});
