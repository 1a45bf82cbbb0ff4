/**
 * Nothing leaks, nothing is lost: the stack's state machine on the local cloud (real handlers, real
 * TCP, the definition's own retry backoff), one fault at a time. For every scenario the test counts,
 * from the local EC2 and the table rather than from what the execution said: instances launched and
 * still running at the end, run items per run (lost, duplicated), and checks the execution's status.
 * The sweeper's real handler cleans up after the scenarios that leave an instance behind on purpose.
 *
 * Runner-level faults (a crashing probe, a DynamoDB write that fails, a lost response) go through the
 * local runner's `taskFaults` hook; EC2 faults through the local cloud's own fault injection.
 */
import { randomUUID } from "node:crypto";
import { DescribeKeyPairsCommand, EC2Client, ImportKeyPairCommand } from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marshallItem, unmarshallItem } from "../../functions/aws/benchmark-table.js";
import { EC2_REQUEST_TIMEOUT_MS } from "../../functions/aws/ec2-client.js";
import { benchmarkIdFor } from "../../functions/domain/benchmark-identity.js";
import type { RunState } from "../../functions/domain/contract.js";
import { guestKeyName } from "../../functions/domain/guest-timings.js";
import type { BenchmarkInput } from "../../functions/domain/input-schema.js";
import { TAG_BENCHMARK, TAG_STACK } from "../../functions/domain/instance-tags.js";
import { buildRunRecord } from "../../functions/domain/run-record.js";
import { generateEd25519KeyPair } from "../../functions/shared/ssh-key.js";
import { auditBenchmark, type BenchmarkAudit, isAlive, sweepRecords } from "../../local-cloud/audit.js";
import type { LocalCloud } from "../../local-cloud/cloud.js";
import type { FaultSettings } from "../../local-cloud/faults.js";
import { type LocalPipeline, startLocalPipeline } from "../../local-cloud/local-pipeline.js";
import { deployedMaxAgeMinutes, invokeLocalSweeper } from "../../local-cloud/local-sweeper.js";
import type { ExecutionOutcome, TaskFaults } from "../../local-cloud/runner/local-state-machine.js";
import { randomSshPort } from "../local-cloud/local-aws-support.js";
import {
  expectNothingLeakedOrLost,
  expectNoWrongValidNumber,
  fault,
  markNames,
  shortBenchmark,
} from "./local-pipeline-harness.js";
import {
  expectSuiteKept,
  freebsdSuite,
  SUITE_RUNS,
  type SuiteAccount,
  secondAlertFails,
  slowerSnapshot,
  stopAsFirstChildEndsThenRedrive,
} from "./suite-faults.js";

/** Boots in about 0.8 s at this scale; Step Functions' own retry backoff (seconds) is kept. */
const TIME_SCALE = 0.05;

let pipeline: LocalPipeline;
let cloud: LocalCloud;
/** The pipeline's EC2 endpoint, for what the test does besides the pipeline (key pairs). */
let ec2: EC2Client;

interface MatrixRow {
  scenario: string;
  status: string;
  runs: number;
  recorded: number;
  lost: number;
  duplicated: number;
  launched: number;
  leftRunning: number;
  sweptBySweeper: number;
  seconds: number;
}
const matrix: MatrixRow[] = [];

beforeAll(async () => {
  // A port of its own: a refusing instance port is unbound, and another test file's cloud on the same
  // loopback address and port would answer for it.
  pipeline = await startLocalPipeline({ cloud: { timeScale: TIME_SCALE, sshPort: randomSshPort() } });
  cloud = pipeline.localAws?.cloud as LocalCloud;
  ec2 = new EC2Client({ endpoint: pipeline.endpoints.ec2, region: process.env.AWS_REGION });
}, 60_000);

afterAll(async () => {
  ec2?.destroy();
  if (matrix.length > 0) {
    console.log(`\nfault matrix (time scale ${TIME_SCALE}, real retry backoff)\n`);
    console.table(matrix);
  }
  await pipeline?.close();
});

const once = (error: Error) => (invocation: number) => (invocation === 1 ? error : undefined);

const input = (overrides: Partial<BenchmarkInput> = {}): BenchmarkInput => shortBenchmark(cloud, overrides);

interface Outcome {
  execution: ExecutionOutcome;
  audit: BenchmarkAudit;
  benchmarkId: string;
}

/** Runs one benchmark to its end and audits it. Cloud faults are switched off afterwards. */
async function run(
  scenario: string,
  benchmark: BenchmarkInput,
  options: { faults?: FaultSettings; taskFaults?: TaskFaults; beforeStart?: () => Promise<void> } = {},
): Promise<Outcome> {
  const started = performance.now();
  try {
    if (options.faults) cloud.faults.set(options.faults);
    await options.beforeStart?.();
    const name = `matrix-${randomUUID()}`;
    const execution = await pipeline.stateMachine.startExecution(benchmark, name, {
      ...(options.taskFaults && { taskFaults: options.taskFaults }),
    }).result;
    const benchmarkId = benchmarkIdFor(execution.executionArn);
    const audit = await auditBenchmark(
      pipeline,
      benchmarkId,
      benchmark.runs ?? 10,
      await sweepRecords(pipeline),
    );
    addRow(scenario, execution, audit, started);
    expectNoWrongValidNumber(audit, benchmark, cloud);
    return { execution, audit, benchmarkId };
  } finally {
    cloud.faults.clear();
  }
}

function addRow(scenario: string, execution: ExecutionOutcome, audit: BenchmarkAudit, started: number): void {
  matrix.push({
    scenario,
    status: execution.error ? `${execution.status} ${execution.error}` : execution.status,
    runs: audit.runs.length,
    recorded: audit.runs.filter((r) => r.items > 0).length,
    lost: audit.runsLost,
    duplicated: audit.runsDuplicated,
    launched: audit.instancesLaunched,
    leftRunning: audit.instancesLeftRunning.length,
    sweptBySweeper: audit.runs.filter((r) => r.swept).length,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  });
}

const statuses = (audit: BenchmarkAudit) => audit.runs.map((r) => [r.status, r.errorName ?? null]);

const invalidIntervals = (audit: BenchmarkAudit, runIndex: number): string[] =>
  Object.entries(audit.runItems.find((r) => r.runIndex === runIndex)?.integrity.verdicts ?? {})
    .filter(([, verdict]) => !verdict.valid)
    .map(([interval]) => interval)
    .sort();
const runIndexOf = (event: unknown) => (event as RunState).run.runIndex;
const onFirst =
  <T>(value: T) =>
  (invocation: number) =>
    invocation === 1 ? value : undefined;

describe("fault matrix: every run recorded once, no instance left running, an honest status", () => {
  it("no fault (baseline)", async () => {
    const { execution, audit } = await run("no fault", input());
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
    ]);
    expect(audit.summary).toBeDefined();
    expect(audit.instancesLaunched).toBe(2);
    expectNothingLeakedOrLost(audit);
  });

  it("throttling bursts on every EC2 action, under tight token buckets", async () => {
    cloud.resetStats();
    const { execution, audit } = await run(
      "throttling bursts on every EC2 action",
      input({ runs: 3, concurrency: 3, runningTimeoutSeconds: 8 }),
      {
        faults: {
          // EC2's buckets, made tighter: three runs at once contend for RunInstances and TerminateInstances.
          throttling: {
            describe: { burst: 10, refillPerSecond: 20 },
            runInstances: { burst: 1, refillPerSecond: 2 },
            terminateInstances: { burst: 1, refillPerSecond: 2 },
          },
          // …and a burst of RequestLimitExceeded on every action the pipeline calls, whatever the buckets hold.
          throttleBursts: {
            DescribeImages: 1,
            DescribeInstanceTypes: 1,
            RunInstances: 2,
            DescribeInstances: 6,
            TerminateInstances: 2,
          },
        },
      },
    );
    const errors = cloud.stats().errors;
    for (const action of [
      "DescribeImages",
      "DescribeInstanceTypes",
      "RunInstances",
      "DescribeInstances",
      "TerminateInstances",
    ]) {
      expect(
        errors[action]?.RequestLimitExceeded ?? 0,
        `${action}: ${JSON.stringify(errors)}`,
      ).toBeGreaterThan(0);
    }
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
      ["succeeded", null],
    ]);
    // The poll rode out its throttling itself (adaptive backoff) instead of failing the step.
    expect(audit.runItems.reduce((n, r) => n + (r.poll?.throttledCalls ?? 0), 0)).toBeGreaterThanOrEqual(6);
    expect(audit.instancesLaunched).toBe(3);
    expectNothingLeakedOrLost(audit);
  });

  it("NotFound window, and a launch whose response is lost (Sandbox.Timedout) inside it", async () => {
    cloud.resetStats();
    const { execution, audit } = await run("NotFound window + launch timed out after RunInstances", input(), {
      faults: { notFoundWindowMs: 1_500 },
      taskFaults: {
        LaunchInstance: { after: once(fault("Sandbox.Timedout", "Task timed out after 60.00 seconds")) },
      },
    });
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["failed", "Sandbox.Timedout"],
      ["succeeded", null],
    ]);
    // Run 0's instance was found by its client token once it became visible, and terminated.
    const [lost, measured] = audit.runItems;
    expect(lost?.instanceId).toBeUndefined();
    expect(lost?.terminatedInstanceIds).toHaveLength(1);
    expect(measured?.poll?.notFoundCalls).toBeGreaterThan(0);
    expect(cloud.stats().errors.DescribeInstances?.["InvalidInstanceID.NotFound"]).toBeGreaterThan(0);
    expect(audit.instancesLaunched).toBe(2);
    expectNothingLeakedOrLost(audit);
  });

  it("a launch whose response is lost and retried reuses the instance (client token)", async () => {
    const { execution, audit } = await run("launch response lost, step retried", input(), {
      taskFaults: { LaunchInstance: { after: once(fault("Lambda.ServiceException")) } },
    });
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
    ]);
    expect(audit.runs.map((r) => r.instances)).toEqual([1, 1]);
    // The retry's RunInstances returned run 0's instance again: intervals 1 and 2 timed the replay.
    expect(markNames(audit, 0)).toContain("launchReplayed");
    // (The retry's backoff may also have started the poll and the probe late: their own marks say so.)
    expect(invalidIntervals(audit, 0)).toEqual(
      expect.arrayContaining(["pendingToRunning", "runInstancesApi"]),
    );
    expect(audit.runItems[0]?.earlierLaunchSends).toBe(1);
    expect(markNames(audit, 1)).not.toContain("launchReplayed");
    expectNothingLeakedOrLost(audit);
  });

  it("insufficient capacity at one launch", async () => {
    const { execution, audit } = await run("InsufficientInstanceCapacity at one launch", input(), {
      faults: { insufficientCapacity: { count: 1 } },
    });
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["failed", "InsufficientInstanceCapacity"],
      ["succeeded", null],
    ]);
    expect(audit.runs.map((r) => r.instances)).toEqual([0, 1]);
    expectNothingLeakedOrLost(audit);
  });

  it("insufficient capacity at every launch", async () => {
    const { execution, audit } = await run("InsufficientInstanceCapacity at every launch", input(), {
      faults: { insufficientCapacity: true },
    });
    expect(execution).toMatchObject({ status: "FAILED", error: "BootBench.NoSuccessfulRuns" });
    expect(statuses(audit)).toEqual([
      ["failed", "InsufficientInstanceCapacity"],
      ["failed", "InsufficientInstanceCapacity"],
    ]);
    expect(audit.summary).toBeDefined();
    expect(audit.instancesLaunched).toBe(0);
    expectNothingLeakedOrLost(audit);
  });

  it("an instance that dies while pending (Server.InternalError)", async () => {
    const { execution, audit } = await run("instance dies while pending", input(), {
      faults: { internalErrorOnLaunch: { count: 1 } },
    });
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["failed", "BootBench.InstanceTerminated"],
      ["succeeded", null],
    ]);
    expect(audit.runItems[0]?.error?.message).toContain("Server.InternalError");
    expectNothingLeakedOrLost(audit);
  });

  it("a network that never comes up", async () => {
    const { execution, audit } = await run("network never comes up", input(), {
      faults: { networkNeverUp: { count: 1 } },
    });
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["timeout", null],
      ["succeeded", null],
    ]);
    expect(audit.runItems[0]).toMatchObject({ timedOutWaitingFor: "port-open", terminated: true });
    expect(audit.runItems[0]?.timestamps.firstClosedAt).toBeUndefined();
    expectNothingLeakedOrLost(audit);
  });

  it("a port that never opens", async () => {
    const { execution, audit } = await run("port never opens", input(), {
      faults: { portNeverOpens: { count: 1 } },
    });
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["timeout", null],
      ["succeeded", null],
    ]);
    expect(audit.runItems[0]?.timestamps.firstClosedAt).toBeGreaterThan(0);
    expectNothingLeakedOrLost(audit);
  });

  it("a console that cannot be fetched (InternalError every time): runs kept, each saying why", async () => {
    cloud.resetStats();
    const { execution, audit } = await run("console cannot be fetched", input(), {
      faults: { consoleOutputUnavailable: true },
    });
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
    ]);
    for (const runItem of audit.runItems) {
      expect(runItem.console, `run ${runItem.runIndex}`).toEqual({
        status: "failed",
        error: { name: "InternalError", message: expect.any(String) },
      });
      expect(runItem.terminated).toBe(true);
    }
    // Each run tried its brief retries (1 + 3 attempts), and no more.
    expect(cloud.stats().errors.GetConsoleOutput).toEqual({ InternalError: 8 });
    expectNothingLeakedOrLost(audit);
  });

  it("GetConsoleOutput throttled past its retries, then within them", async () => {
    cloud.resetStats();
    const { execution, audit } = await run("console throttled", input(), {
      // Run 0's four attempts are all throttled; run 1's first two, then its third gets through.
      faults: { throttleBursts: { GetConsoleOutput: 6 } },
    });
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
    ]);
    expect(audit.runItems.map((runItem) => [runItem.runIndex, runItem.console?.status])).toEqual([
      [0, "failed"],
      [1, "stored"],
    ]);
    expect(audit.runItems[0]?.console).toMatchObject({ error: { name: "RequestLimitExceeded" } });
    expect(cloud.stats().errors.GetConsoleOutput).toEqual({ RequestLimitExceeded: 6 });
    expectNothingLeakedOrLost(audit);
  });

  it("a throttled screenshot stream: frames skipped, none retried in a burst, no run lost", async () => {
    cloud.resetStats();
    const { execution, audit } = await run(
      "screenshots throttled",
      input({ screenshots: { framesPerSecond: 1 } }),
      {
        // Run 0's first three frames are refused; whatever the stream does, no run may suffer for it.
        faults: { throttleBursts: { GetConsoleScreenshot: 3 } },
      },
    );
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
    ]);
    const filmstrips = audit.runItems.map((runItem) => runItem.filmstrip);
    const captured = filmstrips.map((filmstrip) => {
      if (filmstrip?.status !== "captured") throw new Error(JSON.stringify(filmstrip));
      return filmstrip;
    });
    expect(captured.map((filmstrip) => filmstrip.throttled)).toEqual([3, 0]);
    expect(captured.every((filmstrip) => filmstrip.stoppedBy === "probe-ended")).toBe(true);
    expect(captured[1]?.frames).toBeGreaterThan(0);
    // Every call is one slot's: a throttled slot was skipped, not asked again.
    const sent = captured.reduce((sum, f) => sum + f.frames + f.throttled + f.failed, 0);
    expect(cloud.stats().calls.GetConsoleScreenshot).toBe(sent);
    expect(cloud.stats().errors.GetConsoleScreenshot?.RequestLimitExceeded).toBe(3);
    expectNothingLeakedOrLost(audit);
  });

  it("screenshots that cannot be fetched: every slot failed, the runs as they were", async () => {
    const { execution, audit } = await run(
      "screenshots unfetchable",
      input({ screenshots: { framesPerSecond: 1 } }),
      {
        faults: { consoleScreenshotUnavailable: true },
      },
    );
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
    ]);
    for (const runItem of audit.runItems) {
      expect(runItem.filmstrip, `run ${runItem.runIndex}`).toMatchObject({
        status: "captured",
        frames: 0,
        throttled: 0,
        stoppedBy: "probe-ended",
        lastError: expect.stringMatching(/^InternalError: /),
      });
      if (runItem.filmstrip?.status === "captured") expect(runItem.filmstrip.failed).toBeGreaterThan(0);
    }
    expectNothingLeakedOrLost(audit);
  });

  it("guest timings whose login is refused on one instance and whose command hangs on another: runs kept, numbers stand", async () => {
    const { execution, audit } = await run(
      "guest login refused, guest command hangs",
      input({ guestTimings: true }),
      {
        faults: { guestLoginRefused: { count: 1 }, guestCommandsHang: { count: 2, commands: ["kernelLog"] } },
      },
    );
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
    ]);
    // The first launch took both faults (its login refused before any command), the second the hang.
    const guests = audit.runItems.map((runItem) => runItem.guest);
    expect(guests.map((guest) => guest?.status).sort()).toEqual(["collected", "failed"]);
    expect(guests.find((guest) => guest?.status === "failed")?.error?.name).toBe("SSH.client-authentication");
    expect(guests.find((guest) => guest?.status === "collected")?.answers.at(-1)).toEqual({
      id: "kernelLog",
      timedOut: true,
    });
    expectNothingLeakedOrLost(audit);
  });

  it("EC2 server errors (500, 503) on every EC2 action of a guest-timings benchmark, writes carried out: nothing lost", async () => {
    cloud.resetStats();
    const serverErrors: FaultSettings["serverErrors"] = {
      DescribeImages: { count: 1 },
      DescribeInstanceTypes: { count: 1, code: "Unavailable" },
      // The key pair is imported, the answer lost: the retry finds the name taken and describes it.
      ImportKeyPair: { count: 1, carriedOut: true },
      DescribeKeyPairs: { count: 1, code: "Unavailable" },
      DescribeInstances: { count: 3 },
      GetConsoleOutput: { count: 1 },
      // Terminated, the answer lost: the retry finds it shutting down.
      TerminateInstances: { count: 1, carriedOut: true, code: "Unavailable" },
      DeleteKeyPair: { count: 1, carriedOut: true },
    };
    const { execution, audit, benchmarkId } = await run(
      "EC2 server errors on every EC2 action",
      input({ guestTimings: true }),
      { faults: { serverErrors } },
    );
    const errors = cloud.stats().errors;
    for (const [action, burst] of Object.entries(serverErrors ?? {})) {
      const code = burst.code ?? "InternalError";
      expect(errors[action]?.[code] ?? 0, `${action}: ${JSON.stringify(errors)}`).toBe(burst.count);
    }
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
    ]);
    for (const runItem of audit.runItems) {
      expect(runItem.terminationError).toBeUndefined();
      expect(runItem.console?.status).toBe("stored");
      expect(runItem.guest?.status).toBe("collected");
    }
    expect(cloud.keyPairs.get(guestKeyName(benchmarkId))).toBeUndefined();
    expectNothingLeakedOrLost(audit);
  });

  it("a PrepareGuestKey whose answer was lost, while EC2 does not show the key pair yet: retried until it does", async () => {
    cloud.resetStats();
    // Longer than the Lambda retrier's first wait (at most 2 s here, real backoff) and the retry's own
    // time: the retry's DescribeKeyPairs always falls inside it. The window hides each new instance as
    // long, so the runs get the time to see running after it.
    const { execution, audit, benchmarkId } = await run(
      "PrepareGuestKey answer lost, key pair not visible yet",
      input({ guestTimings: true, runningTimeoutSeconds: 8 }),
      {
        faults: { notFoundWindowMs: 3_000 },
        taskFaults: {
          PrepareGuestKey: { after: once(fault("Lambda.SdkClientException", "socket hang up")) },
        },
      },
    );
    expect(cloud.stats().errors.DescribeKeyPairs?.["InvalidKeyPair.NotFound"]).toBeGreaterThan(0);
    expect([execution.status, execution.error]).toEqual(["SUCCEEDED", undefined]);
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
    ]);
    for (const runItem of audit.runItems) expect(runItem.guest?.status).toBe("collected");
    expect(cloud.keyPairs.get(guestKeyName(benchmarkId))).toBeUndefined();
    expectNothingLeakedOrLost(audit);
  });

  it("a probe Lambda that crashes", async () => {
    const { execution, audit } = await run("probe Lambda crashes", input(), {
      taskFaults: {
        ProbePort: { before: once(fault("Runtime.ExitError", "Runtime exited with error: signal: killed")) },
      },
    });
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["failed", "Runtime.ExitError"],
      ["succeeded", null],
    ]);
    expect(audit.runItems[0]?.terminated).toBe(true);
    expectNothingLeakedOrLost(audit);
  });

  it("a DynamoDB write that fails once", async () => {
    let recordInvocations = 0;
    const { execution, audit } = await run("run write fails once (InternalServerError)", input(), {
      taskFaults: {
        RecordRun: {
          before: (invocation) => {
            recordInvocations = invocation;
            return invocation === 1 ? fault("InternalServerError") : undefined;
          },
        },
      },
    });
    expect(recordInvocations).toBe(3);
    expect(execution.status).toBe("SUCCEEDED");
    expect(audit.runs.map((r) => r.items)).toEqual([1, 1]);
    expectNothingLeakedOrLost(audit);
  });

  it("a DynamoDB write that succeeded but whose response was lost: the retry writes nothing new", async () => {
    const firstAttempts: RunState[] = [];
    let recordInvocations = 0;
    const { execution, audit } = await run("run written, response lost, step retried", input(), {
      taskFaults: {
        RecordRun: {
          after: (invocation, event) => {
            recordInvocations = invocation;
            if (invocation !== 1) return undefined;
            firstAttempts.push(event as RunState);
            return fault("Lambda.SdkClientException", "socket hang up");
          },
        },
      },
    });
    expect(recordInvocations).toBe(3);
    expect(execution.status).toBe("SUCCEEDED");
    expect(audit.runs.map((r) => r.items)).toEqual([1, 1]);
    // The stored item is exactly what the first (successful, unacknowledged) write put there.
    const [first] = firstAttempts;
    const stored = audit.runItems.find((r) => r.runIndex === first?.run.runIndex);
    expect(stored).toEqual(unmarshallItem(marshallItem(buildRunRecord(first as RunState))));
    expectNothingLeakedOrLost(audit);
  });

  it("a summary write that fails once", async () => {
    const { execution, audit } = await run("summary write fails once", input(), {
      taskFaults: { Summarise: { before: once(fault("ThrottlingException")) } },
    });
    expect(execution.status).toBe("SUCCEEDED");
    expect(audit.summary).toBeDefined();
    expectNothingLeakedOrLost(audit);
  });

  it("a terminate step that keeps failing: honest failure, then the sweeper", async () => {
    const started = performance.now();
    const { execution, audit, benchmarkId } = await run(
      "terminate keeps failing (before sweeper)",
      input({ runs: 1 }),
      {
        taskFaults: { TerminateInstance: { before: () => fault("UnauthorizedOperation", "not authorized") } },
      },
    );
    expect(execution).toMatchObject({ status: "FAILED", error: "BootBench.TerminateFailed" });
    expect(audit.runItems[0]).toMatchObject({
      terminated: false,
      terminationError: { name: "UnauthorizedOperation" },
    });
    // The benchmark was summarised before the execution failed, and the summary names the instance.
    expect(audit.summary?.terminationFailedRuns).toEqual([
      {
        runIndex: 0,
        instanceId: audit.instancesLeftRunning[0],
        error: expect.objectContaining({ name: "UnauthorizedOperation" }),
      },
    ]);
    expect(audit.instancesLeftRunning).toHaveLength(1);

    await sweepLeftovers(audit.instancesLeftRunning);
    const after = await auditBenchmark(pipeline, benchmarkId, 1, await sweepRecords(pipeline));
    addRow("terminate keeps failing, then sweeper", execution, after, started);
    expect(after.runs[0]).toMatchObject({ items: 1, swept: true });
    expectNothingLeakedOrLost(after);
  });

  it("a run whose instance cannot be terminated, 3 at once: the others run on, all recorded and summarised", async () => {
    const started = performance.now();
    const { execution, audit, benchmarkId } = await run(
      "terminate of run 1 keeps failing, concurrency 3",
      input({ runs: 5, concurrency: 3 }),
      {
        taskFaults: {
          TerminateInstance: {
            before: (_, event) =>
              runIndexOf(event) === 1 ? fault("UnauthorizedOperation", "not authorized") : undefined,
          },
        },
      },
    );
    // Before the fix the Fail state inside the Map stopped runs 0 and 2 in the middle of Observe, never
    // started 3 and 4, and skipped Summarise.
    expect(execution).toMatchObject({ status: "FAILED", error: "BootBench.TerminateFailed" });
    expect(audit.runs.map((r) => [r.items, r.status])).toEqual([
      [1, "succeeded"],
      [1, "succeeded"],
      [1, "succeeded"],
      [1, "succeeded"],
      [1, "succeeded"],
    ]);
    const leftRunning = audit.runItems.find((r) => r.runIndex === 1)?.instanceId;
    expect(audit.summary).toMatchObject({
      succeededRuns: 5,
      terminationFailedRuns: [{ runIndex: 1, instanceId: leftRunning }],
    });
    expect(audit.instancesLeftRunning).toEqual([leftRunning]);

    await sweepLeftovers(audit.instancesLeftRunning);
    const after = await auditBenchmark(pipeline, benchmarkId, 5, await sweepRecords(pipeline));
    addRow("terminate of run 1 keeps failing, concurrency 3, then sweeper", execution, after, started);
    expectNothingLeakedOrLost(after);
  });

  it("a run whose record cannot be written, 3 at once: the others run on, Summarise records it late", async () => {
    const { execution, audit } = await run(
      "record of run 1 keeps failing, concurrency 3",
      input({ runs: 5, concurrency: 3 }),
      {
        taskFaults: {
          RecordRun: {
            before: (_, event) =>
              // Not retried (an item DynamoDB refuses), so the iteration gives up at once.
              runIndexOf(event) === 1
                ? fault("ValidationException", "Item size has exceeded the maximum allowed size")
                : undefined,
          },
        },
      },
    );
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe("SUCCEEDED");
    expect(audit.runs.map((r) => [r.items, r.status])).toEqual([
      [1, "succeeded"],
      [1, "succeeded"],
      [1, "succeeded"],
      [1, "succeeded"],
      [1, "succeeded"],
    ]);
    expect(audit.runItems.find((r) => r.runIndex === 1)?.recordError).toEqual({
      name: "ValidationException",
      message: "Item size has exceeded the maximum allowed size",
    });
    expect(audit.runItems.filter((r) => r.recordError !== undefined)).toHaveLength(1);
    expect(audit.summary).toMatchObject({ succeededRuns: 5 });
    expect(audit.summary).not.toHaveProperty("unrecordedRuns");
    expectNothingLeakedOrLost(audit);
  });

  it("an execution aborted in the middle, then the sweeper", async () => {
    const started = performance.now();
    const execution = pipeline.stateMachine.startExecution(
      input({ runs: 3 }),
      `matrix-abort-${randomUUID()}`,
    );
    const benchmarkId = benchmarkIdFor(execution.executionArn);
    // Abort once run 1's instance is up: run 0 is recorded, run 1 is in the middle, run 2 never starts.
    await until(() =>
      cloud
        .instances()
        .some(
          (i) =>
            i.tags.some((t) => t.key === "boot-bench:benchmark" && t.value === benchmarkId) &&
            i.tags.some((t) => t.key === "boot-bench:run" && t.value === "1") &&
            i.state === "running",
        ),
    );
    execution.abort();
    const outcome = await execution.result;
    expect(outcome.status).toBe("ABORTED");
    // The key pair a benchmark with guest timings imports before its first launch: a stopped execution
    // never deletes it. Another stack's key pair of the same name pattern is not this sweeper's.
    const stackTag = process.env.STACK_TAG as string;
    const leftKeyPair = await importKeyPair(`boot-bench-${benchmarkId}`, stackTag, benchmarkId);
    const foreignKeyPair = await importKeyPair(
      `boot-bench-${benchmarkId}-x`,
      `${stackTag}Other`,
      benchmarkId,
    );
    const before = await auditBenchmark(pipeline, benchmarkId, 3, await sweepRecords(pipeline));
    addRow("aborted mid-run (before sweeper)", outcome, before, started);
    expect(before.runs.map((r) => [r.items, r.instances])).toEqual([
      [1, 1],
      [0, 1],
      [0, 0],
    ]);
    expect(before.instancesLeftRunning).toHaveLength(1);

    await sweepLeftovers(before.instancesLeftRunning, [leftKeyPair]);
    const remaining = (await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs?.map((k) => k.KeyPairId);
    expect(remaining).toContain(foreignKeyPair);
    expect(remaining).not.toContain(leftKeyPair);
    const sweeps = await sweepRecords(pipeline);
    expect(sweeps.flatMap((sweep) => sweep.keyPairsDeleted ?? [])).toContainEqual(
      expect.objectContaining({
        keyName: `boot-bench-${benchmarkId}`,
        keyPairId: leftKeyPair,
        benchmarkId,
      }),
    );
    const after = await auditBenchmark(pipeline, benchmarkId, 2, sweeps);
    addRow("aborted mid-run, then sweeper (runs started: 2)", outcome, after, started);
    expect(after.runs.map((r) => [r.items, r.swept])).toEqual([
      [1, false],
      [0, true],
    ]);
    // Run 2 never started: no instance, no record; the ABORTED status says the benchmark is incomplete.
    expectNothingLeakedOrLost(after);
  });
});

describe("fault matrix, suites: a redriven or retried suite reuses finished children and alerts once", () => {
  const suiteRow = (scenario: string, account: SuiteAccount, started: number) => {
    for (const child of account.children)
      addRow(`${scenario}: ${child.benchmarkId}`, account.execution, child, started);
  };

  beforeAll(async () => {
    // A first benchmark of both series, then a slower weekly snapshot of each: two regressions to alert.
    const baseline = await pipeline.stateMachine.startExecution(
      freebsdSuite("baseline", cloud.sshPort),
      "run-baseline",
    ).result;
    expect(baseline.status).toBe("SUCCEEDED");
    cloud.publishImage(slowerSnapshot("15.0-CURRENT", "2025-09-04"));
    cloud.publishImage(slowerSnapshot("14.3-STABLE", "2025-09-04"));
  }, 120_000);

  it("a suite stopped as its first child ended, then redriven: that child reused, not run again", async () => {
    const started = performance.now();
    const input = freebsdSuite("redrive-stopped", cloud.sshPort, { concurrency: 1 });
    const { stopped, redriven, firstChild } = await stopAsFirstChildEndsThenRedrive(
      pipeline,
      "redrive-stopped",
      input,
    );
    suiteRow("suite stopped as its first child ended", stopped, started);
    suiteRow("  …then redriven", redriven, started);
    expect(stopped.execution.status).toBe("ABORTED");
    const launchedBefore = stopped.children.find((c) => c.benchmarkId === firstChild)?.instancesLaunched;
    expect(launchedBefore).toBe(SUITE_RUNS);

    expect(redriven.execution.status, `${redriven.execution.error}: ${redriven.execution.cause}`).toBe(
      "SUCCEEDED",
    );
    expect(redriven.summary).toMatchObject({ status: "succeeded", succeeded: 2, failed: 0 });
    expect(redriven.summary?.benchmarks.find((b) => b.benchmarkId === firstChild)).toMatchObject({
      status: "succeeded",
      alreadyRan: true,
      comparison: { regression: true },
    });
    // The finished child launched nothing more; the other one ran once, in the redrive.
    expect(redriven.children.map((c) => c.instancesLaunched)).toEqual([SUITE_RUNS, SUITE_RUNS]);
    expectSuiteKept(redriven, 2);
  }, 120_000);

  it("SNS fails the second alert (InternalError): SummariseSuite retried, each alert sent once", async () => {
    const started = performance.now();
    const input = freebsdSuite("retry-alerts", cloud.sshPort, {}, true);
    const { final } = await secondAlertFails(pipeline, "retry-alerts", input, "retried");
    suiteRow("SNS InternalError on alert 2, SummariseSuite retried", final, started);
    expect(final.execution.status, `${final.execution.error}: ${final.execution.cause}`).toBe("SUCCEEDED");
    expect(final.summary?.alerts).toHaveLength(2);
    expectSuiteKept(final, 2);
  }, 120_000);

  it("SNS refuses the second alert (AuthorizationError): suite failed, redriven, each alert sent once", async () => {
    const started = performance.now();
    const input = freebsdSuite("redrive-alerts", cloud.sshPort, {}, true);
    const { first, final } = await secondAlertFails(pipeline, "redrive-alerts", input, "redriven");
    suiteRow("SNS AuthorizationError on alert 2", first, started);
    suiteRow("  …then redriven", final, started);
    expect(first.execution).toMatchObject({ status: "FAILED", error: "AuthorizationErrorException" });
    expect(first.alerts).toHaveLength(1);
    expect(final.execution.status, `${final.execution.error}: ${final.execution.cause}`).toBe("SUCCEEDED");
    // The children's results were kept: nothing launched again.
    expect(final.children.map((c) => c.instancesLaunched)).toEqual(
      first.children.map((c) => c.instancesLaunched),
    );
    expectSuiteKept(final, 2);
  }, 120_000);
});

/**
 * The sweeper as scheduled (the bound derived from the stack, infra/run-lifetime.ts) leaves these young
 * instances and key pairs (ids) alone; invoked by hand with a bound of 0 it terminates and deletes
 * them, and records the sweep. No other key pair of the stack may be left by then.
 */
async function sweepLeftovers(
  leftovers: readonly string[],
  leftoverKeyPairs: readonly string[] = [],
): Promise<void> {
  const scheduled = await invokeLocalSweeper({ source: "aws.events", "detail-type": "Scheduled Event" });
  expect(scheduled).toMatchObject({
    maxAgeMinutes: Number(deployedMaxAgeMinutes()),
    terminated: [],
    keyPairsDeleted: [],
  });
  expect(scheduled.examined).toBeGreaterThanOrEqual(leftovers.length);
  expect(scheduled.keyPairsExamined).toBe(leftoverKeyPairs.length);

  const manual = await invokeLocalSweeper({ maxAgeMinutes: 0 });
  expect(manual.terminated.map((i) => i.instanceId).sort()).toEqual([...leftovers].sort());
  expect(manual.keyPairsDeleted.map((k) => k.keyPairId).sort()).toEqual([...leftoverKeyPairs].sort());
  expect(manual.keyPairsFailed).toEqual([]);
  expect(manual.record?.pk).toMatch(/^SWEEP#\d{4}-\d{2}-\d{2}$/);
  expect(cloud.instances().filter(isAlive)).toEqual([]);
}

/** ImportKeyPair of a new ED25519 key, tagged as the guest-timings steps tag theirs; its id. */
async function importKeyPair(keyName: string, stackTag: string, benchmarkId: string): Promise<string> {
  const { publicKey } = generateEd25519KeyPair();
  const imported = await ec2.send(
    new ImportKeyPairCommand({
      KeyName: keyName,
      PublicKeyMaterial: new TextEncoder().encode(publicKey),
      TagSpecifications: [
        {
          ResourceType: "key-pair",
          Tags: [
            { Key: TAG_STACK, Value: stackTag },
            { Key: TAG_BENCHMARK, Value: benchmarkId },
          ],
        },
      ],
    }),
  );
  return imported.KeyPairId as string;
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("instance hardening on the local cloud", () => {
  it("launches with IMDSv2 required by default, and honours imdsV2 optional and an encrypted root", async () => {
    const hardened = await run("IMDSv2 default, root unencrypted", input({ runs: 1 }));
    const relaxed = await run(
      "IMDSv1 allowed, root encrypted",
      input({ runs: 1, imdsV2: "optional", encryptRootVolume: true }),
    );
    const instanceOf = (audit: BenchmarkAudit) =>
      cloud.instances().find((i) => i.instanceId === audit.runItems[0]?.instanceId);
    expect(hardened.execution.status).toBe("SUCCEEDED");
    expect(relaxed.execution.status).toBe("SUCCEEDED");
    expect(instanceOf(hardened.audit)).toMatchObject({ httpTokens: "required", rootVolumeEncrypted: false });
    expect(instanceOf(relaxed.audit)).toMatchObject({ httpTokens: "optional", rootVolumeEncrypted: true });
    expect(relaxed.audit.runItems[0]?.image).toMatchObject({
      rootDeviceName: "/dev/xvda",
      rootDeviceType: "ebs",
    });
    expectNothingLeakedOrLost(hardened.audit);
    expectNothingLeakedOrLost(relaxed.audit);
  });
});

describe("the local cloud made as hostile as AWS: a correct number or a marked run, never a wrong unmarked one", () => {
  // run() already checks every valid interval of every run against the truth; these say which marks
  // each hazard must leave.
  it("process clocks off and drifting on the poll and the probe are anchored to the wall clock", async () => {
    const { execution, audit } = await run("process clocks 400 ms off, drifting", input(), {
      taskFaults: {
        PollState: { clock: () => ({ processClockOffsetMs: 400, processClockDriftPpm: 2_000 }) },
        ProbePort: { clock: () => ({ processClockOffsetMs: -400, processClockDriftPpm: -2_000 }) },
      },
    });
    expect(execution.status).toBe("SUCCEEDED");
    for (const record of audit.runItems) {
      expect(record.clocks?.poll?.anchorCorrectionMs).toBeCloseTo(400, -1);
      expect(record.clocks?.probe?.anchorCorrectionMs).toBeCloseTo(-400, -1);
      expect(markNames(audit, record.runIndex)).toContain("clockAnchorCorrected");
      expect(invalidIntervals(audit, record.runIndex)).toEqual([]);
    }
    expectNothingLeakedOrLost(audit);
  });

  it("a poll host whose wall clock is 2 s behind breaks the order of the timestamps", async () => {
    // A generous open timeout: open minus running crosses the two hosts' clocks, so the skew adds to it.
    const { execution, audit } = await run(
      "poll host wall clock 2 s behind",
      input({ openTimeoutSeconds: 5 }),
      {
        taskFaults: { PollState: { clock: () => ({ wallOffsetMs: -2_000 }) } },
      },
    );
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe("SUCCEEDED");
    for (const record of audit.runItems) {
      expect(markNames(audit, record.runIndex)).toContain("timestampsOutOfOrder");
      expect(invalidIntervals(audit, record.runIndex)).toHaveLength(5);
    }
    expectNothingLeakedOrLost(audit);
  });

  it("a probe that starts 3 s late marks the port boundaries it missed", async () => {
    // An open timeout the late probe fits in: open is seen 3 s late and would otherwise count as a timeout.
    const { execution, audit } = await run("probe invocation 3 s late", input({ openTimeoutSeconds: 5 }), {
      taskFaults: { ProbePort: { delayMs: onFirst(3_000) } },
    });
    expect(execution.status).toBe("SUCCEEDED");
    expect(markNames(audit, 0)).toContain("probeStartedLate");
    // Debian opens within a second at this scale: the probe's first answer was already a SYN/ACK.
    expect(invalidIntervals(audit, 0)).toEqual(["portClosedToOpen", "runningToPortClosed", "total"]);
    expect(invalidIntervals(audit, 1)).toEqual([]);
    expectNothingLeakedOrLost(audit);
  });

  it("a ProbePort retried after Lambda.ResourceNotReadyException (real backoff) is right or marked", async () => {
    const benchmark = input({ runs: 1, openTimeoutSeconds: 8 });
    const { execution, audit } = await run("probe retried after ResourceNotReady", benchmark, {
      taskFaults: { ProbePort: { before: once(fault("Lambda.ResourceNotReadyException")) } },
    });
    expect(execution.status).toBe("SUCCEEDED");
    const record = audit.runItems[0];
    const truth = cloud.truth(record?.instanceId ?? "");
    // Late whenever the retry started after the port first answered.
    if ((record?.timestamps.probeStartedAt ?? 0) > (truth?.networkUpAt ?? Number.POSITIVE_INFINITY)) {
      expect(markNames(audit, 0)).toContain("probeStartedLate");
    }
    expectNothingLeakedOrLost(audit);
  });

  it("a poll that starts 2 s late marks running", async () => {
    const { execution, audit } = await run("poll invocation 2 s late", input({ openTimeoutSeconds: 5 }), {
      taskFaults: { PollState: { delayMs: onFirst(2_000) } },
    });
    expect(execution.status).toBe("SUCCEEDED");
    expect(markNames(audit, 0)).toContain("pollStartedLate");
    // Running was seen late, so the port's closed boundary (seen before it) was raised to a late running.
    expect(invalidIntervals(audit, 0)).toEqual([
      "pendingToRunning",
      "portClosedToOpen",
      "runningToPortClosed",
      "total",
    ]);
    expect(invalidIntervals(audit, 1)).toEqual([]);
    expectNothingLeakedOrLost(audit);
  });

  it("DescribeInstances requests that never answer are abandoned, not a false RunningTimeout", async () => {
    const { execution, audit } = await run(
      "4 DescribeInstances never answer",
      input({ runningTimeoutSeconds: 5 }),
      { faults: { stalledRequests: { DescribeInstances: 4 } } },
    );
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
    ]);
    expect(audit.runItems[0]?.poll?.abandonedCalls).toBe(4);
    // Two seconds without an answer: running is known only to within that.
    expect(markNames(audit, 0)).toContain("runningBracketWide");
    expectNothingLeakedOrLost(audit);
  });

  it("a DescribeImages and a TerminateInstances that never answer: given up after the client's bound and retried", async () => {
    cloud.resetStats();
    const started = performance.now();
    const { execution, audit } = await run("DescribeImages and TerminateInstances never answer", input(), {
      faults: { stalledRequests: { DescribeImages: 1, TerminateInstances: 1 } },
    });
    const seconds = (performance.now() - started) / 1000;
    // Each stalled request was read and left without an answer, then sent again.
    expect(cloud.stats().calls.DescribeImages).toBeGreaterThanOrEqual(2);
    expect(cloud.stats().calls.TerminateInstances).toBe(3);
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
    ]);
    for (const runItem of audit.runItems) expect(runItem.terminationError).toBeUndefined();
    // Two waits of the client's 10 s bound, not the steps' Lambda timeouts (30 s and 60 s).
    expect(seconds).toBeGreaterThan((2 * EC2_REQUEST_TIMEOUT_MS) / 1000);
    expect(seconds).toBeLessThan((2 * EC2_REQUEST_TIMEOUT_MS) / 1000 + 25);
    expectNothingLeakedOrLost(audit);
  }, 120_000);

  it("a launch-ledger close that never answers: the client gives it up and sends it again, and terminate goes on", async () => {
    const dynamoDb = pipeline.localDynamoDb?.faults;
    if (dynamoDb === undefined) throw new Error("the pipeline's DynamoDB is not its own");
    const stalledBefore = dynamoDb.stalled().UpdateItem ?? 0;
    let terminateInvocations = 0;
    const { execution, audit } = await run("launch-ledger close never answers", input({ concurrency: 1 }), {
      taskFaults: {
        // Terminate's first write is the ledger's close: the next UpdateItem, one run at a time.
        TerminateInstance: {
          before: (invocation) => {
            terminateInvocations = invocation;
            if (invocation === 1) dynamoDb.stall("UpdateItem", 1);
            return undefined;
          },
        },
      },
    });
    expect((dynamoDb.stalled().UpdateItem ?? 0) - stalledBefore).toBe(1);
    // One invocation per run: the stalled close was given up after the client's bound and sent again
    // within it. Without that bound the first invocation waited until its Lambda's time ran out (60 s,
    // the instance running all along) and was retried as a third.
    expect(terminateInvocations).toBe(2);
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
    ]);
    for (const runItem of audit.runItems) expect(runItem.terminationError).toBeUndefined();
    expectNothingLeakedOrLost(audit);
  }, 120_000);

  it("a launch response without a private IP: the probe starts once DescribeInstances has it", async () => {
    const { execution, audit } = await run(
      "launch response without private IP (visible 1 s later)",
      input({ openTimeoutSeconds: 5 }),
      // 20 s at this time scale: the address shows up after about a second, when Debian is already up.
      { faults: { launchWithoutPrivateIp: { count: 1, addressVisibleAfterSeconds: 20 } } },
    );
    expect(execution.status).toBe("SUCCEEDED");
    expect(statuses(audit)).toEqual([
      ["succeeded", null],
      ["succeeded", null],
    ]);
    expect(audit.runItems[0]?.privateIpSource).toBe("describeInstances");
    // The launch step waited for the address, so both observers started a second late: running and the
    // port were already up, and the marks say so.
    expect(markNames(audit, 0)).toEqual(expect.arrayContaining(["privateIpLate", "pollStartedLate"]));
    expect(invalidIntervals(audit, 0)).toEqual([
      "pendingToRunning",
      "portClosedToOpen",
      "runningToPortClosed",
      "total",
    ]);
    expect(audit.runItems[1]?.privateIpSource).toBe("runInstances");
    expect(invalidIntervals(audit, 1)).toEqual([]);
    expectNothingLeakedOrLost(audit);
  });
});
