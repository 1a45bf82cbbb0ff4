/**
 * The synthesised state machine, executed locally with every Task mapped to its real handler, for the
 * outcomes a benchmark can have. Each case checks the execution's status, what the table holds, and
 * that every launched instance was terminated.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import type { LocalPipeline } from "../../local-cloud/local-pipeline.js";
import { runBenchmark, startTestPipeline, wasTerminated } from "./local-pipeline-harness.js";

const DEBIAN = "/aws/service/debian/release/bookworm/latest/amd64";
let pipeline: LocalPipeline;
const sampleEvent = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), "utf8"));
let sshPort: number;

beforeAll(async () => {
  pipeline = await startTestPipeline();
  sshPort = pipeline.localAws?.cloud.sshPort ?? 22;
}, 60_000);
afterAll(async () => {
  await pipeline?.close();
});

describe("a benchmark on the local cloud", () => {
  it("measures three runs, discards the first, records every run and a summary, terminates every instance", async () => {
    // events/linux-ami.json names the local catalogue's Debian 12 AMI by id.
    const result = await runBenchmark(pipeline, { ...sampleEvent("linux-ami.json"), port: sshPort });

    expect(result.execution.status).toBe("SUCCEEDED");
    expect(result.runs.map((run) => [run.runIndex, run.status, run.counted])).toEqual([
      [0, "succeeded", false],
      [1, "succeeded", true],
      [2, "succeeded", true],
    ]);
    for (const run of result.runs) {
      const i = run.intervals;
      expect(i).toBeDefined();
      expect(i?.runInstancesApi).toBeGreaterThan(0);
      expect(i?.pendingToRunning).toBeGreaterThan(0);
      expect(i?.runningToPortClosed).toBeGreaterThan(0);
      expect(i?.portClosedToOpen).toBeGreaterThan(0);
      expect(i?.total).toBeCloseTo((i?.runningToPortClosed ?? 0) + (i?.portClosedToOpen ?? 0), 9);
      expect(run.image).toMatchObject({
        amiId: BUILT_IN_AMI_IDS.debian12Amd64,
        name: "debian-12-amd64-20250814-2204",
      });
    }
    expect(result.summary).toMatchObject({
      status: "succeeded",
      runs: 3,
      countedRuns: 2,
      countedSucceededRuns: 2,
      amiId: BUILT_IN_AMI_IDS.debian12Amd64,
      label: "debian-12 by AMI id",
    });
    expect(result.summary?.sourceParameter).toBeUndefined();
    // Per run: its run item and its launch ledger (the count of its RunInstances requests); one summary.
    expect(result.items.map((item) => item.sk).sort()).toEqual(
      ["SUMMARY", ...[0, 1, 2].slice(0, 3).flatMap((i) => [`LAUNCH#000${i}`, `RUN#000${i}`])].sort(),
    );
    expect(result.instances).toHaveLength(3);
    expect(result.instances.every(wasTerminated)).toBe(true);
    // Suite? (no: a single benchmark), validate, resolve, map, summarise, choice, succeed, and the guest
    // key's choices and pass (none asked for) + per run: take a run slot, launch, parallel, poll, probe,
    // film (off: it returns at once), keep the console, terminate, give the slot back, record, and the
    // pass that ends the iteration.
    expect(result.execution.stateTransitions).toBe(7 + 3 + 3 * 11);
  });

  it("records every run as failed when no instance can be launched, and fails the execution by name", async () => {
    pipeline.localAws?.cloud.faults.set({ insufficientCapacity: true });
    try {
      const result = await runBenchmark(pipeline, {
        image: DEBIAN,
        instanceType: "c7i.large",
        runs: 2,
        port: sshPort,
      });

      expect(result.execution).toMatchObject({ status: "FAILED", error: "BootBench.NoSuccessfulRuns" });
      expect(result.runs).toHaveLength(2);
      for (const run of result.runs) {
        expect(run).toMatchObject({ status: "failed", error: { name: "InsufficientInstanceCapacity" } });
        expect(run.instanceId).toBeUndefined();
      }
      expect(result.summary).toMatchObject({ status: "failed", failedRuns: 2, countedSucceededRuns: 0 });
      expect(result.instances).toHaveLength(0);
    } finally {
      pipeline.localAws?.cloud.faults.clear();
    }
  });

  it("records an instance that dies while pending with its state reason, and terminates it", async () => {
    pipeline.localAws?.cloud.faults.set({ internalErrorOnLaunch: true });
    try {
      const result = await runBenchmark(pipeline, {
        image: DEBIAN,
        instanceType: "c7i.large",
        runs: 1,
        discardFirst: false,
        port: sshPort,
      });

      expect(result.execution).toMatchObject({ status: "FAILED", error: "BootBench.NoSuccessfulRuns" });
      expect(result.runs).toHaveLength(1);
      expect(result.runs[0]).toMatchObject({
        status: "failed",
        error: { name: "BootBench.InstanceTerminated" },
      });
      expect(result.runs[0]?.error?.message).toContain("Server.InternalError");
      expect(result.instances).toHaveLength(1);
      expect(result.instances.every((i) => i.state === "terminated" || wasTerminated(i))).toBe(true);
    } finally {
      pipeline.localAws?.cloud.faults.clear();
    }
  });

  it("times out an instance that is not running within runningTimeoutSeconds, and terminates it", async () => {
    // Debian takes 6.9 s x 0.2 = 1.4 s to run here; the timeout is 1 s.
    const result = await runBenchmark(pipeline, {
      image: DEBIAN,
      instanceType: "c7i.large",
      runs: 1,
      discardFirst: false,
      runningTimeoutSeconds: 1,
      port: sshPort,
    });

    expect(result.execution).toMatchObject({ status: "FAILED", error: "BootBench.NoSuccessfulRuns" });
    expect(result.runs[0]).toMatchObject({ status: "timeout", timedOutWaitingFor: "running" });
    expect(result.summary).toMatchObject({ status: "failed", timedOutRuns: 1 });
    expect(result.instances).toHaveLength(1);
    expect(result.instances.every(wasTerminated)).toBe(true);
  });

  it("times out a port that never opens, keeping what was observed, and terminates the instance", async () => {
    const result = await runBenchmark(pipeline, {
      image: BUILT_IN_AMI_IDS.sshdNeverStarts,
      instanceType: "c7i.large",
      runs: 1,
      discardFirst: false,
      runningTimeoutSeconds: 5,
      openTimeoutSeconds: 2,
      port: sshPort,
    });

    expect(result.execution).toMatchObject({ status: "FAILED", error: "BootBench.NoSuccessfulRuns" });
    const run = result.runs[0];
    expect(run).toMatchObject({ status: "timeout", timedOutWaitingFor: "port-open" });
    expect(run?.timestamps.runningAt).toBeGreaterThan(0);
    expect(run?.timestamps.firstClosedAt).toBeGreaterThan(run?.timestamps.runningAt ?? 0);
    expect(run?.timestamps.firstOpenAt).toBeUndefined();
    expect(run?.intervals).toBeUndefined();
    expect(result.instances).toHaveLength(1);
    expect(result.instances.every(wasTerminated)).toBe(true);
  });

  it("fails invalid input at the first step with BootBench.InvalidInput naming each field, launching nothing", async () => {
    const launchedBefore = pipeline.localAws?.cloud.instances().length;
    const input = JSON.parse(
      readFileSync(new URL("../../events/invalid-input.json", import.meta.url), "utf8"),
    );
    const result = await runBenchmark(pipeline, input);

    expect(result.execution).toMatchObject({ status: "FAILED", error: "BootBench.InvalidInput" });
    const message = JSON.parse(result.execution.cause ?? "{}").errorMessage as string;
    for (const field of ["image", "instanceType", "runs", "port", "colour"])
      expect(message).toContain(`${field}:`);
    expect(result.items).toHaveLength(0);
    expect(pipeline.localAws?.cloud.instances().length).toBe(launchedBefore);
  });
});
