/**
 * Whether a run's numbers can be trusted, and if not, exactly why: the one definition of the integrity
 * marks (issue 9, DESIGN section 2). Every observed boundary is known only between the last evidence of
 * "not yet" and the first evidence of "now"; the width of that bracket is the run's own resolution for
 * the boundary, and a late, stalled, throttled or replayed observer shows up as a wide bracket or a named
 * mark instead of a silently wrong number. Pure code: no SDK, no clock.
 */

import type { ClockReport } from "../shared/clock.js";
import type {
  BenchmarkSettings,
  IntervalSeconds,
  LaunchInstanceResult,
  PollStateResult,
  ProbePortResult,
} from "./contract.js";

/** Stored with every run and summary: numbers judged by different rules are not comparable. */
export const INTEGRITY_RULES_VERSION = 1;

export type IntervalName = keyof IntervalSeconds;
export const INTERVAL_NAMES: readonly IntervalName[] = [
  "runInstancesApi",
  "pendingToRunning",
  "runningToPortClosed",
  "portClosedToOpen",
  "total",
];

/** Default widest running bracket: five of the poll's 100 ms beats. */
export const DEFAULT_RUNNING_BRACKET_LIMIT_MS = 500;
/** Default widest port bracket: five probe intervals, and never under 50 ms of scheduling noise. */
export const defaultPortBracketLimitMs = (probeIntervalMs: number): number =>
  Math.max(50, 5 * probeIntervalMs);

/** A step's clock that drifted this far from the wall clock during its invocation is not trusted. */
export const CLOCK_DRIFT_LIMIT_MS = 5;
/** Anchor corrections below this are the anchor's own resolution, not worth a mark. */
export const CLOCK_CORRECTION_NOTE_MS = 1;
/**
 * Steps on different hosts share the NTP-synchronised wall clock to well under a millisecond; an
 * order broken by more than this between two steps' timestamps is a clock that cannot be trusted.
 */
export const CROSS_STEP_ORDER_TOLERANCE_MS = 5;
/**
 * LaunchTime has whole seconds on EC2's clock: an instance launched by this request has a LaunchTime
 * no earlier than one second (plus this much clock disagreement) before the request was sent.
 */
export const LAUNCH_TIME_TOLERANCE_MS = 250;

export type Boundary = "running" | "closed" | "open";
/** The observed boundaries, in the order they happen. */
export const BOUNDARIES: readonly Boundary[] = ["running", "closed", "open"];

/** The widest brackets a benchmark's settings allow (ms); absent settings take the defaults above. */
export function bracketLimits(
  settings: Pick<BenchmarkSettings, "probeIntervalMs" | "runningBracketLimitMs" | "portBracketLimitMs">,
): { runningMs: number; portMs: number } {
  return {
    runningMs: settings.runningBracketLimitMs ?? DEFAULT_RUNNING_BRACKET_LIMIT_MS,
    portMs: settings.portBracketLimitMs ?? defaultPortBracketLimitMs(settings.probeIntervalMs),
  };
}

/** One boundary as measured (`at`, ec2-boot-bench's receipt time) and the earliest it can have been. */
export interface Bracket {
  /** The measured boundary, after ec2-boot-bench's clamping. */
  at: number;
  /** The latest evidence of "not yet"; absent when there is none at all (the width is then unbounded). */
  notBefore?: number;
  /** `at - notBefore`: this run's resolution for the boundary. Absent when unbounded. */
  widthMs?: number;
}

export type MarkName =
  /** Informational: a step's clock reading disagreed with the wall clock and was anchored to it. */
  | "clockAnchorCorrected"
  /** A step's clock and the wall clock drifted apart during its invocation. */
  | "clockDrifted"
  /** Timestamps of different steps contradict each other: some clock is wrong. */
  | "timestampsOutOfOrder"
  /** The launch response may be a replay (same ClientToken) of a launch made earlier. */
  | "launchReplayed"
  /** Informational: the launch response had no private IP; it came from DescribeInstances later. */
  | "privateIpLate"
  /** The poll's first answer already said running: it started too late to see when. */
  | "pollStartedLate"
  /** The probe's first answer already said closed (or open): it started too late to see when. */
  | "probeStartedLate"
  /** A boundary's bracket is wider than the benchmark's limit (a throttled or stalled observer). */
  | "runningBracketWide"
  | "closedBracketWide"
  | "openBracketWide";

export interface IntegrityMark {
  name: MarkName;
  /** A sentence with the figures, for people. */
  detail: string;
  /** The figures that triggered the mark, for programs (milliseconds unless named otherwise). */
  figures: Record<string, number | string>;
  /** Intervals this mark makes invalid; empty for informational marks. */
  invalidates: IntervalName[];
}

export interface IntervalVerdict {
  valid: boolean;
  /** The marks that invalidate it. */
  reasons: MarkName[];
}

export interface RunIntegrity {
  rulesVersion: typeof INTEGRITY_RULES_VERSION;
  brackets: Partial<Record<Boundary, Bracket>>;
  marks: IntegrityMark[];
  /** Only for runs with intervals. */
  verdicts?: Record<IntervalName, IntervalVerdict>;
}

export interface IntegrityInput {
  settings: Pick<BenchmarkSettings, "probeIntervalMs" | "runningBracketLimitMs" | "portBracketLimitMs">;
  launch?: LaunchInstanceResult;
  poll?: PollStateResult;
  probe?: ProbePortResult;
  /** Whether the run has intervals (it succeeded); verdicts are given only then. */
  hasIntervals: boolean;
}

const BRACKET_INTERVALS: Record<Boundary, IntervalName[]> = {
  running: ["pendingToRunning", "runningToPortClosed", "total"],
  closed: ["runningToPortClosed", "portClosedToOpen"],
  open: ["portClosedToOpen", "total"],
};
/** The intervals whose ends a step's clock read. */
const STEP_INTERVALS: Record<"launch" | "poll" | "probe", IntervalName[]> = {
  launch: ["runInstancesApi", "pendingToRunning"],
  poll: ["pendingToRunning", "runningToPortClosed", "total"],
  probe: ["runningToPortClosed", "portClosedToOpen", "total"],
};

const ms = (value: number): string => `${value.toFixed(1)} ms`;
const round = (value: number): number => Math.round(value * 1000) / 1000;

/** Raw bracket [notBefore, at]; `notBefore` undefined is minus infinity. */
interface RawBracket {
  at: number;
  notBefore?: number;
}

/** The bracket of max(a, b): [max(a.lo, b.lo), max(a.at, b.at)], the clamping of ec2-boot-bench. */
const maxOf = (a: RawBracket, b: RawBracket): RawBracket => {
  // An absent lower end is minus infinity, so the other side's is the maximum.
  const notBefore =
    a.notBefore === undefined
      ? b.notBefore
      : b.notBefore === undefined
        ? a.notBefore
        : Math.max(a.notBefore, b.notBefore);
  return { at: Math.max(a.at, b.at), ...(notBefore !== undefined && { notBefore }) };
};

const toBracket = (raw: RawBracket): Bracket =>
  raw.notBefore === undefined
    ? { at: raw.at }
    : { at: raw.at, notBefore: raw.notBefore, widthMs: round(raw.at - raw.notBefore) };

const widerThan = (bracket: Bracket, limitMs: number): boolean =>
  bracket.widthMs === undefined || bracket.widthMs > limitMs;

/**
 * Judges one run. The marks say what is wrong with the figures that made them; the verdicts say, per
 * interval, whether it may be counted. Statistics and comparisons use only valid intervals.
 */
export function judgeRun(input: IntegrityInput): RunIntegrity {
  const { settings, launch, poll, probe } = input;
  const marks: IntegrityMark[] = [];
  const add = (mark: IntegrityMark): number => marks.push(mark);
  const { runningMs: runningLimitMs, portMs: portLimitMs } = bracketLimits(settings);

  // ---- clocks --------------------------------------------------------------------------------
  const clocks: [keyof typeof STEP_INTERVALS, ClockReport | undefined][] = [
    ["launch", launch?.clock],
    ["poll", poll?.clock],
    ["probe", probe?.clock],
  ];
  for (const [step, clock] of clocks) {
    if (clock === undefined) continue;
    if (Math.abs(clock.anchorCorrectionMs) >= CLOCK_CORRECTION_NOTE_MS) {
      add({
        name: "clockAnchorCorrected",
        detail: `the ${step} step's process clock was ${ms(clock.anchorCorrectionMs)} off the wall clock; its timestamps were anchored to the wall clock`,
        figures: { step, anchorCorrectionMs: round(clock.anchorCorrectionMs) },
        invalidates: [],
      });
    }
    if (Math.abs(clock.driftMs) > CLOCK_DRIFT_LIMIT_MS) {
      add({
        name: "clockDrifted",
        detail: `the ${step} step's clock drifted ${ms(clock.driftMs)} from the wall clock over ${ms(clock.spanMs)} (limit ${ms(CLOCK_DRIFT_LIMIT_MS)})`,
        figures: {
          step,
          driftMs: round(clock.driftMs),
          spanMs: round(clock.spanMs),
          limitMs: CLOCK_DRIFT_LIMIT_MS,
        },
        invalidates: STEP_INTERVALS[step],
      });
    }
  }

  // ---- order ---------------------------------------------------------------------------------
  const broken: string[] = [];
  const figures: Record<string, number> = {};
  const expectOrder = (
    earlierName: string,
    earlier: number,
    laterName: string,
    later: number,
    slackMs: number,
  ) => {
    if (later + slackMs >= earlier) return;
    broken.push(`${laterName} ${ms(earlier - later)} before ${earlierName}`);
    figures[`${laterName}Minus${earlierName[0]?.toUpperCase()}${earlierName.slice(1)}`] = round(
      later - earlier,
    );
  };
  if (launch) {
    // Strictly later: a response cannot arrive the instant its request leaves.
    if (!(launch.launchRespondedAt > launch.launchRequestedAt)) {
      broken.push("launchRespondedAt not after launchRequestedAt");
      figures.launchRespondedMinusRequested = round(launch.launchRespondedAt - launch.launchRequestedAt);
    }
    if (poll) {
      expectOrder(
        "launchRespondedAt",
        launch.launchRespondedAt,
        "pollStartedAt",
        poll.pollStartedAt,
        CROSS_STEP_ORDER_TOLERANCE_MS,
      );
      expectOrder(
        "launchRespondedAt",
        launch.launchRespondedAt,
        "runningAt",
        poll.runningAt,
        CROSS_STEP_ORDER_TOLERANCE_MS,
      );
    }
    if (probe) {
      expectOrder(
        "privateIpAt",
        launch.privateIpAt,
        "probeStartedAt",
        probe.probeStartedAt,
        CROSS_STEP_ORDER_TOLERANCE_MS,
      );
    }
  }
  if (probe) {
    if (probe.firstClosedAt !== undefined) {
      expectOrder("probeStartedAt", probe.probeStartedAt, "firstClosedAt", probe.firstClosedAt, 0);
    }
    if (probe.firstOpenAt !== undefined) {
      expectOrder("probeStartedAt", probe.probeStartedAt, "firstOpenAt", probe.firstOpenAt, 0);
    }
  }
  if (broken.length > 0) {
    add({
      name: "timestampsOutOfOrder",
      detail: `timestamps contradict each other: ${broken.join("; ")}`,
      figures,
      invalidates: [...INTERVAL_NAMES],
    });
  }

  // ---- launch ---------------------------------------------------------------------------------
  let replayed = false;
  if (launch) {
    const launchTimeTooEarly =
      launch.launchTime !== undefined &&
      launch.launchTime + 1000 + LAUNCH_TIME_TOLERANCE_MS < launch.launchRequestedAt;
    if (launch.earlierLaunchSends > 0 || launchTimeTooEarly) {
      replayed = true;
      const why =
        launch.earlierLaunchSends > 0
          ? `${launch.earlierLaunchSends} earlier RunInstances request(s) with the same client token may have launched it`
          : `its LaunchTime is ${ms(launch.launchRequestedAt - (launch.launchTime as number))} before the request`;
      add({
        name: "launchReplayed",
        detail: `the launch response may be a replay of an earlier launch (${why}): the RunInstances interval timed the replay and pending to running started late`,
        figures: {
          earlierLaunchSends: launch.earlierLaunchSends,
          launchRequestedAt: launch.launchRequestedAt,
          ...(launch.launchTime !== undefined && { launchTime: launch.launchTime }),
        },
        invalidates: ["runInstancesApi", "pendingToRunning"],
      });
    }
    if (launch.privateIpSource === "describeInstances") {
      const delayMs = launch.privateIpAt - launch.launchRespondedAt;
      add({
        name: "privateIpLate",
        detail: `the launch response had no private IP; DescribeInstances gave it ${ms(delayMs)} later, and the probe could start only then`,
        figures: { privateIpDelayMs: round(delayMs) },
        invalidates: [],
      });
    }
  }

  // ---- brackets -------------------------------------------------------------------------------
  // Without any "not yet" evidence a boundary can have been no earlier than the launch: RunInstances
  // answers pending, and the port cannot answer before the instance exists. A replayed launch may be
  // older than its request; only its LaunchTime (whole seconds) bounds it then.
  const launchFloor =
    launch === undefined ? undefined : replayed ? launch.launchTime : launch.launchRequestedAt;
  const withFloor = (at: number, notBefore: number | undefined): RawBracket => {
    const lo = notBefore ?? launchFloor;
    return lo === undefined ? { at } : { at, notBefore: lo };
  };
  const brackets: Partial<Record<Boundary, Bracket>> = {};
  if (poll) {
    const running = withFloor(poll.runningAt, poll.runningNotBefore);
    brackets.running = toBracket(running);
    // A port boundary raised to running (seen before running was) inherits running's bracket, so a
    // wide running bracket also spoils closed to open then.
    const closedRaisedToRunning =
      probe?.firstOpenAt !== undefined && (probe.firstClosedAt ?? probe.firstOpenAt) <= poll.runningAt;
    const runningInvalidates: IntervalName[] = closedRaisedToRunning
      ? [...BRACKET_INTERVALS.running, "portClosedToOpen"]
      : BRACKET_INTERVALS.running;
    if (widerThan(brackets.running, runningLimitMs)) {
      const bracket = brackets.running;
      const width = bracket.widthMs === undefined ? "unbounded" : ms(bracket.widthMs);
      // No "not yet" at all, and nothing that lost the poll its answers: it started after running.
      const answersLost = poll.abandonedCalls + poll.throttledCalls + poll.notFoundCalls;
      if (poll.runningNotBefore === undefined && answersLost === 0) {
        const delayMs = launch === undefined ? undefined : poll.pollStartedAt - launch.launchRespondedAt;
        add({
          name: "pollStartedLate",
          detail: `the poll's first answer already said running (poll started ${delayMs === undefined ? "?" : ms(delayMs)} after the launch response): running is known only to within ${width} (limit ${ms(runningLimitMs)})`,
          figures: {
            ...(delayMs !== undefined && { pollDelayMs: round(delayMs) }),
            ...(bracket.widthMs !== undefined && { widthMs: bracket.widthMs }),
            limitMs: runningLimitMs,
          },
          invalidates: runningInvalidates,
        });
      } else {
        add({
          name: "runningBracketWide",
          detail: `running is known only to within ${width} (limit ${ms(runningLimitMs)}; ${poll.throttledCalls} throttled, ${poll.abandonedCalls} abandoned and ${poll.notFoundCalls} not-found DescribeInstances calls)`,
          figures: {
            ...(bracket.widthMs !== undefined && { widthMs: bracket.widthMs }),
            limitMs: runningLimitMs,
            throttledCalls: poll.throttledCalls,
            abandonedCalls: poll.abandonedCalls,
            notFoundCalls: poll.notFoundCalls,
          },
          invalidates: runningInvalidates,
        });
      }
    }
    if (probe?.firstOpenAt !== undefined) {
      const closedSeen = probe.firstClosedAt !== undefined;
      const openRaw = withFloor(probe.firstOpenAt, probe.openNotBefore);
      // Never seen closed: closed := open (ec2-boot-bench), so the closed boundary has open's bracket.
      const closedRaw = closedSeen
        ? withFloor(probe.firstClosedAt as number, probe.closedNotBefore)
        : openRaw;
      const closed = maxOf(closedRaw, running);
      const open = maxOf(openRaw, closed);
      brackets.closed = toBracket(closed);
      brackets.open = toBracket(open);
      const portMark = (boundary: "closed" | "open", bracket: Bracket, evidence: number | undefined) => {
        if (!widerThan(bracket, portLimitMs)) return;
        const width = bracket.widthMs === undefined ? "unbounded" : ms(bracket.widthMs);
        // The open mark of a port never seen closed stands for both port boundaries.
        const invalidates =
          boundary === "open" && !closedSeen
            ? [...new Set([...BRACKET_INTERVALS.closed, ...BRACKET_INTERVALS.open])]
            : BRACKET_INTERVALS[boundary];
        const limit = {
          ...(bracket.widthMs !== undefined && { widthMs: bracket.widthMs }),
          limitMs: portLimitMs,
        };
        if (evidence === undefined) {
          const delayMs = launch === undefined ? undefined : probe.probeStartedAt - launch.launchRespondedAt;
          add({
            name: "probeStartedLate",
            detail: `the probe's first answers already said ${boundary} (probe started ${delayMs === undefined ? "?" : ms(delayMs)} after the launch response): port ${boundary} is known only to within ${width} (limit ${ms(portLimitMs)})`,
            figures: { boundary, ...(delayMs !== undefined && { probeDelayMs: round(delayMs) }), ...limit },
            invalidates,
          });
        } else {
          add({
            name: boundary === "closed" ? "closedBracketWide" : "openBracketWide",
            detail: `port ${boundary} is known only to within ${width} (limit ${ms(portLimitMs)}; ${probe.unanswered} unanswered of ${probe.attempts} attempts)`,
            figures: limit,
            invalidates,
          });
        }
      };
      // A boundary raised to the one before it has that one's bracket, judged (and marked) there.
      if (closedSeen && closedRaw.at > running.at) portMark("closed", brackets.closed, probe.closedNotBefore);
      // (Never seen closed, "closed" is open itself: then open is judged unless raised to running.)
      if (openRaw.at > (closedSeen ? closed.at : running.at)) {
        portMark("open", brackets.open, probe.openNotBefore);
      }
    }
  }

  const integrity: RunIntegrity = { rulesVersion: INTEGRITY_RULES_VERSION, brackets, marks };
  if (input.hasIntervals) integrity.verdicts = verdictsFrom(marks);
  return integrity;
}

function verdictsFrom(marks: readonly IntegrityMark[]): Record<IntervalName, IntervalVerdict> {
  const verdicts = {} as Record<IntervalName, IntervalVerdict>;
  for (const interval of INTERVAL_NAMES) {
    const reasons = [
      ...new Set(marks.filter((mark) => mark.invalidates.includes(interval)).map((m) => m.name)),
    ];
    verdicts[interval] = { valid: reasons.length === 0, reasons };
  }
  return verdicts;
}

/** Whether a run's interval may be counted: it has a verdict and the verdict is valid. */
export const isValidInterval = (
  integrity: Pick<RunIntegrity, "verdicts"> | undefined,
  interval: IntervalName,
): boolean => integrity?.verdicts?.[interval]?.valid === true;

/** Marks that make some interval invalid (informational marks do not make a run "marked"). */
export const invalidatingMarks = (integrity: Pick<RunIntegrity, "marks"> | undefined): IntegrityMark[] =>
  (integrity?.marks ?? []).filter((mark) => mark.invalidates.length > 0);
