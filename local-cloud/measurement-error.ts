/**
 * How far boot-bench's observations are from what really happened. Only the local cloud knows the
 * truth (when an instance really went running, when its network answered RST, when sshd accepted),
 * so only there can the error of each measured boundary be reported.
 */
import type { BenchmarkSettings, IntervalSeconds } from "../functions/domain/contract.js";
import {
  bracketLimits,
  INTERVAL_NAMES,
  type IntervalName,
  isValidInterval,
  type RunIntegrity,
} from "../functions/domain/integrity.js";
import { median, percentile } from "../functions/domain/statistics.js";
import type { InstanceTruth } from "./ec2/instances.js";

export interface ObservedBoundaries {
  runningAt?: number;
  firstClosedAt?: number;
  firstOpenAt?: number;
}
export interface TrueBoundaries {
  runningAt?: number;
  networkUpAt?: number;
  sshUpAt?: number;
}

/** Observed minus true, ms; undefined where either side is missing or the phase had no duration. */
export interface BoundaryErrors {
  running?: number;
  closed?: number;
  open?: number;
}

export function boundaryErrors(observed: ObservedBoundaries, truth: TrueBoundaries): BoundaryErrors {
  const diff = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : a - b);
  // A port that opened the instant the network came up had no closed phase to observe.
  const closedObservable = truth.networkUpAt !== undefined && truth.networkUpAt !== truth.sshUpAt;
  const errors: BoundaryErrors = {};
  const running = diff(observed.runningAt, truth.runningAt);
  const closed = closedObservable ? diff(observed.firstClosedAt, truth.networkUpAt) : undefined;
  const open = diff(observed.firstOpenAt, truth.sshUpAt);
  if (running !== undefined) errors.running = running;
  if (closed !== undefined) errors.closed = closed;
  if (open !== undefined) errors.open = open;
  return errors;
}

export interface ErrorSummary {
  count: number;
  medianAbsMs: number;
  p99AbsMs: number;
  maxAbsMs: number;
}

export function summariseErrors(errors: readonly (number | undefined)[]): ErrorSummary | undefined {
  const absolute = errors.filter((e): e is number => e !== undefined).map(Math.abs);
  if (absolute.length === 0) return undefined;
  return {
    count: absolute.length,
    medianAbsMs: median(absolute),
    p99AbsMs: percentile(absolute, 99),
    maxAbsMs: Math.max(...absolute),
  };
}

// ---- intervals against the truth ------------------------------------------------------------
/** What a run record says, for checking it against the truth. */
export interface MeasuredRun {
  instanceId?: string;
  intervals?: IntervalSeconds;
  integrity: RunIntegrity;
}

/** The true intervals of an instance, with ec2-boot-bench's rules applied to the true transitions. */
export function trueIntervals(truth: InstanceTruth): IntervalSeconds | undefined {
  const { requestedAt, launchedAt, runningAt, networkUpAt, sshUpAt } = truth;
  if (runningAt === undefined || sshUpAt === undefined) return undefined;
  const closedAt = Math.max(networkUpAt ?? sshUpAt, runningAt);
  const openAt = Math.max(sshUpAt, closedAt);
  return {
    runInstancesApi: (launchedAt - requestedAt) / 1000,
    pendingToRunning: (runningAt - launchedAt) / 1000,
    runningToPortClosed: (closedAt - runningAt) / 1000,
    portClosedToOpen: (openAt - closedAt) / 1000,
    total: (openAt - runningAt) / 1000,
  };
}

/**
 * How far a valid interval may be from the truth: the widths its two boundaries may have (a boundary
 * inside its bracket is late by at most the bracket's width) and a little for the wire and the event loop.
 */
export function intervalTolerancesMs(
  settings: Pick<BenchmarkSettings, "probeIntervalMs" | "runningBracketLimitMs" | "portBracketLimitMs">,
): Record<IntervalName, number> {
  const { runningMs: running, portMs: port } = bracketLimits(settings);
  const slack = 25;
  return {
    runInstancesApi: port + slack,
    pendingToRunning: running + slack,
    runningToPortClosed: running + port + slack,
    portClosedToOpen: 2 * port + slack,
    total: running + port + slack,
  };
}

export interface WrongInterval {
  interval: IntervalName;
  measuredMs: number;
  trueMs: number;
  toleranceMs: number;
}

/**
 * The intervals a run counts as valid although they are further from the truth than their brackets
 * allow: a wrong number stored as if it were fine. Empty is the only acceptable answer.
 */
export function wrongValidIntervals(
  run: MeasuredRun,
  truth: InstanceTruth,
  tolerancesMs: Record<IntervalName, number>,
): WrongInterval[] {
  const truthIntervals = trueIntervals(truth);
  if (!run.intervals || !truthIntervals) return [];
  return INTERVAL_NAMES.flatMap((interval) => {
    if (!isValidInterval(run.integrity, interval)) return [];
    const measuredMs = (run.intervals as IntervalSeconds)[interval] * 1000;
    const trueMs = truthIntervals[interval] * 1000;
    const toleranceMs = tolerancesMs[interval];
    return Math.abs(measuredMs - trueMs) > toleranceMs ? [{ interval, measuredMs, trueMs, toleranceMs }] : [];
  });
}
