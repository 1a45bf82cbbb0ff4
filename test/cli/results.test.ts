import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type ResultsRequest, showBenchmarkRuns, showResults } from "../../cli/commands/results.js";
import { buildProgram } from "../../cli/main.js";
import type { OutputFormat } from "../../cli/output-format.js";
import type { QueryDeps } from "../../cli/query-command.js";
import { marshallItem } from "../../functions/aws/benchmark-table.js";
import {
  buildRunRecord,
  buildSummaryRecord,
  buildUnrecordedRunRecord,
} from "../../functions/domain/run-record.js";
import { succeededRunState } from "../domain/run-state-fixtures.js";
import { type SeededTable, startSeededTable } from "../support/results-dynamodb.js";
import { DATASET, NOW, SERIES, streamWrite } from "./results-dataset.js";

let table: SeededTable;
beforeAll(async () => {
  table = await startSeededTable(DATASET);
});
afterAll(async () => {
  await table?.close();
});

/** Runs a query function against the seeded table, collecting what it writes. */
function capture(): { deps: QueryDeps; out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    deps: {
      client: table.client,
      tableName: table.tableName,
      clock: () => NOW,
      out: { write: (text: string) => (out += text) },
      err: { write: (text: string) => (err += text) },
    },
    out: () => out,
    err: () => err,
  };
}

async function results(request: Partial<ResultsRequest> = {}) {
  const io = capture();
  await showResults(io.deps, { format: "table", ...request });
  return { out: io.out(), err: io.err() };
}

const amiIdsIn = (text: string): string[] => [...text.matchAll(/ami-[0-9a-f]+/g)].map((m) => m[0]);

describe("results: the comparison table", () => {
  it("prints the published layout, fastest first, one row per AMI, instance type and label", async () => {
    const { out, err } = await results();
    await expect(out).toMatchFileSnapshot("golden/results.txt");
    expect(err).toBe("");
    const lines = out.split("\n");
    expect(lines[0]).toMatch(/^AMI Id\s+AMI Name\s+running to port closed\s+closed to open\s+total\s/);
    // Clear Linux went straight from no answer to open: closed to open is 0.00, as published.
    expect(lines[2]).toMatch(/^ami-0c1ea0000000034640\s+clear-34640-ecs-base\s+1\.23\s+0\.00\s+1\.23\s/);
  });

  it("shows the newest benchmark of an AMI, and the last one with results over a newer total failure", async () => {
    const { out } = await results();
    expect(out).toMatch(/debian-10-amd64-20210721-710\s+6\.26\s+4\.09\s+10\.35\s/);
    expect(out).not.toMatch(/\s7\.50\s+4\.50\s/);
    // weekly-4 (11.00) stands for its AMI; the all-failed retry a day later does not hide it.
    expect(out).toMatch(
      /ami-0f15c00000000004\s+FreeBSD 15\.0-CURRENT-amd64-20250522 UFS\s+9\.00\s+2\.00\s+11\.00\s/,
    );
    expect(out.replace(/\s+/g, " ")).toContain(
      "2 other benchmarks of the same AMIs not shown; --all shows every benchmark.",
    );
  });

  it("counts failed and timed-out runs and keeps them out of the statistics", async () => {
    const { out } = await results({ image: "ami-0a1200000000000a2" });
    // Runs 1-7 counted and succeeded (9 counted); one failed, one timed out; medians as published.
    expect(out).toMatch(
      /amzn2-ami-hvm-2\.0\.20210813\.1-x86_64-gp2\s+9\.55\s+1\.54\s+11\.09\s+\S+\s+\S+\s+\S+\s+7\/9\s+0\s+1\s+1\s/,
    );
  });

  it("lists an image whose every run failed last, without numbers", async () => {
    const { out } = await results();
    const broken = out
      .split("\n")
      .filter((line) => line.startsWith("ami-"))
      .at(-1);
    expect(broken).toMatch(
      /^ami-0bad0000000000bad\s+broken-linux-1\.0\s+-\s+-\s+-\s+-\s+-\s+-\s+0\/2\s+0\s+2\s+1\s/,
    );
  });

  it("--all shows every benchmark", async () => {
    const { out } = await results({ all: true });
    expect(out.split("\n").filter((line) => line.startsWith("ami-"))).toHaveLength(DATASET.length);
  });

  it.each<[string, Partial<ResultsRequest>, string[]]>([
    ["--image", { image: "ami-0deb1000000000010" }, ["ami-0deb1000000000010"]],
    [
      "--series",
      { series: SERIES },
      ["ami-0f15c00000000001", "ami-0f15c00000000002", "ami-0f15c00000000003", "ami-0f15c00000000004"],
    ],
    [
      "--series in RunInstances' resolve:ssm: form",
      { series: `resolve:ssm:${SERIES}`, instanceType: "m7i.large" },
      ["ami-0f15c00000000001", "ami-0f15c00000000002"],
    ],
    ["--label", { label: "firstboot-off" }, ["ami-0f13000000000130"]],
    [
      "--since an ISO date",
      { since: "2025-06-01" },
      [
        "ami-0c1ea0000000034640",
        "ami-0deb1000000000010",
        "ami-0a1200000000000a2",
        "ami-0f13000000000130",
        "ami-0bad0000000000bad",
      ],
    ],
    // NOW is 2025-06-08: three weeks back is 05-18, after the week-3 snapshot.
    [
      "--since a duration",
      { since: "3w", series: SERIES, instanceType: "c7i.large" },
      ["ami-0f15c00000000004"],
    ],
  ])("filters with %s", async (_name, request, expected) => {
    const { out } = await results(request);
    expect(new Set(amiIdsIn(out))).toEqual(new Set(expected));
  });

  it("says so when nothing matches", async () => {
    const { out } = await results({ image: "ami-00000000000000000" });
    expect(out).toBe(`\nNo benchmarks in table ${table.tableName} match.\n`);
  });

  it("rejects an SSM parameter given as --image, and a --since it cannot read", async () => {
    await expect(results({ image: SERIES })).rejects.toThrow(/--image takes an AMI id .* use --series/);
    await expect(results({ since: "last tuesday" })).rejects.toThrow(/--since takes an ISO date/);
  });

  it.each<[OutputFormat, string]>([
    ["markdown", "golden/results.md"],
    ["csv", "golden/results.csv"],
  ])("prints %s, with the notes on stderr", async (format, golden) => {
    const { out, err } = await results({ format });
    await expect(out).toMatchFileSnapshot(golden);
    expect(err).toContain("Medians of the counted runs");
  });

  it("prints JSON with full-precision numbers and the statistics, without index keys", async () => {
    const { out } = await results({ format: "json", image: "ami-0deb1000000000010" });
    const parsed = JSON.parse(out) as Record<string, unknown>[];
    expect(parsed).toHaveLength(1);
    expect(parsed[0]).toMatchObject({
      benchmarkId: "debian-10",
      amiId: "ami-0deb1000000000010",
      countedSucceededRuns: 9,
      medians: { runningToPortClosed: 6.26, portClosedToOpen: 4.09 },
      statistics: {
        total: { count: 9, min: expect.any(Number), max: expect.any(Number), p90: expect.any(Number) },
      },
    });
    expect(parsed[0]).not.toHaveProperty("pk");
    expect(parsed[0]).not.toHaveProperty("recentPk");
  });

  it("prints an empty JSON array when nothing matches", async () => {
    const { out } = await results({ format: "json", label: "nothing" });
    expect(JSON.parse(out)).toEqual([]);
  });
});

describe("results --runs: one benchmark", () => {
  async function runs(benchmarkId: string, format: OutputFormat = "table") {
    const io = capture();
    await showBenchmarkRuns(io.deps, benchmarkId, format);
    return io.out();
  }

  it("shows every run with its raw intervals and status, and the statistics", async () => {
    const out = await runs("amazon-linux-2");
    await expect(out).toMatchFileSnapshot("golden/runs.txt");
    expect(out).toMatch(
      /^\s+8\s+yes\s+failed\s+-\s+-\s+-\s+-\s+-\s+-\s+InsufficientInstanceCapacity: We currently/m,
    );
    expect(out).toMatch(/^\s+9\s+yes\s+timeout\s.*timed out waiting for port-open/m);
    // Each interval counts the runs where it is valid: here all 7 counted successful runs.
    expect(out).toContain(
      "Statistics of the counted successful runs' valid intervals (count per interval), seconds:",
    );
    expect(out).toMatch(/^total\s+11\.09\s+11\.07\s+11\.12\s+11\.12\s+0\.01\s+7$/m);
  });

  it("says when no counted run succeeded", async () => {
    const out = await runs("broken-image");
    expect(out).toContain("No statistics: no counted run succeeded.");
    expect(out).toMatch(/runs\s+3 recorded, 2 counted \(1 discarded\); 0 succeeded, 2 failed, 1 timed out/);
  });

  it("prints the runs as CSV and everything as JSON", async () => {
    const csv = await runs("clear-linux", "csv");
    expect(csv.split("\r\n")[0]).toBe(
      "run,counted,status,RunInstances API call,pending to running,running to port closed,closed to open,total,instance,note",
    );
    expect(csv).toContain("port never seen closed (closed := open)");
    const json = JSON.parse(await runs("clear-linux", "json")) as {
      runs: unknown[];
      statistics: { total: unknown };
    };
    expect(json.runs).toHaveLength(10);
    expect(json.statistics.total).toMatchObject({ count: 9, median: 1.23 });
  });

  it("names a run whose instance was left running and one that could not be recorded", async () => {
    const benchmarkId = "left-behind";
    const stateOf = (runIndex: number) => {
      const state = succeededRunState(runIndex);
      return { ...state, benchmark: { ...state.benchmark, benchmarkId } };
    };
    const leftRunning = buildRunRecord({
      ...stateOf(1),
      termination: undefined,
      terminationFailure: { Error: "UnauthorizedOperation", Cause: "not authorized" },
    });
    const recordedLate = buildRunRecord({
      ...stateOf(2),
      recordFailure: { Error: "ValidationException", Cause: "too big" },
    });
    const unrecorded = buildUnrecordedRunRecord(
      { ...stateOf(3), recordFailure: { Error: "ValidationException", Cause: "too big" } },
      { name: "ValidationException", message: "still too big" },
    );
    const recorded = [buildRunRecord(stateOf(0)), leftRunning, recordedLate];
    const summary = buildSummaryRecord(
      { ...stateOf(0), settings: { ...stateOf(0).settings, runs: 4 } },
      recorded,
      [unrecorded],
    );
    // A table of its own: the seeded one's listings must not gain this benchmark.
    const own = await startSeededTable([]);
    const runs = async (id: string, format: OutputFormat = "table") => {
      let out = "";
      const deps = { ...capture().deps, client: own.client, tableName: own.tableName };
      await showBenchmarkRuns({ ...deps, out: { write: (text: string) => (out += text) } }, id, format);
      return out;
    };
    for (const item of [...recorded, unrecorded, summary]) {
      await own.client.send(new PutItemCommand({ TableName: own.tableName, Item: marshallItem(item) }));
    }

    const out = await runs(benchmarkId);
    expect(out).toContain(
      `left running  run 1 (${leftRunning.instanceId}): not terminated, left to the sweeper; terminate by hand if it is not gone within the hour`,
    );
    expect(out).toContain(
      "unrecorded    run 3: RecordRun failed (ValidationException: too big), and so did Summarise " +
        "(ValidationException: still too big); its whole state is kept in item UNRECORDED#0003",
    );
    expect(out).toMatch(/^\s+1\s+yes\s+succeeded\s.*not terminated: UnauthorizedOperation/m);
    expect(out).toMatch(
      /^\s+2\s+yes\s+succeeded\s.*recorded late by Summarise \(RecordRun failed: ValidationException\)/m,
    );
    const json = JSON.parse(await runs(benchmarkId, "json")) as {
      unrecordedRuns: { runIndex: number; state: string }[];
    };
    expect(json.unrecordedRuns.map((run) => run.runIndex)).toEqual([3]);
    expect(JSON.parse(json.unrecordedRuns[0]?.state ?? "")).toMatchObject({ run: { runIndex: 3 } });
    await own.close();
  });

  it("fails for a benchmark that is not in the table", async () => {
    await expect(runs("no-such-benchmark")).rejects.toThrow(
      `no benchmark no-such-benchmark in table ${table.tableName}`,
    );
  });
});

describe("boot-bench results (through the command line)", () => {
  it("reads the table named with --table at the endpoint of a running local cloud", async () => {
    vi.stubEnv("AWS_ENDPOINT_URL_DYNAMODB", table.endpoint);
    const written: string[] = [];
    const stdout = vi
      .spyOn(process.stdout, "write")
      .mockImplementation(streamWrite((text) => written.push(text)));
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(streamWrite(() => {}));
    try {
      await buildProgram().parseAsync(
        [
          "results",
          "--local",
          "--table",
          table.tableName,
          "--series",
          SERIES,
          "--format",
          "csv",
          "--since",
          "2025-05-08",
        ],
        { from: "user" },
      );
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      vi.unstubAllEnvs();
    }
    const lines = written.join("").trim().split("\r\n");
    expect(lines[0]).toMatch(/^AMI Id,AMI Name,running to port closed,closed to open,total,/);
    // Fastest first: week 2 on m7i.large (8.70), then c7i.large weeks 2 (10.10), 4 (11.00), 3 (11.70).
    const typeColumn = lines[0]?.split(",").indexOf("instance type") ?? -1;
    expect(lines.slice(1).map((line) => [line.split(",")[0], line.split(",")[typeColumn]])).toEqual([
      ["ami-0f15c00000000002", "m7i.large"],
      ["ami-0f15c00000000002", "c7i.large"],
      ["ami-0f15c00000000004", "c7i.large"],
      ["ami-0f15c00000000003", "c7i.large"],
    ]);
  });

  it("refuses --runs together with filters", async () => {
    await expect(
      buildProgram().parseAsync(["results", "--runs", "debian-10", "--image", "ami-0deb1000000000010"], {
        from: "user",
      }),
    ).rejects.toThrow(/--runs shows one benchmark/);
  });
});
