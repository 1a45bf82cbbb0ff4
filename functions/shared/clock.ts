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
 * Pairs the two clocks at an instant when `Date.now()` ticks to a new millisecond, so that its whole
 * milliseconds are exact to a few microseconds there. The tick falls between the last read that saw
 * the old value and the first that saw the new one; the monotonic reading is the middle of that window.
 * A window widened by preemption is retried on the next tick (a few at most: each costs under 1 ms).
 */
function atWallTick(): { wallMs: number; monotonicMs: number } {
  const NARROW_MS = 0.05;
  let best: { wallMs: number; monotonicMs: number; windowMs: number } | undefined;
  for (let tick = 0; tick < 4; tick++) {
    // In this order: the tick comes after the read that saw `seen`, so after `before`.
    let before = performance.now();
    let seen = Date.now();
    for (;;) {
      const beforeRead = performance.now();
      const wallMs = Date.now();
      const after = performance.now();
      if (wallMs !== seen) {
        const windowMs = after - before;
        if (best === undefined || windowMs < best.windowMs) {
          best = { wallMs, monotonicMs: (before + after) / 2, windowMs };
        }
        break;
      }
      seen = wallMs;
      before = beforeRead;
    }
    if (best.windowMs <= NARROW_MS) break;
  }
  const { wallMs, monotonicMs } = best as { wallMs: number; monotonicMs: number };
  return { wallMs, monotonicMs };
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
