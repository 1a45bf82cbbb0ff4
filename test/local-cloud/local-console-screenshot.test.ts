import { createHash } from "node:crypto";
import {
  DescribeInstancesCommand,
  type EC2Client,
  GetConsoleOutputCommand,
  GetConsoleScreenshotCommand,
  type GetConsoleScreenshotCommandOutput,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { Jimp } from "jimp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { apiClassOf } from "../../functions/domain/ec2-request-buckets.js";
import { BUILT_IN_AMI_IDS, Catalogue } from "../../local-cloud/catalogue.js";
import {
  type ConsoleSource,
  type ConsoleTruth,
  consoleMilestones,
  consoleOutputAt,
} from "../../local-cloud/ec2/console-output.js";
import {
  admitScreenshot,
  drawScreen,
  framesRendered,
  renderScreen,
  SCREEN_COLUMNS,
  SCREEN_HEIGHT,
  SCREEN_ROWS,
  SCREEN_WIDTH,
  type ScreenPhase,
  screenAt,
  screenshotJpeg,
} from "../../local-cloud/ec2/console-screenshot.js";
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

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Just over the per-instance limit's second, so the next call is admitted. */
const A_SECOND = 1_050;

// ---- the pure functions ------------------------------------------------------------------------

const T0 = Date.parse("2025-08-28T07:12:00.000Z");

/** A finished boot that was then terminated, made up (as in local-console-output.test.ts). */
function synthetic(imageId: string = BUILT_IN_AMI_IDS.debian12Amd64): ConsoleSource {
  const runningAt = T0 + 7_002;
  const networkUpAt = runningAt + 5_002;
  const sshUpAt = networkUpAt + 3_002;
  const shuttingDownAt = sshUpAt + 20_000;
  const truth: ConsoleTruth = {
    instanceId: "i-0123456789abcdef0",
    privateIp: "127.0.1.7",
    launchedAt: T0,
    runningAt,
    networkUpAt,
    sshUpAt,
    shuttingDownAt,
    terminatedAt: shuttingDownAt + 2_000,
    plan: { pendingToRunningMs: 6_900, runningToNetworkMs: 5_000, networkToSshMs: 3_000 },
  };
  return {
    image: must(catalogue.image(imageId), "image"),
    instanceType: must(INSTANCE_TYPES.get("c5.xlarge"), "instance type"),
    bootMode: "uefi",
    truth,
  };
}

async function decoded(jpeg: Uint8Array): Promise<{ width: number; height: number }> {
  const image = await Jimp.read(Buffer.from(jpeg));
  return { width: image.bitmap.width, height: image.bitmap.height };
}

describe("the screen of an emulated boot", () => {
  it("changes at each milestone and only there, showing the console as it stood then", () => {
    for (const imageId of [BUILT_IN_AMI_IDS.debian12Amd64, BUILT_IN_AMI_IDS.freebsdCurrentAmd64]) {
      const s = synthetic(imageId);
      const milestones = consoleMilestones(s);
      expect(screenAt(s, must(s.truth.runningAt, "runningAt") - 1)).toEqual({
        phase: "no signal",
        since: undefined,
        rows: [],
      });
      const phases: ScreenPhase[] = [];
      milestones.forEach((m, i) => {
        const screen = screenAt(s, m.at);
        phases.push(screen.phase);
        expect(screen.since).toBe(m.at);
        expect(screen.rows.length).toBeLessThanOrEqual(SCREEN_ROWS);
        for (const row of screen.rows) expect(row.length).toBeLessThanOrEqual(SCREEN_COLUMNS);
        // The text is the console's own as of the milestone: its last line is the screen's last row(s).
        const lines = consoleOutputAt(s, m.at).text.split("\r\n").slice(0, -1);
        const lastLine = must(lines.at(-1), "last line");
        if (!lastLine.includes("\t")) expect(screen.rows.join("").endsWith(lastLine)).toBe(true);
        expect(screen.rows.join("\n")).toContain(m.text.slice(0, SCREEN_COLUMNS));
        // Nothing changes until the next milestone.
        const next = milestones[i + 1]?.at ?? m.at + 60_000;
        for (const at of [m.at + 1, (m.at + next) / 2, next - 1]) {
          if (at < next) expect(screenAt(s, at)).toEqual(screen);
        }
      });
      expect(phases).toEqual([
        "firmware",
        "kernel",
        "userland",
        "network up",
        "sshd ready",
        "login",
        "shutting down",
        "halted",
      ]);
    }
  });

  it("renders a 640x400 JPEG per screen, deterministic, different for every phase", async () => {
    const s = synthetic();
    const digests = new Map<string, ScreenPhase>();
    const sizes: number[] = [];
    for (const m of consoleMilestones(s)) {
      const screen = screenAt(s, m.at);
      const jpeg = await renderScreen(screen, s.truth.instanceId);
      expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
      expect(await decoded(jpeg)).toEqual({ width: SCREEN_WIDTH, height: SCREEN_HEIGHT });
      expect(sha(await renderScreen(screen, s.truth.instanceId))).toBe(sha(jpeg));
      digests.set(sha(jpeg), screen.phase);
      sizes.push(jpeg.length);
    }
    expect([...digests.values()]).toHaveLength(8);
    for (const bytes of sizes) {
      expect(bytes).toBeGreaterThan(2_000);
      expect(bytes).toBeLessThan(100_000);
    }
    // Same text, another phase: the status bar alone tells them apart.
    const screen = screenAt(s, must(s.truth.sshUpAt, "sshUpAt"));
    const relabelled = await renderScreen({ ...screen, phase: "login" }, s.truth.instanceId);
    expect(sha(relabelled)).not.toBe(sha(await renderScreen(screen, s.truth.instanceId)));
  });

  it("names the phase in the status bar, in white letters on the phase's colour", async () => {
    const s = synthetic();
    const screen = screenAt(s, must(s.truth.sshUpAt, "sshUpAt"));
    /** Where the status bar has white text (every phase colour is far darker). */
    const letters = async (phase: ScreenPhase) => {
      const { data, width, height } = await drawScreen({ ...screen, phase }, s.truth.instanceId);
      const lit: number[] = [];
      for (let i = (height - 20) * width * 4; i < data.length; i += 4) {
        if ((data[i] ?? 0) > 160 && (data[i + 1] ?? 0) > 160 && (data[i + 2] ?? 0) > 160) lit.push(i);
      }
      return lit;
    };
    const ready = await letters("sshd ready");
    expect(ready.length).toBeGreaterThan(60);
    expect(await letters("sshd ready")).toEqual(ready);
    expect(await letters("login")).not.toEqual(ready);
    expect(await letters("halted")).not.toEqual(await letters("login"));
  });

  it("shows a dark screen with `no signal` for a launch that never ran", async () => {
    const s = synthetic();
    const never: ConsoleSource = {
      ...s,
      truth: { instanceId: s.truth.instanceId, privateIp: "127.0.1.7", launchedAt: T0, plan: s.truth.plan },
    };
    const screen = screenAt(never, Number.POSITIVE_INFINITY);
    expect(screen.phase).toBe("no signal");
    expect(await decoded(await renderScreen(screen, s.truth.instanceId))).toEqual({
      width: SCREEN_WIDTH,
      height: SCREEN_HEIGHT,
    });
  });

  it("renders a screen once per instance, however often it is asked for", async () => {
    const s = synthetic();
    const owner = {};
    const screen = screenAt(s, must(s.truth.sshUpAt, "sshUpAt"));
    const before = framesRendered();
    const first = await screenshotJpeg(owner, s.truth.instanceId, screen);
    const again = await screenshotJpeg(owner, s.truth.instanceId, { ...screen, rows: [...screen.rows] });
    expect(again).toBe(first);
    expect(framesRendered()).toBe(before + 1);
    await screenshotJpeg({}, s.truth.instanceId, screen);
    await screenshotJpeg(owner, s.truth.instanceId, screenAt(s, must(s.truth.networkUpAt, "networkUpAt")));
    expect(framesRendered()).toBe(before + 3);
  });

  it("admits about one call a second per instance, never more in the long run", () => {
    const owner = {};
    expect(admitScreenshot(owner, 0)).toBe(true);
    expect(admitScreenshot(owner, 5)).toBe(false);
    expect(admitScreenshot(owner, 900)).toBe(false);
    expect(admitScreenshot(owner, 1_000)).toBe(true);
    expect(admitScreenshot({}, 1_001)).toBe(true); // another instance has its own bucket
    // A long quiet spell saves up no more than the burst of 1.
    expect(admitScreenshot(owner, 60_000)).toBe(true);
    expect(admitScreenshot(owner, 60_010)).toBe(false);
    // A call handled after a later one (arrival times out of order) finds no token made from nothing.
    expect(admitScreenshot(owner, 59_000)).toBe(false);
    for (const period of [250, 700, 960, 1_000, 1_500]) {
      const bucket = {};
      let admitted = 0;
      const span = 60_000;
      for (let at = 0; at <= span; at += period) if (admitScreenshot(bucket, at)) admitted += 1;
      expect(admitted).toBeLessThanOrEqual(span / 1000 + 1);
      if (period >= 1_000) expect(admitted).toBe(Math.floor(span / period) + 1);
    }
  });
});

// ---- GetConsoleScreenshot ----------------------------------------------------------------------

describe("GetConsoleScreenshot on the local EC2 endpoint", () => {
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

  const shoot = (ec2: EC2Client, id: string, extra: { WakeUp?: boolean; DryRun?: boolean } = {}) =>
    ec2.send(new GetConsoleScreenshotCommand({ InstanceId: id, ...extra }));
  const bytesOf = (out: GetConsoleScreenshotCommandOutput) => Buffer.from(out.ImageData ?? "", "base64");

  async function until(at: number): Promise<void> {
    const wait = at - trueTime();
    if (wait > 0) await sleep(wait + 5);
  }

  it("is classed with the Describe calls for throttling (a non-mutating action)", () => {
    expect(apiClassOf("GetConsoleScreenshot")).toBe("describe");
  });

  it("answers a JPEG of the screen: FF D8, 640x400, the instance's id", async () => {
    const id = must((await runOne(t.ec2)).InstanceId, "id");
    await t.aws.cloud.waitFor(id, "sshUp");
    const out = await shoot(t.ec2, id, { WakeUp: true });
    expect(out.InstanceId).toBe(id);
    const jpeg = bytesOf(out);
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    expect(await decoded(jpeg)).toEqual({ width: 640, height: 400 });
    expect(jpeg.length).toBeGreaterThan(2_000);
  });

  it("shows the screen of the moment: the same within a phase, another in the next phase", async () => {
    const id = must((await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.debian12Amd64 })).InstanceId, "id");
    await t.aws.cloud.waitFor(id, "sshUp");
    const loginAt = must(
      consoleMilestones(sourceOf(id)).find((m) => m.milestone === "loginPrompt"),
      "login prompt",
    ).at;
    await until(loginAt);
    const login = bytesOf(await shoot(t.ec2, id));
    const screen = screenAt(sourceOf(id), trueTime());
    expect(screen.phase).toBe("login");
    expect(sha(login)).toBe(sha(await renderScreen(screen, id)));
    const rendered = framesRendered();

    await sleep(A_SECOND);
    const again = bytesOf(await shoot(t.ec2, id));
    expect(sha(again)).toBe(sha(login));
    expect(framesRendered()).toBe(rendered); // served from the cache

    await t.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await t.aws.cloud.waitFor(id, "terminated");
    await sleep(A_SECOND);
    const halted = bytesOf(await shoot(t.ec2, id));
    expect(sha(halted)).not.toBe(sha(login));
    const last = screenAt(sourceOf(id), trueTime());
    expect(last.phase).toBe("halted");
    expect(sha(halted)).toBe(sha(await renderScreen(last, id)));
  });

  it("refuses a second call within a second with RequestLimitExceeded (503), per instance", async () => {
    const id = must((await runOne(t.ec2)).InstanceId, "id");
    const other = must((await runOne(t.ec2)).InstanceId, "id");
    await t.aws.cloud.waitFor(id, "running");
    await t.aws.cloud.waitFor(other, "running");
    t.aws.cloud.resetStats();
    expect((await shoot(t.ec2, id)).InstanceId).toBe(id);
    const refused = await rejection(shoot(t.ec2, id));
    expect(refused.name).toBe("RequestLimitExceeded");
    expect(refused.$metadata?.httpStatusCode).toBe(503);
    expect(refused.message).toBe(
      `Request limit exceeded. Account ${t.aws.cloud.accountId} has been throttled on ec2:GetConsoleScreenshot because it exceeded its request rate limit.`,
    );
    expect((await shoot(t.ec2, other)).InstanceId).toBe(other);
    await sleep(A_SECOND);
    expect((await shoot(t.ec2, id)).InstanceId).toBe(id);
    expect(t.aws.cloud.stats()).toEqual({
      calls: { GetConsoleScreenshot: 4 },
      errors: { GetConsoleScreenshot: { RequestLimitExceeded: 1 } },
    });
  });

  it("goes through the throttling path: a throttleBursts entry gives RequestLimitExceeded (503)", async () => {
    const id = must((await runOne(t.ec2)).InstanceId, "id");
    await t.aws.cloud.waitFor(id, "running");
    t.aws.cloud.resetStats();
    t.aws.cloud.faults.set({ throttleBursts: { GetConsoleScreenshot: 2 } });
    for (let i = 0; i < 2; i++) {
      const error = await rejection(shoot(t.ec2, id));
      expect(error.name).toBe("RequestLimitExceeded");
      expect(error.$metadata?.httpStatusCode).toBe(503);
    }
    // Refused by the account's throttling, the calls took no token of the instance's.
    expect((await shoot(t.ec2, id)).InstanceId).toBe(id);
    expect(t.aws.cloud.stats()).toEqual({
      calls: { GetConsoleScreenshot: 3 },
      errors: { GetConsoleScreenshot: { RequestLimitExceeded: 2 } },
    });
  });

  it("shares the Describe bucket under the throttling fault", async () => {
    const id = must((await runOne(t.ec2)).InstanceId, "id");
    await t.aws.cloud.waitFor(id, "running");
    t.aws.cloud.faults.set({ throttling: { describe: { burst: 1, refillPerSecond: 0.001 } } });
    await t.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect((await rejection(shoot(t.ec2, id))).name).toBe("RequestLimitExceeded");
  });

  it("answers DryRunOperation (412) to a DryRun, taking no token", async () => {
    const id = must((await runOne(t.ec2)).InstanceId, "id");
    await t.aws.cloud.waitFor(id, "running");
    const dry = await rejection(shoot(t.ec2, id, { DryRun: true }));
    expect(dry.name).toBe("DryRunOperation");
    expect(dry.$metadata?.httpStatusCode).toBe(412);
    expect((await shoot(t.ec2, id)).InstanceId).toBe(id);
  });

  it("answers for a terminated instance with its last screen, also one that never ran", async () => {
    const id = must((await runOne(t.ec2)).InstanceId, "id");
    await t.aws.cloud.waitFor(id, "sshUp");
    await t.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await t.aws.cloud.waitFor(id, "terminated");
    const jpeg = bytesOf(await shoot(t.ec2, id));
    expect(sha(jpeg)).toBe(sha(await renderScreen(screenAt(sourceOf(id), trueTime()), id)));
    expect(screenAt(sourceOf(id), trueTime()).phase).toBe("halted");

    t.aws.cloud.faults.set({ internalErrorOnLaunch: { count: 1 } });
    const never = must((await runOne(t.ec2)).InstanceId, "id");
    await t.aws.cloud.waitFor(never, "terminated");
    const dark = bytesOf(await shoot(t.ec2, never));
    expect(await decoded(dark)).toEqual({ width: 640, height: 400 });
    expect(sha(dark)).toBe(sha(await renderScreen(screenAt(sourceOf(never), trueTime()), never)));
    expect(screenAt(sourceOf(never), trueTime()).phase).toBe("no signal");
  });

  it("answers InternalError (500) every time for an instance consoleScreenshotUnavailable hit", async () => {
    t.aws.cloud.faults.set({
      consoleScreenshotUnavailable: { imageIds: [BUILT_IN_AMI_IDS.al2023X86_64] },
    });
    const hit = must((await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.al2023X86_64 })).InstanceId, "id");
    const spared = must((await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.debian12Amd64 })).InstanceId, "id");
    expect(t.aws.cloud.truth(hit)?.faults).toContain("consoleScreenshotUnavailable");
    expect(t.aws.cloud.truth(spared)?.faults).not.toContain("consoleScreenshotUnavailable");
    await t.aws.cloud.waitFor(hit, "running");
    await t.aws.cloud.waitFor(spared, "running");
    for (let i = 0; i < 2; i++) {
      if (i > 0) await sleep(A_SECOND);
      const error = await rejection(shoot(t.ec2, hit));
      expect(error.name).toBe("InternalError");
      expect(error.$metadata?.httpStatusCode).toBe(500);
    }
    expect((await shoot(t.ec2, spared)).InstanceId).toBe(spared);
    // The console output of the hit instance is unaffected.
    expect((await t.ec2.send(new GetConsoleOutputCommand({ InstanceId: hit }))).Output).toBeDefined();
  });

  it("answers InvalidInstanceID.NotFound/Malformed as GetConsoleOutput does, also in the not-found window", async () => {
    expect((await rejection(shoot(t.ec2, "i-0123456789abcdef0"))).name).toBe("InvalidInstanceID.NotFound");
    expect((await rejection(shoot(t.ec2, "bogus"))).name).toBe("InvalidInstanceID.Malformed");
    t.aws.cloud.faults.set({ notFoundWindowMs: 60_000 });
    const id = must((await runOne(t.ec2)).InstanceId, "id");
    const hidden = await rejection(shoot(t.ec2, id));
    expect(hidden.name).toBe("InvalidInstanceID.NotFound");
    expect(hidden.message).toContain(id);
  });
});

describe("GetConsoleScreenshot of a pending instance", () => {
  // Slow enough that the instance is surely still pending when the call arrives.
  let t: TestCloud;
  beforeAll(async () => {
    t = await startTestCloud({ timeScale: 0.2 });
  });
  afterAll(async () => {
    await t.close();
  });
  afterEach(async () => {
    await terminateEveryInstance(t);
  });

  it("answers IncorrectInstanceState (400) until the instance is running", async () => {
    const id = must((await runOne(t.ec2, { ImageId: BUILT_IN_AMI_IDS.debian12Amd64 })).InstanceId, "id");
    const error = await rejection(t.ec2.send(new GetConsoleScreenshotCommand({ InstanceId: id })));
    expect(t.aws.cloud.truth(id)?.runningAt).toBeUndefined();
    expect(error.name).toBe("IncorrectInstanceState");
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(error.message).toContain(id);
    await t.aws.cloud.waitFor(id, "running");
    await sleep(A_SECOND);
    const out = await t.ec2.send(new GetConsoleScreenshotCommand({ InstanceId: id }));
    expect(out.InstanceId).toBe(id);
    expect([...Buffer.from(out.ImageData ?? "", "base64").subarray(0, 2)]).toEqual([0xff, 0xd8]);
  });
});
