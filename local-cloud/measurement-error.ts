/**
 * How far boot-bench's observations are from what really happened. Only the local cloud knows the
 * truth (when an instance really went running, when its network answered RST, when sshd accepted),
 * so only there can the error of each measured boundary be reported.
 */
import { median, percentile } from "../functions/domain/statistics.js";

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
