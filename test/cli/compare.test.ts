import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type CompareRequest, registerCompareCommand, showComparison } from "../../cli/commands/compare.js";
import { REGRESSION_EXIT_CODE } from "../../cli/commands/history.js";
import type { QueryDeps } from "../../cli/query-command.js";
import { comparabilityKey } from "../../functions/domain/comparability.js";
import { describeComparison } from "../../functions/domain/regression.js";
import type { SummaryRecord } from "../../functions/domain/run-record.js";
import {
  type BenchmarkRecords,
  benchmarkRecords,
  type RunSpec,
  tenRuns,
} from "../support/benchmark-records.js";
import { type SeededTable, startSeededTable } from "../support/results-dynamodb.js";
import { NOW, streamWrite } from "./results-dataset.js";

// Counted runs of tenRuns(closed, open) have totals closed + open + w / 2 for nine distinct offsets w,
// so the same offsets 3 s higher give 81 pairwise differences 3 + (w_j − w_i) / 2: the Hodges-Lehmann
// shift is exactly 3 s, and the exact interval (the 18th and 64th sorted differences, as
// test/domain/regression.test.ts derives) is 2.98 to 3.02 s. Checked with Python:
// sorted(y − x for x in a for y in b)[17], [63] = 2.98, 3.02, and
// scipy.stats.mannwhitneyu(b, a, method='exact').pvalue = 4.113533525298231e-05.
const A1 = "ami-0a1000000000000a1";
const B2 = "ami-0b2000000000000b2";

const benchmark = (
  benchmarkId: string,
  day: string,
  amiId: string,
  runs: RunSpec[],
  extra: { instanceType?: string; label?: string } = {},
): BenchmarkRecords =>
  benchmarkRecords({
    benchmarkId,
    startedAt: `${day}T06:00:00.000Z`,
    amiId,
    name: `image ${benchmarkId}`,
    runs,
    ...extra,
  });

/** A summary as written before per-run samples were stored: medians and counts only. */
function beforeSamples(records: BenchmarkRecords): BenchmarkRecords {
  const {
    countedValues: _values,
    comparability: _comparability,
    comparabilityKey: _key,
    countedFailedRuns: _failed,
    countedTimedOutRuns: _timedOut,
    ...summary
  } = records.summary;
  return { ...records, summary: summary as SummaryRecord };
}

/** The same benchmark as judged by an earlier version of the integrity rules. */
function underRules(version: number, records: BenchmarkRecords): BenchmarkRecords {
  const comparability = { ...records.summary.comparability, integrityRulesVersion: version };
  return {
    ...records,
    summary: { ...records.summary, comparability, comparabilityKey: comparabilityKey(comparability) },
  };
}

const DATASET: BenchmarkRecords[] = [
  // The AMI A1: an older benchmark, the one to find on c7i, an all-failed retry the day after, and a
  // newer one on c7g.
  benchmark("base-old", "2025-04-01", A1, tenRuns(10, 2)),
  benchmark("base", "2025-05-01", A1, tenRuns(8, 2)),
  benchmark("base-retry", "2025-05-02", A1, ["failed", "failed", "failed", "failed"]),
  benchmark("base-c7g", "2025-05-03", A1, tenRuns(6, 2), { instanceType: "c7g.large" }),
  // The AMI B2: 3 s slower than base.
  benchmark("slower", "2025-05-08", B2, tenRuns(11, 2)),
  // Four runs, the first discarded: 3 counted each.
  benchmark("few-a", "2025-05-09", "ami-0c1000000000000c1", tenRuns(8, 2).slice(0, 4)),
  benchmark("few-b", "2025-05-10", "ami-0c2000000000000c2", tenRuns(20, 2).slice(0, 4)),
  underRules(0, benchmark("rules-0", "2025-05-11", "ami-0e1000000000000e1", tenRuns(8, 2))),
  beforeSamples(benchmark("legacy", "2025-03-01", "ami-0d1000000000000d1", tenRuns(8, 2))),
];

let table: SeededTable;
beforeAll(async () => {
  table = await startSeededTable(DATASET);
});
afterAll(async () => {
  await table?.close();
});

async function compare(request: Partial<CompareRequest>) {
  let out = "";
  let err = "";
  const deps: QueryDeps = {
    client: table.client,
    tableName: table.tableName,
    clock: () => NOW,
    out: { write: (text: string) => (out += text) },
    err: { write: (text: string) => (err += text) },
  };
  const outcome = await showComparison(deps, { a: "base", b: "slower", format: "table", ...request });
  return { out, err, outcome };
}

/** Notes are word-wrapped: a phrase is found in the text with its line breaks as spaces. */
const unwrapped = (text: string): string => text.replace(/\s+/g, " ");

const lineOf = (out: string, start: string): string | undefined =>
  out.split("\n").find((line) => line.startsWith(start));

describe("compare two benchmarks", () => {
  it("says nine steady runs 3 s slower are slower, interval by interval", async () => {
    const { out, outcome } = await compare({});
    expect(lineOf(out, "a:")).toBe(
      "a:           base: ami-0a1000000000000a1 image base on c7i.large, started 2025-05-01 06:00 UTC",
    );
    expect(lineOf(out, "b:")).toBe(
      "b:           slower: ami-0b2000000000000b2 image slower on c7i.large, started 2025-05-08 06:00 UTC",
    );
    expect(lineOf(out, "interval")).toMatch(
      /^interval\s+a median\s+b median\s+shift\s+95 % CI low\s+high\s+p\s+runs a\/b$/,
    );
    expect(lineOf(out, "total")).toMatch(
      /^total\s+10\.00\s+13\.00\s+\+3\.00\s+\+2\.98\s+\+3\.02\s+< 0\.001\s+9\/9$/,
    );
    // The whole shift is in running to port closed; the other intervals are the same in both.
    expect(lineOf(out, "running to port closed")).toMatch(/\s8\.00\s+11\.00\s+\+3\.00\s.*9\/9$/);
    expect(lineOf(out, "closed to open")).toMatch(/\s2\.00\s+2\.00\s+0\.00\s+-0\.02\s+\+0\.02\s.*9\/9$/);
    expect(lineOf(out, "b against a:")).toBe(
      "b against a: slower by 3.00 s, 95 % CI 2.98 to 3.02 s, p < 0.001",
    );
    expect(lineOf(out, "verdict:")).toBe("verdict:     slower (a regression)");
    expect(lineOf(out, "timeouts:")).toBe("timeouts:    0 in 9 counted runs of b against 0 in 9 of a");
    expect(lineOf(out, "failed runs:")).toBe("failed runs: 0 in 9 counted runs of b against 0 in 9 of a");
    expect(unwrapped(out)).toContain("10 % of the earlier median run total and 0.50 s");
    expect(unwrapped(out)).toContain("The verdict is judged on the per-run totals alone.");
    expect(out).not.toContain("differ in");

    const total = outcome.comparison.shifts.total;
    expect(outcome.comparison.timing).toBe("slower");
    expect(outcome.comparison.regressions).toEqual(["boot-time"]);
    expect(total?.shift).toBeCloseTo(3, 9);
    expect(total?.low).toBeCloseTo(2.98, 9);
    expect(total?.high).toBeCloseTo(3.02, 9);
    expect(total?.pValue).toBeCloseTo(4.113533525298231e-5, 12);
    expect(outcome.differences).toEqual([]);
  });

  it("reads the other way round as faster, not a regression", async () => {
    const { out, outcome } = await compare({ a: "slower", b: "base" });
    expect(lineOf(out, "b against a:")).toBe(
      "b against a: faster by 3.00 s, 95 % CI −3.02 to −2.98 s, p < 0.001",
    );
    expect(lineOf(out, "verdict:")).toBe("verdict:     faster");
    expect(outcome.comparison.regressions).toEqual([]);
  });

  it("passes --threshold and --min-change to the rule", async () => {
    // 3 s of 10 s is 30 %: under a 40 % threshold the same shift is no change.
    const { out, outcome } = await compare({ threshold: "40" });
    expect(outcome.comparison.thresholds).toEqual({ relative: 0.4, absoluteSeconds: 0.5 });
    expect(outcome.comparison.timing).toBe("no-change");
    expect(lineOf(out, "verdict:")).toBe("verdict:     no change");
    expect(unwrapped(out)).toContain("40 % of the earlier median run total and 0.50 s");
    const { outcome: byMinimum } = await compare({ minChange: "3.5" });
    expect(byMinimum.comparison.timing).toBe("no-change");
  });

  it("says 3 runs against 3 are not enough runs, however far apart", async () => {
    const { out, outcome } = await compare({ a: "few-a", b: "few-b" });
    expect(lineOf(out, "b against a:")).toBe(
      "b against a: not enough runs (3 against 3 counted runs with a valid total; a comparison needs at least 5 on each side)",
    );
    expect(lineOf(out, "verdict:")).toBe("verdict:     not enough runs");
    expect(lineOf(out, "total")).toMatch(/^total\s+10\.01\s+22\.01\s+\+12\.00\s.*3\/3$/);
    expect(outcome.comparison.regressions).toEqual([]);
  });

  it("lists a differing instance type, and compares all the same", async () => {
    const { out, outcome } = await compare({ a: "base", b: "base-c7g" });
    expect(outcome.differences).toEqual(['instanceType: "c7i.large" against "c7g.large"']);
    expect(unwrapped(out)).toContain(
      'These benchmarks differ in (a against b): instanceType: "c7i.large" against "c7g.large".',
    );
    expect(out).not.toContain("integrity rules");
    expect(lineOf(out, "b against a:")).toBe(
      "b against a: faster by 2.00 s, 95 % CI −2.02 to −1.98 s, p < 0.001",
    );
    expect(outcome.comparison.timing).toBe("faster");
  });

  it("says when the runs were judged by different integrity rules", async () => {
    const { out, outcome } = await compare({ a: "rules-0", b: "slower" });
    expect(outcome.differences[0]).toMatch(/^integrityRulesVersion: 0 against \d+$/);
    expect(unwrapped(out)).toMatch(
      /The runs were judged by different integrity rules \(version 0 against \d+\), so which runs and intervals count differs too\./,
    );
    expect(outcome.comparison.timing).toBe("slower");
  });

  it("prints JSON that carries both benchmarks, the differences and the whole comparison", async () => {
    const { out, err } = await compare({ format: "json" });
    const document = JSON.parse(out);
    expect(document.a).toEqual({
      benchmarkId: "base",
      amiId: A1,
      imageName: "image base",
      instanceType: "c7i.large",
      label: null,
      startedAt: "2025-05-01T06:00:00.000Z",
      comparabilityKey: expect.stringMatching(/^v\d+-[0-9a-f]{16}$/),
    });
    expect(document.b).toMatchObject({ benchmarkId: "slower", amiId: B2 });
    // Same settings but the image: the same comparability key.
    expect(document.b.comparabilityKey).toBe(document.a.comparabilityKey);
    expect(document.differences).toEqual([]);
    expect(document.headline).toBe("slower by 3.00 s, 95 % CI 2.98 to 3.02 s, p < 0.001");
    expect(document.verdict).toBe("slower");
    expect(document.comparison).toMatchObject({
      timing: "slower",
      regressions: ["boot-time"],
      thresholds: { relative: 0.1, absoluteSeconds: 0.5 },
      timeouts: { earlier: 0, earlierRuns: 9, later: 0, laterRuns: 9, regression: false },
      shifts: {
        total: {
          shift: expect.closeTo(3, 9),
          low: expect.closeTo(2.98, 9),
          high: expect.closeTo(3.02, 9),
          earlierMedian: expect.closeTo(10, 9),
          laterMedian: expect.closeTo(13, 9),
          earlierCount: 9,
          laterCount: 9,
          method: "exact",
        },
      },
    });
    // The words go beside the document, never into it.
    expect(err).toContain("b against a: slower by 3.00 s");
  });

  it("prints CSV as the table alone, with the runs in two columns", async () => {
    const { out, err } = await compare({ format: "csv" });
    const lines = out.trimEnd().split("\r\n");
    expect(lines[0]).toBe("interval,a median,b median,shift,95 % CI low,high,p,a runs,b runs");
    expect(lines.at(-1)).toBe("total,10.00,13.00,+3.00,+2.98,+3.02,< 0.001,9,9");
    expect(err).toContain("verdict: slower (a regression)");
  });

  it("prints Markdown with the result under the table", async () => {
    const { out } = await compare({ format: "markdown" });
    expect(out).toContain("| total | 10.00 | 13.00 | +3.00 | +2.98 | +3.02 | < 0.001 | 9/9 |");
    expect(out).toContain("- **b against a**: slower by 3.00 s, 95 % CI 2.98 to 3.02 s, p < 0.001");
  });
});

describe("compare by AMI id", () => {
  it("takes the newest benchmark of the AMI with a counted run that succeeded", async () => {
    // Newest of A1 is base-c7g: the all-failed retry before it is passed over.
    const { outcome } = await compare({ a: A1, b: B2 });
    expect(outcome.a.benchmarkId).toBe("base-c7g");
    expect(outcome.b.benchmarkId).toBe("slower");
    expect(outcome.differences).toEqual(['instanceType: "c7g.large" against "c7i.large"']);
  });

  it("narrows to an instance type with --instance-type", async () => {
    const { out, outcome } = await compare({ a: A1, b: B2, instanceType: "c7i.large" });
    expect(outcome.a.benchmarkId).toBe("base");
    expect(outcome.b.benchmarkId).toBe("slower");
    expect(lineOf(out, "b against a:")).toBe(
      "b against a: slower by 3.00 s, 95 % CI 2.98 to 3.02 s, p < 0.001",
    );
  });

  it("mixes an AMI id with a benchmark id", async () => {
    const { outcome } = await compare({ a: "base-old", b: A1, instanceType: "c7i.large" });
    expect([outcome.a.benchmarkId, outcome.b.benchmarkId]).toEqual(["base-old", "base"]);
    expect(describeComparison(outcome.comparison)).toBe(
      "faster by 2.00 s, 95 % CI −2.02 to −1.98 s, p < 0.001",
    );
  });

  it("says when the AMI has no benchmark that matches", async () => {
    await expect(compare({ a: A1, b: B2, instanceType: "c7g.large" })).rejects.toThrow(
      `${B2} on c7g.large: no benchmark in table boot-bench-test`,
    );
  });
});

describe("compare refuses", () => {
  it("a benchmark id with no summary", async () => {
    await expect(compare({ b: "nope" })).rejects.toThrow(
      /^no summary of benchmark nope in table boot-bench-test: not a benchmark id there/,
    );
  });

  it("a summary written before per-run samples were stored, naming it", async () => {
    await expect(compare({ a: "legacy" })).rejects.toThrow(
      /^benchmark legacy \(ami-0d1000000000000d1\) cannot be compared: it was summarised before summaries stored per-run samples/,
    );
  });

  it("the same benchmark twice, also when an AMI id resolves to it", async () => {
    await expect(compare({ a: "base", b: "base" })).rejects.toThrow("a and b are the same benchmark, base");
    await expect(compare({ a: "slower", b: B2 })).rejects.toThrow(
      `a and b are the same benchmark, slower (${B2} resolved to it)`,
    );
  });

  it("--instance-type with two benchmark ids, and an AMI id that is not one", async () => {
    await expect(compare({ instanceType: "c7i.large" })).rejects.toThrow(/pick one benchmark of an AMI id/);
    await expect(compare({ a: "ami-xyz" })).rejects.toThrow('"ami-xyz" is not an AMI id');
  });
});

describe("boot-bench compare --fail-on-regression", () => {
  async function run(args: string[]): Promise<number | string | undefined> {
    const program = new Command().exitOverride();
    registerCompareCommand(program);
    vi.stubEnv("AWS_ENDPOINT_URL_DYNAMODB", table.endpoint);
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(streamWrite(() => {}));
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(streamWrite(() => {}));
    const previousExitCode = process.exitCode;
    try {
      await program.parseAsync(["compare", ...args, "--local", "--table", table.tableName], { from: "user" });
      return process.exitCode;
    } finally {
      process.exitCode = previousExitCode;
      stdout.mockRestore();
      stderr.mockRestore();
      vi.unstubAllEnvs();
    }
  }

  it(`exits ${REGRESSION_EXIT_CODE} when b regressed against a`, async () => {
    expect(await run(["base", "slower", "--fail-on-regression"])).toBe(REGRESSION_EXIT_CODE);
  });

  it("leaves the exit status alone when b is faster, or without the flag", async () => {
    expect(await run(["slower", "base", "--fail-on-regression"])).toBeUndefined();
    expect(await run(["base", "slower"])).toBeUndefined();
  });
});
