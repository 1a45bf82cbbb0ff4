import { describe, expect, it } from "vitest";
import {
  type BaselineCandidate,
  type BenchmarkSample,
  compareBenchmarks,
  describeComparison,
  isComparableBaseline,
  isControlBaseline,
  isPlatformDrift,
  MIN_COUNTED_RUNS,
  verdictWords,
} from "../../functions/domain/regression.js";
import { DEFAULT_REGRESSION_THRESHOLDS } from "../../functions/domain/suite-schema.js";

const THRESHOLDS = { ...DEFAULT_REGRESSION_THRESHOLDS };

/** A benchmark whose counted runs all succeeded with these totals (and nothing else measured). */
const sample = (
  totals: number[],
  outcomes: { timedOut?: number; failed?: number } = {},
): BenchmarkSample => ({
  countedRuns: totals.length + (outcomes.timedOut ?? 0) + (outcomes.failed ?? 0),
  countedTimedOutRuns: outcomes.timedOut ?? 0,
  countedFailedRuns: outcomes.failed ?? 0,
  countedValues: totals.length > 0 ? { total: totals } : {},
});

// Nine steady runs 20.0 to 20.8 s, and the same nine 3 s slower: every pairwise difference is
// 3 + 0.1 k for k in −8..8, so the Hodges-Lehmann shift is exactly 3 s. R's exact interval for
// m = n = 9 takes the 18th and 64th of the 81 sorted differences (qwilcox(0.025, 9, 9) = 18, found
// by enumerating all C(18, 9) rank sets in Python): 2.7 to 3.3 s, achieved confidence 0.9600.
const steady = Array.from({ length: 9 }, (_, i) => 20 + 0.1 * i);
const steadySlower = steady.map((total) => total + 3);

describe("compareBenchmarks", () => {
  it("flags nine steady runs 3 s slower, with the interval and p of the exact test", () => {
    const comparison = compareBenchmarks(sample(steady), sample(steadySlower), THRESHOLDS);
    expect(comparison.timing).toBe("slower");
    expect(comparison.regressions).toEqual(["boot-time"]);
    const total = comparison.shifts.total;
    expect(total?.shift).toBeCloseTo(3, 9);
    expect(total?.low).toBeCloseTo(2.7, 9);
    expect(total?.high).toBeCloseTo(3.3, 9);
    expect(total?.confidence).toBeCloseTo(0.9600164541341012, 12);
    // scipy.stats.mannwhitneyu(later, earlier, method='exact').pvalue = 4.113533525298231e-05 (2 / C(18, 9))
    expect(total?.pValue).toBeCloseTo(4.113533525298231e-5, 12);
    expect(describeComparison(comparison)).toBe("slower by 3.00 s, 95 % CI 2.70 to 3.30 s, p < 0.001");
    expect(verdictWords(comparison)).toBe("slower");
  });

  it("says faster, not a regression, the other way round", () => {
    const comparison = compareBenchmarks(sample(steadySlower), sample(steady), THRESHOLDS);
    expect(comparison.timing).toBe("faster");
    expect(comparison.regressions).toEqual([]);
    expect(describeComparison(comparison)).toBe("faster by 3.00 s, 95 % CI −3.30 to −2.70 s, p < 0.001");
  });

  it("never alerts on three runs, however far apart", () => {
    const comparison = compareBenchmarks(sample([20, 20.1, 20.2]), sample([40, 40.1, 40.2]), THRESHOLDS);
    expect(comparison.timing).toBe("not-enough-runs");
    expect(comparison.regressions).toEqual([]);
    expect(describeComparison(comparison)).toBe(
      `not enough runs (3 against 3 counted runs with a valid total; a comparison needs at least ${MIN_COUNTED_RUNS} on each side)`,
    );
    expect(verdictWords(comparison)).toBe("not enough runs");
  });

  it("is not enough runs when one side has too few, even against nine", () => {
    const comparison = compareBenchmarks(sample(steady), sample([30, 30.1, 30.2, 30.3]), THRESHOLDS);
    expect(comparison.timing).toBe("not-enough-runs");
  });

  it("does not flag a median that moved when the interval reaches under the thresholds", () => {
    // Same medians 3 s apart as above, but spread over 10 to 30 s: the interval straddles 0.
    const noisy = [10, 12.5, 15, 17.5, 20, 22.5, 25, 27.5, 30];
    const comparison = compareBenchmarks(sample(noisy), sample(noisy.map((t) => t + 3)), THRESHOLDS);
    expect(comparison.shifts.total?.shift).toBeCloseTo(3, 9);
    expect(comparison.shifts.total?.low).toBeLessThan(0);
    expect(comparison.timing).toBe("no-change");
    expect(comparison.regressions).toEqual([]);
  });

  it("does not flag a clear shift smaller than the relative threshold", () => {
    // 1 s slower with no noise at all: beyond 0.5 s, but 1 s of 20 s is under 10 %.
    const comparison = compareBenchmarks(sample(steady), sample(steady.map((t) => t + 1)), THRESHOLDS);
    expect(comparison.shifts.total?.low).toBeGreaterThan(0.5);
    expect(comparison.timing).toBe("no-change");
  });

  it("flags more timeouts as a regression of its own, even when too few runs are left to time", () => {
    const comparison = compareBenchmarks(
      sample(steady),
      sample(steady.slice(0, 4), { timedOut: 5 }),
      THRESHOLDS,
    );
    expect(comparison.timing).toBe("not-enough-runs");
    expect(comparison.regressions).toEqual(["timeouts"]);
    // scipy.stats.fisher_exact([[5, 4], [0, 9]], alternative='greater').pvalue = 0.014705882352941178
    expect(comparison.timeouts.pGreater).toBeCloseTo(0.014705882352941178, 12);
    expect(describeComparison(comparison)).toBe(
      "not enough runs (9 against 4 counted runs with a valid total; a comparison needs at least 5 on each side); " +
        "5 timeouts in 9 runs against 0 in 9 (one-sided p = 0.015)",
    );
    expect(verdictWords(comparison)).toBe("more timeouts");
  });

  it("does not flag two timeouts in nine against none: chance does that one time in four", () => {
    const comparison = compareBenchmarks(
      sample(steady),
      sample(steady.slice(0, 7), { timedOut: 2 }),
      THRESHOLDS,
    );
    // scipy.stats.fisher_exact([[2, 7], [0, 9]], alternative='greater').pvalue = 0.23529411764705885
    expect(comparison.timeouts.pGreater).toBeCloseTo(0.23529411764705885, 12);
    expect(comparison.timeouts.regression).toBe(false);
    expect(comparison.regressions).toEqual([]);
  });

  it("compares failures apart from timeouts", () => {
    const comparison = compareBenchmarks(
      sample(steady),
      sample(steady.slice(0, 5), { failed: 4 }),
      THRESHOLDS,
    );
    // scipy.stats.fisher_exact([[4, 5], [0, 9]], alternative='greater').pvalue = 0.0411764705882353
    expect(comparison.failures.pGreater).toBeCloseTo(0.0411764705882353, 12);
    expect(comparison.regressions).toEqual(["failures"]);
    expect(comparison.timeouts.regression).toBe(false);
  });

  it("compares each interval both benchmarks measured, and only those", () => {
    const earlier: BenchmarkSample = {
      ...sample(steady),
      countedValues: { total: steady, pendingToRunning: steady },
    };
    const comparison = compareBenchmarks(earlier, sample(steadySlower), THRESHOLDS);
    expect(Object.keys(comparison.shifts)).toEqual(["total"]);
  });
});

describe("baselines and controls", () => {
  const candidate = (benchmarkId: string, amiId: string, extra: Partial<BaselineCandidate> = {}) => ({
    benchmarkId,
    amiId,
    status: "succeeded" as const,
    comparabilityKey: "v1-0123456789abcdef",
    ...sample(steady),
    ...extra,
  });
  const current = candidate("now", "ami-b");

  it("takes another AMI with the same key and a counted success as a series' baseline", () => {
    expect(isComparableBaseline(current, candidate("before", "ami-a"))).toBe(true);
    expect(isComparableBaseline(current, candidate("before", "ami-b"))).toBe(false);
    expect(isComparableBaseline(current, candidate("before", "ami-a", { status: "failed" }))).toBe(false);
    expect(isComparableBaseline(current, candidate("before", "ami-a", { comparabilityKey: "v1-f" }))).toBe(
      false,
    );
    const { countedValues: _values, ...unsampled } = candidate("before", "ami-a");
    expect(isComparableBaseline(current, unsampled)).toBe(false);
    expect(isComparableBaseline(current, current)).toBe(false);
  });

  it("lets a control's baseline be the same AMI: a pinned image", () => {
    expect(isControlBaseline(current, candidate("before", "ami-b"))).toBe(true);
    expect(isControlBaseline(current, current)).toBe(false);
  });

  it("calls a regression the platform's only when the control shares every kind of it", () => {
    const slower = compareBenchmarks(sample(steady), sample(steadySlower), THRESHOLDS);
    const unchanged = compareBenchmarks(sample(steady), sample(steady), THRESHOLDS);
    const slowerAndTimingOut = compareBenchmarks(
      sample(steady),
      sample(steadySlower, { timedOut: 9 }),
      THRESHOLDS,
    );
    expect(slowerAndTimingOut.regressions).toEqual(["boot-time", "timeouts"]);
    expect(isPlatformDrift(slower, slower)).toBe(true);
    expect(isPlatformDrift(slower, unchanged)).toBe(false);
    expect(isPlatformDrift(slowerAndTimingOut, slower)).toBe(false);
    expect(isPlatformDrift(unchanged, slower)).toBe(false);
  });
});
