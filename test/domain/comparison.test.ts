import { describe, expect, it } from "vitest";
import {
  byTotal,
  isRegression,
  latestPerConfiguration,
  representativeBenchmark,
  seriesHistory,
  totalChange,
} from "../../functions/domain/comparison.js";
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

describe("regressions", () => {
  const thresholds = { relativeChange: 0.1, seconds: 0.5 };

  it("need both the relative and the absolute threshold exceeded", () => {
    expect(isRegression(totalChange(10, 11.2), thresholds)).toBe(true); // +12 %, +1.2 s
    expect(isRegression(totalChange(10, 10.9), thresholds)).toBe(false); // +9 %
    expect(isRegression(totalChange(2, 2.4), thresholds)).toBe(false); // +20 % but only 0.4 s
    expect(isRegression(totalChange(60, 65), thresholds)).toBe(false); // 5 s but only +8.3 %
    expect(isRegression(totalChange(10, 5), thresholds)).toBe(false); // faster
  });

  it("change from zero is infinitely relative", () => {
    expect(totalChange(0, 1)).toEqual({ seconds: 1, relative: Number.POSITIVE_INFINITY });
    expect(totalChange(0, 0)).toEqual({ seconds: 0, relative: 0 });
  });
});

describe("seriesHistory", () => {
  const weekly = (week: number, total: number | "failed", extra: Partial<BenchmarkSpec> = {}) =>
    summary({
      benchmarkId: `w${week}${extra.instanceType ?? ""}${extra.benchmarkId ?? ""}`,
      startedAt: `2025-05-0${week}T06:00:00.000Z`,
      amiId: `ami-0${week}`,
      series: SERIES,
      runs: total === "failed" ? ["failed", "failed"] : twoRuns(total),
      ...extra,
    });

  it("compares each AMI with the previous one that has a total, and flags regressions", () => {
    const [history, ...others] = seriesHistory([
      weekly(4, 12),
      weekly(1, 10),
      weekly(2, 10.2),
      weekly(3, "failed"),
    ]);
    expect(others).toEqual([]);
    const entries = history?.entries ?? [];
    expect(entries.map((e) => e.summary.amiId)).toEqual(["ami-01", "ami-02", "ami-03", "ami-04"]);
    expect(entries.map((e) => e.regression)).toEqual([false, false, false, true]);
    expect(entries[1]?.change?.seconds).toBeCloseTo(0.2, 9);
    // Week 3 has nothing to compare; week 4 is compared with week 2, across it.
    expect(entries[2]?.change).toBeUndefined();
    expect(entries[3]?.comparedWith?.amiId).toBe("ami-02");
    expect(entries[3]?.change?.relative).toBeCloseTo(1.8 / 10.2, 9);
  });

  it("orders AMIs by their first benchmark and counts repeats", () => {
    const [history] = seriesHistory([
      weekly(2, 11, { amiId: "ami-01", benchmarkId: "again" }),
      weekly(1, 10),
      weekly(3, 10),
    ]);
    expect(history?.entries.map((e) => [e.summary.amiId, e.benchmarks, e.firstBenchmarkedAt])).toEqual([
      ["ami-01", 2, "2025-05-01T06:00:00.000Z"],
      ["ami-03", 1, "2025-05-03T06:00:00.000Z"],
    ]);
    // ami-01 stands for its newest benchmark (11 s); ami-03 at 10 s is faster.
    expect(history?.entries[1]?.change?.seconds).toBeCloseTo(-1, 9);
  });

  it("gives each instance type and label its own history", () => {
    const histories = seriesHistory([
      weekly(1, 10),
      weekly(1, 8, { instanceType: "m7i.large" }),
      weekly(2, 12, { instanceType: "m7i.large" }),
      weekly(1, 10, { label: "uefi", benchmarkId: "uefi" }),
    ]);
    expect(histories.map((h) => [h.instanceType, h.label, h.entries.length])).toEqual([
      ["c7i.large", undefined, 1],
      ["c7i.large", "uefi", 1],
      ["m7i.large", undefined, 2],
    ]);
    expect(histories[2]?.entries[1]?.regression).toBe(true);
  });
});
