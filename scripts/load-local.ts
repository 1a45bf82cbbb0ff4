/**
 * Load on the local cloud (`npm run load`): many benchmarks started at once with EC2 throttling on
 * (EC2's real token buckets: RunInstances 5 at once then 2 a second, DescribeInstances 100 then 20),
 * then checks that every execution finished, every run was recorded exactly once and no instance is
 * left running. Exits 1 when any of that fails.
 *
 * The stack's account-wide cap on runs in flight applies (context `runSlots`, default
 * DEFAULT_RUN_SLOTS, one start a second); `--run-slots 500 --start-spacing-ms 0` lifts it, for the
 * figures without the cap.
 *
 *   npm run load -- [--benchmarks 50] [--runs 2] [--time-scale 0.05] [--run-slots N] [--start-spacing-ms MS]
 */
import { parseArgs } from "node:util";
import { loadSummary, runLoad } from "../local-cloud/load-run.js";
import { LOCAL_CLOUD_CONTEXT, startLocalPipeline } from "../local-cloud/local-pipeline.js";

const { values } = parseArgs({
  options: {
    benchmarks: { type: "string", default: "50" },
    runs: { type: "string", default: "2" },
    "time-scale": { type: "string", default: "0.05" },
    "run-slots": { type: "string" },
    "start-spacing-ms": { type: "string" },
  },
});

const runSlots = values["run-slots"];
const runStartSpacingMs = values["start-spacing-ms"];
const pipeline = await startLocalPipeline({
  cloud: { timeScale: Number(values["time-scale"]) },
  context: {
    ...LOCAL_CLOUD_CONTEXT,
    ...(runSlots !== undefined && { runSlots }),
    ...(runStartSpacingMs !== undefined && { runStartSpacingMs }),
  },
});
let failed = false;
try {
  const report = await runLoad(pipeline, {
    benchmarks: Number(values.benchmarks),
    runsPerBenchmark: Number(values.runs),
  });
  console.log(JSON.stringify(loadSummary(report), null, 2));
  const finished = report.outcomes.every((o) => o.status === "SUCCEEDED" || o.status === "FAILED");
  failed =
    !finished ||
    report.runs.lost > 0 ||
    report.runs.duplicated > 0 ||
    report.runs.recorded !== report.runs.expected ||
    report.instances.leftRunning > 0;
  console.log(
    failed ? "LOAD: FAILED" : "LOAD: OK (all finished, nothing lost, nothing duplicated, nothing running)",
  );
} finally {
  await pipeline.close();
}
process.exit(failed ? 1 : 0);
