/**
 * The boot filmstrip end to end on the local cloud: CaptureScreenshots beside the poll and the probe,
 * against the local EC2's GetConsoleScreenshot (generated frames that change at the boot's milestones,
 * about one call a second per instance) and s3rver. A run stops filming a few seconds after its port
 * opened; a run whose instance dies stops at terminate's run-ended mark, its stream abandoned by Step
 * Functions yet still writing its manifest.
 */
import { createHash } from "node:crypto";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FilmstripManifest } from "../../functions/domain/contract.js";
import { FILMSTRIP_TAIL_MS, SCREENSHOT_SPACING_MS } from "../../functions/domain/filmstrip.js";
import { filmstripManifestKey, type RunRecord } from "../../functions/domain/run-record.js";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import type { LocalCloud } from "../../local-cloud/cloud.js";
import type { LocalPipeline } from "../../local-cloud/local-pipeline.js";
import { runBenchmark, startTestPipeline, wasTerminated } from "./local-pipeline-harness.js";

let pipeline: LocalPipeline;
let cloud: LocalCloud;
let s3: S3Client;

beforeAll(async () => {
  pipeline = await startTestPipeline();
  cloud = pipeline.localAws?.cloud as LocalCloud;
  s3 = new S3Client({ endpoint: pipeline.localS3?.endpoint, region: "us-east-1" });
}, 60_000);
afterAll(async () => {
  s3?.destroy();
  await pipeline?.close();
});

async function objectBytes(key: string): Promise<Uint8Array> {
  const object = await s3.send(new GetObjectCommand({ Bucket: pipeline.consoleBucket, Key: key }));
  return (await object.Body?.transformToByteArray()) as Uint8Array;
}

const manifestAt = async (key: string): Promise<FilmstripManifest> =>
  JSON.parse(Buffer.from(await objectBytes(key)).toString("utf8")) as FilmstripManifest;

/** A manifest the stream writes after the execution may have ended (an abandoned branch). */
async function eventualManifest(key: string, withinMs = 15_000): Promise<FilmstripManifest> {
  const until = Date.now() + withinMs;
  for (;;) {
    try {
      return await manifestAt(key);
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

const benchmark = (image: string, overrides: Record<string, unknown> = {}) => ({
  image,
  instanceType: "c7i.large",
  runs: 2,
  discardFirst: false,
  port: cloud.sshPort,
  runningTimeoutSeconds: 10,
  openTimeoutSeconds: 10,
  screenshots: { framesPerSecond: 1 },
  ...overrides,
});

describe("the boot filmstrip", () => {
  it("films each run from the launch until a few seconds after its port opened, a second apart, every frame stored", async () => {
    cloud.resetStats();
    const result = await runBenchmark(pipeline, benchmark(BUILT_IN_AMI_IDS.debian12Amd64));
    expect(result.execution.status).toBe("SUCCEEDED");
    expect(result.runs.map((run) => run.status)).toEqual(["succeeded", "succeeded"]);
    for (const run of result.runs) {
      const filmstrip = run.filmstrip;
      if (filmstrip?.status !== "captured")
        throw new Error(`run ${run.runIndex}: ${JSON.stringify(filmstrip)}`);
      expect(filmstrip).toMatchObject({
        bucket: pipeline.consoleBucket,
        manifestKey: filmstripManifestKey(result.benchmarkId, run.runIndex),
        framesPerSecond: 1,
        stoppedBy: "probe-ended",
        throttled: 0,
      });
      const manifest = await manifestAt(filmstrip.manifestKey);
      expect(manifest.frameList).toHaveLength(filmstrip.frames);
      expect(filmstrip.frames).toBeGreaterThanOrEqual(3);
      const { launchRequestedAt, firstOpenAt, probeEndedAt } = run.timestamps as Required<
        RunRecord["timestamps"]
      >;
      // From the launch (the stream starts with the observation) to the tail after the probe.
      expect(filmstrip.startedAt).toBeGreaterThan(launchRequestedAt);
      expect(filmstrip.endedAt).toBeGreaterThanOrEqual(probeEndedAt + FILMSTRIP_TAIL_MS);
      expect(filmstrip.endedAt).toBeLessThan(probeEndedAt + FILMSTRIP_TAIL_MS + 2_500);
      const digests = new Set<string>();
      let storedBytes = 0;
      for (const [i, frame] of manifest.frameList.entries()) {
        expect(frame.respondedAt).toBeGreaterThanOrEqual(frame.requestedAt);
        const previous = manifest.frameList[i - 1];
        if (previous)
          expect(frame.requestedAt - previous.requestedAt).toBeGreaterThanOrEqual(SCREENSHOT_SPACING_MS - 1);
        const jpeg = await objectBytes(frame.key);
        expect(jpeg.length).toBe(frame.bytes);
        expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
        storedBytes += jpeg.length;
        digests.add(createHash("sha256").update(jpeg).digest("hex"));
      }
      expect(storedBytes).toBe(filmstrip.storedBytes);
      // The screen changed as the boot went on: some frame before the port opened differs from the last.
      expect(digests.size).toBeGreaterThanOrEqual(2);
      expect(manifest.frameList.some((frame) => frame.respondedAt < firstOpenAt)).toBe(true);
      expect(manifest.frameList.some((frame) => frame.requestedAt > firstOpenAt)).toBe(true);
    }
    // One request a second: the local EC2's per-instance limit never refused one.
    expect(cloud.stats().errors.GetConsoleScreenshot?.RequestLimitExceeded ?? 0).toBe(0);
    expect(result.instances.every(wasTerminated)).toBe(true);
  });

  it("leaves a benchmark without screenshots unfilmed: no call, no filmstrip", async () => {
    cloud.resetStats();
    const result = await runBenchmark(
      pipeline,
      benchmark(BUILT_IN_AMI_IDS.debian12Amd64, { runs: 1, screenshots: undefined }),
    );
    expect(result.runs.map((run) => [run.status, run.filmstrip])).toEqual([["succeeded", undefined]]);
    expect(cloud.stats().calls.GetConsoleScreenshot ?? 0).toBe(0);
  });

  it("stops filming a run whose instance died at terminate's mark, and still writes its manifest", async () => {
    cloud.faults.set({ internalErrorOnLaunch: { count: 1 } });
    try {
      const result = await runBenchmark(pipeline, benchmark(BUILT_IN_AMI_IDS.debian12Amd64, { runs: 1 }));
      const [run] = result.runs;
      expect(run?.status).toBe("failed");
      const manifestKey = filmstripManifestKey(result.benchmarkId, 0);
      expect(run?.filmstrip).toEqual({ status: "detached", manifestKey });
      const manifest = await eventualManifest(manifestKey);
      expect(manifest.stoppedBy).toBe("run-ended");
      expect(result.instances.every(wasTerminated)).toBe(true);
    } finally {
      cloud.faults.clear();
    }
  });
});
