/**
 * Several images benchmarked at once on the local cloud, through the real pipeline with real TCP:
 * every execution ends honestly, every instance is terminated, every run is recorded exactly once.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import type { LocalPipeline } from "../../local-cloud/local-pipeline.js";
import { runBenchmark, startTestPipeline, wasTerminated } from "./local-pipeline-harness.js";

const FREEBSD_CURRENT = "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT";
let pipeline: LocalPipeline;

beforeAll(async () => {
  pipeline = await startTestPipeline();
}, 60_000);
afterAll(async () => {
  await pipeline?.close();
});

it("benchmarks three images at once, each recorded exactly once and fully cleaned up", async () => {
  const port = pipeline.localAws?.cloud.sshPort;
  const images = [
    FREEBSD_CURRENT,
    BUILT_IN_AMI_IDS.clearLinuxLike,
    "/aws/service/debian/release/bookworm/latest/amd64",
  ];
  const results = await Promise.all(
    images.map((image) => runBenchmark(pipeline, { image, instanceType: "c7i.large", runs: 3, port })),
  );

  for (const result of results) {
    expect(result.execution.status).toBe("SUCCEEDED");
    expect(result.runs.map((run) => run.runIndex)).toEqual([0, 1, 2]);
    // Per run: its run item and its launch ledger (the count of its RunInstances requests); one summary.
    expect(result.items.map((item) => item.sk).sort()).toEqual(
      ["SUMMARY", ...[0, 1, 2].slice(0, 3).flatMap((i) => [`LAUNCH#000${i}`, `RUN#000${i}`])].sort(),
    );
    expect(result.instances).toHaveLength(3);
    expect(result.instances.every(wasTerminated)).toBe(true);
  }
  const [freebsd, clearLinux] = results;
  expect(freebsd?.summary).toMatchObject({
    amiId: BUILT_IN_AMI_IDS.freebsdCurrentAmd64,
    sourceParameter: FREEBSD_CURRENT,
    image: { bootMode: "uefi-preferred", architecture: "x86_64" },
  });
  // The port opened the instant the network came up: closed was never seen, so closed to open is 0.
  for (const run of clearLinux?.runs ?? []) {
    expect(run.timestamps.firstClosedAt).toBeUndefined();
    expect(run.intervals?.portClosedToOpen).toBe(0);
  }
  // Three executions of three runs: nine instances, each with its own loopback address, none leaked.
  const all = pipeline.localAws?.cloud.instances() ?? [];
  expect(all).toHaveLength(9);
  expect(new Set(all.map((i) => i.clientToken)).size).toBe(9);
});
