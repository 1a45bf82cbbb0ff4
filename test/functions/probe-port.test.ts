import { monitorEventLoopDelay } from "node:perf_hooks";
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ProbePortEvent, ProbePortResult } from "../../functions/domain/contract.js";
import { CLOCK_DRIFT_LIMIT_MS } from "../../functions/domain/integrity.js";
import {
  type Connect,
  type ConnectHandlers,
  connectTcp,
  type ProbeTarget,
  probePort,
} from "../../functions/probe-port/probe.js";
import { anchorToWallClock, sleep } from "../../functions/shared/clock.js";
import type { EmulatedPort } from "../../local-cloud/emulated-port.js";
import { openEmulatedPort, settleHandles, tcpHandles } from "../support/loopback-ports.js";

/** One clock for the whole file, as the local cloud anchors one for a whole process. */
const epochMs = anchorToWallClock().now;
const INTERVAL_MS = 10;
/** Noise allowed on top of the probe interval (target: p99 error ≤ 15 ms in all). */
const SLACK_MS = 5;

/**
 * How long this process's event loop was held up while probing. The probe cannot measure better
 * than the loop lets it: when the machine is busy (other test files, other processes), the next attempt
 * and the callback that reads the clock each wait for the CPU, and a starved process can stall more
 * than once in between. The bounds below add three times the worst stall observed, so they test the
 * probe's own scheduling, not the machine's load; on an idle machine they stay near 15 ms.
 */
function loopDelay(): { maxMs(): number } {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  return {
    maxMs: () => {
      histogram.disable();
      return histogram.max / 1e6;
    },
  };
}

const opened: EmulatedPort[] = [];
async function emulatedPort(host: string): Promise<EmulatedPort> {
  const port = await openEmulatedPort(host);
  opened.push(port);
  return port;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((port) => port.close()));
});

/** The state machine's event: the probe's target, and no key pair (no guest session). */
const handlerEvent = (port: EmulatedPort, overrides: Partial<ProbeTarget> = {}): ProbePortEvent => ({
  ...probeEvent(port, overrides),
  guestKey: {},
  image: { amiId: "ami-0123456789abcdef0", name: "debian-13-amd64", architecture: "x86_64" },
});

function probeEvent(port: EmulatedPort, overrides: Partial<ProbeTarget> = {}): ProbeTarget {
  return {
    benchmarkId: "bench-1",
    runIndex: 0,
    instanceId: "i-0123456789abcdef0",
    privateIp: port.host,
    port: port.port,
    probeIntervalMs: INTERVAL_MS,
    launchRespondedAt: epochMs(),
    runningTimeoutSeconds: 5,
    openTimeoutSeconds: 5,
    ...overrides,
  };
}

/** Runs `change` and returns the clock just before and just after: the true switch lies in between. */
async function timed(change: () => Promise<void>): Promise<{ from: number; to: number }> {
  const from = epochMs();
  await change();
  return { from, to: epochMs() };
}

function expectCounts(result: ProbePortResult): void {
  const answered = result.refused + result.connected + result.unanswered + result.otherErrors;
  expect(answered).toBeLessThanOrEqual(result.attempts);
  expect(result.probeEndedAt).toBeGreaterThanOrEqual(result.probeStartedAt);
}

describe("probePort on real loopback sockets", () => {
  it("observes no answer → RST → accept: closed and open within the interval of each switch", async () => {
    const port = await emulatedPort("127.0.1.231");
    await port.silent();
    const lag = loopDelay();
    const starts: number[] = [];
    const connect: Connect = (host, portNumber, handlers) => {
      starts.push(epochMs());
      return connectTcp(host, portNumber, handlers);
    };
    const probing = probePort(probeEvent(port), { clock: epochMs, connect });
    // Longer than the 1 s abandonment, so silent attempts are reaped as unanswered.
    await sleep(1100);
    const refuse = await timed(() => port.refuse());
    await sleep(300);
    const accept = await timed(() => port.accept());
    const result = await probing;
    const bound = INTERVAL_MS + SLACK_MS + 3 * lag.maxMs();

    expect(result.status).toBe("open");
    const closedAt = result.firstClosedAt as number;
    const openAt = result.firstOpenAt as number;
    expect(closedAt).toBeGreaterThanOrEqual(refuse.from);
    expect(closedAt - refuse.to).toBeLessThanOrEqual(bound);
    expect(openAt).toBeGreaterThanOrEqual(accept.from);
    expect(openAt - accept.to).toBeLessThanOrEqual(bound);
    expect(result.probeEndedAt).toBeGreaterThanOrEqual(openAt);

    // Silent attempts whose 1 s ran out before the end are unanswered (the rest were still in flight);
    // attempts made while the port refused are refused; one SYN/ACK, where probing stops.
    const count = (keep: (start: number) => boolean): number => starts.filter(keep).length;
    const end = result.probeEndedAt;
    expect(result.unanswered).toBeGreaterThanOrEqual(count((t) => t < refuse.from && t + 1000 < end - 5));
    expect(result.unanswered).toBeLessThanOrEqual(count((t) => t + 1000 <= end + 1));
    expect(result.unanswered).toBeGreaterThan(0);
    expect(result.refused).toBeGreaterThanOrEqual(count((t) => t >= refuse.to && t < accept.from - 20));
    expect(result.refused).toBeGreaterThan(0);
    expect(result.connected).toBe(1);
    expect(result.otherErrors).toBe(0);
    // One attempt per slot of the grid, never more (missed slots are skipped, not bunched). A slot's
    // attempt may go up to 1 ms early (probe.ts, EARLY_SLACK_MS), and a SYN/ACK on loopback can end the
    // probe within that millisecond, before the slot's own time: the last slot counts from 1 ms early.
    const slots = (result.probeEndedAt - result.probeStartedAt + 1) / INTERVAL_MS;
    expect(result.attempts).toBeLessThanOrEqual(Math.floor(slots) + 1);
    expectCounts(result);
  });

  it("measures each switch within the probe interval, run after run", async () => {
    const port = await emulatedPort("127.0.1.232");
    const closedErrors: number[] = [];
    const openErrors: number[] = [];
    for (let run = 0; run < 6; run++) {
      await port.silent();
      const lag = loopDelay();
      const probing = probePort(probeEvent(port), { clock: epochMs });
      // Switch at a random phase of the probe's 10 ms grid.
      await sleep(100 + Math.random() * 20);
      const refuse = await timed(() => port.refuse());
      await sleep(100 + Math.random() * 20);
      const accept = await timed(() => port.accept());
      const result = await probing;
      const bound = INTERVAL_MS + SLACK_MS + 3 * lag.maxMs();
      await port.refuse();

      expect(result.status).toBe("open");
      closedErrors.push((result.firstClosedAt as number) - refuse.from);
      openErrors.push((result.firstOpenAt as number) - accept.from);
      expect((result.firstClosedAt as number) - refuse.to).toBeLessThanOrEqual(bound);
      expect((result.firstOpenAt as number) - accept.to).toBeLessThanOrEqual(bound);
    }
    // Never before the switch: an RST or SYN/ACK can only come from the new phase.
    for (const error of [...closedErrors, ...openErrors]) expect(error).toBeGreaterThanOrEqual(0);
  });

  it("reports closed as never seen when the port goes from no answer straight to open", async () => {
    const port = await emulatedPort("127.0.1.233");
    await port.silent();
    const lag = loopDelay();
    const probing = probePort(probeEvent(port), { clock: epochMs });
    await sleep(250);
    const accept = await timed(() => port.accept());
    const result = await probing;
    const bound = INTERVAL_MS + SLACK_MS + 3 * lag.maxMs();

    expect(result.status).toBe("open");
    expect(result.firstClosedAt).toBeUndefined();
    expect(result.refused).toBe(0);
    expect(result.firstOpenAt).toBeGreaterThanOrEqual(accept.from);
    expect((result.firstOpenAt as number) - accept.to).toBeLessThanOrEqual(bound);
    expectCounts(result);
  });

  it("times out at launchRespondedAt + running + open timeouts when the port never opens", async () => {
    const port = await emulatedPort("127.0.1.234");
    await port.silent();
    const launchRespondedAt = epochMs() - 200;
    const event = probeEvent(port, {
      launchRespondedAt,
      runningTimeoutSeconds: 0.4,
      openTimeoutSeconds: 0.6,
    });
    const deadline = launchRespondedAt + 1000;
    const lag = loopDelay();
    const probing = probePort(event, { clock: epochMs });
    await sleep(300);
    const refuse = await timed(() => port.refuse());
    const result = await probing;
    const bound = INTERVAL_MS + SLACK_MS + 3 * lag.maxMs();

    expect(result.status).toBe("timeout");
    expect(result.firstOpenAt).toBeUndefined();
    expect(result.firstClosedAt).toBeGreaterThanOrEqual(refuse.from);
    expect((result.firstClosedAt as number) - refuse.to).toBeLessThanOrEqual(bound);
    expect(result.probeEndedAt).toBeGreaterThanOrEqual(deadline);
    expect(result.probeEndedAt - deadline).toBeLessThan(bound);
    expect(result.connected).toBe(0);
    expectCounts(result);
  });

  it("times out at once when the deadline has already passed", async () => {
    const port = await emulatedPort("127.0.1.235");
    const event = probeEvent(port, { launchRespondedAt: epochMs() - 10_000, runningTimeoutSeconds: 1 });
    const result = await probePort(event, { clock: epochMs });
    expect(result).toMatchObject({ status: "timeout", attempts: 0 });
  });

  it("leaves no socket or timer behind", async () => {
    const port = await emulatedPort("127.0.1.236");
    await settleHandles();
    const handlesBefore = tcpHandles();
    const timersBefore = process.getActiveResourcesInfo().filter((type) => type === "Timeout").length;
    await port.silent();
    // ~100 sockets in flight when the SYN/ACK comes.
    const probing = probePort(probeEvent(port), { clock: epochMs });
    await sleep(900);
    await port.accept();
    expect((await probing).status).toBe("open");
    await port.refuse();
    await settleHandles();
    expect(tcpHandles()).toEqual(handlesBefore);
    const timersAfter = process.getActiveResourcesInfo().filter((type) => type === "Timeout").length;
    expect(timersAfter).toBeLessThanOrEqual(timersBefore);
  });

  it("is the Lambda handler behind probe-port", async () => {
    const port = await emulatedPort("127.0.1.237");
    await port.silent();
    await port.accept();
    const { handler } = await loadHandler();
    const result = await handler(handlerEvent(port), {} as Context);
    expect(result).toMatchObject({ status: "open", connected: 1, refused: 0 });
    // The handler runs on a freshly anchored clock and reports it.
    expect(result.clock).toEqual({
      anchorCorrectionMs: expect.any(Number),
      driftMs: expect.any(Number),
      spanMs: expect.any(Number),
    });
    expect(Math.abs(result.clock?.driftMs ?? Number.NaN)).toBeLessThanOrEqual(CLOCK_DRIFT_LIMIT_MS);
    expect(result.clock?.spanMs).toBeGreaterThanOrEqual(result.probeEndedAt - result.probeStartedAt);
  });

  it("stops, as the handler, once terminate has marked the run ended (a consistent read of the mark only)", async () => {
    const port = await emulatedPort("127.0.1.238");
    await port.silent();
    const { handler, ddb } = await loadHandler();
    ddb
      .on(GetItemCommand)
      .resolvesOnce({})
      .resolves({ Item: { endedAt: { N: "1750000000000" } } });
    const started = epochMs();
    await expect(handler(handlerEvent(port, { runIndex: 3 }), {} as Context)).rejects.toMatchObject({
      name: "BootBench.RunEnded",
    });
    // The second read (about a second in) said ended; the probe's deadline was 10 s away.
    expect(epochMs() - started).toBeLessThan(2_500);
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input).toEqual({
      TableName: "from-env",
      Key: { pk: { S: "BENCHMARK#bench-1" }, sk: { S: "LAUNCH#0003" } },
      ConsistentRead: true,
      ProjectionExpression: "endedAt",
    });
  });

  it("marks its end on the run's launch ledger, as the handler, once the port is open", async () => {
    const port = await emulatedPort("127.0.1.239");
    await port.accept();
    const { handler, ddb } = await loadHandler();
    const result = await handler(handlerEvent(port, { runIndex: 4 }), {} as Context);
    expect(result.status).toBe("open");
    expect(result).not.toHaveProperty("endMarkError");
    expect(ddb.commandCalls(UpdateItemCommand).map((call) => call.args[0].input)).toEqual([
      {
        TableName: "from-env",
        Key: { pk: { S: "BENCHMARK#bench-1" }, sk: { S: "LAUNCH#0004" } },
        UpdateExpression: "SET probeEndedAt = if_not_exists(probeEndedAt, :at)",
        ExpressionAttributeValues: { ":at": { N: String(result.probeEndedAt) } },
      },
    ]);
  });

  it("asks twice for a mark that cannot be written, then reports it and keeps the result", async () => {
    const port = await emulatedPort("127.0.1.240");
    await port.accept();
    const mark = vi.fn(async () => {
      throw Object.assign(new Error("Request timed out"), { name: "TimeoutError" });
    });
    const result = await probePort(probeEvent(port), { clock: epochMs, markProbeEnded: mark });
    expect(result).toMatchObject({ status: "open", endMarkError: "TimeoutError: Request timed out" });
    expect(mark).toHaveBeenCalledTimes(2);
    expect(mark).toHaveBeenCalledWith(result.probeEndedAt);
  });

  it("rejects a malformed event before opening any socket", async () => {
    const event = { privateIp: "not-an-ip", port: 70000, probeIntervalMs: 0 } as unknown as ProbeTarget;
    await expect(probePort(event, { clock: epochMs })).rejects.toThrow(
      /benchmarkId.*runIndex.*privateIp.*port.*probeIntervalMs/,
    );
  });
});

/** The handler, loaded with TABLE_NAME set and DynamoDB mocked: no request leaves the process. */
async function loadHandler() {
  vi.stubEnv("TABLE_NAME", "from-env");
  vi.stubEnv("CONSOLE_BUCKET", "console-bucket");
  vi.resetModules();
  const ddb = mockClient(DynamoDBClient);
  ddb.on(GetItemCommand).resolves({});
  const module = await import("../../functions/probe-port/index.js");
  return { handler: module.handler, ddb };
}

afterEach(() => {
  vi.unstubAllEnvs();
  mockClient(DynamoDBClient).restore();
});

describe("probePort asks whether the run has ended", () => {
  /** A network that never answers: the probe would run to its deadline. */
  const unanswered: Connect = () => ({ destroy: () => {} });
  const event = (): ProbeTarget => ({
    benchmarkId: "bench-1",
    runIndex: 2,
    instanceId: "i-0123456789abcdef0",
    privateIp: "10.0.1.23",
    port: 22,
    probeIntervalMs: INTERVAL_MS,
    launchRespondedAt: epochMs(),
    runningTimeoutSeconds: 5,
    openTimeoutSeconds: 5,
  });

  it("rejects with BootBench.RunEnded within one check interval of the mark, leaving no timer behind", async () => {
    let ended = false;
    const runEnded = vi.fn(async () => ended);
    const started = epochMs();
    const probing = probePort(event(), {
      clock: epochMs,
      connect: unanswered,
      runEnded,
      runEndedCheckIntervalMs: 100,
    });
    await sleep(250);
    ended = true;
    const markedAt = epochMs();
    await expect(probing).rejects.toMatchObject({
      name: "BootBench.RunEnded",
      message: expect.stringContaining("10.0.1.23:22"),
    });
    expect(epochMs() - markedAt).toBeLessThan(150);
    expect(epochMs() - started).toBeLessThan(1_000);
    expect(runEnded.mock.calls.length).toBeGreaterThanOrEqual(3);
  });

  it("goes on probing when the read fails, and asks again", async () => {
    const runEnded = vi.fn(async () => {
      throw Object.assign(new Error("connect ETIMEDOUT"), { name: "TimeoutError" });
    });
    const result = await probePort(
      { ...event(), launchRespondedAt: epochMs() - 9_400 },
      { clock: epochMs, connect: unanswered, runEnded, runEndedCheckIntervalMs: 100 },
    );
    expect(result.status).toBe("timeout");
    expect(runEnded.mock.calls.length).toBeGreaterThanOrEqual(4);
  });

  it("never waits for a read: attempts keep their grid while one read hangs, and no second read starts", async () => {
    const runEnded = vi.fn(() => new Promise<boolean>(() => {}));
    const result = await probePort(
      { ...event(), launchRespondedAt: epochMs() - 9_700 },
      { clock: epochMs, connect: unanswered, runEnded, runEndedCheckIntervalMs: 10 },
    );
    expect(result.status).toBe("timeout");
    expect(runEnded).toHaveBeenCalledTimes(1);
    // About 300 ms at one attempt every 10 ms.
    expect(result.attempts).toBeGreaterThanOrEqual(25);
  });
});

describe("probePort with overlapping attempts answered out of order", () => {
  interface Delivery {
    attempt: number;
    answer: "rst" | "synack";
    at: number;
  }

  /**
   * A scripted network: attempt n is answered after `plan(n)` ms (or never), on real timers, so the
   * answers arrive in the order the plan makes them, not in the order the attempts started. Every
   * delivered answer is recorded with the clock just before the probe's callback runs.
   */
  function scriptedConnect(plan: (n: number) => { afterMs: number; answer: "rst" | "synack" } | undefined) {
    let attempts = 0;
    const live = new Set<number>();
    const delivered: Delivery[] = [];
    const connect: Connect = (_host, _port, handlers: ConnectHandlers) => {
      const n = attempts++;
      const step = plan(n);
      let timer: NodeJS.Timeout | undefined;
      if (step !== undefined) {
        live.add(n);
        timer = setTimeout(() => {
          live.delete(n);
          delivered.push({ attempt: n, answer: step.answer, at: epochMs() });
          if (step.answer === "synack") handlers.onConnect();
          else handlers.onError(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }));
        }, step.afterMs);
      }
      return {
        destroy: () => {
          clearTimeout(timer);
          live.delete(n);
        },
      };
    };
    const earliest = (answer: Delivery["answer"]): number =>
      Math.min(...delivered.filter((d) => d.answer === answer).map((d) => d.at));
    return { connect, live, delivered, earliest };
  }

  const event = (overrides: Partial<ProbeTarget> = {}): ProbeTarget => ({
    benchmarkId: "bench-1",
    runIndex: 0,
    instanceId: "i-0123456789abcdef0",
    privateIp: "127.0.1.240",
    port: 22,
    probeIntervalMs: INTERVAL_MS,
    launchRespondedAt: epochMs(),
    runningTimeoutSeconds: 2,
    openTimeoutSeconds: 2,
    ...overrides,
  });

  it("takes the earliest RST arrival, not the RST of the earliest attempt", async () => {
    // #0-#2: no answer. #3's RST arrives late (+150 ms); #4's after 2 ms, ~100 ms before #3's.
    // Nothing ever accepts, so the probe runs to its deadline and sees both.
    const network = scriptedConnect((n) => {
      if (n === 3) return { afterMs: 150, answer: "rst" };
      if (n === 4) return { afterMs: 2, answer: "rst" };
      return undefined;
    });
    const lag = loopDelay();
    const result = await probePort(event({ runningTimeoutSeconds: 0.5, openTimeoutSeconds: 0.5 }), {
      clock: epochMs,
      connect: network.connect,
    });

    expect(result.status).toBe("timeout");
    expect(result.refused).toBe(2);
    expect(network.delivered.map((d) => d.attempt).sort()).toEqual([3, 4]);
    const first = network.earliest("rst");
    expect(result.firstClosedAt).toBeGreaterThanOrEqual(first);
    expect((result.firstClosedAt as number) - first).toBeLessThanOrEqual(1 + lag.maxMs());
    expect(network.live.size).toBe(0);
  });

  it("stops at the earliest SYN/ACK arrival, even when earlier attempts are still to answer", async () => {
    // #3: RST after 2 ms. #5-#9: slow SYN/ACKs (+80 ms). #10: SYN/ACK after 1 ms, which arrives
    // first (at ~101 ms, #5's would come at ~130 ms): the probe stops there and drops #5-#9.
    const network = scriptedConnect((n) => {
      if (n === 3) return { afterMs: 2, answer: "rst" };
      if (n >= 5 && n < 10) return { afterMs: 80, answer: "synack" };
      if (n >= 10) return { afterMs: 1, answer: "synack" };
      return undefined;
    });
    const lag = loopDelay();
    const result = await probePort(event(), { clock: epochMs, connect: network.connect });

    expect(result.status).toBe("open");
    expect(result.connected).toBe(1);
    expect(result.refused).toBe(1);
    const first = network.earliest("synack");
    expect(result.firstOpenAt).toBeGreaterThanOrEqual(first);
    expect((result.firstOpenAt as number) - first).toBeLessThanOrEqual(1 + lag.maxMs());
    expect(result.firstClosedAt as number).toBeLessThan(result.firstOpenAt as number);
    // Probing stopped at the first SYN/ACK: nothing is left in flight. (Normally #10's SYN/ACK is the
    // first; on a starved machine #5's can come first, which the rule handles just the same.)
    expect(network.live.size).toBe(0);
    expect(result.attempts).toBeGreaterThanOrEqual(6);
  });

  it("abandons attempts after the attempt timeout; a late answer changes nothing", async () => {
    // #0's SYN/ACK would come after 80 ms, but #0 is abandoned at 50 ms; #1-#3 and #5+ never
    // answer; #4 gets an RST at once. The probe must time out, having seen closed only.
    const network = scriptedConnect((n) => {
      if (n === 0) return { afterMs: 80, answer: "synack" };
      if (n === 4) return { afterMs: 0, answer: "rst" };
      return undefined;
    });
    const probeEvent = event({ runningTimeoutSeconds: 0.5, openTimeoutSeconds: 0.5 });
    const result = await probePort(probeEvent, {
      clock: epochMs,
      connect: network.connect,
      attemptTimeoutMs: 50,
    });

    expect(result.status).toBe("timeout");
    expect(result.firstOpenAt).toBeUndefined();
    expect(result.firstClosedAt).toBeDefined();
    expect(result.connected).toBe(0);
    expect(result.refused).toBe(1);
    // Every attempt started more than 50 ms before the 1 s deadline has been abandoned.
    expect(result.unanswered).toBeGreaterThan(result.attempts / 2);
    expect(result.unanswered).toBeLessThan(result.attempts);
    expect(network.live.size).toBe(0);
  });
});

describe("probePort lower ends of the brackets (virtual time)", () => {
  // vitest's fake timers drive the probe's timer and the scripted answers, and the clock reads the same
  // fake time, so every attempt starts exactly on its 10 ms slot and the lower ends are exact.
  const T0 = 1_750_000_000_000;

  let scriptedAttempts = 0;
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    scriptedAttempts = 0;
  });
  afterEach(() => {
    vi.clearAllTimers();
    vi.useRealTimers();
  });

  /** Attempt n (started at T0 + 10 n) is answered `afterMs` later, or never. */
  const scripted =
    (plan: (n: number) => { afterMs: number; answer: "rst" | "synack" } | undefined): Connect =>
    (_host, _port, handlers) => {
      const step = plan(scriptedAttempts++);
      const timer =
        step === undefined
          ? undefined
          : setTimeout(() => {
              if (step.answer === "synack") handlers.onConnect();
              else handlers.onError(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }));
            }, step.afterMs);
      return { destroy: () => clearTimeout(timer) };
    };

  const probeEvent: ProbeTarget = {
    benchmarkId: "bench-1",
    runIndex: 0,
    instanceId: "i-0123456789abcdef0",
    privateIp: "10.0.1.23",
    port: 22,
    probeIntervalMs: INTERVAL_MS,
    launchRespondedAt: T0,
    runningTimeoutSeconds: 120,
    openTimeoutSeconds: 600,
  };

  async function probe(connect: Connect, attemptTimeoutMs?: number): Promise<ProbePortResult> {
    let result: ProbePortResult | undefined;
    void probePort(probeEvent, {
      clock: () => Date.now(),
      connect,
      ...(attemptTimeoutMs !== undefined && { attemptTimeoutMs }),
    }).then((value) => {
      result = value;
    });
    while (result === undefined && Date.now() - T0 < 10_000) await vi.advanceTimersByTimeAsync(1);
    if (result === undefined) throw new Error("probe still going after 10 s of virtual time");
    return result;
  }

  it("bounds closed by the latest unanswered attempt before the first RST's, which need not be the first to start", async () => {
    // #0-#4 (0-40 ms) are never answered and abandoned after 50 ms. #5's RST is slow (at 80), so #6's
    // (at 62) is the first; #7-#19 are refused at once and #20 (200) gets the SYN/ACK.
    const result = await probe(
      scripted((n) => {
        if (n < 5) return undefined;
        if (n === 5) return { afterMs: 30, answer: "rst" };
        if (n === 6) return { afterMs: 2, answer: "rst" };
        if (n < 20) return { afterMs: 1, answer: "rst" };
        return { afterMs: 1, answer: "synack" };
      }),
      50,
    );
    expect(result).toMatchObject({
      status: "open",
      probeStartedAt: T0,
      // #5 started later than #4 but was refused: an RST is no evidence of "not yet closed".
      closedNotBefore: T0 + 40,
      firstClosedAt: T0 + 62,
      openNotBefore: T0 + 190,
      firstOpenAt: T0 + 201,
      attempts: 21,
      unanswered: 5,
      refused: 15,
      connected: 1,
    });
  });

  it("takes attempts still unanswered at the end as not yet, if they started before the decisive attempt", async () => {
    // Silent for 200 ms (nothing is old enough to be abandoned after 1 s), then #20 (200) gets a
    // SYN/ACK 15 ms later; #21 (210) is still waiting then, but started after #20.
    const result = await probe(scripted((n) => (n === 20 ? { afterMs: 15, answer: "synack" } : undefined)));
    expect(result).toMatchObject({
      status: "open",
      openNotBefore: T0 + 190,
      firstOpenAt: T0 + 215,
      attempts: 22,
      // Evidence, not abandonment: none of them reached the 1 s attempt timeout.
      unanswered: 0,
      refused: 0,
      connected: 1,
    });
    expect(result).not.toHaveProperty("firstClosedAt");
    expect(result).not.toHaveProperty("closedNotBefore");
  });

  it("bounds closed by attempts still waiting at the end when the port opened within a second of closing", async () => {
    // #0-#9 (0-90 ms) silent and still waiting at the end; #10-#14 refused; #15 (150) accepted.
    const result = await probe(
      scripted((n) => {
        if (n < 10) return undefined;
        return { afterMs: 1, answer: n < 15 ? "rst" : "synack" };
      }),
    );
    expect(result).toMatchObject({
      closedNotBefore: T0 + 90,
      firstClosedAt: T0 + 101,
      openNotBefore: T0 + 140,
      firstOpenAt: T0 + 151,
      unanswered: 0,
      refused: 5,
    });
  });

  it("reports no lower end when the very first attempt was answered", async () => {
    const result = await probe(scripted(() => ({ afterMs: 1, answer: "synack" })));
    expect(result).toMatchObject({ status: "open", firstOpenAt: T0 + 1, attempts: 1 });
    expect(result).not.toHaveProperty("openNotBefore");
  });
});
