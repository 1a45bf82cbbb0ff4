import { describe, expect, it } from "vitest";
import type { IntervalSeconds } from "../../functions/domain/contract.js";
import {
  INTERVAL_NAMES,
  type IntervalName,
  type IntervalVerdict,
  type RunIntegrity,
} from "../../functions/domain/integrity.js";
import {
  boxSummary,
  describeSample,
  max,
  mean,
  median,
  medianAbsoluteDeviation,
  min,
  percentile,
  summariseIntervals,
} from "../../functions/domain/statistics.js";

describe("median", () => {
  it("takes the middle value of an odd count, whatever the order", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([9, 2, 7, 4, 5])).toBe(5);
  });

  it("takes the mean of the two middle values of an even count", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([10, 20])).toBe(15);
  });

  it("of one value is that value", () => {
    expect(median([7.25])).toBe(7.25);
  });

  it("does not reorder its input", () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it("sorts numerically, not as strings", () => {
    expect(median([10, 9, 100])).toBe(10);
  });
});

describe("boxSummary", () => {
  it("has nearest-rank quartiles, so each edge of the box is an observed run, and whiskers at the extremes", () => {
    // Nine runs: q1 at rank ceil(2.25) = 3, q3 at rank ceil(6.75) = 7; the 40 s run is a whisker, not hidden.
    expect(boxSummary([12, 11, 13, 10, 14, 15, 40, 16, 17])).toEqual({
      min: 10,
      q1: 12,
      median: 14,
      q3: 16,
      max: 40,
    });
    // Ten runs: the median between the two middle runs, the quartiles at ranks 3 and 8.
    expect(boxSummary([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toEqual({
      min: 1,
      q1: 3,
      median: 5.5,
      q3: 8,
      max: 10,
    });
  });

  it("is undefined for no runs", () => {
    expect(boxSummary([])).toBeUndefined();
  });
});

describe("percentile (nearest rank)", () => {
  it("gives the value at rank ceil(p/100 * n)", () => {
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(ten, 90)).toBe(9);
    expect(percentile(ten, 50)).toBe(5);
    expect(percentile(ten, 100)).toBe(10);
    expect(percentile(ten, 1)).toBe(1);
  });

  it("is the slowest of nine runs at p90 (rank ceil(8.1) = 9)", () => {
    expect(percentile([9, 8, 7, 6, 5, 4, 3, 2, 1], 90)).toBe(9);
  });

  it("of one value is that value", () => {
    expect(percentile([4.5], 90)).toBe(4.5);
  });

  it("rejects percentages outside (0, 100]", () => {
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe("median absolute deviation", () => {
  it("is the median distance from the median", () => {
    // median 2; deviations 1, 1, 0, 0, 2, 4, 7 → sorted 0 0 1 1 2 4 7 → 1.
    expect(medianAbsoluteDeviation([1, 1, 2, 2, 4, 6, 9])).toBe(1);
  });

  it("works with an even count", () => {
    // median 2.5; deviations 1.5, 0.5, 0.5, 1.5 → 1.
    expect(medianAbsoluteDeviation([1, 2, 3, 4])).toBe(1);
  });

  it("is 0 for one value or identical values", () => {
    expect(medianAbsoluteDeviation([3])).toBe(0);
    expect(medianAbsoluteDeviation([2, 2, 2])).toBe(0);
  });
});

describe("empty samples", () => {
  it("have no statistics", () => {
    for (const statistic of [median, min, max, mean, medianAbsoluteDeviation]) {
      expect(() => statistic([])).toThrow(RangeError);
    }
    expect(() => percentile([], 90)).toThrow(RangeError);
    expect(describeSample([])).toBeUndefined();
  });
});

describe("describeSample", () => {
  it("gives every statistic", () => {
    expect(describeSample([4, 1, 3, 2])).toEqual({
      count: 4,
      median: 2.5,
      min: 1,
      max: 4,
      mean: 2.5,
      p90: 4,
      mad: 1,
    });
  });
});

describe("summariseIntervals", () => {
  const intervals = (total: number): IntervalSeconds => ({
    runInstancesApi: 1.5,
    pendingToRunning: 6.9,
    runningToPortClosed: total - 4,
    portClosedToOpen: 4,
    total,
  });

  /** Verdicts with the named intervals invalid (by a mark that says so) and the others valid. */
  const verdicts = (...invalid: IntervalName[]): Pick<RunIntegrity, "verdicts"> => ({
    verdicts: Object.fromEntries(
      INTERVAL_NAMES.map((name) => [
        name,
        invalid.includes(name)
          ? { valid: false, reasons: ["pollStartedLate"] }
          : { valid: true, reasons: [] },
      ]),
    ) as Record<IntervalName, IntervalVerdict>,
  });
  const valid = verdicts();

  it("uses counted successful runs only", () => {
    const statistics = summariseIntervals([
      { counted: false, status: "succeeded", intervals: intervals(100), integrity: valid },
      { counted: true, status: "succeeded", intervals: intervals(10), integrity: valid },
      { counted: true, status: "failed" },
      { counted: true, status: "timeout" },
      { counted: true, status: "succeeded", intervals: intervals(12), integrity: valid },
      { counted: true, status: "succeeded", intervals: intervals(11), integrity: valid },
    ]);
    expect(statistics?.total).toEqual({ count: 3, median: 11, min: 10, max: 12, mean: 11, p90: 12, mad: 1 });
    expect(statistics?.runningToPortClosed?.median).toBe(7);
    expect(statistics?.portClosedToOpen).toMatchObject({ median: 4, mad: 0 });
    expect(statistics?.runInstancesApi?.median).toBe(1.5);
    expect(statistics?.pendingToRunning?.median).toBe(6.9);
  });

  it("is undefined when no counted run succeeded", () => {
    expect(summariseIntervals([])).toBeUndefined();
    expect(
      summariseIntervals([
        { counted: false, status: "succeeded", intervals: intervals(10), integrity: valid },
        { counted: true, status: "timeout" },
      ]),
    ).toBeUndefined();
  });

  it("leaves an invalid interval out of its own statistics only, so each interval has its own count", () => {
    const statistics = summariseIntervals([
      { counted: true, status: "succeeded", intervals: intervals(10), integrity: valid },
      { counted: true, status: "succeeded", intervals: intervals(11), integrity: valid },
      // The slowest run's total and running to closed are marked: without the verdicts the total
      // median would be 11 and its max 100.
      {
        counted: true,
        status: "succeeded",
        intervals: intervals(100),
        integrity: verdicts("runningToPortClosed", "total"),
      },
    ]);
    expect(statistics?.total).toEqual({
      count: 2,
      median: 10.5,
      min: 10,
      max: 11,
      mean: 10.5,
      p90: 11,
      mad: 0.5,
    });
    expect(statistics?.runningToPortClosed).toMatchObject({ count: 2, median: 6.5, max: 7 });
    expect(statistics?.portClosedToOpen).toMatchObject({ count: 3, median: 4 });
    expect(statistics?.runInstancesApi).toMatchObject({ count: 3, median: 1.5 });
  });

  it("counts no interval of a run without verdicts, and gives no statistics for an interval never valid", () => {
    const statistics = summariseIntervals([
      // A succeeded run always has verdicts; without them nothing is known to be countable.
      { counted: true, status: "succeeded", intervals: intervals(100) },
      {
        counted: true,
        status: "succeeded",
        intervals: intervals(10),
        integrity: verdicts("runInstancesApi"),
      },
    ]);
    expect(statistics).not.toHaveProperty("runInstancesApi");
    expect(statistics?.total).toEqual({ count: 1, median: 10, min: 10, max: 10, mean: 10, p90: 10, mad: 0 });
    expect(
      summariseIntervals([
        {
          counted: true,
          status: "succeeded",
          intervals: intervals(10),
          integrity: verdicts(...INTERVAL_NAMES),
        },
      ]),
    ).toBeUndefined();
  });
});
