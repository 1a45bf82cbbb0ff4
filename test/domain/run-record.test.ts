import { describe, expect, it } from "vitest";
import {
  buildRunRecord,
  buildSummaryRecord,
  causeMessage,
  classifyRun,
  discardedRuns,
  runSk,
  summariseResultFrom,
} from "../../functions/domain/run-record.js";
import {
  benchmark,
  failedRunState,
  image,
  pollResult,
  probeResult,
  settings,
  succeededRunState,
  T0,
} from "./run-state-fixtures.js";

const lambdaCause = (errorType: string, errorMessage: string) =>
  JSON.stringify({
    errorType,
    errorMessage,
    trace: [`${errorType}: ${errorMessage}`, "    at handler (index.js:1:1)"],
  });

describe("causeMessage", () => {
  it("takes errorMessage from Lambda's JSON cause", () => {
    expect(
      causeMessage(
        lambdaCause("InsufficientInstanceCapacity", "We currently do not have sufficient capacity"),
      ),
    ).toBe("We currently do not have sufficient capacity");
  });

  it("takes plain text as it is", () => {
    expect(causeMessage("instance i-1 went from pending to terminated")).toBe(
      "instance i-1 went from pending to terminated",
    );
  });

  it("keeps JSON that is not Lambda's error shape as text", () => {
    expect(causeMessage('{"reason":"x"}')).toBe('{"reason":"x"}');
    expect(causeMessage("42")).toBe("42");
  });

  it("says when there is no cause", () => {
    expect(causeMessage(undefined)).toBe("(no cause given)");
    expect(causeMessage("  ")).toBe("(no cause given)");
  });

  it("cuts very long messages", () => {
    const message = causeMessage("m".repeat(10_000));
    expect(message).toHaveLength(4097);
    expect(message.endsWith("…")).toBe(true);
  });
});

describe("classifyRun", () => {
  it("succeeds when the port opened within openTimeoutSeconds of running", () => {
    const outcome = classifyRun(succeededRunState());
    expect(outcome.status).toBe("succeeded");
    expect(outcome.timeline?.intervals.total).toBeCloseTo(10.35, 9);
  });

  it("succeeds at exactly openTimeoutSeconds", () => {
    const state = succeededRunState(1, { firstOpenAt: T0 + 8_400 + 600_000 });
    expect(classifyRun(state).status).toBe("succeeded");
  });

  it("times out waiting for the port when open came later than openTimeoutSeconds after running", () => {
    const state = succeededRunState(1, { firstOpenAt: T0 + 8_400 + 600_001 });
    expect(classifyRun(state)).toEqual({ status: "timeout", timedOutWaitingFor: "port-open" });
  });

  it("times out waiting for the port when the probe gave up", () => {
    const state = succeededRunState(1, { status: "timeout", firstOpenAt: undefined });
    expect(classifyRun(state)).toEqual({ status: "timeout", timedOutWaitingFor: "port-open" });
  });

  it("times out waiting for running on BootBench.RunningTimeout", () => {
    const state = failedRunState(
      1,
      "BootBench.RunningTimeout",
      lambdaCause("BootBench.RunningTimeout", "not running"),
    );
    expect(classifyRun(state)).toEqual({ status: "timeout", timedOutWaitingFor: "running" });
  });

  it("fails with the caught error's name and message for any other failure", () => {
    const state = failedRunState(
      1,
      "InsufficientInstanceCapacity",
      lambdaCause("InsufficientInstanceCapacity", "no c7i.large capacity in us-east-1a"),
    );
    expect(classifyRun(state)).toEqual({
      status: "failed",
      error: { name: "InsufficientInstanceCapacity", message: "no c7i.large capacity in us-east-1a" },
    });
  });

  it("fails with a plain-text cause from the local runner", () => {
    const state = failedRunState(
      1,
      "BootBench.InstanceTerminated",
      "Server.InternalError: Internal error on launch",
    );
    expect(classifyRun(state).error).toEqual({
      name: "BootBench.InstanceTerminated",
      message: "Server.InternalError: Internal error on launch",
    });
  });

  it("fails, naming the gap, when a run has neither an observation nor a failure", () => {
    const state = succeededRunState();
    delete state.observation;
    expect(classifyRun(state)).toMatchObject({
      status: "failed",
      error: { name: "BootBench.IncompleteRun" },
    });
  });

  it("fails when the probe says open but gives no open time", () => {
    const state = succeededRunState(1, { firstOpenAt: undefined });
    expect(classifyRun(state)).toMatchObject({
      status: "failed",
      error: { name: "BootBench.IncompleteRun" },
    });
  });
});

describe("buildRunRecord", () => {
  it("builds a succeeded run with keys, raw and clamped timestamps, intervals and counters", () => {
    const record = buildRunRecord(succeededRunState(3));
    expect(record).toEqual({
      pk: "BENCHMARK#bench-1",
      sk: "RUN#0003",
      itemType: "run",
      benchmarkId: "bench-1",
      executionId: benchmark.executionId,
      startedAt: "2025-06-15T14:13:20.000Z",
      runIndex: 3,
      counted: true,
      status: "succeeded",
      clientToken: "bench-1-run0003",
      instanceId: "i-0123456789abcdef0",
      privateIp: "10.0.1.23",
      image,
      instanceType: "c7i.large",
      label: "weekly",
      port: 22,
      timestamps: {
        launchRequestedAt: T0,
        launchRespondedAt: T0 + 1_500,
        privateIpAt: T0 + 1_500,
        pollStartedAt: T0 + 1_600,
        runningNotBefore: T0 + 8_300,
        runningAt: T0 + 8_400,
        probeStartedAt: T0 + 1_600,
        closedNotBefore: T0 + 14_650,
        firstClosedAt: T0 + 14_660,
        openNotBefore: T0 + 18_740,
        firstOpenAt: T0 + 18_750,
        probeEndedAt: T0 + 18_751,
      },
      clamped: {
        launchRequestedAt: T0,
        launchRespondedAt: T0 + 1_500,
        runningAt: T0 + 8_400,
        portClosedAt: T0 + 14_660,
        portOpenAt: T0 + 18_750,
      },
      clamping: { closedSeen: true, closedRaisedToRunning: false, openRaisedToClosed: false },
      intervals: {
        runInstancesApi: 1.5,
        pendingToRunning: 6.9,
        runningToPortClosed: 6.26,
        portClosedToOpen: 4.09,
        total: expect.closeTo(10.35, 9),
      },
      poll: { describeCalls: 140, throttledCalls: 2, notFoundCalls: 1, abandonedCalls: 0 },
      probe: { status: "open", attempts: 1_200, unanswered: 600, refused: 409, connected: 1, otherErrors: 0 },
      earlierLaunchSends: 0,
      privateIpSource: "runInstances",
      clocks: {
        launch: { anchorCorrectionMs: 0.02, driftMs: 0.001, spanMs: 1_530 },
        poll: { anchorCorrectionMs: 0.05, driftMs: 0.001, spanMs: 6_810 },
        probe: { anchorCorrectionMs: 0.04, driftMs: 0.003, spanMs: 17_160 },
      },
      integrity: {
        rulesVersion: 1,
        brackets: {
          running: { at: T0 + 8_400, notBefore: T0 + 8_300, widthMs: 100 },
          closed: { at: T0 + 14_660, notBefore: T0 + 14_650, widthMs: 10 },
          open: { at: T0 + 18_750, notBefore: T0 + 18_740, widthMs: 10 },
        },
        marks: [],
        verdicts: {
          runInstancesApi: { valid: true, reasons: [] },
          pendingToRunning: { valid: true, reasons: [] },
          runningToPortClosed: { valid: true, reasons: [] },
          portClosedToOpen: { valid: true, reasons: [] },
          total: { valid: true, reasons: [] },
        },
      },
      terminated: true,
      terminatedInstanceIds: ["i-0123456789abcdef0"],
    });
    expect(record).not.toHaveProperty("failedPk");
    expect(record).not.toHaveProperty("amiId");
    expect(record).not.toHaveProperty("sourceParameter");
    expect(record).not.toHaveProperty("recentPk");
  });

  it("records where the private IP came from, earlier launch sends and LaunchTime, and the run's marks", () => {
    const state = succeededRunState(
      2,
      { probeStartedAt: T0 + 1_900, clock: undefined },
      { abandonedCalls: 3, clock: undefined },
      {
        privateIpSource: "describeInstances",
        privateIpAt: T0 + 1_850,
        launchTime: 1_749_999_940_000,
        earlierLaunchSends: 1,
        clock: undefined,
      },
    );
    const record = buildRunRecord(state);
    expect(record).toMatchObject({
      earlierLaunchSends: 1,
      privateIpSource: "describeInstances",
      poll: { abandonedCalls: 3 },
      timestamps: { launchTime: 1_749_999_940_000, privateIpAt: T0 + 1_850, probeStartedAt: T0 + 1_900 },
    });
    // No step reported its clock (records written before clocks were): no clocks at all.
    expect(record).not.toHaveProperty("clocks");
    expect(record.integrity.marks.map((mark) => mark.name)).toEqual(["launchReplayed", "privateIpLate"]);
    expect(record.integrity.verdicts?.runInstancesApi).toEqual({ valid: false, reasons: ["launchReplayed"] });
  });

  it("judges a failed run without verdicts, and a launch-only run without brackets", () => {
    const record = buildRunRecord(failedRunState(1, "BootBench.RunningTimeout", "slow"));
    expect(record.integrity).toEqual({ rulesVersion: 1, brackets: {}, marks: [] });
    expect(record.clocks).toEqual({ launch: { anchorCorrectionMs: 0.02, driftMs: 0.001, spanMs: 1_530 } });
  });

  it("marks run 0 as not counted only when discardFirst is set", () => {
    expect(buildRunRecord(succeededRunState(0)).counted).toBe(false);
    const kept = succeededRunState(0);
    kept.settings = { ...settings, discardFirst: false };
    expect(buildRunRecord(kept).counted).toBe(true);
  });

  it("discards the whole first wave when runs go on concurrently, and says so in the summary", () => {
    const concurrent = { ...settings, runs: 6, concurrency: 3 };
    const counted = [0, 1, 2, 3, 4, 5].map((index) => {
      const state = succeededRunState(index);
      state.settings = concurrent;
      return buildRunRecord(state).counted;
    });
    // Runs 0, 1 and 2 start together and all boot cold, whichever of them launched first.
    expect(counted).toEqual([false, false, false, true, true, true]);
    expect(discardedRuns(concurrent)).toEqual({ rule: "firstWave", runIndexes: [0, 1, 2] });
    expect(discardedRuns(settings)).toEqual({ rule: "firstRun", runIndexes: [0] });
    expect(discardedRuns({ ...concurrent, discardFirst: false })).toEqual({ rule: "none", runIndexes: [] });
  });

  it("records a port-open timeout without intervals, in FailedRuns", () => {
    const record = buildRunRecord(succeededRunState(2, { status: "timeout", firstOpenAt: undefined }));
    expect(record).toMatchObject({
      status: "timeout",
      timedOutWaitingFor: "port-open",
      failedPk: "FAILED_RUN",
      probe: { status: "timeout" },
    });
    expect(record).not.toHaveProperty("intervals");
    expect(record).not.toHaveProperty("clamped");
    expect(record.timestamps).not.toHaveProperty("firstOpenAt");
  });

  it("records a failed launch with only what is known", () => {
    const state = failedRunState(
      1,
      "InsufficientInstanceCapacity",
      lambdaCause("InsufficientInstanceCapacity", "none"),
    );
    delete state.launch;
    state.termination = { terminatedInstanceIds: [] };
    const record = buildRunRecord(state);
    expect(record).toMatchObject({
      status: "failed",
      failedPk: "FAILED_RUN",
      error: { name: "InsufficientInstanceCapacity", message: "none" },
      clientToken: "bench-1-run0001",
      timestamps: {},
      terminated: true,
      terminatedInstanceIds: [],
    });
    for (const absent of ["instanceId", "privateIp", "poll", "probe", "intervals", "timedOutWaitingFor"]) {
      expect(record).not.toHaveProperty(absent);
    }
  });

  it("records a running timeout and a failed termination", () => {
    const state = failedRunState(1, "BootBench.RunningTimeout", "no running state within 120 s");
    delete state.termination;
    state.terminationFailure = {
      Error: "UnauthorizedOperation",
      Cause: lambdaCause("UnauthorizedOperation", "You are not authorized to perform this operation."),
    };
    expect(buildRunRecord(state)).toMatchObject({
      status: "timeout",
      timedOutWaitingFor: "running",
      failedPk: "FAILED_RUN",
      terminated: false,
      terminationError: {
        name: "UnauthorizedOperation",
        message: "You are not authorized to perform this operation.",
      },
    });
  });

  it("leaves label out when the benchmark has none", () => {
    const state = succeededRunState();
    const { label: _, ...withoutLabel } = settings;
    state.settings = withoutLabel;
    expect(buildRunRecord(state)).not.toHaveProperty("label");
  });

  it("keeps where the console output is and how big, and never fails a run for it", () => {
    const stored = {
      status: "stored" as const,
      bucket: "bootbench-consoleoutput-1a2b3c",
      key: "console/bench-1/run-0002.txt.gz",
      bytes: 20_480,
      storedBytes: 4_096,
      latest: true,
      outputUpdatedAt: "2025-06-15T12:00:09.000Z",
      capturedAt: T0 + 9_000,
    };
    const withConsole = buildRunRecord({ ...succeededRunState(2), console: stored });
    expect(withConsole.console).toEqual(stored);
    expect(withConsole.status).toBe("succeeded");

    const unfetchable = buildRunRecord({
      ...succeededRunState(2),
      consoleFailure: {
        Error: "InternalError",
        Cause: lambdaCause("InternalError", "An internal error has occurred"),
      },
    });
    expect(unfetchable.console).toEqual({
      status: "failed",
      error: { name: "InternalError", message: "An internal error has occurred" },
    });
    expect(unfetchable.status).toBe("succeeded");
    expect(unfetchable.failedPk).toBeUndefined();
    // A run without an instance id has no console, and says nothing about one.
    expect(
      buildRunRecord({
        ...failedRunState(3, "InsufficientInstanceCapacity"),
        console: { status: "no-instance" },
      }),
    ).not.toHaveProperty("console");
  });

  it("keeps the filmstrip's counts and manifest, its failure, or only its manifest key when the observation failed", () => {
    const captured = {
      status: "captured" as const,
      bucket: "bootbench-consoleoutput-1a2b3c",
      manifestKey: "filmstrip/bench-1/run-0002/frames.json",
      framesPerSecond: 1,
      frames: 14,
      throttled: 2,
      failed: 1,
      busy: 0,
      storedBytes: 180_000,
      startedAt: T0 + 1_700,
      endedAt: T0 + 21_000,
      stoppedBy: "probe-ended" as const,
    };
    const filmed = succeededRunState(2);
    filmed.settings = { ...settings, screenshots: { framesPerSecond: 1 } };
    const clock = { anchorCorrectionMs: 0.01, driftMs: 0.002, spanMs: 19_300 };
    filmed.observation = [pollResult(), probeResult(), { ...captured, clock }];
    const record = buildRunRecord(filmed);
    expect(record.filmstrip).toEqual(captured);
    expect(record.clocks?.filmstrip).toEqual(clock);
    expect(record.status).toBe("succeeded");

    filmed.observation = [
      pollResult(),
      probeResult(),
      { status: "failed", error: { Error: "Lambda.TooManyRequestsException", Cause: "Rate Exceeded." } },
    ];
    const failed = buildRunRecord(filmed);
    expect(failed.filmstrip).toEqual({
      status: "failed",
      error: { name: "Lambda.TooManyRequestsException", message: "Rate Exceeded." },
    });
    expect(failed.status).toBe("succeeded");

    // The poll failed: Step Functions abandoned the stream, which still writes its manifest.
    const pollFailed = failedRunState(2, "BootBench.InstanceTerminated");
    pollFailed.settings = { ...settings, screenshots: { framesPerSecond: 1 } };
    expect(buildRunRecord(pollFailed).filmstrip).toEqual({
      status: "detached",
      manifestKey: "filmstrip/bench-1/run-0002/frames.json",
    });
    // Not asked for, or switched off: nothing about a filmstrip.
    expect(buildRunRecord(failedRunState(2, "BootBench.InstanceTerminated"))).not.toHaveProperty("filmstrip");
    const off = succeededRunState(2);
    off.observation = [pollResult(), probeResult(), { status: "off" }];
    expect(buildRunRecord(off)).not.toHaveProperty("filmstrip");
    expect(buildRunRecord(off).clocks).not.toHaveProperty("filmstrip");
  });

  it("keeps why the probe's end mark was not written", () => {
    const state = succeededRunState(2, { endMarkError: "TimeoutError: Request timed out" });
    expect(buildRunRecord(state).probeEndMarkError).toBe("TimeoutError: Request timed out");
    expect(buildRunRecord(succeededRunState(2))).not.toHaveProperty("probeEndMarkError");
  });

  it("pads run sort keys to four digits", () => {
    expect(runSk(0)).toBe("RUN#0000");
    expect(runSk(99)).toBe("RUN#0099");
  });
});

describe("buildSummaryRecord", () => {
  const context = { benchmark, settings: { ...settings, runs: 4 }, image };
  const withClosedAndOpen = (runIndex: number, closedMs: number, openMs: number) =>
    buildRunRecord(
      succeededRunState(runIndex, {
        firstClosedAt: T0 + 8_400 + closedMs,
        firstOpenAt: T0 + 8_400 + closedMs + openMs,
      }),
    );

  it("summarises counted successful runs, with index keys only on the summary", () => {
    const runs = [
      withClosedAndOpen(0, 50_000, 50_000), // discarded
      withClosedAndOpen(1, 6_000, 5_000),
      withClosedAndOpen(2, 7_000, 3_000),
      buildRunRecord(failedRunState(3, "InsufficientInstanceCapacity", "none")),
    ];
    const summary = buildSummaryRecord(context, runs);
    expect(summary).toMatchObject({
      pk: "BENCHMARK#bench-1",
      sk: "SUMMARY",
      itemType: "summary",
      recentPk: "BENCHMARK",
      amiId: "ami-0123456789abcdef0",
      sourceParameter: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
      startedAt: "2025-06-15T14:13:20.000Z",
      status: "succeeded",
      label: "weekly",
      instanceType: "c7i.large",
      runs: 4,
      countedRuns: 3,
      succeededRuns: 3,
      failedRuns: 1,
      timedOutRuns: 0,
      countedSucceededRuns: 2,
    });
    expect(summary.settings.runs).toBe(4);
    expect(summary.medians).toEqual({
      runInstancesApi: 1.5,
      pendingToRunning: 6.9,
      runningToPortClosed: 6.5,
      portClosedToOpen: 4,
      total: 10.5,
    });
    expect(summary.statistics?.total).toEqual({
      count: 2,
      median: 10.5,
      min: 10,
      max: 11,
      mean: 10.5,
      p90: 11,
      mad: 0.5,
    });
    expect(summary).not.toHaveProperty("failedPk");
  });

  it("gives the total median as the sum of the port medians, as published tables do", () => {
    const runs = [
      withClosedAndOpen(1, 1_000, 9_000), // total 10
      withClosedAndOpen(2, 5_000, 1_000), // total 6
      withClosedAndOpen(3, 9_000, 5_000), // total 14
    ];
    const summary = buildSummaryRecord({ ...context, settings: { ...settings, discardFirst: false } }, runs);
    expect(summary.medians?.runningToPortClosed).toBe(5);
    expect(summary.medians?.portClosedToOpen).toBe(5);
    expect(summary.medians?.total).toBe(10);
    expect(summary.statistics?.total?.median).toBe(10);
    // Closed 1, 2, 9 (median 2) and open 9, 1, 2 (median 2), but per-run totals 10, 3, 11 (median 10).
    const skewed = [
      withClosedAndOpen(1, 1_000, 9_000),
      withClosedAndOpen(2, 2_000, 1_000),
      withClosedAndOpen(3, 9_000, 2_000),
    ];
    const skewedSummary = buildSummaryRecord(context, skewed);
    expect(skewedSummary.medians?.total).toBe(4);
    expect(skewedSummary.statistics?.total?.median).toBe(10);
  });

  it("fails when only the discarded run succeeded, with no medians", () => {
    const runs = [
      withClosedAndOpen(0, 6_000, 4_000),
      buildRunRecord(failedRunState(1, "BootBench.RunningTimeout", "slow")),
      buildRunRecord(succeededRunState(2, { status: "timeout", firstOpenAt: undefined })),
    ];
    const summary = buildSummaryRecord(context, runs);
    expect(summary).toMatchObject({
      status: "failed",
      runs: 3,
      countedRuns: 2,
      succeededRuns: 1,
      failedRuns: 0,
      timedOutRuns: 2,
      countedSucceededRuns: 0,
    });
    expect(summary).not.toHaveProperty("medians");
    expect(summary).not.toHaveProperty("statistics");
    expect(summariseResultFrom(summary)).toEqual({
      status: "failed",
      runs: 3,
      countedRuns: 2,
      succeededRuns: 1,
      failedRuns: 0,
      timedOutRuns: 2,
      terminationFailedRuns: 0,
      unrecordedRuns: 0,
    });
  });

  it("has no sourceParameter when the image was an AMI id", () => {
    const { sourceParameter: _, ...amiOnly } = image;
    const summary = buildSummaryRecord({ ...context, image: amiOnly }, [withClosedAndOpen(1, 1_000, 1_000)]);
    expect(summary).not.toHaveProperty("sourceParameter");
    expect(summary.amiId).toBe("ami-0123456789abcdef0");
  });
});
