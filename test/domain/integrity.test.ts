/**
 * The integrity marks of one run (functions/domain/integrity.ts), one mark at a time, against figures
 * computed by hand from the fixtures: launch at T0, response at +1.5 s, running at +8.4 s (last
 * "pending" sent at +8.3 s), first RST at +14.66 s and first SYN/ACK at +18.75 s (each 10 ms after the
 * last "not yet"), probe interval 10 ms, so the default limits are 500 ms (running) and 50 ms (ports).
 */
import { describe, expect, it } from "vitest";
import type {
  BenchmarkSettings,
  LaunchInstanceResult,
  PollStateResult,
  ProbePortResult,
} from "../../functions/domain/contract.js";
import {
  CLOCK_DRIFT_LIMIT_MS,
  CROSS_STEP_ORDER_TOLERANCE_MS,
  DEFAULT_RUNNING_BRACKET_LIMIT_MS,
  defaultPortBracketLimitMs,
  INTEGRITY_RULES_VERSION,
  INTERVAL_NAMES,
  type IntervalName,
  type IntervalVerdict,
  invalidatingMarks,
  isValidInterval,
  judgeRun,
  type MarkName,
  type RunIntegrity,
} from "../../functions/domain/integrity.js";
import { launchResult, pollResult, probeResult, settings, T0 } from "./run-state-fixtures.js";

interface RunParts {
  settings?: Partial<BenchmarkSettings>;
  launch?: Partial<LaunchInstanceResult>;
  poll?: Partial<PollStateResult>;
  probe?: Partial<ProbePortResult>;
  hasIntervals?: boolean;
}

/** Judges the fixture run with the given parts changed. */
const judge = (parts: RunParts = {}): RunIntegrity =>
  judgeRun({
    settings: { ...settings, ...parts.settings },
    launch: launchResult(1, parts.launch),
    poll: pollResult(parts.poll),
    probe: probeResult(parts.probe),
    hasIntervals: parts.hasIntervals ?? true,
  });

/** Every interval valid except `invalid`, which the named marks invalidate. */
function verdicts(
  invalid: Partial<Record<IntervalName, MarkName[]>> = {},
): Record<IntervalName, IntervalVerdict> {
  return Object.fromEntries(
    INTERVAL_NAMES.map((name) => {
      const reasons = invalid[name] ?? [];
      return [name, { valid: reasons.length === 0, reasons }];
    }),
  ) as Record<IntervalName, IntervalVerdict>;
}

const names = (integrity: RunIntegrity): MarkName[] => integrity.marks.map((mark) => mark.name);

/** A poll whose first request was answered running: no "not yet", and no answer lost either. */
const FIRST_ANSWER_RUNNING: Partial<PollStateResult> = {
  runningNotBefore: undefined,
  describeCalls: 1,
  throttledCalls: 0,
  notFoundCalls: 0,
  abandonedCalls: 0,
};

/** The brackets of the clean fixture run. */
const CLEAN_BRACKETS = {
  running: { at: T0 + 8_400, notBefore: T0 + 8_300, widthMs: 100 },
  closed: { at: T0 + 14_660, notBefore: T0 + 14_650, widthMs: 10 },
  open: { at: T0 + 18_750, notBefore: T0 + 18_740, widthMs: 10 },
};

describe("judgeRun: a clean run", () => {
  it("has no marks, every interval valid, and the three brackets of its evidence", () => {
    expect(judge()).toEqual({
      rulesVersion: INTEGRITY_RULES_VERSION,
      brackets: CLEAN_BRACKETS,
      marks: [],
      verdicts: verdicts(),
    });
    expect(INTEGRITY_RULES_VERSION).toBe(1);
  });

  it("gives no verdicts for a run without intervals, but still its brackets and marks", () => {
    const integrity = judge({ hasIntervals: false, launch: { earlierLaunchSends: 1 } });
    expect(integrity).not.toHaveProperty("verdicts");
    expect(integrity.brackets).toEqual(CLEAN_BRACKETS);
    expect(names(integrity)).toEqual(["launchReplayed"]);
    // No verdict: no interval of it may be counted.
    expect(isValidInterval(integrity, "runInstancesApi")).toBe(false);
  });

  it("has no port brackets before the port opened, and no brackets at all without a poll", () => {
    const timedOut = judge({ probe: { status: "timeout", firstOpenAt: undefined }, hasIntervals: false });
    expect(timedOut.brackets).toEqual({ running: CLEAN_BRACKETS.running });
    const launchedOnly = judgeRun({ settings, launch: launchResult(1), hasIntervals: false });
    expect(launchedOnly).toEqual({ rulesVersion: 1, brackets: {}, marks: [] });
  });
});

describe("judgeRun: clocks", () => {
  it("notes an anchor correction of 300 ms, and invalidates nothing for it", () => {
    const integrity = judge({
      launch: { clock: { anchorCorrectionMs: 300, driftMs: 0.001, spanMs: 1_530 } },
    });
    expect(integrity.marks).toEqual([
      {
        name: "clockAnchorCorrected",
        detail:
          "the launch step's process clock was 300.0 ms off the wall clock; its timestamps were anchored to the wall clock",
        figures: { step: "launch", anchorCorrectionMs: 300 },
        invalidates: [],
      },
    ]);
    expect(integrity.verdicts).toEqual(verdicts());
    expect(invalidatingMarks(integrity)).toEqual([]);
  });

  it("does not note a correction under 1 ms, the anchor's own resolution", () => {
    expect(judge({ poll: { clock: { anchorCorrectionMs: -0.9, driftMs: 0, spanMs: 6_810 } } }).marks).toEqual(
      [],
    );
    expect(names(judge({ poll: { clock: { anchorCorrectionMs: -1, driftMs: 0, spanMs: 6_810 } } }))).toEqual([
      "clockAnchorCorrected",
    ]);
  });

  it("invalidates the intervals the probe timed when the probe's clock drifted 20 ms", () => {
    const integrity = judge({ probe: { clock: { anchorCorrectionMs: 0.04, driftMs: 20, spanMs: 17_160 } } });
    expect(integrity.marks).toEqual([
      {
        name: "clockDrifted",
        detail: "the probe step's clock drifted 20.0 ms from the wall clock over 17160.0 ms (limit 5.0 ms)",
        figures: { step: "probe", driftMs: 20, spanMs: 17_160, limitMs: CLOCK_DRIFT_LIMIT_MS },
        invalidates: ["runningToPortClosed", "portClosedToOpen", "total"],
      },
    ]);
    expect(integrity.verdicts).toEqual(
      verdicts({
        runningToPortClosed: ["clockDrifted"],
        portClosedToOpen: ["clockDrifted"],
        total: ["clockDrifted"],
      }),
    );
  });

  it("invalidates the intervals each step timed: launch 1 and 2, poll 2, 3 and total", () => {
    const drifted = { anchorCorrectionMs: 0, driftMs: -6, spanMs: 1_000 };
    expect(judge({ launch: { clock: drifted } }).verdicts).toEqual(
      verdicts({ runInstancesApi: ["clockDrifted"], pendingToRunning: ["clockDrifted"] }),
    );
    expect(judge({ poll: { clock: drifted } }).verdicts).toEqual(
      verdicts({
        pendingToRunning: ["clockDrifted"],
        runningToPortClosed: ["clockDrifted"],
        total: ["clockDrifted"],
      }),
    );
  });

  it("tolerates a drift of exactly the limit", () => {
    const atLimit = { anchorCorrectionMs: 0, driftMs: CLOCK_DRIFT_LIMIT_MS, spanMs: 17_160 };
    expect(judge({ probe: { clock: atLimit } }).marks).toEqual([]);
  });
});

describe("judgeRun: order of timestamps", () => {
  it("invalidates every interval when running was seen 1 s before the launch response arrived", () => {
    const integrity = judge({ poll: { runningNotBefore: T0 + 400, runningAt: T0 + 500 } });
    expect(integrity.marks).toEqual([
      {
        name: "timestampsOutOfOrder",
        detail: "timestamps contradict each other: runningAt 1000.0 ms before launchRespondedAt",
        figures: { runningAtMinusLaunchRespondedAt: -1_000 },
        invalidates: [...INTERVAL_NAMES],
      },
    ]);
    const all = Object.fromEntries(INTERVAL_NAMES.map((name) => [name, ["timestampsOutOfOrder"]]));
    expect(integrity.verdicts).toEqual(verdicts(all));
  });

  it("tolerates 5 ms of disagreement between steps' clocks, and no more", () => {
    const respondedAt = T0 + 1_500;
    expect(judge({ poll: { pollStartedAt: respondedAt - CROSS_STEP_ORDER_TOLERANCE_MS } }).marks).toEqual([]);
    const late = judge({ poll: { pollStartedAt: respondedAt - 6 } });
    expect(late.marks).toMatchObject([
      {
        name: "timestampsOutOfOrder",
        detail: "timestamps contradict each other: pollStartedAt 6.0 ms before launchRespondedAt",
        figures: { pollStartedAtMinusLaunchRespondedAt: -6 },
      },
    ]);
  });

  it("names every contradiction at once", () => {
    const integrity = judge({
      launch: { launchRespondedAt: T0, privateIpAt: T0 },
      probe: { probeStartedAt: T0 + 15_000 },
    });
    expect(integrity.marks).toEqual([
      {
        name: "timestampsOutOfOrder",
        detail:
          "timestamps contradict each other: launchRespondedAt not after launchRequestedAt; " +
          "firstClosedAt 340.0 ms before probeStartedAt",
        figures: { launchRespondedMinusRequested: 0, firstClosedAtMinusProbeStartedAt: -340 },
        invalidates: [...INTERVAL_NAMES],
      },
    ]);
  });

  it("marks a probe that started before the private IP it probes was known", () => {
    const integrity = judge({
      launch: { privateIpSource: "describeInstances", privateIpAt: T0 + 1_850 },
      probe: { probeStartedAt: T0 + 1_600 },
    });
    expect(names(integrity)).toEqual(["timestampsOutOfOrder", "privateIpLate"]);
    expect(integrity.marks[0]?.figures).toEqual({ probeStartedAtMinusPrivateIpAt: -250 });
  });
});

describe("judgeRun: the launch", () => {
  const replayVerdicts = verdicts({
    runInstancesApi: ["launchReplayed"],
    pendingToRunning: ["launchReplayed"],
  });

  it("marks a possible replay when the ledger counted an earlier send that may have launched", () => {
    const integrity = judge({ launch: { earlierLaunchSends: 1 } });
    expect(integrity.marks).toEqual([
      {
        name: "launchReplayed",
        detail:
          "the launch response may be a replay of an earlier launch (1 earlier RunInstances request(s) with " +
          "the same client token may have launched it): the RunInstances interval timed the replay and " +
          "pending to running started late",
        figures: { earlierLaunchSends: 1, launchRequestedAt: T0 },
        invalidates: ["runInstancesApi", "pendingToRunning"],
      },
    ]);
    expect(integrity.verdicts).toEqual(replayVerdicts);
    // The brackets have their own evidence, so they do not change.
    expect(integrity.brackets).toEqual(CLEAN_BRACKETS);
  });

  it("marks a possible replay when the instance's LaunchTime is 2 s before the request", () => {
    const launchTime = 1_749_999_998_000; // whole seconds, 2000.25 ms before T0
    const integrity = judge({ launch: { launchTime } });
    expect(integrity.marks).toEqual([
      {
        name: "launchReplayed",
        detail:
          "the launch response may be a replay of an earlier launch (its LaunchTime is 2000.3 ms before the " +
          "request): the RunInstances interval timed the replay and pending to running started late",
        figures: { earlierLaunchSends: 0, launchRequestedAt: T0, launchTime },
        invalidates: ["runInstancesApi", "pendingToRunning"],
      },
    ]);
    expect(integrity.verdicts).toEqual(replayVerdicts);
  });

  it("takes a LaunchTime in the request's second, or truncated to the second before, for this launch", () => {
    // EC2 gives whole seconds: T0 is 1_750_000_000_000.25, so its own second starts 0.25 ms before.
    expect(judge({ launch: { launchTime: 1_750_000_000_000 } }).marks).toEqual([]);
    expect(judge({ launch: { launchTime: 1_750_000_001_000 } }).marks).toEqual([]);
    // One second earlier is still within the truncation plus 250 ms of clock disagreement (1000.25 ms).
    expect(judge({ launch: { launchTime: 1_749_999_999_000 } }).marks).toEqual([]);
  });

  it("bounds the brackets of a replayed launch by its LaunchTime, not by the request", () => {
    const launchTime = 1_749_999_940_000; // a minute before the request: the instance is that old
    const integrity = judge({
      launch: { earlierLaunchSends: 1, launchTime },
      poll: { ...FIRST_ANSWER_RUNNING, pollStartedAt: T0 + 1_600, runningAt: T0 + 1_650 },
    });
    expect(integrity.brackets.running).toEqual({ at: T0 + 1_650, notBefore: launchTime, widthMs: 61_650.25 });
    expect(names(integrity)).toEqual(["launchReplayed", "pollStartedLate"]);
  });

  it("leaves the bracket unbounded when a replayed launch has no LaunchTime", () => {
    const integrity = judge({
      launch: { earlierLaunchSends: 2 },
      poll: { ...FIRST_ANSWER_RUNNING, runningAt: T0 + 1_650 },
    });
    expect(integrity.brackets.running).toEqual({ at: T0 + 1_650 });
    expect(integrity.marks[1]).toEqual({
      name: "pollStartedLate",
      detail:
        "the poll's first answer already said running (poll started 100.0 ms after the launch response): " +
        "running is known only to within unbounded (limit 500.0 ms)",
      figures: { pollDelayMs: 100, limitMs: 500 },
      invalidates: ["pendingToRunning", "runningToPortClosed", "total"],
    });
  });

  // max(closed, running) with running unbounded below keeps closed's own lower end.
  it("keeps the port brackets' own evidence when a replayed launch leaves running unbounded", () => {
    const integrity = judge({
      launch: { earlierLaunchSends: 2 },
      poll: { ...FIRST_ANSWER_RUNNING, runningAt: T0 + 1_650 },
    });
    expect(integrity.brackets).toEqual({
      running: { at: T0 + 1_650 },
      closed: CLEAN_BRACKETS.closed,
      open: CLEAN_BRACKETS.open,
    });
    expect(names(integrity)).toEqual(["launchReplayed", "pollStartedLate"]);
  });

  it("notes a private IP that came from DescribeInstances, and invalidates nothing for it", () => {
    const integrity = judge({
      launch: { privateIpSource: "describeInstances", privateIpAt: T0 + 1_850 },
      probe: { probeStartedAt: T0 + 1_860 },
    });
    expect(integrity.marks).toEqual([
      {
        name: "privateIpLate",
        detail:
          "the launch response had no private IP; DescribeInstances gave it 350.0 ms later, and the probe could start only then",
        figures: { privateIpDelayMs: 350 },
        invalidates: [],
      },
    ]);
    expect(integrity.verdicts).toEqual(verdicts());
  });
});

describe("judgeRun: the running bracket", () => {
  it("marks a poll whose first answer was running, 3 s after the launch response", () => {
    // The poll started at +4.5 s and its first request was answered running 30 ms later.
    const integrity = judge({
      poll: { ...FIRST_ANSWER_RUNNING, pollStartedAt: T0 + 4_500, runningAt: T0 + 4_530 },
    });
    // Without evidence of "not yet" running can have been as early as the request: T0.
    expect(integrity.brackets).toEqual({
      running: { at: T0 + 4_530, notBefore: T0, widthMs: 4_530 },
      closed: CLEAN_BRACKETS.closed,
      open: CLEAN_BRACKETS.open,
    });
    expect(integrity.marks).toEqual([
      {
        name: "pollStartedLate",
        detail:
          "the poll's first answer already said running (poll started 3000.0 ms after the launch response): " +
          "running is known only to within 4530.0 ms (limit 500.0 ms)",
        figures: { pollDelayMs: 3_000, widthMs: 4_530, limitMs: DEFAULT_RUNNING_BRACKET_LIMIT_MS },
        invalidates: ["pendingToRunning", "runningToPortClosed", "total"],
      },
    ]);
    expect(integrity.verdicts).toEqual(
      verdicts({
        pendingToRunning: ["pollStartedLate"],
        runningToPortClosed: ["pollStartedLate"],
        total: ["pollStartedLate"],
      }),
    );
  });

  it("marks a running bracket wider than the limit when the poll had evidence (throttled, stalled)", () => {
    const integrity = judge({ poll: { runningNotBefore: T0 + 7_700, throttledCalls: 5, abandonedCalls: 1 } });
    expect(integrity.marks).toEqual([
      {
        name: "runningBracketWide",
        detail:
          "running is known only to within 700.0 ms (limit 500.0 ms; 5 throttled, 1 abandoned and 1 not-found " +
          "DescribeInstances calls)",
        figures: { widthMs: 700, limitMs: 500, throttledCalls: 5, abandonedCalls: 1, notFoundCalls: 1 },
        invalidates: ["pendingToRunning", "runningToPortClosed", "total"],
      },
    ]);
    expect(integrity.verdicts).toEqual(
      verdicts({
        pendingToRunning: ["runningBracketWide"],
        runningToPortClosed: ["runningBracketWide"],
        total: ["runningBracketWide"],
      }),
    );
    // Exactly the limit still counts.
    expect(judge({ poll: { runningNotBefore: T0 + 7_900 } }).marks).toEqual([]);
  });

  it.each([
    ["throttled", { throttledCalls: 3 }],
    ["abandoned", { abandonedCalls: 4 }],
    ["not found", { notFoundCalls: 2 }],
  ])(
    "blames the bracket, not a late start, when the poll's first answer was running but %s answers were lost",
    (_lost, lost) => {
      const integrity = judge({
        poll: { ...FIRST_ANSWER_RUNNING, ...lost, pollStartedAt: T0 + 1_600, runningAt: T0 + 4_530 },
      });
      expect(integrity.marks).toMatchObject([
        { name: "runningBracketWide", figures: { widthMs: 4_530, limitMs: 500, ...lost } },
      ]);
    },
  );

  it("takes the limit from the benchmark's settings when it gives one", () => {
    expect(
      judge({ settings: { runningBracketLimitMs: 1_000 }, poll: { runningNotBefore: T0 + 7_700 } }).marks,
    ).toEqual([]);
    const strict = judge({ settings: { runningBracketLimitMs: 50 } });
    expect(strict.marks).toEqual([
      {
        name: "runningBracketWide",
        detail:
          "running is known only to within 100.0 ms (limit 50.0 ms; 2 throttled, 0 abandoned and 1 not-found " +
          "DescribeInstances calls)",
        figures: { widthMs: 100, limitMs: 50, throttledCalls: 2, abandonedCalls: 0, notFoundCalls: 1 },
        invalidates: ["pendingToRunning", "runningToPortClosed", "total"],
      },
    ]);
  });
});

describe("judgeRun: the port brackets", () => {
  it("gives closed the running bracket when the RST came before running (clamped, as ec2-boot-bench does)", () => {
    const integrity = judge({ probe: { closedNotBefore: T0 + 7_990, firstClosedAt: T0 + 8_000 } });
    expect(integrity.brackets.closed).toEqual(integrity.brackets.running);
    expect(integrity.brackets.closed).toEqual(CLEAN_BRACKETS.running);
    expect(integrity.marks).toEqual([]);
    expect(integrity.verdicts).toEqual(verdicts());
    // Refused from the probe's first attempt on, before running: the probe was on time, nothing is marked
    // (the 100 ms running bracket is wider than the port limit, but it is judged as running's).
    const refusedFromTheStart = judge({
      probe: { closedNotBefore: undefined, firstClosedAt: T0 + 1_601, unanswered: 0 },
    });
    expect(refusedFromTheStart.brackets.closed).toEqual(CLEAN_BRACKETS.running);
    expect(refusedFromTheStart.marks).toEqual([]);
  });

  it("gives closed the open bracket when the port went from no answer straight to open (Clear Linux)", () => {
    // Open 1.23 s after running; the attempt before the SYN/ACK went unanswered, none was refused.
    const integrity = judge({
      probe: {
        firstClosedAt: undefined,
        closedNotBefore: undefined,
        openNotBefore: T0 + 9_620,
        firstOpenAt: T0 + 9_630,
        refused: 0,
      },
    });
    const open = { at: T0 + 9_630, notBefore: T0 + 9_620, widthMs: 10 };
    expect(integrity.brackets).toEqual({ running: CLEAN_BRACKETS.running, closed: open, open });
    expect(integrity.marks).toEqual([]);
    expect(integrity.verdicts).toEqual(verdicts());
  });

  it("marks a probe whose first answer, 3 s after running, was an RST: intervals 3 and 4, not total", () => {
    // The probe started at +11.4 s and its first attempt was refused 1 ms later: no "not yet" evidence.
    const integrity = judge({
      probe: { probeStartedAt: T0 + 11_400, closedNotBefore: undefined, firstClosedAt: T0 + 11_401 },
    });
    // closed := max(closed, running): its lower end is the running bracket's.
    expect(integrity.brackets.closed).toEqual({ at: T0 + 11_401, notBefore: T0 + 8_300, widthMs: 3_101 });
    expect(integrity.brackets.open).toEqual(CLEAN_BRACKETS.open);
    expect(integrity.marks).toEqual([
      {
        name: "probeStartedLate",
        detail:
          "the probe's first answers already said closed (probe started 9900.0 ms after the launch response): " +
          "port closed is known only to within 3101.0 ms (limit 50.0 ms)",
        figures: { boundary: "closed", probeDelayMs: 9_900, widthMs: 3_101, limitMs: 50 },
        invalidates: ["runningToPortClosed", "portClosedToOpen"],
      },
    ]);
    // Total (running to open) has a sharp bracket at both ends.
    expect(integrity.verdicts).toEqual(
      verdicts({ runningToPortClosed: ["probeStartedLate"], portClosedToOpen: ["probeStartedLate"] }),
    );
  });

  it("marks a probe whose first answer, 3 s after running, was a SYN/ACK: intervals 3, 4 and total", () => {
    const integrity = judge({
      probe: {
        probeStartedAt: T0 + 11_400,
        firstClosedAt: undefined,
        closedNotBefore: undefined,
        openNotBefore: undefined,
        firstOpenAt: T0 + 11_401,
        refused: 0,
        unanswered: 0,
        attempts: 1,
      },
    });
    const bracket = { at: T0 + 11_401, notBefore: T0 + 8_300, widthMs: 3_101 };
    expect(integrity.brackets).toEqual({ running: CLEAN_BRACKETS.running, closed: bracket, open: bracket });
    // One mark stands for both port boundaries, since closed := open.
    expect(integrity.marks).toEqual([
      {
        name: "probeStartedLate",
        detail:
          "the probe's first answers already said open (probe started 9900.0 ms after the launch response): " +
          "port open is known only to within 3101.0 ms (limit 50.0 ms)",
        figures: { boundary: "open", probeDelayMs: 9_900, widthMs: 3_101, limitMs: 50 },
        invalidates: ["runningToPortClosed", "portClosedToOpen", "total"],
      },
    ]);
    expect(integrity.verdicts).toEqual(
      verdicts({
        runningToPortClosed: ["probeStartedLate"],
        portClosedToOpen: ["probeStartedLate"],
        total: ["probeStartedLate"],
      }),
    );
  });

  it("judges a port boundary raised to running by the running bracket, which then also spoils closed to open", () => {
    // RST before running, and the poll throttled into a 700 ms bracket: closed is raised to running, so
    // it lies in [max(7990, 7700), max(8000, 8400)], and is judged as part of running.
    const integrity = judge({
      poll: { runningNotBefore: T0 + 7_700 },
      probe: { closedNotBefore: T0 + 7_990, firstClosedAt: T0 + 8_000 },
    });
    expect(integrity.brackets.closed).toEqual({ at: T0 + 8_400, notBefore: T0 + 7_990, widthMs: 410 });
    expect(integrity.marks).toMatchObject([
      {
        name: "runningBracketWide",
        invalidates: ["pendingToRunning", "runningToPortClosed", "total", "portClosedToOpen"],
      },
    ]);
    expect(integrity.verdicts).toEqual(
      verdicts({
        pendingToRunning: ["runningBracketWide"],
        runningToPortClosed: ["runningBracketWide"],
        portClosedToOpen: ["runningBracketWide"],
        total: ["runningBracketWide"],
      }),
    );
  });

  it('marks probeStartedLate when neither the poll nor the probe saw any "not yet"', () => {
    const integrity = judge({
      poll: { ...FIRST_ANSWER_RUNNING, pollStartedAt: T0 + 4_500, runningAt: T0 + 4_530 },
      probe: { probeStartedAt: T0 + 11_400, closedNotBefore: undefined, firstClosedAt: T0 + 11_401 },
    });
    expect(integrity.brackets.closed).toEqual({ at: T0 + 11_401, notBefore: T0, widthMs: 11_401 });
    expect(integrity.marks[1]).toEqual({
      name: "probeStartedLate",
      detail:
        "the probe's first answers already said closed (probe started 9900.0 ms after the launch response): " +
        "port closed is known only to within 11401.0 ms (limit 50.0 ms)",
      figures: { boundary: "closed", probeDelayMs: 9_900, widthMs: 11_401, limitMs: 50 },
      invalidates: ["runningToPortClosed", "portClosedToOpen"],
    });
    expect(names(integrity)).toEqual(["pollStartedLate", "probeStartedLate"]);
    expect(integrity.verdicts).toEqual(
      verdicts({
        pendingToRunning: ["pollStartedLate"],
        runningToPortClosed: ["pollStartedLate", "probeStartedLate"],
        portClosedToOpen: ["probeStartedLate"],
        total: ["pollStartedLate"],
      }),
    );
  });

  it("marks port brackets wider than the limit when the probe had evidence", () => {
    const integrity = judge({ probe: { closedNotBefore: T0 + 14_560, openNotBefore: T0 + 18_690 } });
    expect(integrity.marks).toEqual([
      {
        name: "closedBracketWide",
        detail:
          "port closed is known only to within 100.0 ms (limit 50.0 ms; 600 unanswered of 1200 attempts)",
        figures: { widthMs: 100, limitMs: 50 },
        invalidates: ["runningToPortClosed", "portClosedToOpen"],
      },
      {
        name: "openBracketWide",
        detail: "port open is known only to within 60.0 ms (limit 50.0 ms; 600 unanswered of 1200 attempts)",
        figures: { widthMs: 60, limitMs: 50 },
        invalidates: ["portClosedToOpen", "total"],
      },
    ]);
    expect(integrity.verdicts).toEqual(
      verdicts({
        runningToPortClosed: ["closedBracketWide"],
        portClosedToOpen: ["closedBracketWide", "openBracketWide"],
        total: ["openBracketWide"],
      }),
    );
  });

  it("takes the port limit from the settings, else five probe intervals and never under 50 ms", () => {
    expect(defaultPortBracketLimitMs(10)).toBe(50);
    expect(defaultPortBracketLimitMs(20)).toBe(100);
    const widerClosed = { closedNotBefore: T0 + 14_580 }; // 80 ms
    expect(names(judge({ probe: widerClosed }))).toEqual(["closedBracketWide"]);
    expect(judge({ settings: { probeIntervalMs: 20 }, probe: widerClosed }).marks).toEqual([]);
    expect(judge({ settings: { portBracketLimitMs: 80 }, probe: widerClosed }).marks).toEqual([]);
    const strict = judge({ settings: { portBracketLimitMs: 5 } });
    expect(strict.marks.map((mark) => [mark.name, mark.figures])).toEqual([
      ["closedBracketWide", { widthMs: 10, limitMs: 5 }],
      ["openBracketWide", { widthMs: 10, limitMs: 5 }],
    ]);
  });
});

describe("isValidInterval and invalidatingMarks", () => {
  it("count an interval only with a valid verdict, and a run as marked only by a mark that invalidates", () => {
    const noted = judge({ launch: { clock: { anchorCorrectionMs: 300, driftMs: 0, spanMs: 1 } } });
    expect(invalidatingMarks(noted)).toEqual([]);
    expect(INTERVAL_NAMES.every((name) => isValidInterval(noted, name))).toBe(true);
    const replayed = judge({ launch: { earlierLaunchSends: 1 } });
    expect(invalidatingMarks(replayed).map((mark) => mark.name)).toEqual(["launchReplayed"]);
    expect(INTERVAL_NAMES.filter((name) => isValidInterval(replayed, name))).toEqual([
      "runningToPortClosed",
      "portClosedToOpen",
      "total",
    ]);
    expect(isValidInterval(undefined, "total")).toBe(false);
    expect(invalidatingMarks(undefined)).toEqual([]);
  });
});
