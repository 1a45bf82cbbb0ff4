/**
 * When a run's boot filmstrip (functions/capture-screenshots) stops, the one rule behind the step, the
 * state machine's run-life bound (infra/run-lifetime.ts) and the README's figures.
 *
 * The stream runs beside the poll and the probe, in the same Parallel, so the run's instance lives
 * until it ends: it stops a short tail after the probe's end mark, at once after terminate's run-ended
 * mark, and at the latest a tail after the probe's own deadline.
 */
import { MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS } from "./input-schema.js";

/** How long the filmstrip goes on after the probe ended: the login prompt and the first seconds of it. */
export const FILMSTRIP_TAIL_MS = 3_000;

/**
 * EC2 answers about one GetConsoleScreenshot a second per instance (ec2-boot-bench's limit too): a
 * request never goes out sooner than this after the previous one, so that a late request followed by
 * one on time is not throttled for being 999 ms apart.
 */
export const SCREENSHOT_SPACING_MS = 1_000;

/** A GetConsoleScreenshot unanswered after this long is abandoned and its slot counted as failed. */
export const SCREENSHOT_REQUEST_TIMEOUT_MS = 3_000;

/** Each frame's and the manifest's PutObject, retries included, is abandoned after this long. */
export const FILMSTRIP_STORE_TIMEOUT_MS = 4_000;

/**
 * After the stop: the request still out (its timeout), the frame puts still out (theirs), then the
 * manifest's put, rounded up to a whole second.
 */
export const FILMSTRIP_FINISH_SECONDS = Math.ceil(
  (SCREENSHOT_REQUEST_TIMEOUT_MS + 2 * FILMSTRIP_STORE_TIMEOUT_MS) / 1000,
);

/** The probe's deadline (launchRespondedAt + running + open timeouts) plus the tail. */
export const filmstripDeadline = (event: {
  launchRespondedAt: number;
  runningTimeoutSeconds: number;
  openTimeoutSeconds: number;
}): number =>
  event.launchRespondedAt +
  (event.runningTimeoutSeconds + event.openTimeoutSeconds) * 1000 +
  FILMSTRIP_TAIL_MS;

/** The latest a stream's handler returns, in seconds after launchRespondedAt, for any valid input. */
export const FILMSTRIP_SECONDS_AFTER_LAUNCH =
  MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS + FILMSTRIP_TAIL_MS / 1000 + FILMSTRIP_FINISH_SECONDS;

/** The marks on a run's launch ledger that end its filmstrip (functions/aws/benchmark-table.ts). */
export interface ObservationMarks {
  /** The probe's end: port open, or its deadline. */
  probeEndedAt?: number;
  /** Terminate's run-ended mark. */
  runEndedAt?: number;
}
