/**
 * Speed of the query commands on a realistic table (`npm run bench:results`): seeds an on-disk dynalite
 * in a temporary folder with 1,000 benchmarks of 10 runs (weekly snapshot series on two instance types
 * over 40 weeks, plus AMIs benchmarked by id, a few runs failing), then times `boot-bench results`,
 * `history`, `compare` and `report` end to end as a user runs them (`node cli/bin.js …`, process
 * start to exit), several times each, and prints the medians. Figures, not assertions: machines are
 * shared and noisy.
 *
 *   npm run bench:results -- [--repetitions 7] [--keep]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { median } from "../functions/domain/statistics.js";
import { localDefinitionFrom } from "../local-cloud/runner/local-definition.js";
import { ensureTable, LOCAL_TABLE_NAME, startLocalDynamoDb } from "../local-cloud/runner/local-dynamodb.js";
import { synthesizeTemplate } from "../local-cloud/runner/synth.js";
import { type BenchmarkRecords, benchmarkRecords, type RunSpec } from "../test/support/benchmark-records.js";
import { putItems, recordsOf } from "../test/support/results-dynamodb.js";

const { values } = parseArgs({
  options: { repetitions: { type: "string", default: "7" }, keep: { type: "boolean", default: false } },
});
const repetitions = Number(values.repetitions);

const SERIES_COUNT = 10;
const WEEKS = 40;
const INSTANCE_TYPES = ["c7i.large", "m7g.large"];
const AD_HOC_AMIS = 50;
const LAST_WEEK = Date.parse("2026-06-01T06:00:00Z");
const WEEK_MS = 7 * 86_400_000;

// A deterministic generator, so every run of the benchmark reads the same table.
let generatorState = 42;
const random = (): number => {
  generatorState = (generatorState * 1_103_515_245 + 12_345) % 2 ** 31;
  return generatorState / 2 ** 31;
};

function runs(closed: number, open: number): RunSpec[] {
  return Array.from({ length: 10 }, (): RunSpec => {
    const roll = random();
    if (roll < 0.02) return "failed";
    if (roll < 0.03) return "timeout-open";
    return { closed: closed * (0.95 + random() * 0.1), open: open * (0.95 + random() * 0.1) };
  });
}

function dataset(): BenchmarkRecords[] {
  const benchmarks: BenchmarkRecords[] = [];
  for (let s = 0; s < SERIES_COUNT; s++) {
    const series = `/aws/service/bench/os-${s}/amd64/current`;
    let closed = 5 + s * 2;
    for (let week = 0; week < WEEKS; week++) {
      closed = Math.max(1, closed + (random() - 0.5) * 1.5);
      const amiId = `ami-${(s * 1000 + week).toString(16).padStart(17, "0")}`;
      for (const instanceType of INSTANCE_TYPES) {
        benchmarks.push(
          benchmarkRecords({
            benchmarkId: `s${s}-w${week}-${instanceType}`,
            startedAt: new Date(LAST_WEEK - (WEEKS - 1 - week) * WEEK_MS).toISOString(),
            amiId,
            name: `os-${s} snapshot week ${week}`,
            series,
            instanceType,
            runs: runs(closed, 2 + s * 0.3),
          }),
        );
      }
    }
  }
  for (let a = 0; a < AD_HOC_AMIS; a++) {
    for (const instanceType of INSTANCE_TYPES) {
      for (let repeat = 0; repeat < 2; repeat++) {
        benchmarks.push(
          benchmarkRecords({
            benchmarkId: `adhoc-${a}-${instanceType}-${repeat}`,
            startedAt: new Date(LAST_WEEK - (a * 3 + repeat) * 86_400_000).toISOString(),
            amiId: `ami-${(100_000 + a).toString(16).padStart(17, "0")}`,
            name: `ad-hoc image ${a}`,
            instanceType,
            runs: runs(3 + (a % 20), 1 + (a % 5) * 0.5),
          }),
        );
      }
    }
  }
  return benchmarks;
}

async function seedTable(dataDir: string): Promise<{ benchmarks: number; runs: number; seconds: number }> {
  const started = performance.now();
  const benchmarks = dataset();
  const dynamoDb = await startLocalDynamoDb({ dataDir });
  const client = new DynamoDBClient({
    endpoint: dynamoDb.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    // The table exactly as the stack defines it, as `run --local` creates it.
    const { table } = localDefinitionFrom(synthesizeTemplate(), {
      region: "us-east-1",
      tableName: LOCAL_TABLE_NAME,
    });
    await ensureTable(client, table);
    await putItems(client, LOCAL_TABLE_NAME, recordsOf(benchmarks));
  } finally {
    client.destroy();
    await dynamoDb.close();
  }
  const runCount = benchmarks.reduce((n, b) => n + b.runs.length, 0);
  return { benchmarks: benchmarks.length, runs: runCount, seconds: (performance.now() - started) / 1000 };
}

interface Command {
  name: string;
  args: string[];
  /** What the output says, to show the command did its work (and to fail on empty output). */
  check: (stdout: string) => string;
}

interface Timing {
  wallSeconds: number[];
  /** User + system CPU seconds of the process and its threads, when /usr/bin/time can tell. */
  cpuSeconds: number[];
  detail: string;
}

// CPU time varies less than wall time on a shared machine; GNU time reports it for a child process.
const GNU_TIME = "/usr/bin/time";
const haveGnuTime = existsSync(GNU_TIME);

function runOnce(command: Command, timing: Timing): void {
  const cli = [process.execPath, "cli/bin.js", ...command.args];
  const [file, args] = haveGnuTime
    ? [GNU_TIME, ["-f", "cpu %U %S", ...cli]]
    : [cli[0] as string, cli.slice(1)];
  const started = performance.now();
  const result = spawnSync(file, args, {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  timing.wallSeconds.push((performance.now() - started) / 1000);
  if (result.status !== 0) throw new Error(`${command.name} exited ${result.status}: ${result.stderr}`);
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(result.stderr);
  if (cpu) timing.cpuSeconds.push(Number(cpu[1]) + Number(cpu[2]));
  timing.detail = command.check(result.stdout);
}

const dataDir = mkdtempSync(join(tmpdir(), "boot-bench-results-"));
try {
  const seeded = await seedTable(join(dataDir, "dynamodb"));
  console.log(
    `seeded ${seeded.benchmarks} benchmarks, ${seeded.runs} runs (+ ${seeded.benchmarks} summaries) in ${seeded.seconds.toFixed(1)} s`,
  );
  const target = ["--local", "--data-dir", join(dataDir, "dynamodb")];
  const reportFile = join(dataDir, "report.html");
  const rows = (stdout: string) =>
    `${stdout.split("\n").filter((line) => /\bami-[0-9a-f]/.test(line)).length} rows`;
  const commands: Command[] = [
    { name: "startup only (--help)", args: ["--help"], check: () => "" },
    { name: "results", args: ["results", ...target], check: rows },
    {
      name: "results --format json --all",
      args: ["results", "--format", "json", "--all", ...target],
      check: (out) => `${(JSON.parse(out) as unknown[]).length} benchmarks`,
    },
    {
      name: "history <series>",
      args: ["history", "/aws/service/bench/os-3/amd64/current", ...target],
      check: rows,
    },
    {
      name: "compare <a> <b>",
      args: ["compare", `s3-w${WEEKS - 2}-c7i.large`, `s3-w${WEEKS - 1}-c7i.large`, ...target],
      check: (out) => out.split("\n").find((line) => line.startsWith("b against a:")) ?? "",
    },
    {
      name: "report",
      args: ["report", "--out", reportFile, ...target],
      check: () => `${(statSync(reportFile).size / 1024).toFixed(0)} KiB`,
    },
  ];
  const timings = commands.map((): Timing => ({ wallSeconds: [], cpuSeconds: [], detail: "" }));
  // Round-robin, so that a busy spell on a shared machine slows every command alike.
  for (let i = 0; i < repetitions; i++) {
    for (const [c, command] of commands.entries()) runOnce(command, timings[c] as Timing);
  }
  const seconds = (value: number) => `${value.toFixed(2)} s`.padStart(7);
  console.log(`\nend to end, process start to exit, ${repetitions} repetitions each (node cli/bin.js …):`);
  console.log(`${"".padEnd(28)}  median wall  min wall  median CPU`);
  commands.forEach((command, c) => {
    const { wallSeconds, cpuSeconds, detail } = timings[c] as Timing;
    const cpu = cpuSeconds.length > 0 ? seconds(median(cpuSeconds)) : "    n/a";
    console.log(
      `${command.name.padEnd(28)}  ${seconds(median(wallSeconds))}      ${seconds(Math.min(...wallSeconds))}   ${cpu}     ${detail}`,
    );
  });
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(", ")} on ${cpus().length} CPUs`,
  );
} finally {
  if (values.keep) console.log(`\nkept ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}
