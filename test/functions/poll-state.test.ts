import {
  DescribeInstancesCommand,
  type DescribeInstancesCommandOutput,
  EC2Client,
  type Instance,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { PollStateEvent } from "../../functions/domain/contract.js";
import { ErrorNames } from "../../functions/domain/contract.js";
import { type PollStateDeps, pollState } from "../../functions/poll-state/poll-state.js";
import { anchorToWallClock, sleep } from "../../functions/shared/clock.js";
import { ec2Error } from "./ec2-test-helpers.js";

// Virtual time: vitest's fake timers drive the real sleep (setTimeout) and the mocked responses'
// delays, and the injected clock reads the same fake time, so timings are exact and tests take ms.
const T0 = 1_750_000_000_000;
const INSTANCE = "i-0123456789abcdef0";
const ec2Mock = mockClient(EC2Client);
const deps: PollStateDeps = { ec2: new EC2Client({}), clock: () => Date.now(), sleep };

const event = (overrides: Partial<PollStateEvent> = {}): PollStateEvent => ({
  benchmarkId: "bench-1",
  runIndex: 0,
  instanceId: INSTANCE,
  launchRespondedAt: T0,
  runningTimeoutSeconds: 120,
  ...overrides,
});

type Answer = { after?: number } & (
  | { state: string; ip?: boolean; reason?: Instance["StateReason"] }
  | { error: Error }
);

const pending: Answer = { state: "pending" };
const running: Answer = { state: "running", ip: true };
const notFound = (): Answer => ({ error: ec2Error("InvalidInstanceID.NotFound") });
const throttled = (after?: number): Answer => ({
  after,
  error: ec2Error("RequestLimitExceeded", "Request limit exceeded."),
});

/** Scripts DescribeInstances by call number and records when each call was issued, and how many
 * earlier calls were still unanswered at that moment. */
function script(answerFor: (call: number) => Answer) {
  const issuedAt: number[] = [];
  const unansweredAtIssue: number[] = [];
  let unanswered = 0;
  ec2Mock.on(DescribeInstancesCommand).callsFake(() => {
    const call = issuedAt.length;
    issuedAt.push(Date.now() - T0);
    unansweredAtIssue.push(unanswered);
    unanswered += 1;
    const answer = answerFor(call);
    return new Promise<DescribeInstancesCommandOutput>((resolve, reject) => {
      const respond = () => {
        unanswered -= 1;
        if ("error" in answer) return reject(answer.error);
        const instance: Instance = { InstanceId: INSTANCE, State: { Name: answer.state as never } };
        if (answer.ip) instance.PrivateIpAddress = "10.0.1.23";
        if (answer.reason) instance.StateReason = answer.reason;
        resolve({ $metadata: {}, Reservations: [{ Instances: [instance] }] });
      };
      // A zero-delay timer would fire a millisecond later; an instant answer arrives at the same time.
      if (answer.after === undefined) respond();
      else setTimeout(respond, answer.after);
    });
  });
  return { issuedAt, unansweredAtIssue };
}

/** Advances virtual time until the poll settles; `at` is the virtual time it settled, relative to T0. */
async function drive<T>(promise: Promise<T>, limitMs = 20_000) {
  const box: { settled?: { value?: T; error?: unknown; at: number } } = {};
  promise.then(
    (value) => {
      box.settled = { value, at: Date.now() - T0 };
    },
    (error: unknown) => {
      box.settled = { error, at: Date.now() - T0 };
    },
  );
  while (box.settled === undefined && Date.now() - T0 < limitMs) await vi.advanceTimersByTimeAsync(10);
  if (box.settled === undefined) throw new Error(`poll still going after ${limitMs} ms of virtual time`);
  return box.settled;
}

const gaps = (times: number[]) => times.slice(1).map((time, i) => time - (times[i] ?? 0));

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  ec2Mock.reset();
});
afterEach(() => {
  vi.clearAllTimers();
  vi.useRealTimers();
});

describe("pollState", () => {
  it("keeps polling through InvalidInstanceID.NotFound and reports running", async () => {
    const { issuedAt } = script((call) => (call < 3 ? notFound() : call < 5 ? pending : running));
    const { value } = await drive(pollState(event({ launchRespondedAt: T0 - 400 }), deps));
    expect(value).toEqual({
      runningAt: T0 + 500,
      // The last "not yet" (pending) was the request sent at 400: running lies in (400, 500].
      runningNotBefore: T0 + 400,
      pollStartedAt: T0,
      privateIp: "10.0.1.23",
      describeCalls: 6,
      throttledCalls: 0,
      notFoundCalls: 3,
      abandonedCalls: 0,
    });
    expect(issuedAt).toEqual([0, 100, 200, 300, 400, 500]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: [INSTANCE],
    });
  });

  it("does not count running without a private IP as running", async () => {
    script((call) => (call < 4 ? { state: "running" } : running));
    const { value } = await drive(pollState(event(), deps));
    expect(value).toMatchObject({ runningAt: T0 + 400, describeCalls: 5 });
  });

  it("rides out other errors", async () => {
    script((call) =>
      call < 3 ? { error: ec2Error("InternalError", "An internal error", "server") } : running,
    );
    const { value } = await drive(pollState(event(), deps));
    expect(value).toMatchObject({ runningAt: T0 + 300, describeCalls: 4, notFoundCalls: 0 });
  });

  it("starts requests on the beat while earlier ones are unanswered", async () => {
    const { issuedAt, unansweredAtIssue } = script((call) =>
      call < 6 ? { ...pending, after: 250 } : running,
    );
    const { value } = await drive(pollState(event(), deps));
    expect(issuedAt).toEqual([0, 100, 200, 300, 400, 500, 600]);
    expect(unansweredAtIssue).toEqual([0, 1, 2, 2, 2, 2, 2]);
    expect(value?.runningAt).toBe(T0 + 600);
  });

  it("polls quietly while earlier runs say the instance cannot be running yet, then closely", async () => {
    // Running from 950 ms on; earlier runs of the benchmark took 1 s (the fastest counts).
    const { issuedAt } = script(() => (Date.now() - T0 >= 950 ? running : pending));
    const { value } = await drive(
      pollState(event(), { ...deps, earlierPendingMs: () => Promise.resolve([1_200, 1_000, 1_100]) }),
    );
    // The first request goes before the lookup answers (plain beat); then 500 ms apart until 90 % of
    // the expected pending time, 900 ms; then every 40 ms.
    expect(issuedAt).toEqual([0, 100, 600, 900, 940, 980]);
    expect(value?.runningAt).toBe(T0 + 980);
    expect(value?.runningNotBefore).toBe(T0 + 940);
    expect(value?.expectedPendingMs).toBe(1_000);
  });

  it("keeps the plain beat when the lookup of earlier runs fails or finds none", async () => {
    for (const earlierPendingMs of [() => Promise.reject(new Error("no table")), () => Promise.resolve([])]) {
      ec2Mock.reset();
      vi.setSystemTime(T0);
      const { issuedAt } = script((call) => (call < 3 ? pending : running));
      const { value } = await drive(pollState(event(), { ...deps, earlierPendingMs }));
      expect(issuedAt).toEqual([0, 100, 200, 300]);
      expect(value?.expectedPendingMs).toBeUndefined();
    }
  });

  it("keeps at most four requests in flight", async () => {
    const { issuedAt, unansweredAtIssue } = script((call) =>
      call < 6 ? { ...pending, after: 1_000 } : running,
    );
    await drive(pollState(event(), deps));
    // The fifth request waits for the first answer (at 1000) instead of the beat.
    expect(issuedAt.slice(0, 6)).toEqual([0, 100, 200, 300, 1_000, 1_100]);
    expect(Math.max(...unansweredAtIssue)).toBe(3);
  });

  it("takes runningAt from the receipt of the first running answer, not from when it was requested", async () => {
    const { issuedAt } = script(
      (call) =>
        [
          { ...pending, after: 700 }, // answers last: it cannot change runningAt, only the bracket
          { ...pending, after: 50 },
          { ...running, after: 250 }, // issued at 200, received at 450
          { ...running, after: 30 }, // issued at 300, received at 330: the first to say running
        ][call] ?? running,
    );
    const { value, at } = await drive(pollState(event(), deps));
    expect(issuedAt).toEqual([0, 100, 200, 300]);
    expect(value?.runningAt).toBe(T0 + 330);
    // Requests sent before the running one are waited for: the pending sent at 0 answers at 700.
    expect(value?.runningNotBefore).toBe(T0 + 100);
    expect(at).toBe(700);
  });

  it("backs off on RequestLimitExceeded and recovers gradually", async () => {
    const { issuedAt } = script((call) => (call < 3 ? throttled() : call < 25 ? pending : running));
    const { value } = await drive(pollState(event(), deps));
    expect(value).toMatchObject({ throttledCalls: 3, describeCalls: 26 });
    const spacing = gaps(issuedAt);
    expect(spacing.slice(0, 3)).toEqual([200, 400, 800]);
    expect(spacing.at(-1)).toBe(100);
    // Unthrottled, 3 s of polling would have taken 30 calls.
    expect(issuedAt.filter((time) => time < 3_000).length).toBeLessThan(10);
  });

  it("backs off once for a burst of throttles caused by the same rate", async () => {
    const { issuedAt } = script((call) => (call < 4 ? throttled(350) : call < 8 ? pending : running));
    const { value } = await drive(pollState(event(), deps));
    expect(value?.throttledCalls).toBe(4);
    // Four throttles in a row for requests sent before the first arrived: ×2, not ×16.
    expect(issuedAt.slice(0, 6)).toEqual([0, 100, 200, 300, 500, 700]);
  });

  it.each([
    [
      "terminated",
      { Code: "Server.InternalError", Message: "Server.InternalError: Internal error on launch" },
      `instance ${INSTANCE} went to terminated before running: Server.InternalError: Internal error on launch`,
    ],
    [
      "shutting-down",
      { Code: "Client.VolumeLimitExceeded", Message: "Volume limit exceeded" },
      `instance ${INSTANCE} went to shutting-down before running: Client.VolumeLimitExceeded: Volume limit exceeded`,
    ],
  ])("fails when the instance goes to %s, with the state reason", async (state, reason, message) => {
    script((call) => (call < 2 ? pending : { state, reason }));
    const { error } = await drive(pollState(event(), deps));
    expect(error).toMatchObject({ name: ErrorNames.instanceTerminated, message });
  });

  it("times out at launchRespondedAt + runningTimeoutSeconds, naming the last state", async () => {
    script(() => pending);
    const { error, at } = await drive(
      pollState(event({ launchRespondedAt: T0 - 500, runningTimeoutSeconds: 2 }), deps),
    );
    expect(error).toMatchObject({
      name: ErrorNames.runningTimeout,
      message: `instance ${INSTANCE} not running after 2 s (last state pending)`,
    });
    expect(at).toBe(1_500);
  });

  it("says so when a timed-out instance never became visible", async () => {
    script(() => notFound());
    const { error } = await drive(pollState(event({ runningTimeoutSeconds: 1 }), deps));
    expect(error).toMatchObject({
      name: ErrorNames.runningTimeout,
      message: `instance ${INSTANCE} not running after 1 s (no state seen in 10 calls, 10 not found)`,
    });
  });

  it("throws a permanent error once it has been the only answer for 10 s", async () => {
    const calls = script(() => ({ error: ec2Error("UnauthorizedOperation", "You are not authorized") }));
    const { error, at } = await drive(pollState(event(), deps));
    expect(error).toMatchObject({ name: "UnauthorizedOperation", message: "You are not authorized" });
    expect(at).toBe(10_000);
    expect(calls.issuedAt).toHaveLength(101);
  });

  it("does not give up on a permanent error that other answers interrupt", async () => {
    script((call) => (call % 2 === 0 ? { error: ec2Error("AuthFailure") } : notFound()));
    const { error } = await drive(pollState(event({ runningTimeoutSeconds: 15 }), deps));
    expect(error).toMatchObject({ name: ErrorNames.runningTimeout });
  });
});

describe("pollState on real time", () => {
  it("polls with the real clock and sleep", async () => {
    vi.useRealTimers();
    script((call) => (call < 3 ? notFound() : running));
    const clock = anchorToWallClock().now;
    const start = clock();
    const result = await pollState(event({ launchRespondedAt: start }), {
      ec2: deps.ec2,
      clock,
      sleep,
      config: { pollIntervalMs: 5 },
    });
    expect(result).toMatchObject({ describeCalls: 4, notFoundCalls: 3 });
    expect(result.runningAt - start).toBeGreaterThanOrEqual(14);
    expect(result.runningAt - start).toBeLessThan(1_000);
  });
});

describe("pollState brackets and stalled requests", () => {
  /** Like `Answer`, plus an empty answer (the instance not visible yet) and requests that never answer. */
  type SignalledAnswer = Answer | { after?: number; empty: true } | "never";

  /**
   * A DescribeInstances endpoint that receives the request's abort signal, which aws-sdk-client-mock's
   * fakes are not given. A request that never answers rejects with AbortError once aborted, as the SDK
   * does; `ignoresAbort` answers anyway (a response already on its way).
   */
  function signalledEc2(answerFor: (call: number) => SignalledAnswer, ignoresAbort = false) {
    const calls: { issuedAt: number; signal: AbortSignal | undefined }[] = [];
    const send = (_command: DescribeInstancesCommand, options?: { abortSignal?: AbortSignal }) => {
      const signal = options?.abortSignal;
      calls.push({ issuedAt: Date.now() - T0, signal });
      const answer = answerFor(calls.length - 1);
      return new Promise<DescribeInstancesCommandOutput>((resolve, reject) => {
        if (!ignoresAbort) {
          signal?.addEventListener("abort", () =>
            reject(Object.assign(new Error("aborted"), { name: "AbortError" })),
          );
        }
        if (answer === "never") return;
        const respond = () => {
          if ("error" in answer) return reject(answer.error);
          if ("empty" in answer) return resolve({ $metadata: {}, Reservations: [] });
          const instance: Instance = { InstanceId: INSTANCE, State: { Name: answer.state as never } };
          if (answer.ip) instance.PrivateIpAddress = "10.0.1.23";
          resolve({ $metadata: {}, Reservations: [{ Instances: [instance] }] });
        };
        if (answer.after === undefined) respond();
        else setTimeout(respond, answer.after);
      });
    };
    const pollDeps = (config: PollStateDeps["config"] = {}): PollStateDeps => ({
      ec2: { send } as unknown as EC2Client,
      clock: () => Date.now(),
      sleep,
      config,
    });
    return { calls, pollDeps };
  }

  it("abandons requests that never answer, frees their slots and still sees running", async () => {
    const { calls, pollDeps } = signalledEc2((call) => (call < 4 ? "never" : running));
    const { value, at } = await drive(pollState(event(), pollDeps()));
    // Four stalled requests fill every slot; at 2000 the first is abandoned and the fifth goes out.
    expect(calls.map((call) => call.issuedAt)).toEqual([0, 100, 200, 300, 2_000]);
    expect(value).toEqual({
      runningAt: T0 + 2_000,
      pollStartedAt: T0,
      privateIp: "10.0.1.23",
      describeCalls: 5,
      throttledCalls: 0,
      notFoundCalls: 0,
      abandonedCalls: 4,
    });
    // No request answered "not yet": the poll has no lower end for running.
    expect(value).not.toHaveProperty("runningNotBefore");
    expect(calls.map((call) => call.signal?.aborted)).toEqual([true, true, true, true, false]);
    // The three sent before the running one were waited for until their own timeout.
    expect(at).toBe(2_300);
  });

  it("abandons after requestTimeoutMs", async () => {
    const { calls, pollDeps } = signalledEc2((call) => (call < 4 ? "never" : running));
    const { value } = await drive(pollState(event(), pollDeps({ requestTimeoutMs: 500 })));
    expect(calls.map((call) => call.issuedAt)).toEqual([0, 100, 200, 300, 500]);
    expect(value).toMatchObject({ runningAt: T0 + 500, abandonedCalls: 4 });
  });

  it.each([
    ["pending", pending],
    ["running without an address", { state: "running" }],
  ])("takes runningNotBefore from a %s answer that arrives after the running one", async (_kind, notYet) => {
    const { calls, pollDeps } = signalledEc2(
      (call) =>
        [
          pending, // sent at 0, answered at once
          { ...notYet, after: 500 }, // sent at 100, answered at 600: the latest "not yet" sent before running
          { ...running, after: 50 }, // sent at 200, answered at 250
        ][call] ?? "never",
    );
    const { value, at } = await drive(pollState(event(), pollDeps()));
    expect(calls.map((call) => call.issuedAt)).toEqual([0, 100, 200]);
    expect(value).toMatchObject({ runningAt: T0 + 250, runningNotBefore: T0 + 100, abandonedCalls: 0 });
    expect(at).toBe(600);
  });

  it.each([
    ["InvalidInstanceID.NotFound", notFound()],
    ["an empty answer", { empty: true } as const],
  ])(
    "takes no evidence from %s: an instance can be running and still invisible",
    async (_kind, invisible) => {
      const { value, at } = await drive(
        pollState(
          event(),
          signalledEc2(
            (call) =>
              [
                pending, // sent at 0: the only "not yet"
                { ...invisible, after: 20 }, // sent at 100, answered at 120
                { ...invisible, after: 500 }, // sent at 200, answered at 700, after running
                { ...running, after: 50 }, // sent at 300, answered at 350
              ][call] ?? "never",
          ).pollDeps(),
        ),
      );
      expect(value).toMatchObject({ runningAt: T0 + 350, runningNotBefore: T0 });
      // The late one was still waited for: it could have said pending.
      expect(at).toBe(700);
    },
  );

  it("ignores not-yet answers to requests sent after the one that said running", async () => {
    // Eventual consistency: requests sent later may still be answered by a replica that says pending.
    const { pollDeps } = signalledEc2(
      (call) =>
        [
          pending, // sent at 0
          { ...running, after: 250 }, // sent at 100, answered at 350
          pending, // sent at 200
          notFound(), // sent at 300
        ][call] ?? "never",
    );
    const { value } = await drive(pollState(event(), pollDeps()));
    expect(value).toMatchObject({ runningAt: T0 + 350, runningNotBefore: T0, describeCalls: 4 });
  });

  it("takes no evidence from the late answer of an abandoned request", async () => {
    const { calls, pollDeps } = signalledEc2(
      (call) =>
        [
          { ...pending, after: 320 }, // sent at 0, abandoned at 300, answered at 320 all the same
          { ...running, after: 250 }, // sent at 100, answered at 350
        ][call] ?? "never",
      true,
    );
    const { value, at } = await drive(pollState(event(), pollDeps({ requestTimeoutMs: 300 })));
    expect(value).toMatchObject({ runningAt: T0 + 350, abandonedCalls: 1, describeCalls: 4 });
    expect(value).not.toHaveProperty("runningNotBefore");
    expect(at).toBe(350);
    // The requests still out when it returns are aborted too, without counting as abandoned.
    expect(calls.map((call) => call.signal?.aborted)).toEqual([true, false, true, true]);
  });

  it("aborts every request still out when it fails", async () => {
    const { calls, pollDeps } = signalledEc2(() => "never");
    const { error, at } = await drive(pollState(event({ runningTimeoutSeconds: 1 }), pollDeps()));
    expect(error).toMatchObject({
      name: ErrorNames.runningTimeout,
      message: `instance ${INSTANCE} not running after 1 s (no state seen in 4 calls, 0 not found)`,
    });
    expect(at).toBe(1_000);
    expect(calls.map((call) => call.signal?.aborted)).toEqual([true, true, true, true]);
  });
});
