/**
 * Every run's console output, kept by CaptureConsole after the observation and before terminate, on the
 * local cloud (its GetConsoleOutput follows the emulated boot) with s3rver as S3: stored for a run that
 * succeeded, for one whose sshd never started, and buffered on an instance type without Nitro; then
 * read back with `boot-bench console`'s own code.
 */
import { gunzipSync } from "node:zlib";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { showConsole } from "../../cli/commands/console.js";
import { openConsoleObjects } from "../../cli/console-objects.js";
import { queryBenchmark } from "../../functions/aws/benchmark-queries.js";
import { consoleOutputKey, type RunRecord } from "../../functions/domain/run-record.js";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import type { LocalPipeline } from "../../local-cloud/local-pipeline.js";
import { runBenchmark, startTestPipeline, wasTerminated } from "./local-pipeline-harness.js";

let pipeline: LocalPipeline;
let sshPort: number;
let s3: S3Client;

beforeAll(async () => {
  pipeline = await startTestPipeline();
  sshPort = pipeline.localAws?.cloud.sshPort ?? 22;
  s3 = new S3Client({ endpoint: pipeline.localS3?.endpoint, region: "us-east-1" });
}, 60_000);
afterAll(async () => {
  s3?.destroy();
  await pipeline?.close();
});

/** The stored object of a run, decompressed. */
async function storedText(run: RunRecord): Promise<string> {
  if (run.console?.status !== "stored")
    throw new Error(`run ${run.runIndex}: ${JSON.stringify(run.console)}`);
  const object = await s3.send(new GetObjectCommand({ Bucket: run.console.bucket, Key: run.console.key }));
  expect(object.ContentEncoding).toBe("gzip");
  const bytes = await object.Body?.transformToByteArray();
  expect(bytes?.length).toBe(run.console.storedBytes);
  return gunzipSync(bytes as Uint8Array).toString("utf8");
}

const benchmark = (image: string, overrides: Record<string, unknown> = {}) => ({
  image,
  instanceType: "c7i.large",
  runs: 2,
  discardFirst: false,
  port: sshPort,
  runningTimeoutSeconds: 10,
  openTimeoutSeconds: 10,
  ...overrides,
});

describe("console output of every run", () => {
  it("keeps each run's latest output, up to sshd ready, under the run's key in the stack's bucket", async () => {
    const result = await runBenchmark(pipeline, benchmark(BUILT_IN_AMI_IDS.debian12Amd64));
    expect(result.execution.status).toBe("SUCCEEDED");
    expect(result.runs.map((run) => run.status)).toEqual(["succeeded", "succeeded"]);
    for (const run of result.runs) {
      expect(run.console).toMatchObject({
        status: "stored",
        bucket: pipeline.consoleBucket,
        key: consoleOutputKey(result.benchmarkId, run.runIndex),
        latest: true,
      });
      const text = await storedText(run);
      expect(Buffer.byteLength(text)).toBe(run.console?.status === "stored" ? run.console.bytes : -1);
      expect(text).toContain("Linux version 6.1.0");
      // Captured after the port opened: sshd's start is in it, and nothing of the shutdown yet.
      expect(text).toContain("Started ssh.service - OpenBSD Secure Shell server.");
      expect(text).not.toContain("reboot: Power down");
    }
    expect(result.instances.every(wasTerminated)).toBe(true);
  });

  it("keeps the console of a run whose sshd never started, which shows why", async () => {
    const result = await runBenchmark(
      pipeline,
      benchmark(BUILT_IN_AMI_IDS.sshdNeverStarts, { runs: 1, openTimeoutSeconds: 3 }),
    );
    const [run] = result.runs;
    expect(run).toMatchObject({ status: "timeout", timedOutWaitingFor: "port-open" });
    const text = await storedText(run as RunRecord);
    expect(text).toContain("[FAILED] Failed to start ssh.service - OpenBSD Secure Shell server.");
    expect(text).not.toContain("Started ssh.service");
    expect(result.instances.every(wasTerminated)).toBe(true);
  });

  it("takes the buffered output on an instance type without Nitro, saying why Latest was refused", async () => {
    const result = await runBenchmark(
      pipeline,
      benchmark(BUILT_IN_AMI_IDS.debian12Amd64, { runs: 1, instanceType: "t2.micro" }),
    );
    const [run] = result.runs;
    expect(run?.status).toBe("succeeded");
    expect(run?.console).toMatchObject({
      status: "stored",
      latest: false,
      latestRefused: expect.stringMatching(/^UnsupportedOperation: .*t2\.micro/),
    });
    // EC2 posted it when the instance went running: the firmware's lines, not sshd's.
    const text = await storedText(run as RunRecord);
    expect(text).not.toContain("ssh.service");
  });

  it("prints a local benchmark's console with `boot-bench console`", async () => {
    const result = await runBenchmark(pipeline, benchmark(BUILT_IN_AMI_IDS.freebsd143Release, { runs: 1 }));
    let written = "";
    const objects = await openConsoleObjects({ local: true });
    try {
      const shown = await showConsole(
        {
          runs: async (id) => (await queryBenchmark(pipeline.dynamoDb, pipeline.tableName, id)).runs,
          objects,
          out: {
            write: (chunk: string) => {
              written += chunk;
              return true;
            },
          } as unknown as NodeJS.WritableStream,
        },
        { benchmarkId: result.benchmarkId, runIndex: 0 },
      );
      expect(shown).toBe(true);
    } finally {
      await objects.close();
    }
    const run = result.runs[0] as RunRecord;
    expect(written.split("\n")[0]).toMatch(
      /^== run 0, succeeded, i-\w+: latest output, \d+\.\d KiB \(\d+\.\d KiB stored\)/,
    );
    expect(written).toContain(await storedText(run));
    expect(written).toContain("Starting sshd.");
  });
});
