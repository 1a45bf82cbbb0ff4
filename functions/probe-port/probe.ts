import net from "node:net";
import type { ProbePortEvent, ProbePortResult } from "../domain/contract.js";
import { RunEndedError } from "../domain/errors.js";
import {
  ATTEMPT_TIMEOUT_MS,
  type AttemptOutcome,
  type ConnectAnswer,
  classifyAnswer,
  emptyObservation,
  NotYetEvidence,
  type ProbeObservation,
  recordOutcome,
} from "../domain/probe-classifier.js";
import type { Clock } from "../shared/clock.js";

/** Callbacks of one connect attempt; each is called at most once, and not after `destroy()`. */
export interface ConnectHandlers {
  onConnect(): void;
  onError(error: NodeJS.ErrnoException): void;
}

/** Starts one non-blocking connect. */
export type Connect = (host: string, port: number, handlers: ConnectHandlers) => { destroy(): void };

export interface ProbeDeps {
  clock: Clock;
  connect?: Connect;
  /** How long an attempt may go unanswered before it is abandoned (ec2-boot-bench: 1 s). */
  attemptTimeoutMs?: number;
  /**
   * Whether terminate has marked the run ended (its launch ledger's `endedAt`). Step Functions cannot
   * stop this invocation when the poll fails, so the probe asks, and stops when the answer is yes. A
   * read that fails is asked again later; it never ends the probe.
   */
  runEnded?: () => Promise<boolean>;
  /** How often to ask runEnded, at most (default 1 s). */
  runEndedCheckIntervalMs?: number;
  /**
   * Writes the probe's end mark (its `probeEndedAt`) on the run's launch ledger once it has a result,
   * which ends the run's filmstrip (functions/capture-screenshots). Asked twice at most; a mark that
   * cannot be written is reported in the result and never fails the probe.
   */
  markProbeEnded?: (probeEndedAt: number) => Promise<void>;
}

const MARK_ATTEMPTS = 2;

/** A plain TCP connect. The answer's time is read by the caller in these callbacks. */
export const connectTcp: Connect = (host, port, handlers) => {
  const socket = new net.Socket();
  socket.once("connect", handlers.onConnect);
  socket.on("error", handlers.onError);
  socket.connect({ host, port, noDelay: true });
  return socket;
};

interface Attempt {
  readonly startedAt: number;
  settled: boolean;
  socket?: { destroy(): void };
}

/**
 * libuv timers work on a millisecond loop clock and may fire up to ~1 ms before the high-resolution
 * target; an attempt that is due this soon goes now instead of costing another loop turn.
 */
const EARLY_SLACK_MS = 1;

/** How long after its timeout an abandoned attempt's socket may stay open. */
const MAX_REAP_DELAY_MS = 50;

const DEFAULT_RUN_ENDED_CHECK_INTERVAL_MS = 1_000;

/** What the probe itself reads of its event: the guest session's fields are the handler's. */
export type ProbeTarget = Omit<ProbePortEvent, "guestKey" | "image">;

/**
 * Probes `privateIp:port` the way ec2-boot-bench does: a new non-blocking connect() every
 * `probeIntervalMs`, each abandoned after 1 s, until the first SYN/ACK (status open) or the deadline
 * launchRespondedAt + (runningTimeoutSeconds + openTimeoutSeconds) s (status timeout).
 *
 * Attempts go out on a fixed grid anchored at the start (slots missed because the event loop was busy
 * are skipped, never bunched), so a late timer does not shift every later attempt. One timer is armed at
 * a time; its wake-ups also reap attempts that reached their timeout.
 *
 * About once a second it asks whether the run has ended (deps.runEnded); once it has (the poll failed
 * and terminate ran), the probe rejects with RunEndedError. The question goes out right after an
 * attempt, the furthest point from the next slot, and is never awaited, so it delays no attempt.
 */
export async function probePort(event: ProbeTarget, deps: ProbeDeps): Promise<ProbePortResult> {
  const result = await observePort(event, deps);
  const mark = deps.markProbeEnded;
  if (mark === undefined) return result;
  for (let attempt = 1; ; attempt++) {
    try {
      await mark(result.probeEndedAt);
      return result;
    } catch (error) {
      if (attempt < MARK_ATTEMPTS) continue;
      return {
        ...result,
        endMarkError: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      };
    }
  }
}

/** The probe itself: ends with the port's answer or the deadline, or rejects once the run has ended. */
function observePort(event: ProbeTarget, deps: ProbeDeps): Promise<ProbePortResult> {
  validate(event);
  const { clock } = deps;
  const connect = deps.connect ?? connectTcp;
  const timeoutMs = deps.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS;
  const { privateIp: host, port, probeIntervalMs: interval } = event;
  const deadline = event.launchRespondedAt + (event.runningTimeoutSeconds + event.openTimeoutSeconds) * 1000;
  const slack = Math.min(EARLY_SLACK_MS, interval / 2);

  return new Promise<ProbePortResult>((resolve, reject) => {
    const probeStartedAt = clock();
    let observation: ProbeObservation = emptyObservation();
    const evidence = new NotYetEvidence();
    const record = (outcome: AttemptOutcome): void => {
      observation = recordOutcome(observation, outcome);
      evidence.add(outcome);
    };
    let attempts = 0;
    // Attempts in start order; `head` skips those already settled, so reaping looks at the oldest only.
    let inflight: Attempt[] = [];
    let head = 0;
    let slot = 0;
    let nextSlotAt = probeStartedAt;
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const checkEvery = deps.runEndedCheckIntervalMs ?? DEFAULT_RUN_ENDED_CHECK_INTERVAL_MS;
    let nextCheckAt = probeStartedAt;
    let checking = false;

    /** Stops everything: no timer stays armed and no socket stays open. */
    const stop = (): void => {
      finished = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      for (let i = head; i < inflight.length; i++) {
        const attempt = inflight[i] as Attempt;
        if (attempt.settled) continue;
        attempt.settled = true;
        attempt.socket?.destroy();
      }
      inflight = [];
      head = 0;
    };

    const finish = (status: ProbePortResult["status"]): void => {
      if (finished) return;
      const probeEndedAt = clock();
      // Attempts past their timeout by the end count as abandoned, even if no wake-up reaped them yet.
      reap(probeEndedAt);
      // Attempts still waiting got no answer while later ones did: their SYNs were dropped, which is
      // evidence of "not yet" for the brackets (not counted as unanswered: they were not abandoned).
      for (let i = head; i < inflight.length; i++) {
        const attempt = inflight[i] as Attempt;
        if (!attempt.settled) evidence.add({ kind: "unanswered", startedAt: attempt.startedAt });
      }
      stop();
      const { firstClosed, firstOpen, refused, connected, unanswered, otherErrors } = observation;
      const { closedNotBefore, openNotBefore } = evidence.lowerEnds(observation);
      resolve({
        status,
        probeStartedAt,
        ...(firstClosed && { firstClosedAt: firstClosed.at }),
        ...(closedNotBefore !== undefined && { closedNotBefore }),
        ...(firstOpen && { firstOpenAt: firstOpen.at }),
        ...(openNotBefore !== undefined && { openNotBefore }),
        probeEndedAt,
        attempts,
        unanswered,
        refused,
        connected,
        otherErrors,
      });
    };

    const answer = (attempt: Attempt, result: ConnectAnswer): void => {
      // Read the clock first: this is the measurement.
      const at = clock();
      if (attempt.settled || finished) return;
      attempt.settled = true;
      attempt.socket?.destroy();
      const outcome = classifyAnswer(attempt.startedAt, at, result, timeoutMs);
      record(outcome);
      if (outcome.kind === "open") finish("open");
    };

    const launch = (now: number): void => {
      attempts++;
      const attempt: Attempt = { startedAt: now, settled: false };
      inflight.push(attempt);
      const socket = connect(host, port, {
        onConnect: () => answer(attempt, { type: "connect" }),
        onError: (error) => answer(attempt, { type: "error", code: error.code }),
      });
      if (attempt.settled) socket.destroy();
      else attempt.socket = socket;
    };

    const checkRunEnded = (now: number): void => {
      const runEnded = deps.runEnded;
      if (runEnded === undefined || checking || now < nextCheckAt) return;
      checking = true;
      nextCheckAt = now + checkEvery;
      runEnded().then(
        (ended) => {
          checking = false;
          if (!ended || finished) return;
          stop();
          reject(
            new RunEndedError(
              `the run ended (terminate marked it) while the probe of ${host}:${port} was still running; ` +
                `stopped after ${attempts} attempts`,
            ),
          );
        },
        () => {
          // Not knowing is no reason to stop: the probe goes on and asks again.
          checking = false;
        },
      );
    };

    const reap = (now: number): void => {
      while (head < inflight.length) {
        const attempt = inflight[head] as Attempt;
        if (!attempt.settled) {
          if (now - attempt.startedAt < timeoutMs) break;
          attempt.settled = true;
          attempt.socket?.destroy();
          record({ kind: "unanswered", startedAt: attempt.startedAt });
        }
        head++;
      }
      if (head > 256 && head * 2 > inflight.length) {
        inflight = inflight.slice(head);
        head = 0;
      }
    };

    const wake = (): void => {
      timer = undefined;
      try {
        const now = clock();
        reap(now);
        if (now >= deadline) {
          finish("timeout");
          return;
        }
        if (now >= nextSlotAt - slack) {
          launch(now);
          if (finished) return;
          checkRunEnded(now);
          slot = Math.max(slot + 1, Math.floor((now - probeStartedAt) / interval) + 1);
          nextSlotAt = probeStartedAt + slot * interval;
        }
        let wakeAt = Math.min(nextSlotAt, deadline);
        // Reaping only releases sockets (answers are held to the timeout by their timestamps), so an
        // expiry just before the next wake-up waits for it rather than costing a timer of its own:
        // with a 10 ms interval every expiry falls a fraction of a millisecond after some slot.
        const oldest = inflight[head];
        if (oldest !== undefined && oldest.startedAt + timeoutMs < wakeAt - MAX_REAP_DELAY_MS) {
          wakeAt = oldest.startedAt + timeoutMs;
        }
        timer = setTimeout(wake, Math.max(0, wakeAt - clock()));
      } catch (error) {
        stop();
        reject(error);
      }
    };

    wake();
  });
}

function validate(event: ProbeTarget): void {
  const problems: string[] = [];
  if (typeof event.benchmarkId !== "string" || event.benchmarkId === "") {
    problems.push(`benchmarkId: must be a non-empty string, got ${String(event.benchmarkId)}`);
  }
  if (!Number.isInteger(event.runIndex) || event.runIndex < 0) {
    problems.push(`runIndex: must be a non-negative integer, got ${event.runIndex}`);
  }
  if (net.isIP(event.privateIp) === 0) problems.push(`privateIp: not an IP address: ${event.privateIp}`);
  if (!Number.isInteger(event.port) || event.port < 1 || event.port > 65535) {
    problems.push(`port: must be an integer from 1 to 65535, got ${event.port}`);
  }
  if (!(Number.isFinite(event.probeIntervalMs) && event.probeIntervalMs > 0)) {
    problems.push(`probeIntervalMs: must be a positive number, got ${event.probeIntervalMs}`);
  }
  for (const key of ["launchRespondedAt", "runningTimeoutSeconds", "openTimeoutSeconds"] as const) {
    if (!Number.isFinite(event[key])) problems.push(`${key}: must be a finite number, got ${event[key]}`);
  }
  if (problems.length > 0) throw new TypeError(`Invalid probe event: ${problems.join("; ")}`);
}
