/**
 * A benchmark's integrity figures (functions/domain/integrity-summary.ts) from runs judged by the real
 * rules, and the statistics that leave invalid intervals out, against hand-computed values.
 */
import { describe, expect, it } from "vitest";
import type { RunIntegrity } from "../../functions/domain/integrity.js";
import { summariseIntegrity } from "../../functions/domain/integrity-summary.js";
import { buildRunRecord, buildSummaryRecord } from "../../functions/domain/run-record.js";
import { benchmark, failedRunState, image, settings, succeededRunState, T0 } from "./run-state-fixtures.js";

/** A succeeded run whose running bracket is `widthMs` wide (the fixture's is 100 ms). */
const withRunningBracket = (runIndex: number, widthMs: number) =>
  buildRunRecord(succeededRunState(runIndex, {}, { runningNotBefore: T0 + 8_400 - widthMs }));

describe("summariseIntegrity", () => {
  const runs = [
    withRunningBracket(0, 50), // discarded: counts for nothing
    withRunningBracket(1, 100),
    withRunningBracket(2, 200),
    withRunningBracket(3, 300),
    withRunningBracket(4, 1_000), // runningBracketWide: 2, 3 and total invalid
    buildRunRecord(succeededRunState(5, {}, {}, { earlierLaunchSends: 1 })), // launchReplayed: 1 and 2
    // clockAnchorCorrected, informational: nothing invalid
    buildRunRecord(
      succeededRunState(6, {}, {}, { clock: { anchorCorrectionMs: 300, driftMs: 0, spanMs: 1_530 } }),
    ),
    // A failed run's marks are counted, but it is not a marked run: it has no intervals to spoil.
    (() => {
      const state = failedRunState(7, "BootBench.RunningTimeout", "slow");
      if (state.launch) state.launch.earlierLaunchSends = 1;
      return buildRunRecord(state);
    })(),
  ];

  it("counts the marks of counted runs, the marked succeeded runs, and the valid runs per interval", () => {
    const summary = summariseIntegrity(runs);
    expect(summary).toMatchObject({
      rulesVersion: 1,
      markedRuns: 2,
      marks: { runningBracketWide: 1, launchReplayed: 2, clockAnchorCorrected: 1 },
      validRuns: {
        runInstancesApi: 5,
        pendingToRunning: 4,
        runningToPortClosed: 5,
        portClosedToOpen: 6,
        total: 5,
      },
    });
  });

  it("gives each boundary's bracket widths over the counted succeeded runs, marked ones included", () => {
    // Running: 100 200 300 1000 100 100 → sorted 100 100 100 200 300 1000: median 150, p99 rank 6.
    expect(summariseIntegrity(runs).bracketWidths).toEqual({
      running: { count: 6, medianMs: 150, p99Ms: 1_000, maxMs: 1_000, unbounded: 0 },
      closed: { count: 6, medianMs: 10, p99Ms: 10, maxMs: 10, unbounded: 0 },
      open: { count: 6, medianMs: 10, p99Ms: 10, maxMs: 10, unbounded: 0 },
    });
  });

  it("counts a mark once per run, however many steps carry it", () => {
    const drifted = { anchorCorrectionMs: 0, driftMs: 9, spanMs: 1_000 };
    const run = buildRunRecord(succeededRunState(1, { clock: drifted }, { clock: drifted }));
    expect(run.integrity.marks.map((mark) => mark.name)).toEqual(["clockDrifted", "clockDrifted"]);
    expect(summariseIntegrity([run])).toMatchObject({ markedRuns: 1, marks: { clockDrifted: 1 } });
  });

  it("counts unbounded brackets apart, and gives no width statistics when every bracket is unbounded", () => {
    const sample = (brackets: RunIntegrity["brackets"]) => ({
      counted: true,
      status: "succeeded" as const,
      integrity: { rulesVersion: 1 as const, brackets, marks: [] },
    });
    const summary = summariseIntegrity([
      sample({ running: { at: 10 }, closed: { at: 20, notBefore: 15, widthMs: 5 } }),
      sample({ running: { at: 10 }, closed: { at: 20 } }),
      { counted: true, status: "failed" as const },
    ]);
    expect(summary.bracketWidths).toEqual({
      running: { count: 0, unbounded: 2 },
      closed: { count: 1, medianMs: 5, p99Ms: 5, maxMs: 5, unbounded: 1 },
    });
    // Without verdicts nothing is valid.
    expect(summary.validRuns).toEqual({
      runInstancesApi: 0,
      pendingToRunning: 0,
      runningToPortClosed: 0,
      portClosedToOpen: 0,
      total: 0,
    });
  });

  it("of no runs: nothing marked, nothing valid, no brackets", () => {
    expect(summariseIntegrity([])).toEqual({
      rulesVersion: 1,
      markedRuns: 0,
      marks: {},
      validRuns: {
        runInstancesApi: 0,
        pendingToRunning: 0,
        runningToPortClosed: 0,
        portClosedToOpen: 0,
        total: 0,
      },
      bracketWidths: {},
    });
  });
});

describe("a summary's medians count valid intervals only", () => {
  const context = { benchmark, settings: { ...settings, runs: 4 }, image };
  const run = (runIndex: number, closedMs: number, openMs: number, poll = {}) =>
    buildRunRecord(
      succeededRunState(
        runIndex,
        { firstClosedAt: T0 + 8_400 + closedMs, firstOpenAt: T0 + 8_400 + closedMs + openMs },
        poll,
      ),
    );

  it("so a marked run's value does not move them", () => {
    const runs = [
      run(0, 50_000, 50_000), // discarded
      run(1, 6_000, 4_000),
      run(2, 7_000, 3_000),
      // A 1 s running bracket (a throttled poll): pending to running, running to closed and total of
      // this run are not counted; its closed to open is.
      run(3, 20_000, 1_000, { runningNotBefore: T0 + 7_400 }),
    ];
    expect(runs[3]?.integrity.marks.map((mark) => mark.name)).toEqual(["runningBracketWide"]);
    const summary = buildSummaryRecord(context, runs);
    expect(summary.countedSucceededRuns).toBe(3);
    // With run 3 the closed median would be 7 and the total median 10; closed to open keeps all three.
    expect(summary.medians).toEqual({
      runInstancesApi: 1.5,
      pendingToRunning: 6.9,
      runningToPortClosed: 6.5,
      portClosedToOpen: 3,
      total: 9.5,
    });
    expect(summary.statistics?.total).toEqual({
      count: 2,
      median: 10,
      min: 10,
      max: 10,
      mean: 10,
      p90: 10,
      mad: 0,
    });
    expect(summary.statistics?.portClosedToOpen).toMatchObject({ count: 3, median: 3, min: 1 });
    expect(summary.statistics?.pendingToRunning?.count).toBe(2);
    expect(summary.integrity).toEqual(summariseIntegrity(runs));
    expect(summary.integrity).toMatchObject({
      markedRuns: 1,
      marks: { runningBracketWide: 1 },
      validRuns: {
        runInstancesApi: 3,
        pendingToRunning: 2,
        runningToPortClosed: 2,
        portClosedToOpen: 3,
        total: 2,
      },
    });
  });

  it("and has no published total when no run's port intervals are valid", () => {
    // The closed bracket is 100 ms wide (limit 50 ms): running to closed and closed to open are invalid,
    // total (running to open) is not.
    const marked = buildRunRecord(succeededRunState(1, { closedNotBefore: T0 + 14_560 }));
    expect(marked.integrity.marks.map((mark) => mark.name)).toEqual(["closedBracketWide"]);
    const summary = buildSummaryRecord({ ...context, settings: { ...settings, discardFirst: false } }, [
      marked,
    ]);
    expect(summary.medians).toEqual({ runInstancesApi: 1.5, pendingToRunning: 6.9 });
    expect(summary.statistics?.total?.median).toBeCloseTo(10.35, 9);
    expect(summary.statistics).not.toHaveProperty("runningToPortClosed");
    expect(summary.statistics).not.toHaveProperty("portClosedToOpen");
  });
});
