/**
 * Wall-clock epoch milliseconds with sub-millisecond precision. Timestamps cross Lambda invocations
 * (launch, poll and probe run in different functions, on different hosts), so they must share the
 * hosts' NTP-synchronised wall clock. `performance.timeOrigin + performance.now()` does not: the origin
 * is fixed when the process starts, and a warm Lambda environment lives for hours and is paused between
 * invocations, so that sum drifts away from the wall clock (DESIGN section 2). Each invocation therefore
 * anchors once to `Date.now()` and takes sub-millisecond deltas from `performance.now()` after that, so no
 * reading is further from the wall clock than the invocation's own length lets the two drift apart.
 */
export type Clock = () => number;

export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What one invocation's clock knew about itself; stored with the run for every step that timed something. */
export interface ClockReport {
  /**
   * `performance.timeOrigin + performance.now()` minus the wall clock at the anchor: the error the
   * anchoring removed (0 in a fresh process, growing in a long-lived, paused one).
   */
  anchorCorrectionMs: number;
  /** This clock's reading minus the wall clock at the end: how far the two drifted apart meanwhile. */
  driftMs: number;
  /** From the anchor to the end of the invocation. */
  spanMs: number;
}

export interface WallClock {
  now: Clock;
  report(): ClockReport;
}

/**
 * Reads both clocks right after `Date.now()` ticks to a new millisecond, so that the whole-millisecond
 * wall reading is exact to a few microseconds at that instant (the wait is under 1 ms).
 */
function atWallTick(): { wallMs: number; monotonicMs: number } {
  const start = Date.now();
  let wallMs = start;
  while (wallMs === start) wallMs = Date.now();
  return { wallMs, monotonicMs: performance.now() };
}

/**
 * A clock anchored to the wall clock now. Create one per invocation (never at module scope, which lives
 * as long as the environment) or, for a process that measures truth itself (the local cloud), once.
 */
export function anchorToWallClock(): WallClock {
  const anchor = atWallTick();
  const anchorCorrectionMs = performance.timeOrigin + anchor.monotonicMs - anchor.wallMs;
  const now: Clock = () => anchor.wallMs + (performance.now() - anchor.monotonicMs);
  return {
    now,
    report() {
      const end = atWallTick();
      const reading = anchor.wallMs + (end.monotonicMs - anchor.monotonicMs);
      return {
        anchorCorrectionMs,
        driftMs: reading - end.wallMs,
        spanMs: end.monotonicMs - anchor.monotonicMs,
      };
    },
  };
}

/**
 * Runs one invocation's work on a freshly anchored clock and adds the clock's report to its result, so
 * that every step that produces timestamps also says how far its clock could be trusted.
 */
export async function withWallClock<R extends object>(
  work: (clock: Clock) => Promise<R>,
): Promise<R & { clock: ClockReport }> {
  const wallClock = anchorToWallClock();
  const result = await work(wallClock.now);
  return { ...result, clock: wallClock.report() };
}
