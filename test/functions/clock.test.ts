/**
 * The anchored wall clock (functions/shared/clock.ts): readings follow Date.now() however far the
 * process's performance clock has wandered from it, and each invocation's report says how far.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { anchorToWallClock, withWallClock } from "../../functions/shared/clock.js";

const realNow = performance.now.bind(performance);

/** performance.now() replaced by one that is `offset()` ms off the real one at each call. */
function skewPerformanceNow(offset: () => number): void {
  vi.spyOn(performance, "now").mockImplementation(() => realNow() + offset());
}

/** A reading of `clock` minus Date.now() read just before it: within [0, 1) ms for a clock on the wall. */
const offWall = (clock: () => number): number => {
  const wall = Date.now();
  return clock() - wall;
};

/** This process's own disagreement between the two clocks (about 0), which the skewed tests add to. */
const baseCorrectionMs = (): number => anchorToWallClock().report().anchorCorrectionMs;

const busyWaitMs = (ms: number): void => {
  const until = realNow() + ms;
  while (realNow() < until) {
    // spin: the drift is applied by the replaced performance.now, not by time passing
  }
};

/** Within 2 ms: the anchor reads two clocks one after the other, and a busy machine can preempt between. */
const expectNear = (actual: number, expected: number): void => {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThan(2);
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe("anchorToWallClock", () => {
  it("reads the wall clock with sub-millisecond resolution in a fresh process", () => {
    const clock = anchorToWallClock();
    const readings = Array.from({ length: 50 }, () => offWall(clock.now));
    for (const off of readings) {
      expect(off).toBeGreaterThanOrEqual(-0.1);
      expect(off).toBeLessThanOrEqual(1);
    }
    // Sub-millisecond: not every reading is a whole number of milliseconds, as Date.now() is.
    expect(readings.some((off) => !Number.isInteger(off))).toBe(true);
    const report = clock.report();
    expect(Math.abs(report.anchorCorrectionMs)).toBeLessThan(5);
    expect(Math.abs(report.driftMs)).toBeLessThan(1);
  });

  it("follows Date.now() when performance.timeOrigin + performance.now() is 300 ms behind it", () => {
    const base = baseCorrectionMs();
    // A warm environment that was paused: its monotonic clock lost 300 ms against the wall.
    skewPerformanceNow(() => -300);
    // The skew took effect. Date.now() is whole milliseconds and timeOrigin may sit a millisecond off
    // the wall on a loaded host, so the check allows what expectNear allows (seen: -298.998 in CI).
    const naive = performance.timeOrigin + performance.now();
    expect(naive - Date.now()).toBeLessThan(-298);

    const clock = anchorToWallClock();
    for (let i = 0; i < 20; i++) expect(Math.abs(offWall(clock.now))).toBeLessThanOrEqual(1);
    busyWaitMs(5);
    const report = clock.report();
    expectNear(report.anchorCorrectionMs - base, -300);
    // The skew is constant, so nothing drifted after the anchor.
    expect(Math.abs(report.driftMs)).toBeLessThan(1);
    expect(report.spanMs).toBeGreaterThanOrEqual(5);
  });

  it("reports a performance clock that drifts from the wall clock during the invocation", () => {
    let skew = 0;
    skewPerformanceNow(() => skew);
    const clock = anchorToWallClock();
    expect(Math.abs(offWall(clock.now))).toBeLessThanOrEqual(1);
    // The monotonic clock runs 20 ms ahead from here on (a host whose clocks disagree).
    skew = 20;
    busyWaitMs(2);
    expect(offWall(clock.now)).toBeGreaterThan(19);
    const report = clock.report();
    expectNear(report.driftMs, 20);
    // The span is the clock's own, so it contains the drift.
    expect(report.spanMs).toBeGreaterThanOrEqual(22);
  });
});

describe("withWallClock", () => {
  it("runs the work on an anchored clock and adds the clock's report to its result", async () => {
    const base = baseCorrectionMs();
    skewPerformanceNow(() => -300);
    const result = await withWallClock(async (clock) => {
      const wallAtStart = Date.now();
      const at = clock();
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { status: "open" as const, at, wallAtStart };
    });
    expect(result.status).toBe("open");
    expect(result.at - result.wallAtStart).toBeGreaterThanOrEqual(-0.1);
    expect(result.at - result.wallAtStart).toBeLessThanOrEqual(1);
    expect(Object.keys(result.clock).sort()).toEqual(["anchorCorrectionMs", "driftMs", "spanMs"]);
    expectNear(result.clock.anchorCorrectionMs - base, -300);
    expect(result.clock.spanMs).toBeGreaterThanOrEqual(19);
  });

  it("anchors every invocation afresh, so a pause between invocations never shows in the readings", async () => {
    const base = baseCorrectionMs();
    let skew = 0;
    skewPerformanceNow(() => skew);
    const first = await withWallClock(async (clock) => ({ off: offWall(clock) }));
    // The environment is frozen between invocations; its monotonic clock falls 5 s behind the wall.
    skew = -5_000;
    const second = await withWallClock(async (clock) => ({ off: offWall(clock) }));
    for (const { off } of [first, second]) expect(Math.abs(off)).toBeLessThanOrEqual(1);
    expectNear(first.clock.anchorCorrectionMs - base, 0);
    expectNear(second.clock.anchorCorrectionMs - base, -5_000);
  });

  it("passes the work's error on, without a result", async () => {
    await expect(
      withWallClock(async () => {
        throw new Error("probe failed");
      }),
    ).rejects.toThrow("probe failed");
  });
});
