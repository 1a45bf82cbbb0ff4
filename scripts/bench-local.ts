/**
 * Measurement-quality benchmark of the local pipeline (`npm run bench`): runs benchmarks through the
 * stack's state machine on the local cloud and compares every observed boundary with the true
 * transition times the local cloud recorded. Prints, per boundary, the median and p99 absolute error,
 * DescribeInstances calls per run and per second of polling, state transitions per run, and the local
 * pipeline's overhead per run, and what keeping each run's console output costs (the CaptureConsole
 * state's time, the output's size and its stored gzip size). Figures, not assertions: machines are
 * shared and noisy.
 *
 * With `--screenshots <fps>`, every benchmark asks for a boot filmstrip: the figures then include the
 * frames and bytes stored per run, and how long after the probe's end the observation (and so the
 * instance) went on: what the filmstrip adds to a run.
 *
 * With `--guest-timings`, every benchmark asks for guest timings: the figures then include the guest
 * session's time (login, commands, store) and the answers' size per run, stored and not, and how far the
 * milestones the guest gave are from the local cloud's truth.
 *
 * With `--hostile`, the local cloud is as unkind as AWS: the poll's process clock is 300 ms off and
 * drifting, every third probe starts 3 s late, every fourth launch loses its response and is replayed.
 * Errors are then over the intervals judged valid only, and the hazard runs' marks are counted: every
 * hazard run must be marked (or its numbers right).
 *
 *   npm run bench -- [--runs-per-image 10] [--time-scale 0.1] [--images a,b,...] [--hostile] [--screenshots 1] [--guest-timings]
 */

import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { runLocalBenchmark } from "../cli/local-benchmark.js";
import { isValidInterval } from "../functions/domain/integrity.js";
import { median, percentile } from "../functions/domain/statistics.js";
import { startLocalPipeline } from "../local-cloud/local-pipeline.js";
import {
  boundaryErrors,
  intervalTolerancesMs,
  summariseErrors,
  wrongValidIntervals,
} from "../local-cloud/measurement-error.js";
import type { TaskFaults } from "../local-cloud/runner/local-state-machine.js";

const { values } = parseArgs({
  options: {
    "runs-per-image": { type: "string", default: "10" },
    "time-scale": { type: "string", default: "0.1" },
    images: { type: "string" },
    hostile: { type: "boolean", default: false },
    screenshots: { type: "string" },
    "guest-timings": { type: "boolean", default: false },
  },
});
const guestTimings = values["guest-timings"] === true;
const framesPerSecond = values.screenshots === undefined ? undefined : Number(values.screenshots);
const hostile = values.hostile === true;
const lostResponse = (): Error =>
  Object.assign(new Error("response lost (bench)"), { name: "Lambda.ServiceException" });
const HOSTILE_FAULTS: TaskFaults = {
  PollState: { clock: () => ({ processClockOffsetMs: 300, processClockDriftPpm: 1_000 }) },
  ProbePort: { delayMs: (invocation) => (invocation % 3 === 0 ? 3_000 : undefined) },
  LaunchInstance: { after: (invocation) => (invocation % 4 === 0 ? lostResponse() : undefined) },
};
const runsPerImage = Number(values["runs-per-image"]);
const timeScale = Number(values["time-scale"]);

const DEFAULT_IMAGES = [
  "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
  "/aws/service/freebsd/amd64/base/ufs/14.3/RELEASE",
  "/aws/service/debian/release/bookworm/latest/amd64",
  "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
  "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
];

/** CaptureConsole's time in each run: from entering the state to leaving it, retries included. */
const captureMs: number[] = [];
const captureEntered = new Map<string, number>();
/** When each run's Observe ended (execution/run index): the filmstrip holds it past the probe. */
const observeEndedAt = new Map<string, number>();
const pipeline = await startLocalPipeline({
  cloud: { timeScale },
  onEvent: (executionName, event) => {
    if (!("state" in event)) return;
    const key = `${executionName}/${event.index ?? 0}`;
    if (event.state.name === "Observe" && (event.type === "StateExited" || event.type === "StateCaught")) {
      observeEndedAt.set(key, event.timestamp);
    }
    if (event.state.name !== "CaptureConsole") return;
    if (event.type === "StateEntered") captureEntered.set(key, event.timestamp);
    if (event.type === "StateExited" || event.type === "StateCaught") {
      const entered = captureEntered.get(key);
      if (entered !== undefined) captureMs.push(event.timestamp - entered);
      captureEntered.delete(key);
    }
  },
});
const cloud = pipeline.localAws?.cloud;
if (!cloud) throw new Error("the benchmark needs its own local cloud (unset AWS_ENDPOINT_URL_EC2)");
try {
  const images = values.images?.split(",") ?? DEFAULT_IMAGES;
  const errors = { running: [] as number[], closed: [] as number[], open: [] as number[] };
  const describeCallsPerRun: number[] = [];
  const describeRatePerRun: number[] = [];
  const transitionsPerRun: number[] = [];
  const overheadPerRunMs: number[] = [];
  const consoleBytes: number[] = [];
  const consoleStoredBytes: number[] = [];
  const framesPerRun: number[] = [];
  const filmstripBytesPerRun: number[] = [];
  const skippedPerRun = { busy: [] as number[], throttled: [] as number[], failed: [] as number[] };
  const observePastProbeMs: number[] = [];
  const guestSessionMs: number[] = [];
  const guestBytes: number[] = [];
  const guestStoredBytes: number[] = [];
  const guestSshdErrorMs: number[] = [];
  let guestCollected = 0;
  let runsMeasured = 0;
  let markedRuns = 0;
  let wrongUnmarked = 0;
  const tolerances = intervalTolerancesMs({ probeIntervalMs: 10 });
  const started = performance.now();
  for (const image of images) {
    const executionStarted = performance.now();
    const executionName = `bench-${randomUUID()}`;
    const outcome = await runLocalBenchmark(
      pipeline,
      {
        image,
        instanceType: "c7i.large",
        runs: runsPerImage,
        port: cloud.sshPort,
        ...(framesPerSecond !== undefined && { screenshots: { framesPerSecond } }),
        ...(guestTimings && { guestTimings: true }),
      },
      executionName,
      hostile ? { taskFaults: HOSTILE_FAULTS } : {},
    );
    const executionMs = performance.now() - executionStarted;
    if (outcome.execution.status !== "SUCCEEDED") {
      throw new Error(
        `${image}: ${outcome.execution.status} ${outcome.execution.error} ${outcome.execution.cause}`,
      );
    }
    let bootMs = 0;
    for (const run of outcome.runs) {
      const observeEnd = observeEndedAt.get(`${executionName}/${run.runIndex}`);
      if (observeEnd !== undefined && run.timestamps.probeEndedAt !== undefined) {
        observePastProbeMs.push(observeEnd - run.timestamps.probeEndedAt);
      }
      if (run.filmstrip?.status === "captured") {
        framesPerRun.push(run.filmstrip.frames);
        filmstripBytesPerRun.push(run.filmstrip.storedBytes);
        for (const why of ["busy", "throttled", "failed"] as const)
          skippedPerRun[why].push(run.filmstrip[why]);
      }
      if (run.guest !== undefined) {
        if (run.guest.status === "collected") guestCollected++;
        guestSessionMs.push(run.guest.endedAt - run.guest.startedAt);
        if (run.guest.output) {
          guestBytes.push(run.guest.output.bytes);
          guestStoredBytes.push(run.guest.output.storedBytes);
        }
        const truth = cloud.truth(run.instanceId ?? "");
        const sshd = run.guest.milestones.sshdReadyMs;
        if (sshd !== undefined && truth?.sshUpAt !== undefined && truth.runningAt !== undefined) {
          guestSshdErrorMs.push(Math.abs(sshd - (truth.sshUpAt - truth.runningAt)));
        }
      }
      if (run.console?.status === "stored") {
        consoleBytes.push(run.console.bytes);
        consoleStoredBytes.push(run.console.storedBytes);
      }
      if (run.status !== "succeeded" || !run.instanceId) continue;
      const truth = cloud.truth(run.instanceId);
      if (!truth) continue;
      // Every run's boot is time the pipeline did not add…
      bootMs += (truth.sshUpAt ?? truth.requestedAt) - truth.requestedAt;
      // …but only the counted runs are measured, as published: the discarded first polls without history.
      if (!run.counted) continue;
      runsMeasured++;
      const e = boundaryErrors(run.timestamps, truth);
      // A boundary's error counts where the intervals it ends are valid: what the statistics use.
      const valid = (interval: Parameters<typeof isValidInterval>[1]) =>
        isValidInterval(run.integrity, interval);
      if (e.running !== undefined && valid("pendingToRunning")) errors.running.push(e.running);
      if (e.closed !== undefined && valid("runningToPortClosed")) errors.closed.push(e.closed);
      if (e.open !== undefined && valid("portClosedToOpen")) errors.open.push(e.open);
      const marked = run.integrity.marks.some((mark) => mark.invalidates.length > 0);
      if (marked) markedRuns++;
      wrongUnmarked += wrongValidIntervals(run, truth, tolerances).length;
      const pollSeconds = ((run.timestamps.runningAt ?? 0) - (run.timestamps.launchRespondedAt ?? 0)) / 1000;
      if (run.poll) {
        describeCallsPerRun.push(run.poll.describeCalls);
        // Requests start at 0, Δ, 2Δ, …: n requests span n - 1 intervals of polling.
        describeRatePerRun.push((run.poll.describeCalls - 1) / pollSeconds);
      }
    }
    transitionsPerRun.push(outcome.execution.stateTransitions / outcome.runs.length);
    overheadPerRunMs.push((executionMs - bootMs) / outcome.runs.length);
  }
  const totalSeconds = (performance.now() - started) / 1000;

  const row = (name: string, values: number[]) => {
    const s = summariseErrors(values);
    const signed = values.length > 0 ? median(values) : Number.NaN;
    return s
      ? `${name.padEnd(14)} n=${String(s.count).padStart(3)}  median |err| ${s.medianAbsMs.toFixed(2).padStart(6)} ms  p99 |err| ${s.p99AbsMs.toFixed(2).padStart(6)} ms  max ${s.maxAbsMs.toFixed(2).padStart(6)} ms  median signed ${signed.toFixed(2)} ms`
      : `${name.padEnd(14)} n=0`;
  };
  console.log(
    `local pipeline benchmark: ${runsMeasured} measured (counted) runs, ${images.length} images, time scale ${timeScale}, ${totalSeconds.toFixed(1)} s`,
  );
  console.log(
    `${hostile ? "hostile faults ON" : "hostile faults off"}: ${markedRuns} runs marked, ` +
      `${wrongUnmarked} valid intervals further from the truth than their brackets allow`,
  );
  console.log(row("running", errors.running));
  console.log(row("port closed", errors.closed));
  console.log(row("port open", errors.open));
  console.log(
    `DescribeInstances per run: median ${median(describeCallsPerRun).toFixed(1)}, ` +
      `rate median ${median(describeRatePerRun).toFixed(2)}/s, max ${Math.max(...describeRatePerRun).toFixed(2)}/s`,
  );
  console.log(
    `state transitions per run (incl. the execution's fixed ones, spread): median ${median(transitionsPerRun).toFixed(2)}`,
  );
  console.log(
    `local pipeline overhead per run (execution time minus true boot time): median ${median(overheadPerRunMs).toFixed(0)} ms, ` +
      `p99 ${percentile(overheadPerRunMs, 99).toFixed(0)} ms`,
  );
  const runs = transitionsPerRun.length * runsPerImage;
  console.log(
    `console output: ${consoleBytes.length} of ${runs} runs stored; per run median ${(median(consoleBytes) / 1024).toFixed(1)} KiB ` +
      `of text, ${(median(consoleStoredBytes) / 1024).toFixed(1)} KiB stored (gzip), from ${(Math.min(...consoleStoredBytes) / 1024).toFixed(1)} to ${(Math.max(...consoleStoredBytes) / 1024).toFixed(1)} KiB; ` +
      `CaptureConsole median ${median(captureMs).toFixed(0)} ms, p99 ${percentile(captureMs, 99).toFixed(0)} ms per run`,
  );
  console.log(
    `observation past the probe's end (Observe's end minus probeEndedAt): median ${median(observePastProbeMs).toFixed(0)} ms, ` +
      `p99 ${percentile(observePastProbeMs, 99).toFixed(0)} ms per run`,
  );
  if (guestTimings) {
    const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
    console.log(
      `guest timings: ${guestCollected} of ${runs} runs collected; session (key read, login, commands, store) median ` +
        `${median(guestSessionMs).toFixed(0)} ms, p99 ${percentile(guestSessionMs, 99).toFixed(0)} ms per run; answers median ` +
        `${kib(median(guestBytes))} of JSON, ${kib(median(guestStoredBytes))} stored (gzip), from ${kib(Math.min(...guestStoredBytes))} ` +
        `to ${kib(Math.max(...guestStoredBytes))}; sshd ready against the truth: median ${median(guestSshdErrorMs).toFixed(3)} ms, ` +
        `max ${Math.max(...guestSshdErrorMs).toFixed(3)} ms off`,
    );
  }
  if (framesPerSecond !== undefined) {
    console.log(
      `filmstrip at ${framesPerSecond} fps: ${framesPerRun.length} of ${runs} runs captured; per run median ${median(framesPerRun)} frames ` +
        `(slots skipped: ${median(skippedPerRun.busy)} busy, ${median(skippedPerRun.throttled)} throttled, ${median(skippedPerRun.failed)} failed), ${(median(filmstripBytesPerRun) / 1024).toFixed(1)} KiB stored, ` +
        `from ${(Math.min(...filmstripBytesPerRun) / 1024).toFixed(1)} to ${(Math.max(...filmstripBytesPerRun) / 1024).toFixed(1)} KiB`,
    );
  }
} finally {
  await pipeline.close();
}
