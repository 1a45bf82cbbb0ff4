import { describe, expect, it } from "vitest";
import { deriveTimeline } from "../../functions/domain/timeline.js";

// Launch at t = 100 s (ms with a sub-millisecond part), RunInstances 1.5 s, pending to running 6.9 s:
// running at 108.4 s.
const base = { launchRequestedAt: 100_000.5, launchRespondedAt: 101_500.5, runningAt: 108_400.5 };

describe("deriveTimeline", () => {
  it("derives the four intervals and total of a normal boot", () => {
    const timeline = deriveTimeline({ ...base, firstClosedAt: 114_660.5, firstOpenAt: 118_750.5 });
    expect(timeline).toBeDefined();
    expect(timeline?.intervals).toEqual({
      runInstancesApi: 1.5,
      pendingToRunning: 6.9,
      runningToPortClosed: 6.26,
      portClosedToOpen: 4.09,
      total: 10.35,
    });
    expect(timeline?.timestamps).toEqual({ ...base, portClosedAt: 114_660.5, portOpenAt: 118_750.5 });
    expect(timeline).toMatchObject({
      closedSeen: true,
      closedRaisedToRunning: false,
      openRaisedToClosed: false,
      clamped: false,
    });
  });

  it("keeps sub-millisecond precision and does not round", () => {
    const timeline = deriveTimeline({ ...base, firstClosedAt: 108_400.75, firstOpenAt: 108_401.0 });
    expect(timeline?.intervals.runningToPortClosed).toBeCloseTo(0.00025, 12);
    expect(timeline?.intervals.portClosedToOpen).toBeCloseTo(0.00025, 12);
  });

  it("makes closed to open 0 when closed was never seen (closed := open)", () => {
    // Clear Linux 34640 in 2021: running to open 1.23 s without ever refusing a connection.
    const timeline = deriveTimeline({ ...base, firstOpenAt: 109_630.5 });
    expect(timeline?.intervals.runningToPortClosed).toBeCloseTo(1.23, 9);
    expect(timeline?.intervals.portClosedToOpen).toBe(0);
    expect(timeline?.intervals.total).toBeCloseTo(1.23, 9);
    expect(timeline?.timestamps.portClosedAt).toBe(109_630.5);
    expect(timeline).toMatchObject({ closedSeen: false, clamped: false });
  });

  it("raises a closed seen before running to running", () => {
    // The probe got its first RST 0.4 s before DescribeInstances reported running.
    const timeline = deriveTimeline({ ...base, firstClosedAt: 108_000.5, firstOpenAt: 112_400.5 });
    expect(timeline?.timestamps.portClosedAt).toBe(108_400.5);
    expect(timeline?.intervals.runningToPortClosed).toBe(0);
    expect(timeline?.intervals.portClosedToOpen).toBe(4);
    expect(timeline?.intervals.total).toBe(4);
    expect(timeline).toMatchObject({ closedRaisedToRunning: true, openRaisedToClosed: false, clamped: true });
  });

  it("raises an open seen before closed to closed", () => {
    // A SYN/ACK answered before the first RST (a service restarting during boot).
    const timeline = deriveTimeline({ ...base, firstClosedAt: 112_000.5, firstOpenAt: 111_000.5 });
    expect(timeline?.timestamps.portOpenAt).toBe(112_000.5);
    expect(timeline?.intervals.runningToPortClosed).toBe(3.6);
    expect(timeline?.intervals.portClosedToOpen).toBe(0);
    expect(timeline?.intervals.total).toBe(3.6);
    expect(timeline).toMatchObject({ closedRaisedToRunning: false, openRaisedToClosed: true, clamped: true });
  });

  it("clamps both to running when closed and open were both seen before running", () => {
    const timeline = deriveTimeline({ ...base, firstClosedAt: 107_000.5, firstOpenAt: 108_000.5 });
    expect(timeline?.timestamps).toMatchObject({ portClosedAt: 108_400.5, portOpenAt: 108_400.5 });
    expect(timeline?.intervals).toMatchObject({ runningToPortClosed: 0, portClosedToOpen: 0, total: 0 });
    expect(timeline).toMatchObject({ closedRaisedToRunning: true, openRaisedToClosed: true, clamped: true });
  });

  it("never gives a negative interval when the port was open, never closed, before running", () => {
    const timeline = deriveTimeline({ ...base, firstOpenAt: 108_000.5 });
    expect(timeline?.intervals).toMatchObject({ runningToPortClosed: 0, portClosedToOpen: 0, total: 0 });
    expect(timeline).toMatchObject({
      closedSeen: false,
      closedRaisedToRunning: false,
      openRaisedToClosed: true,
    });
  });

  it("has no intervals when the port was never seen open", () => {
    expect(deriveTimeline({ ...base, firstClosedAt: 114_660.5 })).toBeUndefined();
    expect(deriveTimeline(base)).toBeUndefined();
  });
});
