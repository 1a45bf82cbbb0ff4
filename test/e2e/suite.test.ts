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
import {
  CURRENT,
  FIRSTBOOT_OFF,
  SLOWER_BOOT,
  STABLE,
  STABLE_BOOT,
  slowerSnapshot as slowerWeeklySnapshot,
  weeklySnapshot,
} from "./suite-faults.js";

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
    // The first run is discarded: five counted runs, the fewest a comparison takes (regression.ts).
    runs: 6,
    port: sshPort,
    userData: FIRSTBOOT_OFF,
    // A boot takes about 2 s from launch to open at time scale 0.1; a run that never opens is given up
    // the sum of both timeouts after its launch, so keep the sum short.
    runningTimeoutSeconds: 3,
    openTimeoutSeconds: 3,
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
const slowerSnapshot = () => slowerWeeklySnapshot("15.0-CURRENT", "2025-09-04");
/** A STABLE snapshot that boots as fast as the catalogue's, but sshd fails to start on most boots. */
const flakySnapshot = () => weeklySnapshot("14.3-STABLE", "2025-09-04", STABLE_BOOT);

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
        settings: { runs: 6, userData: FIRSTBOOT_OFF },
      });
      // Nothing to compare with yet: the series has no earlier benchmark.
      expect(benchmark.comparison).toBeUndefined();
    }
    expect(firstRun[CURRENT]).toBeDefined();
    const instances = pipeline.localAws?.cloud.instances() ?? [];
    expect(instances.map((i) => i.imageId).sort()).toEqual(
      [
        ...Array.from({ length: 6 }, () => BUILT_IN_AMI_IDS.freebsdCurrentAmd64),
        ...Array.from({ length: 6 }, () => BUILT_IN_AMI_IDS.freebsd143Stable),
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

  it("rides out an EC2 server error in discovery: one passing 5xx does not cost the week's suite", async () => {
    const cloud = pipeline.localAws?.cloud;
    cloud?.resetStats();
    cloud?.faults.set({ serverErrors: { DescribeImages: { count: 1, code: "Unavailable" } } });
    try {
      const { execution, summary } = await runSuite(suiteInput());
      expect(cloud?.stats().errors.DescribeImages?.Unavailable).toBe(1);
      expect(execution.status).toBe("SUCCEEDED");
      expect(summary).toMatchObject({ status: "succeeded", skipped: 2, unresolved: 0 });
    } finally {
      cloud?.faults.set({ serverErrors: undefined });
    }
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
      timing: "slower",
      regressions: ["boot-time"],
      regression: true,
    });
    // 5.2 + 2.9 s against 9.5 + 3.5 s of boot, time-scaled: about 0.5 s slower, every run.
    const shift = benchmark?.comparison?.shifts.total;
    expect(shift?.low).toBeGreaterThan(0.3);
    expect(shift?.pValue).toBeLessThan(0.05);
    expect(summary.regressions.map((r) => r.benchmarkId)).toEqual([benchmark?.benchmarkId]);

    const stored = await summaryOf(benchmark?.benchmarkId as string);
    expect(stored?.regression).toMatchObject({ previousBenchmarkId: firstRun[CURRENT], regression: true });

    const alerts = pipeline.localSns?.messages ?? [];
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.subject).toBe(
      "boot-bench regression: FreeBSD 15.0-CURRENT-amd64-20250904 UFS on c7i.large: slower",
    );
    expect(alerts[0]?.message).toContain(CURRENT);
    expect(alerts[0]?.message).toMatch(
      /^per-run totals \(running to port open\): slower by \d\.\d\d s, 95 % CI \d\.\d\d to \d\.\d\d s, p = 0\.\d{3}; median run total/m,
    );
    expect(alerts[0]?.attributes).toMatchObject({
      series: CURRENT,
      instanceType: "c7i.large",
      suite: "freebsd-amd64",
    });
    expect(summary.alerts).toEqual([alerts[0]?.messageId]);
  });

  it("alerts a snapshot whose sshd fails on most boots as more timeouts, though it boots as fast", async () => {
    const snapshot = flakySnapshot();
    pipeline.localAws?.cloud.publishImage(snapshot);
    // Runs 0 to 4 never open (run 0 is discarded): 4 of 5 counted runs time out, against none before.
    pipeline.localAws?.cloud.faults.set({ portNeverOpens: { count: 5, imageIds: [snapshot.imageId] } });
    const { execution, summary } = await runSuite(suiteInput());

    expect(execution.status).toBe("SUCCEEDED");
    const [benchmark] = summary.benchmarks;
    expect(benchmark).toMatchObject({ image: STABLE, amiId: snapshot.imageId, status: "succeeded" });
    expect(benchmark?.comparison).toMatchObject({
      previousBenchmarkId: firstRun[STABLE],
      timing: "not-enough-runs",
      timeouts: { earlier: 0, earlierRuns: 5, later: 4, laterRuns: 5 },
      regressions: ["timeouts"],
      regression: true,
    });
    // Fisher's exact test, one-sided: C(5,4)·C(5,0)/C(10,4) = 5/210.
    expect(benchmark?.comparison?.timeouts.pGreater).toBeCloseTo(5 / 210, 12);
    const alerts = pipeline.localSns?.messages ?? [];
    expect(alerts).toHaveLength(2);
    expect(alerts[1]?.subject).toBe(
      "boot-bench regression: FreeBSD 14.3-STABLE-amd64-20250904 UFS on c7i.large: more timeouts",
    );
    expect(alerts[1]?.message).toContain(
      "timeouts: 4 timeouts in 5 runs against 0 in 5 (one-sided p = 0.024)",
    );
    // Five runs wait out both timeouts, one after another.
  }, 90_000);

  it("says not enough runs, and alerts nothing, when the same suite counts 3 runs", async () => {
    // runs differ, so nothing is skipped as already benchmarked; the comparability key is the same.
    const { execution, summary } = await runSuite(suiteInput({ runs: 3, discardFirst: false }));

    expect(execution.status).toBe("SUCCEEDED");
    const current = summary.benchmarks.find((b) => b.image === CURRENT);
    // Its baseline is the newest earlier benchmark of another AMI of the series: the first run's.
    expect(current?.comparison).toMatchObject({
      previousBenchmarkId: firstRun[CURRENT],
      timing: "not-enough-runs",
      regressions: [],
      regression: false,
    });
    expect(current?.comparison?.notEnoughRunsReason).toBe(
      "5 against 3 counted runs with a valid total; a comparison needs at least 5 on each side",
    );
    // STABLE's flaky snapshot again, its fault used up: 3 runs against the first run's 5.
    expect(summary.benchmarks.find((b) => b.image === STABLE)?.comparison).toMatchObject({
      previousBenchmarkId: firstRun[STABLE],
      timing: "not-enough-runs",
      regression: false,
    });
    expect(summary.regressions).toEqual([]);
    expect(pipeline.localSns?.messages ?? []).toHaveLength(2);
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

describe("a suite with a control on the local cloud", () => {
  // A label of its own: these benchmarks compare only with each other.
  const withControl = () =>
    suiteInput({
      name: "with-control",
      targets: [
        { image: CURRENT, instanceTypes: { x86_64: ["c7i.large"] } },
        // A pinned AMI: only the platform can change how it boots.
        { image: BUILT_IN_AMI_IDS.debian12Amd64, instanceTypes: { x86_64: ["c7i.large"] }, control: true },
      ],
    });

  it("flags a week in which EC2 slowed every boot as platform drift, beside the control's change", async () => {
    const before = await runSuite(withControl());
    expect(before.execution.status).toBe("SUCCEEDED");
    expect(before.summary.benchmarks.map((b) => b.comparison)).toEqual([undefined, undefined]);
    const alertsBefore = pipeline.localSns?.messages.length ?? 0;

    // The next week: a new snapshot that boots as the last one did, on a platform 5 s slower to bring
    // the network up (0.5 s at this time scale).
    const nextWeek = weeklySnapshot("15.0-CURRENT", "2025-09-11", SLOWER_BOOT);
    pipeline.localAws?.cloud.publishImage(nextWeek);
    pipeline.localAws?.cloud.faults.set({ platformSlowdownSeconds: 5 });
    try {
      const { execution, summary } = await runSuite(withControl());
      expect(execution.status).toBe("SUCCEEDED");
      const [series, control] = summary.benchmarks;
      // The pinned control ran again (not skipped as already benchmarked) against its own last week.
      expect(control).toMatchObject({
        amiId: BUILT_IN_AMI_IDS.debian12Amd64,
        control: true,
        comparison: { timing: "slower", previousAmiId: BUILT_IN_AMI_IDS.debian12Amd64 },
      });
      expect(series).toMatchObject({
        amiId: nextWeek.imageId,
        comparison: { timing: "slower", regressions: ["boot-time"] },
        platform: { controlBenchmarkId: control?.benchmarkId, drift: true },
      });
      const alerts = (pipeline.localSns?.messages ?? []).slice(alertsBefore);
      const seriesAlert = alerts.find((a) => a.subject?.includes(nextWeek.name));
      expect(seriesAlert?.subject).toBe(`boot-bench platform drift: ${nextWeek.name} on c7i.large: slower`);
      expect(seriesAlert?.message).toMatch(
        /^control debian-12-amd64-\S+ \(ami-\w+\): slower by \d\.\d\d s, .*; it regressed the same way, so this is more likely the platform's \(EC2's\) change than the image's$/m,
      );
      // The control's own regression is told too: it is the platform's change, measured.
      expect(alerts).toHaveLength(2);
    } finally {
      pipeline.localAws?.cloud.faults.set({ platformSlowdownSeconds: undefined });
    }
  }, 90_000);
});

describe("a control another suite ran, on the local cloud", () => {
  // The baseline suite's role: a pinned control, run every time.
  const controls = () =>
    suiteInput({
      name: "controls",
      targets: [
        { image: BUILT_IN_AMI_IDS.debian12Amd64, instanceTypes: { x86_64: ["c7i.large"] }, control: true },
      ],
    });
  // The weekly series, with no control of its own: the other suite's stands beside it.
  const series = () =>
    suiteInput({
      name: "with-shared-control",
      targets: [{ image: STABLE, instanceTypes: { x86_64: ["c7i.large"] } }],
      sharedControls: { images: [BUILT_IN_AMI_IDS.debian12Amd64], withinDays: 7 },
    });

  it("flags the series' slowdown as platform drift when the other suite's control slowed as much", async () => {
    pipeline.localAws?.cloud.publishImage(weeklySnapshot("14.3-STABLE", "2025-10-02", STABLE_BOOT));
    for (const input of [controls(), series()]) {
      const { execution, summary } = await runSuite(input);
      expect(execution.status).toBe("SUCCEEDED");
      expect(summary.benchmarks.map((b) => b.platform)).toEqual([undefined]);
    }
    const alertsBefore = pipeline.localSns?.messages.length ?? 0;

    // The next week: a snapshot that boots as the last one did, on a platform 5 s slower.
    const nextWeek = weeklySnapshot("14.3-STABLE", "2025-10-09", STABLE_BOOT);
    pipeline.localAws?.cloud.publishImage(nextWeek);
    pipeline.localAws?.cloud.faults.set({ platformSlowdownSeconds: 5 });
    try {
      const control = (await runSuite(controls())).summary.benchmarks[0];
      expect(control?.comparison).toMatchObject({ timing: "slower" });
      const { execution, summary } = await runSuite(series());
      expect(execution.status).toBe("SUCCEEDED");
      expect(summary.benchmarks[0]).toMatchObject({
        amiId: nextWeek.imageId,
        comparison: { timing: "slower", regressions: ["boot-time"] },
        platform: {
          controlBenchmarkId: control?.benchmarkId,
          controlImage: BUILT_IN_AMI_IDS.debian12Amd64,
          control: { timing: "slower", previousAmiId: BUILT_IN_AMI_IDS.debian12Amd64 },
          drift: true,
        },
      });
      // On the summary too, for history and the report.
      expect((await summaryOf(summary.benchmarks[0]?.benchmarkId ?? ""))?.platform).toMatchObject({
        drift: true,
      });
      const alerts = (pipeline.localSns?.messages ?? []).slice(alertsBefore);
      expect(alerts.map((a) => a.subject)).toContain(
        `boot-bench platform drift: ${nextWeek.name} on c7i.large: slower`,
      );
    } finally {
      pipeline.localAws?.cloud.faults.set({ platformSlowdownSeconds: undefined });
    }
  }, 120_000);
});
