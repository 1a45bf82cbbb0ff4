import type { IntervalSeconds } from "./contract.js";

/** What launch, poll and probe observed, as epoch milliseconds. */
export interface ObservedTimestamps {
  launchRequestedAt: number;
  launchRespondedAt: number;
  runningAt: number;
  /** First RST, if the probe ever saw one. */
  firstClosedAt?: number;
  /** First SYN/ACK; without it there are no intervals. */
  firstOpenAt?: number;
}

/** The boundaries the intervals are measured between, after clamping. */
export interface ClampedTimestamps {
  launchRequestedAt: number;
  launchRespondedAt: number;
  runningAt: number;
  portClosedAt: number;
  portOpenAt: number;
}

export interface Timeline {
  timestamps: ClampedTimestamps;
  /** False when the port went from no answer straight to open (closed := open, so closed to open is 0). */
  closedSeen: boolean;
  /** The first RST arrived before DescribeInstances reported running, so closed was moved to running. */
  closedRaisedToRunning: boolean;
  /** The first SYN/ACK arrived before the (clamped) closed time, so open was moved to it. */
  openRaisedToClosed: boolean;
  /** Either of the two adjustments above happened. */
  clamped: boolean;
  intervals: IntervalSeconds;
}

const seconds = (fromMs: number, toMs: number): number => (toMs - fromMs) / 1000;

/** The clamped boundaries each interval is measured between; total spans running to port open. */
export const INTERVAL_BOUNDARIES: Readonly<
  Record<keyof IntervalSeconds, readonly [keyof ClampedTimestamps, keyof ClampedTimestamps]>
> = {
  runInstancesApi: ["launchRequestedAt", "launchRespondedAt"],
  pendingToRunning: ["launchRespondedAt", "runningAt"],
  runningToPortClosed: ["runningAt", "portClosedAt"],
  portClosedToOpen: ["portClosedAt", "portOpenAt"],
  total: ["runningAt", "portOpenAt"],
};

/**
 * Derives the four intervals from raw timestamps, the only place that does (DESIGN section 2).
 *
 * The probe starts before the instance is reported running, because DescribeInstances reports it late
 * and a port can close within a second of running; so its observations may precede running and are
 * clamped: closed := max(closed, running), open := max(open, closed). When no RST was ever seen,
 * closed := open (ec2-boot-bench's rule) before clamping to running, so an instance that was already
 * open by the time it was reported running gets 0 for both port intervals rather than negative ones.
 *
 * Returns undefined when the port was never seen open: such a run has no intervals.
 */
export function deriveTimeline(observed: ObservedTimestamps): Timeline | undefined {
  const { launchRequestedAt, launchRespondedAt, runningAt, firstClosedAt, firstOpenAt } = observed;
  if (firstOpenAt === undefined) return undefined;

  const closedSeen = firstClosedAt !== undefined;
  const closedCandidate = firstClosedAt ?? firstOpenAt;
  const portClosedAt = Math.max(closedCandidate, runningAt);
  const portOpenAt = Math.max(firstOpenAt, portClosedAt);
  // Without an RST, "closed" is only the open time standing in, so moving it is not a clamp of its own.
  const closedRaisedToRunning = closedSeen && closedCandidate < runningAt;
  const openRaisedToClosed = firstOpenAt < portClosedAt;

  const timestamps: ClampedTimestamps = {
    launchRequestedAt,
    launchRespondedAt,
    runningAt,
    portClosedAt,
    portOpenAt,
  };
  const between = (name: keyof IntervalSeconds): number => {
    const [from, to] = INTERVAL_BOUNDARIES[name];
    return seconds(timestamps[from], timestamps[to]);
  };
  return {
    timestamps,
    closedSeen,
    closedRaisedToRunning,
    openRaisedToClosed,
    clamped: closedRaisedToRunning || openRaisedToClosed,
    intervals: {
      runInstancesApi: between("runInstancesApi"),
      pendingToRunning: between("pendingToRunning"),
      runningToPortClosed: between("runningToPortClosed"),
      portClosedToOpen: between("portClosedToOpen"),
      total: between("total"),
    },
  };
}
