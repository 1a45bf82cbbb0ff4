/**
 * Guest timings end to end on the local pipeline: the probe logs in to the local guest's sshd (ssh2 on
 * both ends) once the port is open, with the benchmark's key read from the table, stores the answers in
 * s3rver and returns the milestones, which RecordRun keeps. Checked against the instances' ground truth,
 * and under the guest faults (a login refused, a command that hangs): the intervals stand, no run is
 * lost, and the record says what happened.
 */
import { gunzipSync } from "node:zlib";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReportModel } from "../../cli/commands/report.js";
import { chartData } from "../../cli/report-charts.js";
import {
  GUEST_COMMAND_TIMEOUT_MS,
  GUEST_COMMANDS,
  type GuestOutputDocument,
} from "../../functions/domain/guest-timings.js";
import type { RunRecord } from "../../functions/domain/run-record.js";
import type { LocalCloud } from "../../local-cloud/cloud.js";
import type { LocalPipeline } from "../../local-cloud/local-pipeline.js";
import {
  type BenchmarkRun,
  runBenchmark,
  shortBenchmark,
  startTestPipeline,
} from "./local-pipeline-harness.js";

let pipeline: LocalPipeline;
let cloud: LocalCloud;
let s3: S3Client;

beforeAll(async () => {
  pipeline = await startTestPipeline({ timeScale: 0.05 });
  cloud = pipeline.localAws?.cloud as LocalCloud;
  s3 = new S3Client({ endpoint: pipeline.localS3?.endpoint, region: "us-east-1", forcePathStyle: true });
}, 60_000);
afterAll(async () => {
  s3?.destroy();
  await pipeline?.close();
});

async function storedDocument(run: RunRecord): Promise<GuestOutputDocument> {
  const key = run.guest?.output?.key;
  if (key === undefined)
    throw new Error(`run ${run.runIndex} stored no guest answers: ${JSON.stringify(run.guest)}`);
  const object = await s3.send(new GetObjectCommand({ Bucket: pipeline.consoleBucket, Key: key }));
  expect(object.ContentEncoding).toBe("gzip");
  expect(object.ContentType).toBe("application/json");
  const bytes = (await object.Body?.transformToByteArray()) as Uint8Array;
  expect(bytes.length).toBe(run.guest?.output?.storedBytes);
  return JSON.parse(gunzipSync(bytes).toString("utf8")) as GuestOutputDocument;
}

const truthOf = (result: BenchmarkRun, run: RunRecord) => {
  const instance = result.instances.find((i) => i.instanceId === run.instanceId);
  if (instance === undefined) throw new Error(`no instance for run ${run.runIndex}`);
  return instance.truth;
};

const expectIntervalsStand = (result: BenchmarkRun) => {
  expect(result.execution.status).toBe("SUCCEEDED");
  expect(result.runs.map((run) => run.status)).toEqual(["succeeded", "succeeded"]);
  for (const run of result.runs) expect(run.intervals?.portClosedToOpen).toBeGreaterThanOrEqual(0);
};

describe("guest timings on the local pipeline", () => {
  it("logs in once the port is open, keeps the guest's milestones as the truth has them and stores every answer", async () => {
    const result = await runBenchmark(pipeline, shortBenchmark(cloud, { guestTimings: true }));
    expectIntervalsStand(result);
    for (const run of result.runs) {
      const truth = truthOf(result, run);
      expect(run.guest).toMatchObject({ status: "collected", family: "linux", loginUser: "admin" });
      expect(run.guest?.notAsked).toBeUndefined();
      // The local guest's kernel starts when the instance is running, sshd when the port opened. The
      // kernel's start is date minus /proc/uptime, which has hundredths of a second; the journal has
      // microseconds since the kernel started.
      const milestones = run.guest?.milestones;
      expect(
        Math.abs((milestones?.kernelStartedAt ?? 0) - (truth.runningAt ?? Number.NaN)),
      ).toBeLessThanOrEqual(10);
      expect(
        Math.abs(
          (milestones?.sshdReadyMs ?? 0) - ((truth.sshUpAt ?? Number.NaN) - (truth.runningAt ?? Number.NaN)),
        ),
      ).toBeLessThan(1);
      // Asked after the probe's end: it cannot have moved an interval.
      expect(run.guest?.startedAt).toBeGreaterThanOrEqual(run.timestamps.probeEndedAt ?? Number.NaN);
      const document = await storedDocument(run);
      expect(document).toMatchObject({
        benchmarkId: result.benchmarkId,
        runIndex: run.runIndex,
        instanceId: run.instanceId,
      });
      expect(document.commands.map((c) => c.id)).toEqual(GUEST_COMMANDS.linux.map((c) => c.id));
      for (const command of document.commands) expect(command.source).not.toBe("");
    }

    // The report places the guest's kernel where the truth has it: sshd ready at the port's first
    // SYN/ACK puts the kernel's start late by as much as the probe saw the port open late.
    const { guestBars } = chartData(
      await buildReportModel(
        { client: pipeline.dynamoDb, tableName: pipeline.tableName, clock: () => Date.now() },
        {},
      ),
    );
    const rows = result.runs.map((run) =>
      guestBars.labels.findIndex((label) => label.endsWith(`· run ${run.runIndex}`)),
    );
    expect(rows.every((row) => row >= 0)).toBe(true);
    for (const [i, run] of result.runs.entries()) {
      const row = rows[i] as number;
      const truth = truthOf(result, run);
      const t = run.timestamps;
      const trueKernelAt = ((truth.runningAt ?? Number.NaN) - (t.runningAt ?? Number.NaN)) / 1000;
      const openLateBy = ((t.firstOpenAt ?? Number.NaN) - (truth.sshUpAt ?? Number.NaN)) / 1000;
      expect(openLateBy).toBeGreaterThanOrEqual(0);
      expect(guestBars.observed[row]).toEqual([0, run.intervals?.total]);
      expect(guestBars.kernel[row]?.[0]).toBeCloseTo(trueKernelAt + openLateBy, 2);
      expect(guestBars.userland[row]?.[1]).toBe(run.intervals?.total);
      expect(guestBars.sources[row]).toContain("sshdReadyMs: sshdJournal");
    }
  }, 120_000);

  it("keeps no guest timings, and logs in nowhere, for a benchmark that did not ask for them", async () => {
    const result = await runBenchmark(pipeline, shortBenchmark(cloud));
    expectIntervalsStand(result);
    for (const run of result.runs) expect(run).not.toHaveProperty("guest");
  }, 120_000);

  it("launches with a key pair EC2 does not find yet (just imported, eventually consistent), and loses no run", async () => {
    // PrepareGuestKey imports the key pair right before the first launch names it.
    cloud.faults.set({ notFoundWindowMs: 1_500 });
    try {
      const result = await runBenchmark(pipeline, shortBenchmark(cloud, { guestTimings: true }));
      expectIntervalsStand(result);
      for (const run of result.runs) expect(run.guest?.status).toBe("collected");
    } finally {
      cloud.faults.set({ notFoundWindowMs: undefined });
    }
  }, 120_000);

  it("records a refused login as the reason, and the run's numbers stand", async () => {
    cloud.faults.set({ guestLoginRefused: { count: 1 } });
    try {
      const result = await runBenchmark(pipeline, shortBenchmark(cloud, { guestTimings: true }));
      expectIntervalsStand(result);
      const statuses = result.runs.map((run) => run.guest?.status).sort();
      expect(statuses).toEqual(["collected", "failed"]);
      const refused = result.runs.find((run) => run.guest?.status === "failed");
      expect(refused?.guest).toMatchObject({
        error: { name: "SSH.client-authentication" },
        answers: [],
        notAsked: GUEST_COMMANDS.linux.map((c) => c.id),
      });
      expect(refused?.guest?.output).toBeUndefined();
      expect(refused?.integrity.verdicts).toEqual(
        result.runs.find((run) => run !== refused)?.integrity.verdicts,
      );
    } finally {
      cloud.faults.set({ guestLoginRefused: false });
    }
  }, 120_000);

  it("abandons a command that hangs after its bound, keeps the other answers, and the run's numbers stand", async () => {
    cloud.faults.set({ guestCommandsHang: { count: 1, commands: ["sshdJournal"] } });
    try {
      const result = await runBenchmark(pipeline, shortBenchmark(cloud, { guestTimings: true }));
      expectIntervalsStand(result);
      const hung = result.runs.find((run) => run.guest?.answers.some((a) => a.timedOut));
      expect(hung?.guest).toMatchObject({ status: "collected" });
      expect(hung?.guest?.answers.find((a) => a.id === "sshdJournal")).toEqual({
        id: "sshdJournal",
        timedOut: true,
      });
      expect(hung?.guest?.answers.map((a) => a.id)).toEqual(GUEST_COMMANDS.linux.map((c) => c.id));
      // The journal was sshd's only source on Linux: without it, no sshd milestone, the others kept.
      expect(hung?.guest?.milestones.sshdReadyMs).toBeUndefined();
      expect(hung?.guest?.milestones.kernelStartedAt).toBeDefined();
      const took = (hung?.guest?.endedAt ?? 0) - (hung?.guest?.startedAt ?? 0);
      expect(took).toBeGreaterThanOrEqual(GUEST_COMMAND_TIMEOUT_MS);
      expect(took).toBeLessThan(GUEST_COMMAND_TIMEOUT_MS + 5_000);
    } finally {
      cloud.faults.set({ guestCommandsHang: undefined });
    }
  }, 120_000);

  it("stops asking a guest that goes dark mid-session, keeps and stores what it had, and the run's numbers stand", async () => {
    cloud.faults.set({ guestGoesDark: { count: 1, command: "sshdJournal", when: "answering" } });
    try {
      const result = await runBenchmark(pipeline, shortBenchmark(cloud, { guestTimings: true }));
      expectIntervalsStand(result);
      const dark = result.runs.find((run) => run.guest?.status === "failed");
      expect(dark?.guest).toMatchObject({
        error: { name: "BootBench.GuestStoppedAnswering" },
        notAsked: ["kernelLog"],
      });
      expect(dark?.guest?.answers.map((a) => [a.id, a.timedOut ?? false])).toEqual([
        ["systemdAnalyzeTime", false],
        ["systemdCriticalChain", false],
        ["uptime", false],
        ["sshdJournal", true],
      ]);
      expect(dark?.guest?.milestones.kernelStartedAt).toBeDefined();
      const document = await storedDocument(dark as RunRecord);
      expect(document.commands.map((c) => c.id)).toEqual([
        "systemdAnalyzeTime",
        "systemdCriticalChain",
        "uptime",
        "sshdJournal",
      ]);
      // One command's bound and the second its close is given: not the 51 s after which it is abandoned.
      const took = (dark?.guest?.endedAt ?? 0) - (dark?.guest?.startedAt ?? 0);
      expect(took).toBeGreaterThanOrEqual(GUEST_COMMAND_TIMEOUT_MS);
      expect(took).toBeLessThan(GUEST_COMMAND_TIMEOUT_MS + 5_000);
      expect(result.runs.find((run) => run !== dark)?.guest?.status).toBe("collected");
    } finally {
      cloud.faults.set({ guestGoesDark: undefined });
    }
  }, 120_000);
});
