import { EC2Client, GetConsoleScreenshotCommand } from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type CaptureScreenshotsDeps,
  captureScreenshots,
} from "../../functions/capture-screenshots/capture-screenshots.js";
import type { CaptureScreenshotsEvent, FilmstripManifest } from "../../functions/domain/contract.js";
import type { ObservationMarks } from "../../functions/domain/filmstrip.js";
import { filmstripFrameKey, filmstripManifestKey } from "../../functions/domain/run-record.js";
import { ec2Error, runState } from "./ec2-test-helpers.js";

const ec2Mock = mockClient(EC2Client);
const START = 1_736_143_262_000;
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

let frames: Map<string, Uint8Array>;
let manifests: Map<string, FilmstripManifest>;
let marks: ObservationMarks;
let deps: CaptureScreenshotsDeps;

/** The event of run 2, launched at START, filmed at `framesPerSecond`. */
function event(framesPerSecond?: number, timeouts = { running: 120, open: 600 }): CaptureScreenshotsEvent {
  const { settings } = runState(2);
  return {
    benchmarkId: "weekly-2025-01",
    runIndex: 2,
    instanceId: "i-0aaa",
    launchRespondedAt: START,
    settings: {
      ...settings,
      runningTimeoutSeconds: timeouts.running,
      openTimeoutSeconds: timeouts.open,
      ...(framesPerSecond !== undefined && { screenshots: { framesPerSecond } }),
    },
  };
}

/** Answers every screenshot after `ms` of (fake) time; the first calls with these errors instead. */
const answerAfter = (ms: number, ...errors: Error[]) => {
  let calls = 0;
  ec2Mock.on(GetConsoleScreenshotCommand).callsFake(
    () =>
      new Promise((resolve, reject) => {
        const error = errors[calls++];
        setTimeout(
          () =>
            error ? reject(error) : resolve({ InstanceId: "i-0aaa", ImageData: JPEG.toString("base64") }),
          ms,
        );
      }),
  );
};

/** Runs the stream to its end on fake time. */
async function film(input: CaptureScreenshotsEvent) {
  const result = captureScreenshots(input, deps);
  await vi.runAllTimersAsync();
  return result;
}

const slotsOf = (result: { frames: number; throttled: number; failed: number; busy: number }) =>
  result.frames + result.throttled + result.failed + result.busy;

beforeEach(() => {
  vi.useFakeTimers({ now: START, toFake: ["setTimeout", "clearTimeout", "Date"] });
  ec2Mock.reset();
  frames = new Map();
  manifests = new Map();
  marks = {};
  deps = {
    ec2: new EC2Client({}),
    store: {
      bucket: "bootbench-consoleoutput-1a2b3c",
      putFrame: async (key, jpeg) => {
        frames.set(key, jpeg);
      },
      putManifest: async (key, manifest) => {
        manifests.set(key, structuredClone(manifest));
      },
    },
    marks: async () => marks,
    clock: () => Date.now(),
  };
});

afterEach(() => {
  vi.useRealTimers();
});

describe("captureScreenshots", () => {
  it("does nothing when the benchmark asked for no filmstrip", async () => {
    const calls = vi.fn(async () => marks);
    await expect(captureScreenshots(event(), { ...deps, marks: calls })).resolves.toEqual({ status: "off" });
    expect(ec2Mock.commandCalls(GetConsoleScreenshotCommand)).toHaveLength(0);
    expect(calls).not.toHaveBeenCalled();
    expect(manifests.size).toBe(0);
  });

  it("takes a frame a second until 3 s after the probe's end mark, and stores each with its times", async () => {
    answerAfter(200);
    // The probe marks its end 10.5 s in: the stream stops at 13.5 s, after the frames of 0 … 13 s.
    setTimeout(() => {
      marks = { probeEndedAt: START + 10_500 };
    }, 10_500);
    const result = await film(event(1));
    const manifestKey = filmstripManifestKey("weekly-2025-01", 2);
    expect(manifestKey).toBe("filmstrip/weekly-2025-01/run-0002/frames.json");
    expect(result).toEqual({
      status: "captured",
      bucket: "bootbench-consoleoutput-1a2b3c",
      manifestKey,
      framesPerSecond: 1,
      frames: 14,
      throttled: 0,
      failed: 0,
      busy: 0,
      storedBytes: 14 * JPEG.length,
      startedAt: START,
      endedAt: START + 13_500,
      stoppedBy: "probe-ended",
    });
    const manifest = manifests.get(manifestKey) as FilmstripManifest;
    expect(manifest.frameList.map((frame) => frame.key)).toEqual(
      Array.from({ length: 14 }, (_, slot) => filmstripFrameKey("weekly-2025-01", 2, slot)),
    );
    expect(manifest.frameList[3]).toEqual({
      key: "filmstrip/weekly-2025-01/run-0002/frame-0003.jpg",
      requestedAt: START + 3_000,
      respondedAt: START + 3_200,
      bytes: JPEG.length,
    });
    expect(manifest).toMatchObject({ benchmarkId: "weekly-2025-01", runIndex: 2, instanceId: "i-0aaa" });
    expect(frames.get(manifest.frameList[0]?.key as string)).toEqual(JPEG);
    // Never a keystroke: WakeUp would stop a boot loader's countdown.
    for (const call of ec2Mock.commandCalls(GetConsoleScreenshotCommand)) {
      expect(call.args[0].input).toEqual({ InstanceId: "i-0aaa" });
    }
  });

  it("skips a throttled slot and never retries it in a burst", async () => {
    answerAfter(100, ec2Error("RequestLimitExceeded"), ec2Error("RequestLimitExceeded"));
    marks = { probeEndedAt: START + 5_000 };
    const result = await film(event(1));
    const sentAt = ec2Mock.commandCalls(GetConsoleScreenshotCommand).map(() => 0);
    // One request a slot, 0 … 7 s: the throttled two are not sent again.
    expect(sentAt).toHaveLength(8);
    expect(result).toMatchObject({ frames: 6, throttled: 2, failed: 0, busy: 0, stoppedBy: "probe-ended" });
    expect(result).not.toHaveProperty("lastError");
    const manifest = manifests.values().next().value as FilmstripManifest;
    expect(manifest.frameList.map((frame) => frame.key.slice(-8))).toEqual([
      "0002.jpg",
      "0003.jpg",
      "0004.jpg",
      "0005.jpg",
      "0006.jpg",
      "0007.jpg",
    ]);
  });

  it("keeps one request out at a time: slots that come while it is unanswered are skipped as busy", async () => {
    let out = 0;
    let mostOut = 0;
    ec2Mock.on(GetConsoleScreenshotCommand).callsFake(() => {
      out++;
      mostOut = Math.max(mostOut, out);
      return new Promise((resolve) =>
        setTimeout(() => {
          out--;
          resolve({ ImageData: JPEG.toString("base64") });
        }, 2_500),
      );
    });
    marks = { probeEndedAt: START + 9_000 };
    const result = await film(event(1));
    expect(mostOut).toBe(1);
    // Sent at 0, 3, 6, 9 s; each answer takes 2.5 s, so the slots of 1, 2, 4, 5, 7, 8, 10, 11 s are busy.
    expect(result).toMatchObject({ frames: 4, busy: 8, throttled: 0, failed: 0 });
    expect(slotsOf(result as never)).toBe(12);
  });

  it("never sends two requests less than a second apart, even after a late one", async () => {
    answerAfter(10);
    const sentAt: number[] = [];
    ec2Mock.on(GetConsoleScreenshotCommand).callsFake(async () => {
      sentAt.push(Date.now());
      return { ImageData: JPEG.toString("base64") };
    });
    // The step wakes 300 ms late for the slot of 2 s (a busy event loop, a paused environment).
    let delayed = false;
    deps.sleep = (ms) =>
      new Promise((resolve) => {
        const late = !delayed && Date.now() + ms === START + 2_000;
        if (late) delayed = true;
        setTimeout(resolve, ms + (late ? 300 : 0));
      });
    marks = { probeEndedAt: START + 2_000 };
    const result = await film(event(1));
    // 0, 1, 2.3 s, then the slot of 3 s waits for 3.3 s: a second after the late one.
    expect(sentAt.map((at) => at - START)).toEqual([0, 1_000, 2_300, 3_300, 4_300]);
    expect(result).toMatchObject({ frames: 5, busy: 0, throttled: 0 });
  });

  it("spaces the requests by when they went out, not by when the loop woke: work in between counts", async () => {
    const sentAt: number[] = [];
    ec2Mock.on(GetConsoleScreenshotCommand).callsFake(async () => {
      sentAt.push(Date.now());
      return { ImageData: JPEG.toString("base64") };
    });
    // The first marks read costs 5 ms before its request is under way (the SDK's synchronous work
    // under a loaded host), between the loop's wake-up and the first screenshot request.
    let reads = 0;
    deps.marks = async () => {
      if (reads++ === 0) vi.setSystemTime(Date.now() + 5);
      return { probeEndedAt: START + 1_000 };
    };
    await film(event(1));
    const manifest = manifests.get(filmstripManifestKey("weekly-2025-01", 2)) as FilmstripManifest;
    const requested = manifest.frameList.map((frame) => frame.requestedAt);
    expect(requested.length).toBeGreaterThanOrEqual(3);
    for (const times of [sentAt, requested]) {
      const gaps = times.slice(1).map((at, i) => at - (times[i] as number));
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(999);
    }
  });

  it("goes on past other errors, counting each as a failed slot and keeping the last", async () => {
    answerAfter(
      50,
      ec2Error("InvalidInstanceID.NotFound", "The instance ID 'i-0aaa' does not exist"),
      ec2Error("InternalError", "An internal error has occurred", "server"),
    );
    marks = { probeEndedAt: START + 2_000 };
    const result = await film(event(0.5));
    // Slots every 2 s, 0 … 4 s: two failed, one stored.
    expect(result).toMatchObject({
      frames: 1,
      failed: 2,
      lastError: "InternalError: An internal error has occurred",
    });
  });

  it("counts a frame whose store failed as failed, and leaves it out of the manifest", async () => {
    answerAfter(50);
    let puts = 0;
    deps.store.putFrame = async (key, jpeg) => {
      puts++;
      if (puts === 2) throw Object.assign(new Error("socket hang up"), { name: "TimeoutError" });
      frames.set(key, jpeg);
    };
    marks = { probeEndedAt: START };
    const result = await film(event(1));
    // Slots of 0, 1, 2 s: the tail ends at 3 s.
    expect(result).toMatchObject({ frames: 2, failed: 1, lastError: "TimeoutError: socket hang up" });
    const manifest = manifests.values().next().value as FilmstripManifest;
    expect(manifest.frameList.map((frame) => frame.key.slice(-8))).toEqual(["0000.jpg", "0002.jpg"]);
  });

  it("stops within two seconds of terminate's run-ended mark, the poll having failed", async () => {
    answerAfter(100);
    setTimeout(() => {
      marks = { runEndedAt: START + 4_200 };
    }, 4_200);
    const result = await film(event(1));
    // The read at 5 s sees the mark; the step, asleep until 6 s, stops then: frames of 0 … 5 s.
    expect(result).toMatchObject({ stoppedBy: "run-ended", frames: 6, endedAt: START + 6_000 });
  });

  it("stops at the probe's own deadline plus the tail when no mark ever comes, even if the marks cannot be read", async () => {
    answerAfter(100);
    const reads = vi.fn(async (): Promise<ObservationMarks> => {
      throw new Error("no route to DynamoDB");
    });
    deps.marks = reads;
    const result = await film(event(0.2, { running: 5, open: 5 }));
    // Deadline: 10 s after the launch plus the 3 s tail; a frame every 5 s: 0, 5, 10 s.
    expect(result).toMatchObject({ stoppedBy: "deadline", frames: 3, endedAt: START + 13_000 });
    expect(reads).toHaveBeenCalled();
  });

  it("propagates a manifest that cannot be stored: the branch's Catch keeps the failure", async () => {
    answerAfter(10);
    marks = { probeEndedAt: START };
    deps.store.putManifest = async () => {
      throw Object.assign(new Error("Access Denied"), { name: "AccessDenied" });
    };
    const result = captureScreenshots(event(1), deps);
    const settled = result.catch((error: unknown) => error);
    await vi.runAllTimersAsync();
    expect(await settled).toMatchObject({ name: "AccessDenied" });
  });
});
