import {
  type EC2Client,
  GetConsoleOutputCommand,
  type GetConsoleOutputCommandOutput,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { apiClassOf } from "../../functions/domain/ec2-request-buckets.js";
import { BUILT_IN_AMI_IDS, Catalogue } from "../../local-cloud/catalogue.js";
import {
  type ConsoleMilestone,
  type ConsoleSource,
  type ConsoleTruth,
  consoleMilestones,
  consoleOutputAt,
} from "../../local-cloud/ec2/console-output.js";
import { INSTANCE_TYPES } from "../../local-cloud/ec2/instance-types.js";
import { trueTime } from "../../local-cloud/true-time.js";
import {
  consoleSourceOf,
  rejection,
  runOne,
  sleep,
  startTestCloud,
  type TestCloud,
  terminateEveryInstance,
} from "./local-aws-support.js";

const catalogue = new Catalogue();

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no ${what}`);
  return value;
}

const milestoneMap = (source: ConsoleSource) =>
  new Map(consoleMilestones(source).map((m) => [m.milestone, m] as const));

/** `[    1.234567] ` stamps of Linux kernel lines, seconds. */
const STAMP = /^\[\s*(\d+\.\d{6})\] /;
const stampOf = (line: string): number | undefined => {
  const m = STAMP.exec(line);
  return m ? Number(m[1]) : undefined;
};
const linesOf = (text: string) => text.split("\r\n").slice(0, -1);

// ---- the pure function -------------------------------------------------------------------------

const T0 = Date.parse("2025-08-28T07:12:00.000Z");

interface Synthetic {
  imageId?: string;
  instanceType?: string;
  bootMode?: "uefi" | "legacy-bios";
  /** ms; null: never. */
  network?: number | null;
  ssh?: number | null;
  running?: boolean;
  shutDownAfterRunningMs?: number;
}

/** A finished boot's truth, made up: running 7 s after launch, timers 2 ms late as Node's are. */
function synthetic(o: Synthetic = {}): ConsoleSource {
  const network = o.network === undefined ? 5_000 : o.network;
  const ssh = o.ssh === undefined ? 3_000 : o.ssh;
  const runningAt = o.running === false ? undefined : T0 + 7_002;
  const networkUpAt = runningAt === undefined || network === null ? undefined : runningAt + network + 2;
  const sshUpAt = networkUpAt === undefined || ssh === null ? undefined : networkUpAt + ssh + 2;
  const shuttingDownAt =
    o.shutDownAfterRunningMs === undefined || runningAt === undefined
      ? undefined
      : runningAt + o.shutDownAfterRunningMs;
  const truth: ConsoleTruth = {
    instanceId: "i-0123456789abcdef0",
    privateIp: "127.0.1.7",
    launchedAt: T0,
    ...(runningAt !== undefined && { runningAt }),
    ...(networkUpAt !== undefined && { networkUpAt }),
    ...(sshUpAt !== undefined && { sshUpAt }),
    ...(shuttingDownAt !== undefined && { shuttingDownAt, terminatedAt: shuttingDownAt + 2_000 }),
    // Catalogue seconds at time scale 1: 6.9 s pending, as every built-in x86 image.
    plan: { pendingToRunningMs: 6_900, runningToNetworkMs: network, networkToSshMs: ssh },
  };
  return {
    image: must(catalogue.image(o.imageId ?? BUILT_IN_AMI_IDS.debian12Amd64), "image"),
    instanceType: must(INSTANCE_TYPES.get(o.instanceType ?? "c5.xlarge"), "instance type"),
    bootMode: o.bootMode ?? "uefi",
    truth,
  };
}

/** The truth as it stood at `at`: transitions after it had not happened yet. */
function truthAsOf(source: ConsoleSource, at: number): ConsoleSource {
  const truth = { ...source.truth };
  for (const key of ["runningAt", "networkUpAt", "sshUpAt", "shuttingDownAt", "terminatedAt"] as const) {
    const value = truth[key];
    if (value !== undefined && value > at) delete truth[key];
  }
  return { ...source, truth };
}

describe("console output of an emulated boot", () => {
  it("shows nothing before running, then only the firmware and loader at running", () => {
    const s = synthetic();
    const runningAt = must(s.truth.runningAt, "runningAt");
    expect(consoleOutputAt(s, runningAt - 1)).toEqual({ text: "", updatedAt: undefined });
    const atRunning = consoleOutputAt(s, runningAt);
    const m = milestoneMap(s);
    expect(atRunning.text).toContain(must(m.get("firmware"), "firmware").text);
    expect(atRunning.text).not.toContain(must(m.get("kernel"), "kernel").text);
    expect(atRunning.updatedAt).toBe(runningAt);
    // UEFI on Linux: the firmware's boot manager, then GRUB; legacy BIOS: no UEFI boot manager.
    expect(atRunning.text).toMatch(/^BdsDxe: loading Boot0001/);
    expect(atRunning.text).toContain("Loading Linux ");
    const legacy = consoleOutputAt(synthetic({ bootMode: "legacy-bios" }), runningAt).text;
    expect(legacy).not.toContain("BdsDxe");
    expect(legacy).toContain("GRUB");
  });

  it("grows as the boot goes on, each milestone exactly when the truth has it, never before", () => {
    const s = synthetic({ shutDownAfterRunningMs: 20_000 });
    const { truth } = s;
    const m = milestoneMap(s);
    expect([...m.keys()]).toEqual([
      "firmware",
      "kernel",
      "rootMount",
      "networkUp",
      "sshReady",
      "loginPrompt",
      "shutdown",
      "halted",
    ] satisfies ConsoleMilestone[]);
    expect(m.get("firmware")?.at).toBe(truth.runningAt);
    expect(m.get("networkUp")?.at).toBe(truth.networkUpAt);
    expect(m.get("sshReady")?.at).toBe(truth.sshUpAt);
    expect(m.get("shutdown")?.at).toBe(truth.shuttingDownAt);
    expect(m.get("halted")?.at).toBe(truth.terminatedAt);
    const kernelAt = must(m.get("kernel"), "kernel").at;
    expect(kernelAt).toBeGreaterThan(must(truth.runningAt, "runningAt"));
    expect(must(m.get("rootMount"), "rootMount").at).toBeLessThan(must(truth.networkUpAt, "networkUpAt"));
    expect(must(m.get("loginPrompt"), "loginPrompt").at).toBeGreaterThan(must(truth.sshUpAt, "sshUpAt"));

    let previous = "";
    for (let at = T0; at <= T0 + 32_000; at += 97) {
      const { text } = consoleOutputAt(s, at);
      expect(text.startsWith(previous)).toBe(true);
      previous = text;
      for (const milestone of m.values()) expect(text.includes(milestone.text)).toBe(milestone.at <= at);
      // What the console showed at the time, from the truth known then, is what it shows later.
      expect(consoleOutputAt(truthAsOf(s, at), at).text).toBe(text);
    }
  });

  it("stamps Linux kernel lines with the seconds since running, to the microsecond", () => {
    const s = synthetic();
    const runningAt = must(s.truth.runningAt, "runningAt");
    const networkUpAt = must(s.truth.networkUpAt, "networkUpAt");
    const lines = linesOf(consoleOutputAt(s, Number.POSITIVE_INFINITY).text);
    const stamps = lines.flatMap((l) => stampOf(l) ?? []);
    expect(stamps.length).toBeGreaterThan(40);
    expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);
    const networkLine = must(milestoneMap(s).get("networkUp"), "networkUp").text;
    const networkStamp = must(stampOf(networkLine), "network stamp");
    const elapsed = (networkUpAt - runningAt) / 1000;
    expect(networkStamp).toBeLessThanOrEqual(elapsed);
    expect(elapsed - networkStamp).toBeLessThan(1e-6);
    const beforeNetwork = lines.slice(0, lines.indexOf(networkLine)).flatMap((l) => stampOf(l) ?? []);
    expect(beforeNetwork.length).toBeGreaterThan(30);
    expect(Math.max(...beforeNetwork)).toBeLessThanOrEqual(networkStamp);
  });

  it("gives FreeBSD its loader and kernel lines, without dmesg stamps", () => {
    const s = synthetic({ imageId: BUILT_IN_AMI_IDS.freebsdCurrentAmd64 });
    const text = consoleOutputAt(s, Number.POSITIVE_INFINITY).text;
    const m = milestoneMap(s);
    expect(m.get("kernel")?.text).toBe("Copyright (c) 1992-2025 The FreeBSD Project.");
    expect(m.get("rootMount")?.text).toBe("Trying to mount root from ufs:/dev/gpt/rootfs [rw]...");
    expect(m.get("sshReady")?.text).toBe("Starting sshd.");
    expect(text).toContain("FreeBSD/amd64 EFI loader");
    expect(text).not.toContain("GRUB");
    expect(linesOf(text).filter((l) => STAMP.test(l))).toEqual([]);
    const legacy = consoleOutputAt(
      synthetic({ imageId: BUILT_IN_AMI_IDS.freebsdCurrentAmd64, bootMode: "legacy-bios" }),
      Number.POSITIVE_INFINITY,
    ).text;
    expect(legacy).toContain("FreeBSD/x86 bootstrap loader");
  });

  it("says the network never came up, and prints nothing of the network or sshd after", () => {
    for (const imageId of [BUILT_IN_AMI_IDS.debian12Amd64, BUILT_IN_AMI_IDS.freebsdCurrentAmd64]) {
      const s = synthetic({ imageId, network: null });
      const kinds = [...milestoneMap(s).keys()];
      expect(kinds).toEqual(["firmware", "kernel", "rootMount", "networkFailed"]);
      const failed = must(milestoneMap(s).get("networkFailed"), "networkFailed");
      expect(failed.at).toBeGreaterThan(must(s.truth.runningAt, "runningAt"));
      expect(consoleOutputAt(s, failed.at).text).toContain(failed.text);
      expect(consoleOutputAt(s, failed.at - 1).text).not.toContain(failed.text);
    }
  });

  it("says sshd failed when it never starts (the portNeverOpens fault, the sshd-never-starts image)", () => {
    for (const imageId of [
      BUILT_IN_AMI_IDS.debian12Amd64,
      BUILT_IN_AMI_IDS.sshdNeverStarts,
      BUILT_IN_AMI_IDS.freebsdCurrentAmd64,
    ]) {
      const s = synthetic({ imageId, ssh: null });
      const m = milestoneMap(s);
      expect([...m.keys()]).toEqual([
        "firmware",
        "kernel",
        "rootMount",
        "networkUp",
        "sshFailed",
        "loginPrompt",
      ]);
      const ready = must(milestoneMap(synthetic({ imageId })).get("sshReady"), "sshReady").text;
      const text = consoleOutputAt(s, Number.POSITIVE_INFINITY).text;
      expect(text).toContain(must(m.get("sshFailed"), "sshFailed").text);
      expect(text).not.toContain(ready);
    }
    expect(milestoneMap(synthetic({ ssh: null })).get("sshFailed")?.text).toBe(
      "[FAILED] Failed to start ssh.service - OpenBSD Secure Shell server.",
    );
    expect(
      milestoneMap(synthetic({ imageId: BUILT_IN_AMI_IDS.freebsdCurrentAmd64, ssh: null })).get("sshFailed")
        ?.text,
    ).toBe("/etc/rc: WARNING: failed to start sshd");
  });

  it("is empty for a launch that never got to running (internalErrorOnLaunch)", () => {
    expect(consoleOutputAt(synthetic({ running: false }), Number.POSITIVE_INFINITY).text).toBe("");
  });

  it("cuts the boot off at shutdown", () => {
    const s = synthetic({ shutDownAfterRunningMs: 1_000 });
    const kinds = [...milestoneMap(s).keys()];
    expect(kinds).toEqual(["firmware", "kernel", "shutdown", "halted"]);
    const text = consoleOutputAt(s, Number.POSITIVE_INFINITY).text;
    expect(text).not.toContain(must(milestoneMap(synthetic()).get("rootMount"), "rootMount").text);
  });

  it("is deterministic, and a few KB like a real console", () => {
    const sizes: Record<string, number> = {};
    for (const [name, imageId] of Object.entries(BUILT_IN_AMI_IDS)) {
      const text = consoleOutputAt(synthetic({ imageId, shutDownAfterRunningMs: 20_000 }), Infinity).text;
      expect(consoleOutputAt(synthetic({ imageId, shutDownAfterRunningMs: 20_000 }), Infinity).text).toBe(
        text,
      );
      sizes[name] = Buffer.byteLength(text);
    }
    for (const bytes of Object.values(sizes)) {
      expect(bytes).toBeGreaterThan(5_000);
      expect(bytes).toBeLessThan(15_000);
    }
    const other = synthetic();
    other.truth = { ...other.truth, instanceId: "i-0fedcba9876543210" };
    expect(consoleOutputAt(other, Infinity).text).not.toBe(consoleOutputAt(synthetic(), Infinity).text);
  });
});

// ---- GetConsoleOutput --------------------------------------------------------------------------

describe("GetConsoleOutput on the local EC2 endpoint", () => {
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud();
  });
  afterAll(async () => {
    await t.close();
  });
  afterEach(async () => {
    t.aws.cloud.faults.clear();
    await terminateEveryInstance(t);
  });

  const sourceOf = (id: string): ConsoleSource => consoleSourceOf(t, id);

  const get = (ec2: EC2Client, id: string, latest?: boolean) =>
    ec2.send(
      new GetConsoleOutputCommand({ InstanceId: id, ...(latest !== undefined && { Latest: latest }) }),
    );
  const textOf = (out: GetConsoleOutputCommandOutput) =>
    Buffer.from(out.Output ?? "", "base64").toString("utf8");

  /** Latest output, checked to be the console as of some instant during the call. */
  async function latest(id: string): Promise<string> {
    const before = trueTime();
    const out = await get(t.ec2, id, true);
    const after = trueTime();
    const text = textOf(out);
    const source = sourceOf(id);
    expect(text.startsWith(consoleOutputAt(source, before).text)).toBe(true);
    expect(consoleOutputAt(source, after).text.startsWith(text)).toBe(true);
    expect(out.InstanceId).toBe(id);
    return text;
  }

  async function until(at: number): Promise<void> {
    const wait = at - trueTime();
    if (wait > 0) await sleep(wait + 5);
  }

  it("is classed with the Describe calls for throttling (a non-mutating action)", () => {
    expect(apiClassOf("GetConsoleOutput")).toBe("describe");
  });

  it("grows with a Linux boot: empty while pending, firmware at running, sshd once it listens", async () => {
    const id = must((await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.debian12Amd64 })).InstanceId, "id");
    const pending = await get(t.ec2, id, true);
    expect(t.aws.cloud.truth(id)?.runningAt).toBeUndefined();
    expect(pending.Output).toBeUndefined();
    expect(pending.InstanceId).toBe(id);
    expect(pending.Timestamp).toBeInstanceOf(Date);
    expect((await get(t.ec2, id)).Output).toBeUndefined();

    const running = await t.aws.cloud.waitFor(id, "running");
    const runningAt = must(running.runningAt, "runningAt");
    const buffered = await get(t.ec2, id);
    const atRunning = textOf(buffered);
    expect(atRunning).toBe(consoleOutputAt(sourceOf(id), runningAt).text);
    expect(buffered.Timestamp?.getTime()).toBe(Math.trunc(runningAt));
    expect(atRunning).toContain(must(milestoneMap(sourceOf(id)).get("firmware"), "firmware").text);
    expect(atRunning).not.toContain(must(milestoneMap(sourceOf(id)).get("kernel"), "kernel").text);

    const truth = await t.aws.cloud.waitFor(id, "sshUp");
    const m = milestoneMap(sourceOf(id));
    await until(must(m.get("loginPrompt"), "loginPrompt").at);
    const text = await latest(id);
    for (const kind of ["firmware", "kernel", "rootMount", "networkUp", "sshReady", "loginPrompt"] as const) {
      expect(text).toContain(must(m.get(kind), kind).text);
    }
    expect(m.has("sshFailed")).toBe(false);
    expect(m.has("shutdown")).toBe(false);

    // dmesg stamps: seconds since running, the network line at networkUpAt to the microsecond.
    const runningToNetwork = (must(truth.networkUpAt, "networkUpAt") - runningAt) / 1000;
    const networkStamp = must(stampOf(must(m.get("networkUp"), "networkUp").text), "stamp");
    expect(networkStamp).toBeLessThanOrEqual(runningToNetwork);
    expect(runningToNetwork - networkStamp).toBeLessThan(1e-6);
    const lines = linesOf(text);
    const networkIndex = lines.indexOf(must(m.get("networkUp"), "networkUp").text);
    const kernelStamps = lines.slice(0, networkIndex).flatMap((l) => stampOf(l) ?? []);
    expect(kernelStamps.length).toBeGreaterThan(30);
    expect(Math.min(...kernelStamps)).toBeGreaterThan(0);
    expect(Math.max(...kernelStamps)).toBeLessThanOrEqual(networkStamp);

    // Buffered output is still what was posted at running: no transition since.
    expect(textOf(await get(t.ec2, id))).toBe(atRunning);
  });

  it("shows FreeBSD's loader and kernel for a FreeBSD image", async () => {
    const id = must(
      (await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.freebsdCurrentAmd64 })).InstanceId,
      "id",
    );
    await t.aws.cloud.waitFor(id, "sshUp");
    const text = await latest(id);
    const m = milestoneMap(sourceOf(id));
    expect(text).toContain("FreeBSD/amd64 EFI loader");
    expect(text).toContain("The FreeBSD Project.");
    expect(text).toContain("Trying to mount root from ufs:/dev/gpt/rootfs");
    expect(text).toContain(must(m.get("sshReady"), "sshReady").text);
    expect(text).not.toContain("Linux version");
    expect(linesOf(text).filter((l) => STAMP.test(l))).toEqual([]);
  });

  it("shows sshd failing and never ready under portNeverOpens", async () => {
    t.aws.cloud.faults.set({ portNeverOpens: { imageIds: [BUILT_IN_AMI_IDS.debian12Amd64] } });
    const id = must((await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.debian12Amd64 })).InstanceId, "id");
    await t.aws.cloud.waitFor(id, "networkUp");
    const m = milestoneMap(sourceOf(id));
    await until(must(m.get("loginPrompt"), "loginPrompt").at);
    const text = await latest(id);
    expect(text).toContain(must(m.get("networkUp"), "networkUp").text);
    expect(text).toContain(must(m.get("sshFailed"), "sshFailed").text);
    // The line a good boot of this very instance would have printed.
    const source = sourceOf(id);
    const networkUpAt = must(source.truth.networkUpAt, "networkUpAt");
    const good: ConsoleSource = {
      ...source,
      truth: {
        ...source.truth,
        sshUpAt: networkUpAt + 10,
        plan: { ...source.truth.plan, networkToSshMs: 10 },
      },
    };
    expect(text).not.toContain(must(milestoneMap(good).get("sshReady"), "sshReady").text);
    expect(t.aws.cloud.truth(id)?.sshUpAt).toBeUndefined();
  });

  it("refuses Latest on a Xen instance type and serves the buffered output there", async () => {
    const id = must(
      (await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.debian12Amd64, InstanceType: "t2.micro" })).InstanceId,
      "id",
    );
    const truth = await t.aws.cloud.waitFor(id, "sshUp");
    const refused = await rejection(get(t.ec2, id, true));
    expect(refused.name).toBe("UnsupportedOperation");
    expect(refused.$metadata?.httpStatusCode).toBe(400);
    expect(refused.message).toContain("t2.micro");

    const buffered = await get(t.ec2, id, false);
    const text = textOf(buffered);
    expect(text).toBe(consoleOutputAt(sourceOf(id), must(truth.runningAt, "runningAt")).text);
    expect(text).toContain("SeaBIOS"); // a uefi-preferred image boots legacy BIOS on t2
    expect(buffered.Timestamp?.getTime()).toBe(Math.trunc(must(truth.runningAt, "runningAt")));
  });

  it("answers for a terminated instance with the final output, shutdown included", async () => {
    const id = must((await runOne(t.ec2)).InstanceId, "id");
    await t.aws.cloud.waitFor(id, "sshUp");
    await t.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const truth = await t.aws.cloud.waitFor(id, "terminated");
    const terminatedAt = must(truth.terminatedAt, "terminatedAt");
    const m = milestoneMap(sourceOf(id));
    const buffered = await get(t.ec2, id);
    const text = textOf(buffered);
    expect(text).toBe(consoleOutputAt(sourceOf(id), terminatedAt).text);
    expect(buffered.Timestamp?.getTime()).toBe(Math.trunc(terminatedAt));
    expect(text).toContain(must(m.get("sshReady"), "sshReady").text);
    expect(text).toContain(must(m.get("shutdown"), "shutdown").text);
    expect(text.endsWith(`${must(m.get("halted"), "halted").text}\r\n`)).toBe(true);
    expect(textOf(await get(t.ec2, id, true))).toBe(text);
  });

  it("answers InvalidInstanceID.NotFound/Malformed as DescribeInstances does, also in the not-found window", async () => {
    expect((await rejection(get(t.ec2, "i-0123456789abcdef0"))).name).toBe("InvalidInstanceID.NotFound");
    expect((await rejection(get(t.ec2, "i-0123456789abcdef0", true))).name).toBe(
      "InvalidInstanceID.NotFound",
    );
    expect((await rejection(get(t.ec2, "bogus"))).name).toBe("InvalidInstanceID.Malformed");

    t.aws.cloud.faults.set({ notFoundWindowMs: 60_000 });
    const id = must((await runOne(t.ec2)).InstanceId, "id");
    const hidden = await rejection(get(t.ec2, id, true));
    expect(hidden.name).toBe("InvalidInstanceID.NotFound");
    expect(hidden.message).toContain(id);
    t.aws.cloud.faults.set({ notFoundWindowMs: undefined });
    expect((await get(t.ec2, id, true)).InstanceId).toBe(id);
  });

  it("answers InternalError (500) every time for an instance consoleOutputUnavailable hit", async () => {
    t.aws.cloud.faults.set({ consoleOutputUnavailable: { imageIds: [BUILT_IN_AMI_IDS.al2023X86_64] } });
    const hit = must((await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.al2023X86_64 })).InstanceId, "id");
    const spared = must((await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.debian12Amd64 })).InstanceId, "id");
    expect(t.aws.cloud.truth(hit)?.faults).toContain("consoleOutputUnavailable");
    await t.aws.cloud.waitFor(hit, "running");
    await t.aws.cloud.waitFor(spared, "running");
    for (const latestFlag of [true, false, true]) {
      const error = await rejection(get(t.ec2, hit, latestFlag));
      expect(error.name).toBe("InternalError");
      expect(error.$metadata?.httpStatusCode).toBe(500);
    }
    expect(textOf(await get(t.ec2, spared))).not.toBe("");
  });

  it("goes through the throttling path: a throttleBursts entry gives RequestLimitExceeded (503)", async () => {
    const id = must((await runOne(t.ec2)).InstanceId, "id");
    t.aws.cloud.resetStats();
    t.aws.cloud.faults.set({ throttleBursts: { GetConsoleOutput: 2 } });
    for (let i = 0; i < 2; i++) {
      const error = await rejection(get(t.ec2, id, true));
      expect(error.name).toBe("RequestLimitExceeded");
      expect(error.$metadata?.httpStatusCode).toBe(503);
    }
    expect((await get(t.ec2, id, true)).InstanceId).toBe(id);
    expect(t.aws.cloud.stats()).toEqual({
      calls: { GetConsoleOutput: 3 },
      errors: { GetConsoleOutput: { RequestLimitExceeded: 2 } },
    });
  });
});
