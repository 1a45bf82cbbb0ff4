import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type HistoryRequest, REGRESSION_EXIT_CODE, showHistory } from "../../cli/commands/history.js";
import { buildProgram } from "../../cli/main.js";
import type { QueryDeps } from "../../cli/query-command.js";
import { compareWithPrevious } from "../../functions/domain/regression.js";
import { benchmarkRecords, tenRuns } from "../support/benchmark-records.js";
import { type SeededTable, startSeededTable } from "../support/results-dynamodb.js";
import { DATASET, NOW, SERIES, streamWrite } from "./results-dataset.js";

let table: SeededTable;
beforeAll(async () => {
  table = await startSeededTable(DATASET);
});
afterAll(async () => {
  await table?.close();
});

async function history(request: Partial<HistoryRequest> = {}, on: SeededTable = table) {
  let out = "";
  let err = "";
  const deps: QueryDeps = {
    client: on.client,
    tableName: on.tableName,
    clock: () => NOW,
    out: { write: (text: string) => (out += text) },
    err: { write: (text: string) => (err += text) },
  };
  const outcome = await showHistory(deps, { series: SERIES, format: "table", ...request });
  return { out, err, outcome };
}

const rowOf = (out: string, amiId: string, heading = `${SERIES} on c7i.large`): string | undefined =>
  out
    .slice(out.indexOf(heading))
    .split("\n")
    .find((line) => line.includes(amiId));

describe("history of a series", () => {
  it("lists each AMI once, oldest first, with the shift from the previous one and the regression flagged", async () => {
    const { out, outcome } = await history();
    await expect(out).toMatchFileSnapshot("golden/history.txt");
    // Each week's nine counted runs are the last week's, shifted: the exact 95 % interval is the 18th to
    // 64th of the 81 pairwise differences, and p = 2/C(18,9) (both checked with scipy 1.17).
    expect(rowOf(out, "ami-0f15c00000000001")).toMatch(/10\.00\s+10\.00\s+9\/9\s+0\s+no earlier AMI\s*$/);
    expect(rowOf(out, "ami-0f15c00000000002")).toMatch(
      /10\.10\s+10\.10\s+\+0\.10\s+\+0\.08 to \+0\.12\s+< 0\.001\s+9\/9\s+0\s+no change\s*$/,
    );
    expect(rowOf(out, "ami-0f15c00000000003")).toMatch(
      /11\.70\s+11\.70\s+\+1\.60\s+\+1\.58 to \+1\.62\s+< 0\.001\s+9\/9\s+0\s+slower\s+REGRESSION$/,
    );
    // The all-failed retry of week 4 does not replace its measurement.
    expect(rowOf(out, "ami-0f15c00000000004")).toMatch(
      /11\.00\s+11\.00\s+-0\.70\s+-0\.72 to -0\.68\s+< 0\.001\s+9\/9\s+0\s+no change\s*$/,
    );
    expect(outcome).toEqual({ regressions: 1, latestIsRegression: false });
  });

  it("keeps instance types apart: each has its own history and comparisons", async () => {
    const { out } = await history();
    const m7i = `${SERIES} on m7i.large`;
    expect(out).toContain(m7i);
    expect(rowOf(out, "ami-0f15c00000000002", m7i)).toMatch(
      /8\.70\s+8\.70\s+\+0\.20\s.*\s9\/9\s+0\s+no change\s*$/,
    );
    const { out: c7iOnly } = await history({ instanceType: "c7i.large" });
    expect(c7iOnly).not.toContain("m7i.large");
  });

  // Week 3 is 1.60 s (15.8 %) slower, 95 % CI 1.58 to 1.62 s: its low end decides.
  it.each<[string, Partial<HistoryRequest>, boolean]>([
    ["a relative threshold above the interval", { threshold: "20" }, false],
    ["an absolute minimum above the interval", { minChange: "2" }, false],
    ["an absolute minimum inside the interval", { minChange: "1.6" }, false],
    ["thresholds below the interval", { threshold: "15%", minChange: "1.5" }, true],
  ])(
    "flags a regression only when the interval lies above both thresholds: %s",
    async (_name, request, flagged) => {
      const { out, outcome } = await history(request);
      expect(rowOf(out, "ami-0f15c00000000003")?.endsWith("REGRESSION")).toBe(flagged);
      expect(outcome.regressions).toBe(flagged ? 1 : 0);
    },
  );

  it("starts comparing at --since", async () => {
    const { out } = await history({ since: "2025-05-10", instanceType: "c7i.large" });
    expect(rowOf(out, "ami-0f15c00000000001")).toBeUndefined();
    expect(rowOf(out, "ami-0f15c00000000003")).toMatch(/11\.70\s+11\.70\s+9\/9\s+0\s+no earlier AMI\s*$/);
  });

  it("prints CSV as one table with the instance type on every row", async () => {
    const { out } = await history({ format: "csv" });
    await expect(out).toMatchFileSnapshot("golden/history.csv");
  });

  it("prints JSON with the comparisons, their wording and flags", async () => {
    const { out } = await history({ format: "json", instanceType: "c7i.large" });
    const [c7i] = JSON.parse(out) as { instanceType: string; entries: Record<string, unknown>[] }[];
    expect(c7i?.instanceType).toBe("c7i.large");
    expect(c7i?.entries.map((e) => [e.amiId, e.regression, e.benchmarks])).toEqual([
      ["ami-0f15c00000000001", false, 1],
      ["ami-0f15c00000000002", false, 1],
      ["ami-0f15c00000000003", true, 1],
      ["ami-0f15c00000000004", false, 2],
    ]);
    expect(c7i?.entries[2]).toMatchObject({
      comparedWithAmiId: "ami-0f15c00000000002",
      comparison: {
        timing: "slower",
        regressions: ["boot-time"],
        shifts: { total: { shift: expect.closeTo(1.6, 9), method: "exact" } },
      },
      description: "slower by 1.60 s, 95 % CI 1.58 to 1.62 s, p < 0.001",
    });
  });

  it("says so for a series with no benchmarks", async () => {
    const { out } = await history({ series: "/aws/service/none" });
    expect(out).toContain("No benchmarks of /aws/service/none");
  });
});

describe("history beside a suite's control", () => {
  it("shows the control's change and flags a regression it shared as platform drift", async () => {
    const week = (n: number, closed: number) =>
      benchmarkRecords({
        benchmarkId: `w${n}`,
        startedAt: `2025-05-0${n}T06:00:00.000Z`,
        amiId: `ami-0${n}`,
        name: `week ${n}`,
        series: SERIES,
        runs: tenRuns(closed, 2),
      });
    const [w1, w2] = [week(1, 8), week(2, 10)];
    // What SummariseSuite stores: the control (here measured like the series) slowed just as much.
    const control = compareWithPrevious(w2.summary, w1.summary, { relative: 0.1, absoluteSeconds: 0.5 });
    w2.summary.platform = {
      controlBenchmarkId: "control-2",
      controlImage: "ami-0c",
      controlAmiId: "ami-0c",
      controlImageName: "pinned control",
      control,
      drift: true,
    };
    const seeded = await startSeededTable([w1, w2]);
    try {
      const { out, outcome } = await history({}, seeded);
      expect(rowOf(out, "ami-02")).toMatch(/\sslower\s+slower\s+PLATFORM DRIFT$/);
      expect(rowOf(out, "ami-01")).toMatch(/no earlier AMI\s*$/);
      // Still a regression for --fail-on-regression: the control explains it, it does not undo it.
      expect(outcome).toEqual({ regressions: 1, latestIsRegression: true });
      const json = JSON.parse((await history({ format: "json" }, seeded)).out) as {
        entries: { platform: { drift: boolean } | null }[];
      }[];
      expect(json[0]?.entries.map((e) => e.platform?.drift ?? null)).toEqual([null, true]);
    } finally {
      await seeded.close();
    }
  });
});

describe("boot-bench history --fail-on-regression", () => {
  it(`exits ${REGRESSION_EXIT_CODE} when the newest AMI of the series regressed`, async () => {
    const regressed = await startSeededTable([
      benchmarkRecords({
        benchmarkId: "w1",
        startedAt: "2025-05-01T06:00:00.000Z",
        amiId: "ami-01",
        name: "one",
        series: SERIES,
        runs: tenRuns(8, 2),
      }),
      benchmarkRecords({
        benchmarkId: "w2",
        startedAt: "2025-05-08T06:00:00.000Z",
        amiId: "ami-02",
        name: "two",
        series: SERIES,
        runs: tenRuns(10, 2),
      }),
    ]);
    vi.stubEnv("AWS_ENDPOINT_URL_DYNAMODB", regressed.endpoint);
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(streamWrite(() => {}));
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(streamWrite(() => {}));
    const previousExitCode = process.exitCode;
    try {
      await buildProgram().parseAsync(
        ["history", SERIES, "--local", "--table", regressed.tableName, "--fail-on-regression"],
        { from: "user" },
      );
      expect(process.exitCode).toBe(REGRESSION_EXIT_CODE);
    } finally {
      process.exitCode = previousExitCode;
      stdout.mockRestore();
      stderr.mockRestore();
      vi.unstubAllEnvs();
      await regressed.close();
    }
  });
});
