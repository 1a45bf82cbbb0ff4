import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ATTEMPT_TIMEOUT_MS,
  type AttemptOutcome,
  type ConnectAnswer,
  classifyAnswer,
  emptyObservation,
  foldOutcomes,
  NotYetEvidence,
  recordOutcome,
} from "../../functions/domain/probe-classifier.js";
import { connectTcp } from "../../functions/probe-port/probe.js";
import { anchorToWallClock } from "../../functions/shared/clock.js";
import type { EmulatedPort } from "../../local-cloud/emulated-port.js";
import { openEmulatedPort } from "../support/loopback-ports.js";

const refused: ConnectAnswer = { type: "error", code: "ECONNREFUSED" };
const synAck: ConnectAnswer = { type: "connect" };

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe("classifyAnswer", () => {
  it("classifies by what answered and when it arrived", () => {
    expect(classifyAnswer(100, 100.4, refused)).toEqual({ kind: "closed", startedAt: 100, at: 100.4 });
    expect(classifyAnswer(100, 103.25, synAck)).toEqual({ kind: "open", startedAt: 100, at: 103.25 });
    for (const code of ["EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ECONNRESET", "EMFILE"]) {
      expect(classifyAnswer(100, 101, { type: "error", code })).toEqual({
        kind: "other",
        startedAt: 100,
        at: 101,
        code,
      });
    }
    expect(classifyAnswer(100, 101, { type: "error" })).toEqual({
      kind: "other",
      startedAt: 100,
      at: 101,
      code: "UNKNOWN",
    });
  });

  it("treats an answer after the 1 s abandonment as no answer", () => {
    expect(ATTEMPT_TIMEOUT_MS).toBe(1000);
    expect(classifyAnswer(0, 1000, synAck)).toEqual({ kind: "open", startedAt: 0, at: 1000 });
    expect(classifyAnswer(0, 1000.01, synAck)).toEqual({ kind: "unanswered", startedAt: 0 });
    expect(classifyAnswer(0, 1003, refused)).toEqual({ kind: "unanswered", startedAt: 0 });
    expect(classifyAnswer(0, 60, refused, 50)).toEqual({ kind: "unanswered", startedAt: 0 });
  });
});

describe("folding outcomes", () => {
  it("keeps the earliest arrivals, whatever order the attempts finish in", () => {
    // Attempts start every 10 ms. #0 (t=0) gets no answer; #1 (t=10) is answered by an RST that
    // arrives late, at 40; #2 (t=20) by an RST at 21 — the earliest closed, though it started later;
    // #3 (t=30) by a SYN/ACK at 31; #4 (t=40) by a SYN/ACK at 41; #5 fails with EHOSTUNREACH.
    const outcomes: AttemptOutcome[] = [
      classifyAnswer(0, 1000.5, refused), // the retransmitted SYN of #0 answered after abandonment
      classifyAnswer(10, 40, refused),
      classifyAnswer(20, 21, refused),
      classifyAnswer(30, 31, synAck),
      classifyAnswer(40, 41, synAck),
      classifyAnswer(50, 52, { type: "error", code: "EHOSTUNREACH" }),
    ];
    const expected = {
      firstClosed: { startedAt: 20, at: 21 },
      firstOpen: { startedAt: 30, at: 31 },
      refused: 2,
      connected: 2,
      unanswered: 1,
      otherErrors: 1,
    };
    for (const order of permutations(outcomes)) expect(foldOutcomes(order)).toEqual(expected);
  });

  it("never lets a late timeout of an early attempt undo a later RST or SYN/ACK", () => {
    let observation = recordOutcome(emptyObservation(), { kind: "closed", startedAt: 499, at: 500 });
    observation = recordOutcome(observation, { kind: "open", startedAt: 699, at: 700 });
    // Attempts started before the RST time out afterwards: they count, and change nothing else.
    for (let i = 0; i < 5; i++) {
      observation = recordOutcome(observation, { kind: "unanswered", startedAt: 400 + 10 * i });
    }
    observation = recordOutcome(observation, {
      kind: "other",
      startedAt: 799,
      at: 800,
      code: "EHOSTUNREACH",
    });
    expect(observation).toEqual({
      firstClosed: { startedAt: 499, at: 500 },
      firstOpen: { startedAt: 699, at: 700 },
      refused: 1,
      connected: 1,
      unanswered: 5,
      otherErrors: 1,
    });
  });

  it("leaves closed undefined when the port was never seen closed", () => {
    const observation = foldOutcomes([
      { kind: "unanswered", startedAt: 0 },
      { kind: "unanswered", startedAt: 4 },
      { kind: "open", startedAt: 8, at: 9 },
    ]);
    expect(observation.firstClosed).toBeUndefined();
    expect(observation.firstOpen).toEqual({ startedAt: 8, at: 9 });
    expect(foldOutcomes([])).toEqual(emptyObservation());
  });
});

describe("NotYetEvidence", () => {
  const lowerEndsOf = (outcomes: readonly AttemptOutcome[]) => {
    const evidence = new NotYetEvidence();
    for (const outcome of outcomes) evidence.add(outcome);
    return evidence.lowerEnds(foldOutcomes(outcomes));
  };

  it("bounds closed by unanswered attempts and open by unanswered or refused ones, whatever the arrival order", () => {
    const outcomes: AttemptOutcome[] = [
      { kind: "unanswered", startedAt: 0 },
      { kind: "closed", startedAt: 10, at: 35 }, // an RST that arrives late: not the first
      { kind: "unanswered", startedAt: 15 }, // the latest "not yet" before the first RST's attempt
      { kind: "closed", startedAt: 20, at: 21 }, // the first RST
      { kind: "closed", startedAt: 30, at: 31 }, // the latest "not yet open" before the first SYN/ACK's attempt
      { kind: "open", startedAt: 40, at: 41 }, // the first SYN/ACK
      { kind: "unanswered", startedAt: 50 }, // started after the open attempt: no evidence for it
    ];
    for (const order of permutations(outcomes)) {
      expect(lowerEndsOf(order)).toEqual({ closedNotBefore: 15, openNotBefore: 30 });
    }
  });

  it("never takes an RST for evidence that the port was not yet closed", () => {
    expect(
      lowerEndsOf([
        { kind: "closed", startedAt: 10, at: 40 },
        { kind: "closed", startedAt: 20, at: 21 },
      ]),
    ).toEqual({});
  });

  it("counts only attempts started strictly before the decisive one, and no other errors", () => {
    expect(
      lowerEndsOf([
        { kind: "unanswered", startedAt: 5 },
        { kind: "other", startedAt: 8, at: 9, code: "EHOSTUNREACH" },
        { kind: "unanswered", startedAt: 10 }, // the same start as the open attempt
        { kind: "open", startedAt: 10, at: 11 },
      ]),
    ).toEqual({ openNotBefore: 5 });
  });

  it("gives no lower end without a first arrival to bound, nor when nothing said not yet", () => {
    expect(lowerEndsOf([{ kind: "unanswered", startedAt: 0 }])).toEqual({});
    expect(lowerEndsOf([{ kind: "open", startedAt: 0, at: 1 }])).toEqual({});
    expect(lowerEndsOf([])).toEqual({});
  });
});

describe("classifying real connect() answers on loopback", () => {
  let port: EmulatedPort;
  const clock = anchorToWallClock().now;
  beforeAll(async () => {
    port = await openEmulatedPort("127.0.1.221");
  });
  afterAll(async () => {
    await port.close();
  });

  /** One real attempt through the probe's own connect, classified like the probe does. */
  const attempt = (timeoutMs: number): Promise<AttemptOutcome> =>
    new Promise((resolve) => {
      const startedAt = clock();
      let done = false;
      const finish = (answer: ConnectAnswer | undefined): void => {
        if (done) return;
        done = true;
        const at = clock();
        clearTimeout(timer);
        socket.destroy();
        resolve(
          answer === undefined
            ? { kind: "unanswered", startedAt }
            : classifyAnswer(startedAt, at, answer, timeoutMs),
        );
      };
      const socket = connectTcp(port.host, port.port, {
        onConnect: () => finish(synAck),
        onError: (error) => finish({ type: "error", code: error.code }),
      });
      const timer = setTimeout(() => finish(undefined), timeoutMs);
    });

  it("sees no answer, then RST, then SYN/ACK as unanswered, closed, open", async () => {
    await port.silent();
    expect(await attempt(300)).toEqual({ kind: "unanswered", startedAt: expect.any(Number) });

    await port.refuse();
    const before = clock();
    const closed = await attempt(300);
    expect(closed.kind).toBe("closed");
    expect((closed as { at: number }).at - before).toBeLessThan(200);

    await port.accept();
    const open = await attempt(300);
    expect(open.kind).toBe("open");
  });
});
