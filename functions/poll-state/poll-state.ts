import {
  DescribeInstancesCommand,
  type DescribeInstancesCommandOutput,
  type EC2Client,
  type Instance,
} from "@aws-sdk/client-ec2";
import { instanceIn, privateIpOf } from "../aws/ec2-client.js";
import type { PollStateEvent, PollStateResult } from "../domain/contract.js";
import { InstanceTerminatedError, RunningTimeoutError } from "../domain/errors.js";
import type { Clock, Sleep } from "../shared/clock.js";

export interface PollConfig {
  /** Spacing of request starts while nothing is throttled. ec2-boot-bench uses 50 ms; that rate is the
   * whole account's DescribeInstances refill (20/s), so half of it leaves room for concurrent runs. */
  pollIntervalMs: number;
  /** Requests awaiting an answer at once; a slow API must not pile up connections. */
  maxInFlight: number;
  /** Upper bound of the spacing after repeated throttling. */
  maxPollIntervalMs: number;
  /** The spacing is multiplied by this on throttling… */
  backoffFactor: number;
  /** …and the request rate grows back by this many requests per second with every unthrottled answer. */
  recoveryRatePerAnswer: number;
  /** A non-transient error (AuthFailure, …) that is the only answer for this long is thrown. */
  fatalErrorWindowMs: number;
  /**
   * A request unanswered this long is abandoned and its slot freed: without it, `maxInFlight` requests
   * that never answer would stop the polling and end as a false RunningTimeout. DescribeInstances
   * answers in tens of milliseconds; two seconds is a stall, not a slow answer.
   */
  requestTimeoutMs: number;
  /**
   * With an expected pending time (earlier runs of the benchmark), requests are spaced this far apart
   * while the instance cannot be running yet, so that the fast beat below is affordable…
   */
  quietIntervalMs: number;
  /** …and this close from `closeFromShare` × the expected pending time on, until running. */
  closeIntervalMs: number;
  closeFromShare: number;
}

export const DEFAULT_POLL_CONFIG: Readonly<PollConfig> = {
  pollIntervalMs: 100,
  maxInFlight: 4,
  maxPollIntervalMs: 2_000,
  backoffFactor: 2,
  recoveryRatePerAnswer: 1,
  fatalErrorWindowMs: 10_000,
  requestTimeoutMs: 2_000,
  quietIntervalMs: 500,
  closeIntervalMs: 40,
  closeFromShare: 0.9,
};

export interface PollStateDeps {
  ec2: EC2Client;
  clock: Clock;
  sleep: Sleep;
  config?: Partial<PollConfig>;
  /**
   * How long pending took in earlier runs of this benchmark (ms, fastest first is not required). Looked
   * up while polling has already started; until it answers, or without earlier runs, the plain beat.
   */
  earlierPendingMs?: () => Promise<readonly number[]>;
}

/** States an instance reaches only after (or instead of) running: it will never answer the probe. */
const GONE_STATES: ReadonlySet<string> = new Set(["shutting-down", "terminated", "stopping", "stopped"]);

/** Errors that more requests will not cure; everything else (5xx, resets, timeouts) is ridden out. */
const PERMANENT_ERRORS: ReadonlySet<string> = new Set([
  "AuthFailure",
  "UnauthorizedOperation",
  "InvalidInstanceID.Malformed",
  "OptInRequired",
  "Blocked",
  "SignatureDoesNotMatch",
  "InvalidClientTokenId",
  "MissingAuthenticationToken",
]);

const errorName = (error: unknown): string => (error instanceof Error ? error.name : "Error");
const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Request spacing with AIMD on the request rate: halve the rate on throttling, add a little back with
 * every unthrottled answer. Throttles of requests sent before the latest backoff were caused by the
 * old rate, so they do not compound it (with four in flight, one burst would otherwise mean ×16).
 */
class AdaptiveInterval {
  intervalMs: number;
  private lastBackoffAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: PollConfig,
    private floorMs: number = config.pollIntervalMs,
  ) {
    this.intervalMs = floorMs;
  }

  /** The fastest spacing allowed while nothing is throttled; a spacing backed off stays backed off. */
  setFloor(floorMs: number): void {
    this.intervalMs = Math.max(floorMs, this.intervalMs === this.floorMs ? floorMs : this.intervalMs);
    this.floorMs = floorMs;
  }

  onThrottled(issuedAt: number, receivedAt: number): void {
    if (issuedAt < this.lastBackoffAt) return;
    this.intervalMs = Math.min(this.config.maxPollIntervalMs, this.intervalMs * this.config.backoffFactor);
    this.lastBackoffAt = receivedAt;
  }

  onAnswered(): void {
    const rate = 1_000 / this.intervalMs + this.config.recoveryRatePerAnswer;
    this.intervalMs = Math.max(this.floorMs, 1_000 / rate);
  }
}

type Outcome =
  | { kind: "running"; runningAt: number; issuedAt: number; privateIp: string }
  | { kind: "failed"; error: unknown };

interface Request {
  readonly issuedAt: number;
  readonly abort: AbortController;
  settled: boolean;
}

/**
 * Waits for the instance to be `running` with a private IP, and reports when the first response saying
 * so was received, as ec2-boot-bench does. Requests start on a fixed beat without waiting for earlier
 * ones to answer, because one slow response must not delay the moment running is seen; responses may
 * therefore arrive out of order, and the first to arrive that says running wins.
 *
 * `InvalidInstanceID.NotFound` right after launch only means "not visible yet" and other errors are
 * usually passing, so both are counted and polling goes on; the deadline bounds it all. A request that
 * stalls is abandoned after `requestTimeoutMs`, so stalls cost resolution (a wider bracket), never the run.
 *
 * Besides running, the result gives the lower end of its bracket: the send time of the latest request
 * answered "not yet" among those sent before the one that said running. Requests sent before that one
 * may answer after it, so they are waited for (at most the request timeout) before returning.
 */
export async function pollState(event: PollStateEvent, deps: PollStateDeps): Promise<PollStateResult> {
  const config: PollConfig = { ...DEFAULT_POLL_CONFIG, ...deps.config };
  const { instanceId, runningTimeoutSeconds } = event;
  const { clock } = deps;
  const deadline = event.launchRespondedAt + runningTimeoutSeconds * 1_000;
  const pace = new AdaptiveInterval(config);
  // Until this time the instance is not expected to be running: requests go out at the quiet spacing.
  let quietUntil = Number.NEGATIVE_INFINITY;
  let expectedPendingMs: number | undefined;
  deps.earlierPendingMs?.().then(
    (pendings) => {
      expectedPendingMs = expectedPendingFrom(pendings);
      if (expectedPendingMs === undefined) return;
      quietUntil = event.launchRespondedAt + config.closeFromShare * expectedPendingMs;
      pace.setFloor(config.closeIntervalMs);
      wake();
    },
    // Without history the plain beat is as good as before; a failed lookup is no reason to fail.
    () => undefined,
  );
  const spacingAt = (at: number): number =>
    at < quietUntil ? Math.max(pace.intervalMs, config.quietIntervalMs) : pace.intervalMs;

  let describeCalls = 0;
  let throttledCalls = 0;
  let notFoundCalls = 0;
  let abandonedCalls = 0;
  let otherErrors = 0;
  let inFlight = 0;
  // Requests in issue order; those settled or abandoned are dropped from the front.
  let requests: Request[] = [];
  /** Send times of requests whose answer said "not yet running". */
  const notYetSentAt: number[] = [];
  const pollStartedAt = clock();
  let lastIssuedAt = pollStartedAt;
  let nextIssueAt = lastIssuedAt;
  let outcome: Outcome | undefined;
  let lastState: string | undefined;
  let lastError: string | undefined;
  let permanentRun: { name: string; since: number } | undefined;
  let wake: () => void = () => {};

  const onAnswer = (response: DescribeInstancesCommandOutput, issuedAt: number, receivedAt: number): void => {
    pace.onAnswered();
    permanentRun = undefined;
    const instance = instanceIn(response, instanceId);
    if (instance === undefined) {
      // An empty answer is the same eventual consistency as InvalidInstanceID.NotFound. Neither is
      // evidence of "not yet running": an instance can be running and still invisible. Counted only
      // before the outcome, like NotFound errors.
      if (outcome === undefined) notFoundCalls += 1;
      return;
    }
    const state = instance.State?.Name ?? "unknown";
    const privateIp = privateIpOf(instance);
    if (state === "running" && privateIp !== undefined) {
      if (outcome === undefined) outcome = { kind: "running", runningAt: receivedAt, issuedAt, privateIp };
    } else if (GONE_STATES.has(state)) {
      if (outcome === undefined) outcome = { kind: "failed", error: goneError(instanceId, state, instance) };
    } else {
      // Running without an address yet is not running for the contract: the probe could not reach it.
      lastState = state === "running" ? "running without a private IP" : state;
      notYetSentAt.push(issuedAt);
    }
  };

  const onError = (error: unknown, issuedAt: number, receivedAt: number): void => {
    const name = errorName(error);
    // Once the outcome is known only evidence for the bracket matters, and errors are none.
    if (outcome !== undefined) return;
    if (name === "RequestLimitExceeded") {
      throttledCalls += 1;
      permanentRun = undefined;
      pace.onThrottled(issuedAt, receivedAt);
      nextIssueAt = Math.max(nextIssueAt, lastIssuedAt + pace.intervalMs);
      return;
    }
    pace.onAnswered();
    if (name === "InvalidInstanceID.NotFound") {
      notFoundCalls += 1;
      permanentRun = undefined;
      return;
    }
    otherErrors += 1;
    lastError = `${name}: ${errorMessage(error)}`;
    if (!PERMANENT_ERRORS.has(name)) {
      permanentRun = undefined;
    } else if (permanentRun?.name !== name) {
      permanentRun = { name, since: receivedAt };
    } else if (receivedAt - permanentRun.since >= config.fatalErrorWindowMs) {
      outcome = { kind: "failed", error };
    }
  };

  const issue = (issuedAt: number): void => {
    describeCalls += 1;
    inFlight += 1;
    lastIssuedAt = issuedAt;
    const request: Request = { issuedAt, abort: new AbortController(), settled: false };
    requests.push(request);
    deps.ec2
      .send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), {
        abortSignal: request.abort.signal,
      })
      .then(
        (response) => {
          const receivedAt = clock();
          settle(request, () => onAnswer(response, issuedAt, receivedAt));
        },
        (error: unknown) => {
          const receivedAt = clock();
          settle(request, () => onError(error, issuedAt, receivedAt));
        },
      );
  };

  // After the outcome only "not yet" answers of earlier requests still count (they narrow the bracket);
  // the first decisive answer is the outcome. An abandoned request's late answer is no evidence.
  const settle = (request: Request, handle: () => void): void => {
    if (request.settled) return;
    request.settled = true;
    inFlight -= 1;
    try {
      handle();
    } catch (error) {
      if (outcome === undefined) outcome = { kind: "failed", error };
    }
    wake();
  };

  /** Abandons requests past the request timeout; returns when the oldest remaining one times out. */
  const abandonStalled = (now: number): number => {
    for (const request of requests) {
      if (request.settled || now - request.issuedAt < config.requestTimeoutMs) continue;
      request.settled = true;
      inFlight -= 1;
      abandonedCalls += 1;
      request.abort.abort();
    }
    requests = requests.filter((request) => !request.settled);
    const oldest = requests[0];
    return oldest === undefined ? Number.POSITIVE_INFINITY : oldest.issuedAt + config.requestTimeoutMs;
  };

  const waitForWake = async (until: number, now: number): Promise<void> => {
    const answered = new Promise<void>((resolve) => {
      wake = resolve;
    });
    // Rounded up: a sub-millisecond sleep would spin on a timer that fires at once.
    const sleepMs = Math.max(1, Math.ceil(until - now));
    await Promise.race([deps.sleep(sleepMs), answered]);
  };

  while (outcome === undefined) {
    const now = clock();
    const nextAbandonAt = abandonStalled(now);
    if (now >= deadline) {
      outcome = {
        kind: "failed",
        error: new RunningTimeoutError(
          `instance ${instanceId} not running after ${runningTimeoutSeconds} s (${lastSeen()})`,
        ),
      };
      break;
    }
    if (now >= nextIssueAt && inFlight < config.maxInFlight) {
      issue(now);
      // The quiet spacing never runs past the moment the close beat is due.
      nextIssueAt = now < quietUntil ? Math.min(now + spacingAt(now), quietUntil) : now + spacingAt(now);
    } else if (now < quietUntil && nextIssueAt > quietUntil) {
      nextIssueAt = quietUntil;
    }
    // With every slot taken the next request waits for an answer (which wakes the loop) or a stalled
    // request's abandonment rather than the beat; the beat still bounds the sleep so the deadline is checked.
    const wakeAt = inFlight < config.maxInFlight ? nextIssueAt : now + pace.intervalMs;
    await waitForWake(Math.min(wakeAt, deadline, nextAbandonAt), now);
  }

  if (outcome.kind === "failed") {
    for (const request of requests) request.abort.abort();
    throw outcome.error;
  }
  const running = outcome;
  // Earlier requests still out may yet answer "not yet": wait for them (bounded by the request timeout).
  for (;;) {
    const now = clock();
    const nextAbandonAt = abandonStalled(now);
    if (!requests.some((request) => request.issuedAt < running.issuedAt)) break;
    await waitForWake(nextAbandonAt, now);
  }
  for (const request of requests) request.abort.abort();
  const before = notYetSentAt.filter((sentAt) => sentAt < running.issuedAt);
  return {
    runningAt: running.runningAt,
    ...(before.length > 0 && { runningNotBefore: before.reduce((a, b) => Math.max(a, b)) }),
    pollStartedAt,
    privateIp: running.privateIp,
    describeCalls,
    throttledCalls,
    notFoundCalls,
    abandonedCalls,
    ...(expectedPendingMs !== undefined && { expectedPendingMs }),
  };

  function lastSeen(): string {
    if (lastState !== undefined) return `last state ${lastState}`;
    const parts = [`no state seen in ${describeCalls} calls`, `${notFoundCalls} not found`];
    if (throttledCalls > 0) parts.push(`${throttledCalls} throttled`);
    if (otherErrors > 0) parts.push(`${otherErrors} other errors, last ${lastError}`);
    return parts.join(", ");
  }
}

function goneError(instanceId: string, state: string, instance: Instance): InstanceTerminatedError {
  const code = instance.StateReason?.Code;
  const message = instance.StateReason?.Message;
  // EC2 usually repeats the code at the start of the message ("Server.InternalError: Internal error on
  // launch"); say it once.
  const reason =
    code === undefined
      ? (message ?? "no state reason given")
      : message === undefined || message === ""
        ? code
        : message.startsWith(code)
          ? message
          : `${code}: ${message}`;
  return new InstanceTerminatedError(`instance ${instanceId} went to ${state} before running: ${reason}`);
}

/**
 * The pending time to expect from earlier runs: the fastest of them, so that the close beat starts
 * before even a quick instance can be running. Undefined without earlier runs.
 */
export function expectedPendingFrom(pendings: readonly number[]): number | undefined {
  const valid = pendings.filter((ms) => Number.isFinite(ms) && ms > 0);
  return valid.length === 0 ? undefined : Math.min(...valid);
}
