/**
 * Twenty benchmarks started at once on the local cloud with EC2's real throttling (RunInstances: 5 at
 * once, then 2 a second; DescribeInstances: 100, then 20): the account-wide run-slot cap keeps at most
 * `runSlots` runs in flight, so all finish, every run is recorded exactly once, nothing is left running,
 * and EC2 throttles (almost) nothing. `npm run load` does the same with 50, and without the cap
 * (`--run-slots 500`) for comparison; `npm run scale` a suite of 1,000 runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSummary, runLoad } from "../../local-cloud/load-run.js";
import { type LocalPipeline, startLocalPipeline } from "../../local-cloud/local-pipeline.js";
import { randomSshPort } from "../local-cloud/local-aws-support.js";

let pipeline: LocalPipeline;

beforeAll(async () => {
  // A port of its own, so that no other test file's cloud answers for one of these instances.
  // Time scale 0.3: a run is in flight about 5 s, longer than 4 slots × 1 s between starts, so that
  // the count of slots binds, not only the spacing of starts.
  pipeline = await startLocalPipeline({ cloud: { timeScale: 0.3, sshPort: randomSshPort() } });
}, 60_000);
afterAll(async () => {
  await pipeline?.close();
});

describe("load on the local cloud", () => {
  it("runs 20 benchmarks started at once within the run-slot cap, losing, duplicating and leaking nothing", async () => {
    const report = await runLoad(pipeline, { benchmarks: 20, runsPerBenchmark: 2 });
    console.log(JSON.stringify(loadSummary(report), null, 2));

    expect(report.executions).toEqual({ SUCCEEDED: 20 });
    expect(report.runs).toMatchObject({ expected: 40, recorded: 40, lost: 0, duplicated: 0 });
    expect(report.runs.byStatus).toEqual({ succeeded: 40 });
    expect(report.instances).toEqual({ launched: 40, leftRunning: 0 });
    // The stack's default cap, reached and never passed (without it all 20 launch together, and
    // RunInstances, 5 at once, is throttled dozens of times), and starts a second apart.
    expect(report).toMatchObject({ runSlots: 4, startSpacingMs: 1000 });
    expect(report.peakRunsInFlight).toBe(report.runSlots);
    expect(report.throttledPerRun).toBeLessThanOrEqual(0.1);
  }, 180_000);
});
