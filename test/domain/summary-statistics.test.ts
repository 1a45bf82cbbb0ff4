/**
 * The statistics a benchmark's summary carries, from its runs, against hand-computed values: what the
 * CLI and the report show.
 */
import { describe, expect, it } from "vitest";
import { benchmarkRecords, type RunSpec } from "../support/benchmark-records.js";

const summaryOf = (runs: RunSpec[], discardFirst = true) =>
  benchmarkRecords({
    benchmarkId: "hand",
    startedAt: "2025-06-01T00:00:00.000Z",
    amiId: "ami-0123456789abcdef0",
    name: "hand-computed",
    discardFirst,
    runs,
  }).summary;

describe("summary statistics", () => {
  it("of an even number of counted runs: medians between the middle two, p90 the slowest, MAD", () => {
    // Run 0 is discarded. Counted: closed 6, 8, 7, 9 and open 4, 2, 3, 5 → totals 10, 10, 10, 14.
    const summary = summaryOf([
      { closed: 50, open: 50 },
      { closed: 6, open: 4 },
      { closed: 8, open: 2 },
      { closed: 7, open: 3 },
      { closed: 9, open: 5 },
    ]);
    expect(summary.countedRuns).toBe(4);
    expect(summary.countedSucceededRuns).toBe(4);
    // closed: 6 7 8 9 → (7 + 8) / 2; open: 2 3 4 5 → (3 + 4) / 2.
    expect(summary.statistics?.runningToPortClosed).toEqual({
      count: 4,
      median: 7.5,
      min: 6,
      max: 9,
      mean: 7.5,
      p90: 9,
      mad: 1,
    });
    expect(summary.statistics?.portClosedToOpen).toEqual({
      count: 4,
      median: 3.5,
      min: 2,
      max: 5,
      mean: 3.5,
      p90: 5,
      mad: 1,
    });
    // Per-run totals 10 10 10 14: median 10, p90 rank ceil(3.6) = 4 → 14, deviations 0 0 0 4 → MAD 0.
    expect(summary.statistics?.total).toEqual({
      count: 4,
      median: 10,
      min: 10,
      max: 14,
      mean: 11,
      p90: 14,
      mad: 0,
    });
    // The published total is the sum of the two medians, which here differs from the median total.
    expect(summary.medians?.total).toBe(11);
  });

  it("of one counted run: every statistic is that run, the spread 0", () => {
    const summary = summaryOf([
      { closed: 30, open: 1 },
      { closed: 6.26, open: 4.09 },
    ]);
    expect(summary.countedRuns).toBe(1);
    expect(summary.statistics?.total).toEqual({
      count: 1,
      median: 10.35,
      min: 10.35,
      max: 10.35,
      mean: 10.35,
      p90: 10.35,
      mad: 0,
    });
    expect(summary.medians).toMatchObject({ runningToPortClosed: 6.26, portClosedToOpen: 4.09 });
    expect(summary.medians?.total).toBeCloseTo(10.35, 12);
  });

  it("keeps the first run when the benchmark said so", () => {
    const summary = summaryOf([{ closed: 1, open: 1 }], false);
    expect(summary.countedRuns).toBe(1);
    expect(summary.statistics?.total?.median).toBe(2);
  });

  it("counts failed and timed-out runs but computes nothing from them", () => {
    const summary = summaryOf([
      "failed", // the discarded run: counted among failures, not among counted runs
      { closed: 5, open: 1 },
      "timeout-open",
      "timeout-running",
      "failed",
      { closed: 7, open: 1 },
    ]);
    expect(summary).toMatchObject({
      status: "succeeded",
      runs: 6,
      countedRuns: 5,
      succeededRuns: 2,
      failedRuns: 2,
      timedOutRuns: 2,
      countedSucceededRuns: 2,
    });
    expect(summary.statistics?.total).toEqual({
      count: 2,
      median: 7,
      min: 6,
      max: 8,
      mean: 7,
      p90: 8,
      mad: 1,
    });
  });

  it("of a benchmark whose counted runs all failed: no statistics at all, status failed", () => {
    const summary = summaryOf([{ closed: 5, open: 1 }, "failed", "timeout-open", "timeout-running"]);
    expect(summary.status).toBe("failed");
    expect(summary.countedSucceededRuns).toBe(0);
    expect(summary.succeededRuns).toBe(1);
    expect(summary.statistics).toBeUndefined();
    expect(summary.medians).toBeUndefined();
  });
});
