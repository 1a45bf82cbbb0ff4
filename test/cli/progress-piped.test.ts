/**
 * `run --local` progress when stderr is not a terminal (CI logs, pipes), through the real pipeline on
 * the local cloud: one line per finished run with its figures and per benchmark's start and end, never
 * one per phase; at the end, the benchmark ids, each with a command that shows its runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { PHASE_OF_STATE } from "../../cli/phases.js";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import { cli } from "./cli-in-process.js";

const DEBIAN = BUILT_IN_AMI_IDS.debian12Amd64;
const FREEBSD = "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT";
const scratch = mkdtempSync(join(tmpdir(), "boot-bench-progress-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const RUN_LINE =
  /^(\S+): run (\d+): RunInstances API call \d+\.\d\d s, pending to running \d+\.\d\d s, running to port closed \d+\.\d\d s, closed to open \d+\.\d\d s, total \d+\.\d\d s(; discarded \(first run\))? \((\d)\/3 done\)$/;

describe("run --local progress, piped", () => {
  it("piped: one line per finished run with its figures, a line per start and end, no phase lines", async () => {
    const dataDir = join(scratch, "piped");
    const run = await cli(
      "run",
      "--local",
      "--data-dir",
      dataDir,
      "--runs",
      "3",
      "--image",
      DEBIAN,
      "--image",
      FREEBSD,
    );
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.trimEnd().split("\n");
    // 2 images × (started + 3 runs + end): not one line per state entered, which was about 7 per run.
    expect(lines).toHaveLength(10);
    // The handlers' Powertools log lines and EMF records stay out of the results (local-pipeline.ts).
    expect(run.out).not.toMatch(/"_aws"|"level":/);
    for (const phase of Object.values(PHASE_OF_STATE)) expect(run.stderr).not.toContain(phase);
    for (const image of [DEBIAN, FREEBSD]) {
      const own = lines.filter((line) => line.startsWith(`${image}: `));
      expect(own[0]).toBe(`${image}: started, 3 runs`);
      const runs = own.slice(1, 4).map((line) => RUN_LINE.exec(line));
      expect(runs.every((match) => match !== null)).toBe(true);
      // Each run once; done counts up; only run 0 (the discarded first run) says so.
      expect(runs.map((m) => m?.[2]).sort()).toEqual(["0", "1", "2"]);
      expect(runs.map((m) => m?.[4])).toEqual(["1", "2", "3"]);
      for (const m of runs) expect(m?.[3] !== undefined).toBe(m?.[2] === "0");
      expect(own[4]).toMatch(new RegExp(`^${image}: succeeded after \\d+s, 3/3 runs, benchmark local-\\S+$`));
    }

    // The closing list names each benchmark with a command that works and shows that benchmark's runs.
    const commands = [
      ...run.out.matchAll(/^ {2}(\S+) +boot-bench (results --local --data-dir \S+ --runs (\S+))$/gm),
    ];
    expect(commands.map((c) => c[1]).sort()).toEqual([DEBIAN, FREEBSD].sort());
    for (const [, image, command, benchmarkId] of commands) {
      expect(run.stderr).toContain(`${image}: succeeded after`);
      expect(run.stderr).toContain(`benchmark ${benchmarkId}`);
      const shown = await cli(...(command as string).split(" "));
      expect(shown.code).toBe(0);
      expect(shown.out).toContain(benchmarkId);
      expect(shown.out).toMatch(/^ +2 +yes +succeeded/m);
    }
  }, 120_000);
});
