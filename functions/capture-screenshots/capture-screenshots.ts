import { type EC2Client, GetConsoleScreenshotCommand } from "@aws-sdk/client-ec2";
import type {
  CaptureScreenshotsEvent,
  CaptureScreenshotsResult,
  FilmstripCounts,
  FilmstripFrame,
  FilmstripManifest,
  FilmstripStop,
} from "../domain/contract.js";
import {
  FILMSTRIP_STORE_TIMEOUT_MS,
  FILMSTRIP_TAIL_MS,
  filmstripDeadline,
  type ObservationMarks,
  SCREENSHOT_REQUEST_TIMEOUT_MS,
  SCREENSHOT_SPACING_MS,
} from "../domain/filmstrip.js";
import { filmstripFrameKey, filmstripManifestKey } from "../domain/run-record.js";
import { type Clock, type Sleep, sleep as timerSleep } from "../shared/clock.js";

/** Where frames and the manifest go: the stack's console bucket, under `filmstrip/`. */
export interface FilmstripStore {
  bucket: string;
  putFrame(key: string, jpeg: Uint8Array, abortSignal: AbortSignal): Promise<void>;
  putManifest(key: string, manifest: FilmstripManifest, abortSignal: AbortSignal): Promise<void>;
}

export interface CaptureScreenshotsDeps {
  ec2: EC2Client;
  store: FilmstripStore;
  /** A consistent read of the run's launch ledger marks; a read that fails is asked again later. */
  marks: () => Promise<ObservationMarks>;
  clock: Clock;
  sleep?: Sleep;
  /** How often to read the marks, at most (default 1 s). */
  markCheckIntervalMs?: number;
}

const DEFAULT_MARK_CHECK_INTERVAL_MS = 1_000;

/** libuv timers may fire up to ~1 ms early; a slot due this soon is taken now. */
const EARLY_SLACK_MS = 1;

/**
 * The boot filmstrip: GetConsoleScreenshot at `settings.screenshots.framesPerSecond`, beside the poll
 * and the probe, each frame stored with the times its request went out and its answer came back.
 *
 * - Frames are slots on a grid anchored at the start. One request is out at a time: a slot that comes
 *   while the last one is unanswered, or that the step woke too late for, is skipped (`busy`). EC2
 *   allows about one screenshot a second per instance, so a request waits until a second has passed
 *   since the previous one, and a throttled slot is skipped, never retried (`throttled`): a retry would
 *   fall on the next slot and be throttled in turn.
 * - Any other error (the instance not visible yet, pending, a 5xx, no answer in 3 s) costs its slot
 *   only (`failed`, with the last such error kept): the stream goes on.
 * - `WakeUp` is never set: EC2 then sends a keystroke, and a keystroke at a boot loader's countdown
 *   (FreeBSD's, GRUB's) stops it, which would change the very boot being measured.
 * - It stops a tail after the probe's end mark, at once after terminate's run-ended mark (the poll
 *   failed, so Step Functions abandoned this branch), and at the latest a tail after the probe's own
 *   deadline (functions/domain/filmstrip.ts). Frames still being stored are waited for, then the
 *   manifest is written beside them.
 *
 * Invoked on every run, it returns at once when the benchmark asked for no filmstrip.
 */
export async function captureScreenshots(
  event: CaptureScreenshotsEvent,
  deps: CaptureScreenshotsDeps,
): Promise<CaptureScreenshotsResult> {
  const framesPerSecond = event.settings.screenshots?.framesPerSecond;
  if (framesPerSecond === undefined) return { status: "off" };
  const { clock, store } = deps;
  const sleep = deps.sleep ?? timerSleep;
  const checkEvery = deps.markCheckIntervalMs ?? DEFAULT_MARK_CHECK_INTERVAL_MS;
  const { benchmarkId, runIndex, instanceId } = event;
  const intervalMs = 1000 / framesPerSecond;

  const startedAt = clock();
  const counts: FilmstripCounts = { frames: 0, throttled: 0, failed: 0, busy: 0 };
  const frameList: FilmstripFrame[] = [];
  const stores: Promise<void>[] = [];
  let storedBytes = 0;
  let lastError: string | undefined;
  let stopAt = filmstripDeadline({ launchRespondedAt: event.launchRespondedAt, ...event.settings });
  let stoppedBy: FilmstripStop = "deadline";
  const stopBy = (at: number, reason: FilmstripStop): void => {
    if (at >= stopAt) return;
    stopAt = at;
    stoppedBy = reason;
  };
  const failed = (error: unknown): void => {
    counts.failed++;
    lastError = describe(error);
  };

  let nextCheckAt = startedAt;
  let checking = false;
  const checkMarks = (now: number): void => {
    if (checking || now < nextCheckAt) return;
    checking = true;
    nextCheckAt = now + checkEvery;
    deps.marks().then(
      (marks) => {
        checking = false;
        if (marks.runEndedAt !== undefined) stopBy(clock(), "run-ended");
        else if (marks.probeEndedAt !== undefined)
          stopBy(marks.probeEndedAt + FILMSTRIP_TAIL_MS, "probe-ended");
      },
      () => {
        // Not knowing is no reason to stop: the deadline still holds, and the marks are asked again.
        checking = false;
      },
    );
  };

  const shoot = async (slot: number, requestedAt: number): Promise<void> => {
    let imageData: string | undefined;
    try {
      const output = await deps.ec2.send(new GetConsoleScreenshotCommand({ InstanceId: instanceId }), {
        abortSignal: AbortSignal.timeout(SCREENSHOT_REQUEST_TIMEOUT_MS),
      });
      imageData = output.ImageData;
    } catch (error) {
      if (error instanceof Error && error.name === "RequestLimitExceeded") counts.throttled++;
      else failed(error);
      return;
    }
    const respondedAt = clock();
    const jpeg = Buffer.from(imageData ?? "", "base64");
    if (jpeg.length === 0) {
      failed(new Error("EC2 answered GetConsoleScreenshot without image data"));
      return;
    }
    const key = filmstripFrameKey(benchmarkId, runIndex, slot);
    stores.push(
      store.putFrame(key, jpeg, AbortSignal.timeout(FILMSTRIP_STORE_TIMEOUT_MS)).then(() => {
        counts.frames++;
        storedBytes += jpeg.length;
        frameList.push({ key, requestedAt, respondedAt, bytes: jpeg.length });
      }, failed),
    );
  };

  let inflight: Promise<void> | undefined;
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let slot = 0;
  for (;;) {
    const now = clock();
    if (now >= stopAt) break;
    checkMarks(now);
    const spacedAt = lastSentAt + SCREENSHOT_SPACING_MS;
    if (now >= startedAt + slot * intervalMs - EARLY_SLACK_MS && now >= spacedAt - EARLY_SLACK_MS) {
      const current = Math.max(slot, Math.floor((now - startedAt) / intervalMs));
      // Slots the step woke too late for, then this one if the last request is still out.
      counts.busy += current - slot;
      if (inflight !== undefined) counts.busy++;
      else {
        // The spacing runs from when the request went out, not from the wake-up: the marks check in
        // between may have taken a while, and the next request is timed against this one.
        lastSentAt = clock();
        const request = shoot(current, lastSentAt).finally(() => {
          if (inflight === request) inflight = undefined;
        });
        inflight = request;
      }
      slot = current + 1;
    }
    const nextAt = Math.max(startedAt + slot * intervalMs, lastSentAt + SCREENSHOT_SPACING_MS);
    const wakeAt = Math.min(nextAt, stopAt, Math.max(nextCheckAt, now + 1));
    await sleep(Math.max(0, wakeAt - clock()));
  }
  const endedAt = clock();
  await inflight;
  await Promise.all(stores);

  frameList.sort((a, b) => a.requestedAt - b.requestedAt);
  const manifestKey = filmstripManifestKey(benchmarkId, runIndex);
  const summary = {
    ...counts,
    framesPerSecond,
    startedAt,
    endedAt,
    stoppedBy,
    ...(lastError !== undefined && { lastError }),
  };
  await store.putManifest(
    manifestKey,
    { benchmarkId, runIndex, instanceId, ...summary, frameList },
    AbortSignal.timeout(FILMSTRIP_STORE_TIMEOUT_MS),
  );
  return { status: "captured", bucket: store.bucket, manifestKey, storedBytes, ...summary };
}

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);
