/**
 * The launch ledger decides, on the local cloud, what a failed launch leaves behind (issue 10, items 2
 * and 3): a RunInstances answered with a 500 is retried inside the launch step with the same client
 * token, whether or not it launched; terminate skips the search for an instance when no request can
 * have launched one; and a launch invocation that starts after its run ended sends nothing.
 *
 * Counted as the fault matrix counts (local-cloud/audit.ts): from the local EC2 and the table, never
 * from what the execution reported.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getItem } from "../../functions/aws/benchmark-table.js";
import { benchmarkIdFor } from "../../functions/domain/benchmark-identity.js";
import type { BenchmarkInput } from "../../functions/domain/input-schema.js";
import { benchmarkPk, launchSk } from "../../functions/domain/run-record.js";
import { auditBenchmark, type BenchmarkAudit } from "../../local-cloud/audit.js";
import type { LocalCloud } from "../../local-cloud/cloud.js";
import type { FaultSettings } from "../../local-cloud/faults.js";
import type { LocalPipeline } from "../../local-cloud/local-pipeline.js";
import type { ExecutionOutcome, TaskFaults } from "../../local-cloud/runner/local-state-machine.js";
import {
  expectNothingLeakedOrLost,
  expectNoWrongValidNumber,
  fault,
  markNames,
  shortBenchmark,
  startTestPipeline,
} from "./local-pipeline-harness.js";

let pipeline: LocalPipeline;
let cloud: LocalCloud;

beforeAll(async () => {
  pipeline = await startTestPipeline({ timeScale: 0.05 });
  cloud = pipeline.localAws?.cloud as LocalCloud;
}, 60_000);
afterAll(async () => {
  await pipeline?.close();
});

const input = (overrides: Partial<BenchmarkInput> = {}): BenchmarkInput => shortBenchmark(cloud, overrides);

interface Outcome {
  execution: ExecutionOutcome;
  audit: BenchmarkAudit;
  benchmarkId: string;
}

async function run(
  benchmark: BenchmarkInput,
  options: { faults?: FaultSettings; taskFaults?: TaskFaults } = {},
): Promise<Outcome> {
  try {
    if (options.faults) cloud.faults.set(options.faults);
    const execution = await pipeline.stateMachine.startExecution(benchmark, `ledger-${randomUUID()}`, {
      ...(options.taskFaults && { taskFaults: options.taskFaults }),
    }).result;
    const benchmarkId = benchmarkIdFor(execution.executionArn);
    const audit = await auditBenchmark(pipeline, benchmarkId, benchmark.runs ?? 10);
    expectNoWrongValidNumber(audit, benchmark, cloud);
    return { execution, audit, benchmarkId };
  } finally {
    cloud.faults.clear();
  }
}

/** Nothing leaked or lost, and every run has its own item (none was only swept). */
function expectEveryRunRecordedOnce(audit: BenchmarkAudit): void {
  expectNothingLeakedOrLost(audit);
  expect(audit.runs.every((r) => r.items === 1)).toBe(true);
}

describe("RunInstances answered with a 500 InternalError: retried in the launch step, same client token", () => {
  it.each([1, 3])(
    "that launched the instance (concurrency %i): the retry replays it, marked",
    async (concurrency) => {
      const runs = concurrency === 1 ? 2 : 3;
      const { execution, audit } = await run(input({ runs, concurrency }), {
        faults: { runInstancesInternalError: { count: 1, launched: true } },
      });
      expect(execution.status).toBe("SUCCEEDED");
      expect(audit.runs.map((r) => r.status)).toEqual(Array(runs).fill("succeeded"));
      expect(audit.runs.map((r) => r.instances)).toEqual(Array(runs).fill(1));
      // The one run whose first request got the 500: its response replayed the instance that request
      // launched, so its RunInstances interval timed a replay and says so.
      const replayed = audit.runItems.filter((r) => (r.earlierLaunchSends ?? 0) > 0);
      expect(replayed).toHaveLength(1);
      const [hit] = replayed;
      expect(hit?.earlierLaunchSends).toBe(1);
      expect(markNames(audit, hit?.runIndex ?? -1)).toContain("launchReplayed");
      expect(cloud.truth(hit?.instanceId ?? "")?.faults).toContain("runInstancesInternalError");
      for (const other of audit.runItems.filter((r) => r !== hit)) {
        expect(markNames(audit, other.runIndex)).not.toContain("launchReplayed");
      }
      expectEveryRunRecordedOnce(audit);
    },
  );

  it.each([1, 3])(
    "that launched nothing (concurrency %i): the retry launches, no hunt for a ghost",
    async (concurrency) => {
      const runs = concurrency === 1 ? 2 : 3;
      const { execution, audit } = await run(input({ runs, concurrency }), {
        faults: { runInstancesInternalError: { count: 1, launched: false } },
      });
      expect(execution.status).toBe("SUCCEEDED");
      expect(audit.runs.map((r) => r.status)).toEqual(Array(runs).fill("succeeded"));
      expect(audit.runs.map((r) => r.instances)).toEqual(Array(runs).fill(1));
      expect(audit.runItems.every((r) => r.terminationError === undefined)).toBe(true);
      // A 500 does not say whether it launched: the run that got it is honestly marked as a possible replay.
      const uncertain = audit.runItems.filter((r) => (r.earlierLaunchSends ?? 0) > 0);
      expect(uncertain.map((r) => r.earlierLaunchSends)).toEqual([1]);
      expect(markNames(audit, uncertain[0]?.runIndex ?? -1)).toContain("launchReplayed");
      expectEveryRunRecordedOnce(audit);
    },
  );
});

describe("a launch that fails before it sends: terminate knows from the ledger that nothing launched", () => {
  it.each([
    ["a crash before the request (Task fault before)", fault("Runtime.ExitError", "signal: killed"), 1],
    ["a Lambda throttle that outlasts the retries", fault("Lambda.TooManyRequestsException"), 6],
  ])("%s: no search, no NotFound retries, the run recorded as failed", async (_name, error, invocations) => {
    cloud.resetStats();
    let launchInvocations = 0;
    const { audit } = await run(input({ runs: 1 }), {
      taskFaults: {
        LaunchInstance: {
          before: (invocation) => {
            launchInvocations = invocation;
            return error;
          },
        },
      },
    });
    expect(launchInvocations).toBe(invocations);
    expect(audit.runs.map((r) => [r.status, r.errorName])).toEqual([["failed", error.name]]);
    expect(audit.runItems[0]).toMatchObject({ terminated: true, terminatedInstanceIds: [] });
    expect(audit.runItems[0]?.terminationError).toBeUndefined();
    // Nothing was launched, nothing was looked for.
    const { calls } = cloud.stats();
    expect(calls.RunInstances ?? 0).toBe(0);
    expect(calls.DescribeInstances ?? 0).toBe(0);
    expect(audit.instancesLaunched).toBe(0);
    expectEveryRunRecordedOnce(audit);
  });
});

describe("a launch invocation that starts after its Task timed out and terminate ran", () => {
  it("sends nothing (the ledger is closed): no orphan instance", async () => {
    const benchmark = input({ runs: 1 });
    const lateBy = 76_000; // the LaunchInstance Task waits 60 s + 15 s
    let lateStartedAt: number | undefined;
    const { execution, audit, benchmarkId } = await run(benchmark, {
      taskFaults: {
        LaunchInstance: {
          delayMs: (invocation) => (invocation === 1 ? lateBy : undefined),
          before: () => {
            lateStartedAt = performance.now();
            return undefined;
          },
        },
      },
    });
    expect(audit.runs.map((r) => [r.status, r.errorName])).toEqual([["failed", "States.Timeout"]]);
    expect(audit.runItems[0]?.terminationError).toBeUndefined();
    expect(execution.status).toBe("FAILED");

    // The late invocation starts a second or so after the run ended; give it time to do its worst.
    while (lateStartedAt === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const after = await auditBenchmark(pipeline, benchmarkId, 1);
    expect(after.instancesLaunched).toBe(0);
    expect(after.instancesLeftRunning).toEqual([]);
    const ledger = await getItem(pipeline.dynamoDb, pipeline.tableName, {
      pk: benchmarkPk(benchmarkId),
      sk: launchSk(0),
    });
    expect(ledger).toMatchObject({ endedAt: expect.any(Number), unsettledSends: 0 });
    expect(ledger).not.toHaveProperty("sends");
  }, 120_000);
});
