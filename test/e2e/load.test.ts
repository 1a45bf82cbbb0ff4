/**
 * Ten benchmarks started at once on the local cloud with EC2's real throttling (RunInstances: 5 at
 * once, then 2 a second): all finish, every run is recorded exactly once, nothing is left running.
 * `npm run load` does the same with 50 (about a minute), too slow for every test run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSummary, runLoad } from "../../local-cloud/load-run.js";
import { type LocalPipeline, startLocalPipeline } from "../../local-cloud/local-pipeline.js";
import { randomSshPort } from "../local-cloud/local-aws-support.js";

let pipeline: LocalPipeline;

beforeAll(async () => {
  // A port of its own, so that no other test file's cloud answers for one of these instances.
  pipeline = await startLocalPipeline({ cloud: { timeScale: 0.05, sshPort: randomSshPort() } });
}, 60_000);
afterAll(async () => {
  await pipeline?.close();
});

describe("load on the local cloud", () => {
  it("finishes 10 benchmarks started at once under EC2 throttling, losing and duplicating nothing", async () => {
    const report = await runLoad(pipeline, { benchmarks: 10, runsPerBenchmark: 2 });
    console.log(JSON.stringify(loadSummary(report), null, 2));

    expect(report.executions).toEqual({ SUCCEEDED: 10 });
    expect(report.runs).toMatchObject({ expected: 20, recorded: 20, lost: 0, duplicated: 0 });
    expect(report.runs.byStatus).toEqual({ succeeded: 20 });
    expect(report.instances).toEqual({ launched: 20, leftRunning: 0 });
    // Ten launches against a bucket of five: throttling really happened and was ridden out.
    expect(report.throttled.RunInstances).toBeGreaterThan(0);
  }, 120_000);
});
