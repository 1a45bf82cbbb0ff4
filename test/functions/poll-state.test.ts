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
import { sleep } from "../../functions/shared/clock.js";
import { ec2Error } from "./ec2-test-helpers.js";

// Virtual time: vitest's fake timers drive the real sleep (setTimeout) and the mocked responses'
// delays, and the injected clock reads the same fake time, so timings are exact and tests take ms.
const T0 = 1_750_000_000_000;
const INSTANCE = "i-0123456789abcdef0";
const ec2Mock = mockClient(EC2Client);
const deps: PollStateDeps = { ec2: new EC2Client({}), clock: () => Date.now(), sleep };

const event = (overrides: Partial<PollStateEvent> = {}): PollStateEvent => ({
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
      privateIp: "10.0.1.23",
      describeCalls: 6,
      throttledCalls: 0,
      notFoundCalls: 3,
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
          { ...pending, after: 700 }, // answers last, and is ignored
          { ...pending, after: 50 },
          { ...running, after: 250 }, // issued at 200, received at 450
          { ...running, after: 30 }, // issued at 300, received at 330: the first to say running
        ][call] ?? running,
    );
    const { value, at } = await drive(pollState(event(), deps));
    expect(issuedAt).toEqual([0, 100, 200, 300]);
    expect(value?.runningAt).toBe(T0 + 330);
    expect(at).toBeLessThan(450);
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
    const start = performance.timeOrigin + performance.now();
    const result = await pollState(event({ launchRespondedAt: start }), {
      ec2: deps.ec2,
      clock: () => performance.timeOrigin + performance.now(),
      sleep,
      config: { pollIntervalMs: 5 },
    });
    expect(result).toMatchObject({ describeCalls: 4, notFoundCalls: 3 });
    expect(result.runningAt - start).toBeGreaterThanOrEqual(14);
    expect(result.runningAt - start).toBeLessThan(1_000);
  });
});
