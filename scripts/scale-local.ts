/**
 * The run-slot cap at scale (`npm run scale`): one suite of 100 targets × 10 runs on the local cloud
 * under EC2's real throttling, at time scale 0.1. Checks that all 1,000 runs are recorded, that the
 * account saw at most 0.1 throttled EC2 calls per run, that no more runs than the cap were ever in
 * flight, and that the wall time stayed within 1.5 × what the cap allows: the runs' time in flight
 * (RunInstances to TerminateInstances, from the local EC2's truth) spread over the slots, or the runs
 * one start spacing apart, whichever is longer. Exits 1 when any of that fails.
 *
 *   npm run scale -- [--targets 100] [--runs 10] [--time-scale 0.1] [--run-slots N]
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { unmarshallItem } from "../functions/aws/benchmark-table.js";
import { auditBenchmark } from "../local-cloud/audit.js";
import { loadFigures } from "../local-cloud/load-run.js";
import { LOCAL_CLOUD_CONTEXT, startLocalPipeline } from "../local-cloud/local-pipeline.js";

const { values } = parseArgs({
  options: {
    targets: { type: "string", default: "100" },
    runs: { type: "string", default: "10" },
    "time-scale": { type: "string", default: "0.1" },
    "run-slots": { type: "string" },
  },
});
const targets = Number(values.targets);
const runsPerTarget = Number(values.runs);
const runSlotsOption = values["run-slots"];

const pipeline = await startLocalPipeline({
  cloud: { timeScale: Number(values["time-scale"]) },
  context: { ...LOCAL_CLOUD_CONTEXT, ...(runSlotsOption !== undefined && { runSlots: runSlotsOption }) },
});
let failed = true;
try {
  const cloud = pipeline.localAws?.cloud;
  if (cloud === undefined)
    throw new Error("the scale run needs its own local cloud (unset AWS_ENDPOINT_URL_EC2)");
  const input = {
    suite: {
      name: "scale",
      // Distinct user data makes distinct measurements of the same image (a label alone would not: the
      // suite would run one benchmark and skip the rest as duplicates).
      targets: Array.from({ length: targets }, (_, i) => ({
        image: "/aws/service/debian/release/bookworm/latest/amd64",
        instanceTypes: { x86_64: ["c7i.large"] },
        label: `scale-${String(i).padStart(3, "0")}`,
        userData: `#!/bin/sh\n# boot-bench scale target ${i}\n`,
      })),
      runs: runsPerTarget,
      discardFirst: false,
      port: cloud.sshPort,
      runningTimeoutSeconds: 120,
      openTimeoutSeconds: 60,
      // The suite's most: with fewer benchmarks than slots at once, the suite would bind, not the cap.
      concurrency: 10,
    },
    force: true,
  };
  cloud.faults.set({ throttling: true });
  cloud.resetStats();
  const started = performance.now();
  const outcome = await pipeline.stateMachine.startExecution(input, `scale-${randomUUID()}`).result;
  const wallSeconds = (performance.now() - started) / 1000;

  const summaries = await pipeline.dynamoDb.send(
    new QueryCommand({
      TableName: pipeline.tableName,
      IndexName: "Recent",
      KeyConditionExpression: "recentPk = :pk",
      ExpressionAttributeValues: { ":pk": { S: "BENCHMARK" } },
    }),
  );
  const benchmarkIds = (summaries.Items ?? []).map((item) => String(unmarshallItem(item).benchmarkId));
  const audits = await Promise.all(benchmarkIds.map((id) => auditBenchmark(pipeline, id, runsPerTarget)));
  const expected = targets * runsPerTarget;
  const figures = loadFigures(pipeline, audits, expected);
  const { slots, startSpacingMs } = pipeline.runSlots;
  const slotsAllowSeconds = figures.runInFlightSeconds.sum / slots;
  const spacingAllowsSeconds = (expected * startSpacingMs) / 1000;
  const capAllowsSeconds = Math.max(slotsAllowSeconds, spacingAllowsSeconds);
  const report = {
    suite: { status: outcome.status, ...(outcome.error !== undefined && { error: outcome.error }) },
    benchmarks: benchmarkIds.length,
    ...figures,
    wallSeconds: Math.round(wallSeconds),
    slotsAllowSeconds: Math.round(slotsAllowSeconds),
    spacingAllowsSeconds: Math.round(spacingAllowsSeconds),
    capAllowsSeconds: Math.round(capAllowsSeconds),
    wallOverCap: Math.round((wallSeconds / capAllowsSeconds) * 100) / 100,
  };
  console.log(JSON.stringify(report, null, 2));
  failed =
    outcome.status !== "SUCCEEDED" ||
    benchmarkIds.length !== targets ||
    figures.runs.recorded !== expected ||
    figures.runs.lost > 0 ||
    figures.runs.duplicated > 0 ||
    figures.throttledPerRun > 0.1 ||
    figures.peakRunsInFlight > slots ||
    report.wallOverCap > 1.5 ||
    figures.instances.leftRunning > 0;
  console.log(failed ? "SCALE: FAILED" : "SCALE: OK");
} finally {
  await pipeline.close();
}
process.exit(failed ? 1 : 0);
