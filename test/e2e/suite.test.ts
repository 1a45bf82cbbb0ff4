/**
 * A suite on the local cloud, through the synthesised state machine: discovery of the FreeBSD amd64
 * series by pattern (SSM GetParametersByPath), one child execution per target, dedupe on the next run,
 * and a regression alert once a slower weekly snapshot is published.
 */
import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getItem, unmarshallItem } from "../../functions/aws/benchmark-table.js";
import { ErrorNames } from "../../functions/domain/contract.js";
import type { SummaryRecord } from "../../functions/domain/run-record.js";
import type { SummariseSuiteResult } from "../../functions/domain/suite.js";
import type { SuiteExecutionInputDraft } from "../../functions/domain/suite-schema.js";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import type { LocalPipeline } from "../../local-cloud/local-pipeline.js";
import type { ExecutionOutcome } from "../../local-cloud/runner/local-state-machine.js";
import { randomSshPort } from "../local-cloud/local-aws-support.js";
import { startTestPipeline, wasTerminated } from "./local-pipeline-harness.js";
import { CURRENT, FIRSTBOOT_OFF, STABLE, slowerSnapshot as weeklySnapshot } from "./suite-faults.js";

let pipeline: LocalPipeline;
let sshPort: number;

beforeAll(async () => {
  // A port of its own: in the closed phase nothing listens on an instance's address, and a cloud of
  // another test file using the same port could take that address for one of its instances.
  pipeline = await startTestPipeline({ timeScale: 0.1, sshPort: randomSshPort() });
  sshPort = pipeline.localAws?.cloud.sshPort ?? 22;
}, 60_000);
afterAll(async () => {
  await pipeline?.close();
});

const suiteInput = (extra: Partial<SuiteExecutionInputDraft["suite"]> = {}): SuiteExecutionInputDraft => ({
  suite: {
    name: "freebsd-amd64",
    targets: [
      {
        pattern: "/aws/service/freebsd/amd64/base/ufs/*/{CURRENT,STABLE}",
        instanceTypes: { x86_64: ["c7i.large"], arm64: ["c7g.large"] },
      },
    ],
    runs: 2,
    port: sshPort,
    userData: FIRSTBOOT_OFF,
    concurrency: 2,
    // Emulated boots at time scale 0.1 total under a second: an absolute threshold to match.
    regression: { relative: 0.1, absoluteSeconds: 0.05 },
    ...extra,
  },
});

let runCount = 0;
async function runSuite(
  input: unknown,
): Promise<{ execution: ExecutionOutcome; summary: SummariseSuiteResult }> {
  const execution = await pipeline.stateMachine.startExecution(input, `suite-${++runCount}-${Date.now()}`)
    .result;
  const summary = (execution.output as { summary?: SummariseSuiteResult } | undefined)?.summary;
  if (summary === undefined && execution.status === "SUCCEEDED")
    throw new Error("no suite summary in the output");
  return { execution, summary: summary as SummariseSuiteResult };
}

const summaryOf = async (benchmarkId: string) =>
  (await getItem(pipeline.dynamoDb, pipeline.tableName, { pk: `BENCHMARK#${benchmarkId}`, sk: "SUMMARY" })) as
    | (SummaryRecord & { regression?: unknown })
    | undefined;

/** A weekly snapshot one week after the catalogue's newest, booting much slower. */
const slowerSnapshot = () => weeklySnapshot("15.0-CURRENT", "2025-09-04");

describe("a suite on the local cloud", () => {
  const firstRun: Record<string, string> = {};

  it("discovers the FreeBSD amd64 CURRENT and STABLE series and benchmarks each as a child execution", async () => {
    const { execution, summary } = await runSuite(suiteInput());

    expect(execution.status).toBe("SUCCEEDED");
    expect(summary).toMatchObject({
      status: "succeeded",
      succeeded: 2,
      failed: 0,
      skipped: 0,
      unresolved: 0,
    });
    // The parent alone: Suite?, DiscoverTargets, Benchmarks, one RunBenchmark per child, SummariseSuite,
    // SuiteSucceeded?, SuiteDone (each child is an execution of its own, billed as a single benchmark).
    expect(execution.stateTransitions).toBe(6 + 2);
    expect(summary.benchmarks.map((b) => b.image).sort()).toEqual([STABLE, CURRENT].sort());
    expect(summary.regressions).toEqual([]);
    for (const benchmark of summary.benchmarks) {
      firstRun[benchmark.image] = benchmark.benchmarkId;
      // The benchmark id is the child execution's name.
      expect(benchmark.executionArn?.endsWith(`:${benchmark.benchmarkId}`)).toBe(true);
      const stored = await summaryOf(benchmark.benchmarkId);
      expect(stored).toMatchObject({
        status: "succeeded",
        sourceParameter: benchmark.image,
        instanceType: "c7i.large",
        label: "freebsd-amd64",
        settings: { runs: 2, userData: FIRSTBOOT_OFF },
      });
      // Nothing to compare with yet: the series has no earlier benchmark.
      expect(benchmark.comparison).toBeUndefined();
    }
    expect(firstRun[CURRENT]).toBeDefined();
    const instances = pipeline.localAws?.cloud.instances() ?? [];
    expect(instances.map((i) => i.imageId).sort()).toEqual(
      [
        BUILT_IN_AMI_IDS.freebsdCurrentAmd64,
        BUILT_IN_AMI_IDS.freebsdCurrentAmd64,
        BUILT_IN_AMI_IDS.freebsd143Stable,
        BUILT_IN_AMI_IDS.freebsd143Stable,
      ].sort(),
    );
    expect(instances.every((i) => i.instanceType === "c7i.large" && wasTerminated(i))).toBe(true);

    // The suite item records the run; it carries no index keys, so it never shows up in ByAmi/Recent.
    const suite = await getItem(pipeline.dynamoDb, pipeline.tableName, {
      pk: `SUITE#${summary.suiteRunId}`,
      sk: "SUMMARY",
    });
    expect(suite).toMatchObject({ itemType: "suite", name: "freebsd-amd64", status: "succeeded" });
    expect(suite).not.toHaveProperty("amiId");
    expect(suite).not.toHaveProperty("recentPk");
  });

  it("skips both targets on the next run: their AMIs already have a benchmark with the same settings", async () => {
    const launchedBefore = pipeline.localAws?.cloud.instances().length;
    const { execution, summary } = await runSuite(suiteInput());

    expect(execution.status).toBe("SUCCEEDED");
    expect(summary).toMatchObject({ status: "succeeded", succeeded: 0, failed: 0, skipped: 2 });
    const stored = await getItem(pipeline.dynamoDb, pipeline.tableName, {
      pk: `SUITE#${summary.suiteRunId}`,
      sk: "SUMMARY",
    });
    const skipped = (stored?.skipped ?? []) as {
      image: string;
      reason: string;
      previousBenchmarkId?: string;
    }[];
    expect(skipped.map((s) => [s.image, s.reason, s.previousBenchmarkId]).sort()).toEqual(
      [
        [CURRENT, "already-benchmarked", firstRun[CURRENT]],
        [STABLE, "already-benchmarked", firstRun[STABLE]],
      ].sort(),
    );
    expect(pipeline.localAws?.cloud.instances().length).toBe(launchedBefore);
  });

  it("benchmarks a new, slower weekly snapshot only, marks the regression and publishes an alert", async () => {
    pipeline.localAws?.cloud.publishImage(slowerSnapshot());
    const { execution, summary } = await runSuite(suiteInput());

    expect(execution.status).toBe("SUCCEEDED");
    expect(summary).toMatchObject({ status: "succeeded", succeeded: 1, skipped: 1 });
    const [benchmark] = summary.benchmarks;
    expect(benchmark).toMatchObject({ image: CURRENT, amiId: slowerSnapshot().imageId });
    expect(benchmark?.comparison).toMatchObject({
      previousBenchmarkId: firstRun[CURRENT],
      previousAmiId: BUILT_IN_AMI_IDS.freebsdCurrentAmd64,
      regression: true,
    });
    expect(benchmark?.comparison?.deltaRelative).toBeGreaterThan(0.2);
    expect(summary.regressions.map((r) => r.benchmarkId)).toEqual([benchmark?.benchmarkId]);

    const stored = await summaryOf(benchmark?.benchmarkId as string);
    expect(stored?.regression).toMatchObject({ previousBenchmarkId: firstRun[CURRENT], regression: true });

    const alerts = pipeline.localSns?.messages ?? [];
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.subject).toContain("FreeBSD 15.0-CURRENT-amd64-20250904 UFS");
    expect(alerts[0]?.message).toContain(CURRENT);
    expect(alerts[0]?.attributes).toMatchObject({
      series: CURRENT,
      instanceType: "c7i.large",
      suite: "freebsd-amd64",
    });
    expect(summary.alerts).toEqual([alerts[0]?.messageId]);
  });

  it("records the other targets when one fails, then fails the suite by name", async () => {
    const { execution } = await runSuite({
      suite: {
        name: "mixed",
        targets: [
          { image: BUILT_IN_AMI_IDS.sshdNeverStarts, instanceTypes: { x86_64: ["c7i.large"] } },
          {
            image: "/aws/service/debian/release/bookworm/latest/amd64",
            instanceTypes: { x86_64: ["c7i.large"] },
          },
          { pattern: "/aws/service/freebsd/riscv64/*/CURRENT", instanceTypes: { x86_64: ["c7i.large"] } },
        ],
        // The port that never opens costs the probe running + open timeouts: keep both short.
        runs: 1,
        discardFirst: false,
        port: sshPort,
        runningTimeoutSeconds: 2,
        openTimeoutSeconds: 1,
      },
    });

    expect(execution).toMatchObject({ status: "FAILED", error: ErrorNames.suiteIncomplete });
    const suites = await pipeline.dynamoDb.send(
      new QueryCommand({
        TableName: pipeline.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: `SUITE#${execution.executionArn.split(":").at(-1)}` } },
      }),
    );
    const suite = unmarshallItem(suites.Items?.[0] ?? {}) as {
      status: string;
      benchmarks: { amiId: string; status: string; error?: { name: string } }[];
      unresolved: { reason: string }[];
    };
    expect(suite.status).toBe("failed");
    const byAmi = Object.fromEntries(suite.benchmarks.map((b) => [b.amiId, b]));
    expect(byAmi[BUILT_IN_AMI_IDS.sshdNeverStarts]).toMatchObject({
      status: "failed",
      error: { name: ErrorNames.noSuccessfulRuns },
    });
    expect(byAmi[BUILT_IN_AMI_IDS.debian12Amd64]).toMatchObject({ status: "succeeded" });
    expect(suite.unresolved.map((u) => u.reason)).toEqual(["no-parameter-matched"]);
  });
});
