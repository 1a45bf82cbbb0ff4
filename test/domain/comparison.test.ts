import { describe, expect, it } from "vitest";
import {
  byTotal,
  latestPerConfiguration,
  representativeBenchmark,
  seriesHistory,
} from "../../functions/domain/comparison.js";
import { DEFAULT_REGRESSION_THRESHOLDS } from "../../functions/domain/suite-schema.js";
import { type BenchmarkSpec, benchmarkRecords, type RunSpec } from "../support/benchmark-records.js";

const SERIES = "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT";
const twoRuns = (total: number): RunSpec[] => [
  { closed: total, open: 0 },
  { closed: total - 2, open: 2 },
];
const summary = (spec: Partial<BenchmarkSpec> & Pick<BenchmarkSpec, "benchmarkId" | "startedAt">) =>
  benchmarkRecords({ amiId: "ami-01", name: "image", runs: twoRuns(10), ...spec }).summary;

describe("representativeBenchmark", () => {
  it("is the newest benchmark with results, else the newest", () => {
    const old = summary({ benchmarkId: "old", startedAt: "2025-01-01T00:00:00.000Z" });
    const newer = summary({ benchmarkId: "newer", startedAt: "2025-02-01T00:00:00.000Z" });
    const newestFailed = summary({
      benchmarkId: "failed",
      startedAt: "2025-03-01T00:00:00.000Z",
      runs: ["failed", "failed"],
    });
    expect(representativeBenchmark([old, newestFailed, newer])?.benchmarkId).toBe("newer");
    expect(representativeBenchmark([newestFailed])?.benchmarkId).toBe("failed");
    expect(representativeBenchmark([])).toBeUndefined();
  });
});

describe("latestPerConfiguration", () => {
  it("keeps one benchmark per AMI, instance type and label", () => {
    const summaries = [
      summary({ benchmarkId: "a1", startedAt: "2025-01-01T00:00:00.000Z" }),
      summary({ benchmarkId: "a2", startedAt: "2025-01-02T00:00:00.000Z" }),
      summary({ benchmarkId: "a-m7i", startedAt: "2025-01-01T00:00:00.000Z", instanceType: "m7i.large" }),
      summary({ benchmarkId: "a-label", startedAt: "2025-01-01T00:00:00.000Z", label: "uefi" }),
      summary({ benchmarkId: "b", startedAt: "2025-01-01T00:00:00.000Z", amiId: "ami-02" }),
    ];
    const { chosen, superseded } = latestPerConfiguration(summaries);
    expect(chosen.map((s) => s.benchmarkId)).toEqual(["a2", "a-m7i", "a-label", "b"]);
    expect(superseded).toBe(1);
  });
});

describe("byTotal", () => {
  it("orders fastest first and benchmarks without a total last", () => {
    const slow = summary({ benchmarkId: "slow", startedAt: "2025-01-01T00:00:00.000Z", runs: twoRuns(20) });
    const fast = summary({ benchmarkId: "fast", startedAt: "2025-01-01T00:00:00.000Z", runs: twoRuns(5) });
    const none = summary({
      benchmarkId: "none",
      startedAt: "2025-01-01T00:00:00.000Z",
      runs: ["failed", "failed"],
    });
    expect([none, slow, fast].sort(byTotal).map((s) => s.benchmarkId)).toEqual(["fast", "slow", "none"]);
  });
});

describe("seriesHistory", () => {
  const THRESHOLDS = { ...DEFAULT_REGRESSION_THRESHOLDS };
  /** `count` runs (the first discarded) whose totals are `total` plus 0, 10, 20 … ms: steady, no ties. */
  const steady = (total: number, count = 10): RunSpec[] =>
    Array.from({ length: count }, (_, i) => ({ closed: total - 2 + i / 100, open: 2 }));
  const weekly = (week: number, runs: RunSpec[] | number, extra: Partial<BenchmarkSpec> = {}) =>
    summary({
      benchmarkId: `w${week}${extra.instanceType ?? ""}${extra.benchmarkId ?? ""}`,
      startedAt: `2025-05-0${week}T06:00:00.000Z`,
      amiId: `ami-0${week}`,
      series: SERIES,
      runs: typeof runs === "number" ? steady(runs) : runs,
      ...extra,
    });
  const failedWeek: RunSpec[] = Array.from({ length: 10 }, () => "failed" as const);

  it("compares each AMI with the nearest earlier comparable one on its counted runs", () => {
    const [history, ...others] = seriesHistory(
      [weekly(4, 12), weekly(1, 10), weekly(2, 10.2), weekly(3, failedWeek)],
      THRESHOLDS,
    );
    expect(others).toEqual([]);
    const entries = history?.entries ?? [];
    expect(entries.map((e) => e.summary.amiId)).toEqual(["ami-01", "ami-02", "ami-03", "ami-04"]);
    expect(entries[0]?.comparison).toBeUndefined();
    // 0.2 s slower, steady: a real shift, but under 10 % of 10 s.
    expect(entries[1]?.comparison?.timing).toBe("no-change");
    expect(entries[1]?.comparison?.shifts.total?.shift).toBeCloseTo(0.2, 9);
    // Every run of week 3 failed: 9 failures in 9 counted runs against none is a regression of its own.
    expect(entries[2]?.comparison?.regressions).toEqual(["failures"]);
    expect(entries[2]?.comparison?.timing).toBe("not-enough-runs");
    // Week 4 is compared with week 2, across the failed week, which cannot be a baseline.
    expect(entries[3]?.comparedWith?.amiId).toBe("ami-02");
    expect(entries[3]?.comparison?.timing).toBe("slower");
    expect(entries[3]?.comparison?.shifts.total?.shift).toBeCloseTo(1.8, 9);
    expect(entries.map((e) => e.regression)).toEqual([false, false, true, true]);
  });

  it("says not enough runs for 3 counted runs, however large the change", () => {
    const [history] = seriesHistory([weekly(1, steady(10, 4)), weekly(2, steady(20, 4))], THRESHOLDS);
    const comparison = history?.entries[1]?.comparison;
    expect(comparison?.timing).toBe("not-enough-runs");
    expect(comparison?.notEnoughRunsReason).toContain("3 against 3 counted runs");
    expect(history?.entries[1]?.regression).toBe(false);
  });

  it("flags an AMI that times out more often, though its successful runs are as fast", () => {
    const timingOut: RunSpec[] = [
      ...steady(10, 5),
      ...Array.from({ length: 5 }, () => "timeout-open" as const),
    ];
    const [history] = seriesHistory([weekly(1, 10), weekly(2, timingOut)], THRESHOLDS);
    const comparison = history?.entries[1]?.comparison;
    expect(comparison?.timeouts).toMatchObject({ earlier: 0, earlierRuns: 9, later: 5, laterRuns: 9 });
    expect(comparison?.regressions).toEqual(["timeouts"]);
    expect(history?.entries[1]?.regression).toBe(true);
  });

  it("orders AMIs by their first benchmark and counts repeats", () => {
    const [history] = seriesHistory(
      [weekly(2, 11, { amiId: "ami-01", benchmarkId: "again" }), weekly(1, 10), weekly(3, 10)],
      THRESHOLDS,
    );
    expect(history?.entries.map((e) => [e.summary.amiId, e.benchmarks, e.firstBenchmarkedAt])).toEqual([
      ["ami-01", 2, "2025-05-01T06:00:00.000Z"],
      ["ami-03", 1, "2025-05-03T06:00:00.000Z"],
    ]);
    // ami-01 stands for its newest benchmark (11 s); ami-03 at 10 s is 1 s faster, but 1 s is under
    // 10 % of 11 s, so the verdict is no change.
    expect(history?.entries[1]?.comparison?.shifts.total?.shift).toBeCloseTo(-1, 9);
    expect(history?.entries[1]?.comparison?.timing).toBe("no-change");
  });

  it("gives each comparability key its own history, and never compares unkeyed summaries", () => {
    const {
      comparabilityKey: _key,
      countedValues: _values,
      ...unkeyed
    } = weekly(2, 20, {
      instanceType: "t3.micro",
    });
    const histories = seriesHistory(
      [
        weekly(1, 10),
        weekly(1, 8, { instanceType: "m7i.large" }),
        weekly(2, 12, { instanceType: "m7i.large" }),
        weekly(1, 10, { label: "uefi", benchmarkId: "uefi" }),
        weekly(1, 10, { instanceType: "t3.micro" }),
        unkeyed,
      ],
      THRESHOLDS,
    );
    expect(histories.map((h) => [h.instanceType, h.label, h.entries.length, h.comparabilityKey])).toEqual([
      ["c7i.large", undefined, 1, expect.stringMatching(/^v\d+-[0-9a-f]{16}$/)],
      ["c7i.large", "uefi", 1, expect.stringMatching(/^v\d+-[0-9a-f]{16}$/)],
      ["m7i.large", undefined, 2, expect.stringMatching(/^v\d+-[0-9a-f]{16}$/)],
      // The unkeyed summary sorts before the keyed one of its instance type and is its own history.
      ["t3.micro", undefined, 1, undefined],
      ["t3.micro", undefined, 1, expect.stringMatching(/^v\d+-[0-9a-f]{16}$/)],
    ]);
    expect(histories[2]?.entries[1]?.regression).toBe(true);
    expect(histories[3]?.entries[0]?.comparison).toBeUndefined();
  });
});
