/**
 * A run longer than a minute of real time. aws-local-stepfunctions gives a Task without TimeoutSeconds
 * 60 s where AWS waits up to a year, so without the definition's own TimeoutSeconds such a run ends as
 * States.Timeout with its timestamps lost. The catalogue's slow-boot-over-a-minute image at time scale 1
 * keeps both PollState (running after 64 s) and ProbePort (open after about 70 s) past that minute.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import type { LocalPipeline } from "../../local-cloud/local-pipeline.js";
import { runBenchmark, startTestPipeline, wasTerminated } from "./local-pipeline-harness.js";

const MINUTE_MS = 60_000;
let pipeline: LocalPipeline;

beforeAll(async () => {
  // No jitter: a draw a few per cent short must not bring PollState back under the minute.
  pipeline = await startTestPipeline({ timeScale: 1, jitter: 0 });
}, 60_000);
afterAll(async () => {
  await pipeline?.close();
});

describe("a benchmark whose run outlasts a minute on the local cloud", () => {
  it("succeeds and records the run's intervals when PollState and ProbePort each take over 60 s", async () => {
    const result = await runBenchmark(pipeline, {
      image: BUILT_IN_AMI_IDS.slowBootOverAMinute,
      instanceType: "c7i.large",
      runs: 1,
      discardFirst: false,
      port: pipeline.localAws?.cloud.sshPort ?? 22,
    });

    // The run's error and the execution's, if any, are part of what is compared: a failure says why.
    expect(
      result.runs.map((run) => ({
        status: run.status,
        counted: run.counted,
        error: run.error,
        terminationError: run.terminationError,
      })),
    ).toEqual([{ status: "succeeded", counted: true, error: undefined, terminationError: undefined }]);
    const { status, error } = result.execution;
    expect({ status, error }).toEqual({ status: "SUCCEEDED", error: undefined });
    const [run] = result.runs;
    const i = run?.intervals;
    expect(i).toBeDefined();
    // Both Tasks really ran past the minute: running came after it, and the port opened later still.
    expect(i?.pendingToRunning).toBeGreaterThan(60);
    expect(i?.runningToPortClosed).toBeGreaterThan(0);
    expect(i?.portClosedToOpen).toBeGreaterThan(0);
    expect(result.summary).toMatchObject({ status: "succeeded", countedSucceededRuns: 1 });
    expect(Date.parse(result.execution.stoppedAt) - Date.parse(result.execution.startedAt)).toBeGreaterThan(
      MINUTE_MS,
    );
    expect(result.instances).toHaveLength(1);
    expect(result.instances.every(wasTerminated)).toBe(true);
  }, 150_000);
});
