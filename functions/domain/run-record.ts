import type { ClockReport } from "../shared/clock.js";
import { type Comparability, comparabilityKey, comparabilityOf } from "./comparability.js";
import {
  type BenchmarkRef,
  type BenchmarkSettings,
  type BenchmarkStatus,
  type CaptureConsoleResult,
  type CaptureScreenshotsResult,
  type CaughtError,
  ErrorNames,
  type FilmstripBranchResult,
  type IntervalSeconds,
  type ResolvedImage,
  type RunState,
  type RunStatus,
  type SummariseResult,
} from "./contract.js";
import type { GuestTimings } from "./guest-timings.js";
import {
  INTERVAL_NAMES,
  type IntervalName,
  isValidInterval,
  judgeRun,
  type RunIntegrity,
} from "./integrity.js";
import { type IntegritySummary, summariseIntegrity } from "./integrity-summary.js";
import type { PlatformComparison, SeriesComparison } from "./regression.js";
import { countedValues, describeIntervals, type IntervalStatistics } from "./statistics.js";
import { type ClampedTimestamps, deriveTimeline, type Timeline } from "./timeline.js";

// ---- keys (docs/architecture.md, "DynamoDB table") -------------------------------------------
export const RUN_SK_PREFIX = "RUN#";
export const SUMMARY_SK = "SUMMARY";
export const RECENT_PK = "BENCHMARK";
export const FAILED_RUN_PK = "FAILED_RUN";

export const benchmarkPk = (benchmarkId: string): string => `BENCHMARK#${benchmarkId}`;
const paddedIndex = (runIndex: number): string => String(runIndex).padStart(4, "0");
/** Zero-padded so that runs sort by index within the partition. */
export const runSk = (runIndex: number): string => `${RUN_SK_PREFIX}${paddedIndex(runIndex)}`;
/** The whole state of a run that could not be recorded (UnrecordedRunRecord): never a run item. */
export const unrecordedSk = (runIndex: number): string => `UNRECORDED#${paddedIndex(runIndex)}`;
/** The launch ledger of a run (functions/aws/benchmark-table.ts, countLaunchSend): never a run item. */
export const launchSk = (runIndex: number): string => `LAUNCH#${paddedIndex(runIndex)}`;
/**
 * Every attribute a launch ledger item has but the probe's end mark (`probeEndedAt`, the probe's own):
 * IAM lets the launch and terminate steps touch these and no others. `endedAt` is terminate's run-ended
 * mark, which the launch step's condition reads.
 */
export const LAUNCH_LEDGER_ATTRIBUTES: readonly string[] = [
  "pk",
  "sk",
  "itemType",
  "clientToken",
  "sends",
  "unsettledSends",
  "lastSendAt",
  "endedAt",
];
/**
 * The S3 key of a run's console output (gzip), in the stack's console bucket. Under `console/`, the
 * only prefix the capture step may write.
 */
export const CONSOLE_KEY_PREFIX = "console/";
export const consoleOutputKey = (benchmarkId: string, runIndex: number): string =>
  `${CONSOLE_KEY_PREFIX}${benchmarkId}/run-${paddedIndex(runIndex)}.txt.gz`;
/**
 * A run's boot filmstrip (functions/capture-screenshots): its frames and their manifest, under
 * `filmstrip/`, the only prefix the screenshot step may write.
 */
export const FILMSTRIP_KEY_PREFIX = "filmstrip/";
const filmstripRunPrefix = (benchmarkId: string, runIndex: number): string =>
  `${FILMSTRIP_KEY_PREFIX}${benchmarkId}/run-${paddedIndex(runIndex)}/`;
export const filmstripFrameKey = (benchmarkId: string, runIndex: number, frameIndex: number): string =>
  `${filmstripRunPrefix(benchmarkId, runIndex)}frame-${paddedIndex(frameIndex)}.jpg`;
export const filmstripManifestKey = (benchmarkId: string, runIndex: number): string =>
  `${filmstripRunPrefix(benchmarkId, runIndex)}frames.json`;
/**
 * A run's guest timings (functions/probe-port/guest-timings.ts): the session's answers as gzip JSON,
 * under `guest/`, the only prefix the probe may write.
 */
export const GUEST_OUTPUT_KEY_PREFIX = "guest/";
export const guestOutputKey = (benchmarkId: string, runIndex: number): string =>
  `${GUEST_OUTPUT_KEY_PREFIX}${benchmarkId}/run-${paddedIndex(runIndex)}.json.gz`;
/** What the probe may read of the guest key item: its keys and the private half. */
export const GUEST_KEY_READ_ATTRIBUTES: readonly string[] = ["pk", "sk", "privateKey"];
/** What the probe may read of a launch ledger: its keys and the run-ended mark. */
export const RUN_ENDED_ATTRIBUTES: readonly string[] = ["pk", "sk", "endedAt"];
/** What the probe may write of a launch ledger: its keys and its own end mark. */
export const PROBE_ENDED_ATTRIBUTES: readonly string[] = ["pk", "sk", "probeEndedAt"];
/** What the screenshot step may read of a launch ledger: its keys and both marks. */
export const OBSERVATION_MARK_ATTRIBUTES: readonly string[] = ["pk", "sk", "endedAt", "probeEndedAt"];

// ---- records ---------------------------------------------------------------------------------
export interface ErrorInfo {
  name: string;
  message: string;
}

/** Raw observations, as reported by the steps that made them; none is adjusted. */
export interface RunTimestamps {
  launchRequestedAt?: number;
  launchRespondedAt?: number;
  /** EC2's LaunchTime of the instance: whole seconds, EC2's clock. */
  launchTime?: number;
  /** When the private IP was known (the launch response, or a later DescribeInstances). */
  privateIpAt?: number;
  pollStartedAt?: number;
  /** Lower end of the running bracket (see PollStateResult). */
  runningNotBefore?: number;
  runningAt?: number;
  probeStartedAt?: number;
  closedNotBefore?: number;
  firstClosedAt?: number;
  openNotBefore?: number;
  firstOpenAt?: number;
  probeEndedAt?: number;
}

export interface PollCounters {
  describeCalls: number;
  throttledCalls: number;
  notFoundCalls: number;
  abandonedCalls: number;
  /** Present when earlier runs set the poll's schedule (PollStateResult). */
  expectedPendingMs?: number;
}

/** How each step's clock behaved (functions/shared/clock.ts). */
export type StepClocks = Partial<Record<"launch" | "poll" | "probe" | "filmstrip", ClockReport>>;

export interface ProbeCounters {
  status: "open" | "timeout";
  attempts: number;
  unanswered: number;
  refused: number;
  connected: number;
  otherErrors: number;
}

export interface ClampingFlags {
  closedSeen: boolean;
  closedRaisedToRunning: boolean;
  openRaisedToClosed: boolean;
}

/**
 * A run's console output as its record keeps it: where it is stored and how big, or why there is none.
 * Absent when the run never had an instance id.
 */
export type RunConsole =
  | Exclude<CaptureConsoleResult, { status: "no-instance" }>
  | { status: "failed"; error: ErrorInfo };

/**
 * A run's boot filmstrip as its record keeps it: the stream's counts and where its manifest is; its
 * failure; or, when the observation failed and Step Functions abandoned the stream's branch, only the
 * manifest key, which the stream still writes once terminate marks the run ended. Absent without a
 * filmstrip (none asked for, or no instance).
 */
export type RunFilmstrip =
  | Omit<Extract<CaptureScreenshotsResult, { status: "captured" }>, "clock">
  | { status: "failed"; error: ErrorInfo }
  | { status: "detached"; manifestKey: string };

export interface RunRecord {
  pk: string;
  sk: string;
  itemType: "run";
  benchmarkId: string;
  executionId: string;
  /** The benchmark's start (ISO 8601): the sort key of the FailedRuns index. */
  startedAt: string;
  runIndex: number;
  /** False for the discarded first run. */
  counted: boolean;
  status: RunStatus;
  timedOutWaitingFor?: "running" | "port-open";
  error?: ErrorInfo;
  /** Present only when status is not succeeded, which is what puts the run into FailedRuns. */
  failedPk?: typeof FAILED_RUN_PK;
  clientToken: string;
  instanceId?: string;
  privateIp?: string;
  /** Under `image`, never top-level `amiId`/`sourceParameter`, so runs stay out of ByAmi/BySource. */
  image: ResolvedImage;
  instanceType: string;
  label?: string;
  port: number;
  timestamps: RunTimestamps;
  /** Succeeded runs only: the boundaries the intervals were measured between. */
  clamped?: ClampedTimestamps;
  clamping?: ClampingFlags;
  /** Succeeded runs only. */
  intervals?: IntervalSeconds;
  poll?: PollCounters;
  probe?: ProbeCounters;
  /** Earlier RunInstances requests of this run that may have launched its instance (0: none). */
  earlierLaunchSends?: number;
  privateIpSource?: "runInstances" | "describeInstances";
  clocks?: StepClocks;
  /** Brackets, integrity marks and per-interval verdicts (functions/domain/integrity.ts). */
  integrity: RunIntegrity;
  /** The instance's console output after the run (never a reason to fail it). */
  console?: RunConsole;
  /** The boot filmstrip, when the benchmark asked for one (never a reason to fail the run). */
  filmstrip?: RunFilmstrip;
  /** Why the probe's end mark was not written: the filmstrip then ran on to its deadline. */
  probeEndMarkError?: string;
  /**
   * What the guest said of its boot, when the benchmark asked for guest timings and the port opened
   * (never a reason to fail the run; its answers are in the console bucket under `guest.output.key`).
   */
  guest?: GuestTimings;
  terminated: boolean;
  terminatedInstanceIds?: string[];
  terminationError?: ErrorInfo;
  /** Present when RecordRun failed after all its retries and Summarise wrote the item instead. */
  recordError?: ErrorInfo;
}

/**
 * A run that neither RecordRun (after all retries) nor Summarise could record: its whole state, kept
 * where the summary and the CLI find it, so that nothing the run observed is lost. Never counted.
 */
export interface UnrecordedRunRecord {
  pk: string;
  sk: string;
  itemType: "unrecordedRun";
  benchmarkId: string;
  runIndex: number;
  /** RecordRun's error after all its retries. */
  recordError: ErrorInfo;
  /** Why Summarise could not record it either. */
  summariseError: ErrorInfo;
  instanceId?: string;
  terminated: boolean;
  terminationError?: ErrorInfo;
  /** The run's state as the state machine had it (RunState, JSON): what a run item is built from. */
  state: string;
}

/** A run whose instance could not be terminated, as the summary lists it. */
export interface TerminationFailedRun {
  runIndex: number;
  instanceId?: string;
  error?: ErrorInfo;
}

/** A run kept as an UnrecordedRunRecord, as the summary lists it. */
export type UnrecordedRun = Pick<UnrecordedRunRecord, "runIndex" | "recordError" | "summariseError">;

export interface SummaryRecord {
  pk: string;
  sk: typeof SUMMARY_SK;
  itemType: "summary";
  /** Partition key of the Recent index. */
  recentPk: typeof RECENT_PK;
  /** Partition key of the ByAmi index. */
  amiId: string;
  /** Partition key of the BySource index; absent (never empty) when the image was an AMI id. */
  sourceParameter?: string;
  benchmarkId: string;
  executionId: string;
  startedAt: string;
  status: BenchmarkStatus;
  image: ResolvedImage;
  instanceType: string;
  label?: string;
  settings: BenchmarkSettings;
  runs: number;
  countedRuns: number;
  /** Succeeded, failed and timed-out counts are over all runs, the discarded one included. */
  succeededRuns: number;
  failedRuns: number;
  timedOutRuns: number;
  /** The runs the statistics are computed from. */
  countedSucceededRuns: number;
  /** Counted runs that failed, and that timed out: what comparisons weigh failures by. */
  countedFailedRuns: number;
  countedTimedOutRuns: number;
  /**
   * Each interval's valid values over the counted succeeded runs, in run order: the samples the
   * statistics and every comparison of two benchmarks are computed from.
   */
  countedValues: Partial<Record<IntervalName, number[]>>;
  /** What makes this benchmark comparable with another (functions/domain/comparability.ts)… */
  comparability: Comparability;
  /** …and its key: equal keys, comparable benchmarks. */
  comparabilityKey: string;
  /** Written by SummariseSuite, when a suite compared this benchmark with its baseline (regression.ts)… */
  previousComparison?: SeriesComparison;
  /** …the same comparison again when it found a regression… */
  regression?: SeriesComparison;
  /** …and its suite's control's change on the same instance type, when the suite ran a control. */
  platform?: PlatformComparison;
  /**
   * Medians of the counted successful runs. `total` is the sum of the two port medians, the way
   * published ec2-boot-bench tables give it (their totals are exactly closed + open); the median of
   * the per-run totals is `statistics.total.median`.
   */
  medians?: Partial<IntervalSeconds>;
  statistics?: Partial<IntervalStatistics>;
  /** Marked runs, valid intervals and bracket widths over the counted succeeded runs. */
  integrity: IntegritySummary;
  /** Which runs `discardFirst` left out, and by which rule. */
  discarded: Discarded;
  /** Runs whose instance was left running (the execution failed with BootBench.TerminateFailed). */
  terminationFailedRuns?: TerminationFailedRun[];
  /** Runs kept as unrecorded-run items, outside every count and statistic above. */
  unrecordedRuns?: UnrecordedRun[];
}

// ---- classification ------------------------------------------------------------------------
/** Recorded (never thrown) when the state machine handed over a run with neither a result nor a failure. */
export const INCOMPLETE_RUN_ERROR = "BootBench.IncompleteRun";
// Lambda's Cause can be 32 KB of message and stack; the message is what a reader needs.
const MAX_ERROR_MESSAGE_LENGTH = 4096;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The human-readable message of a Step Functions Catch `Cause`. From a Lambda task in AWS it is the
 * JSON error Lambda reports (`{"errorType","errorMessage","trace"}`); the local runner and Step
 * Functions' own errors (`States.Timeout`, …) give plain text.
 */
export function causeMessage(cause: string | undefined): string {
  if (cause === undefined || cause.trim() === "") return "(no cause given)";
  let message = cause;
  try {
    const parsed: unknown = JSON.parse(cause);
    if (isRecord(parsed) && typeof parsed.errorMessage === "string") message = parsed.errorMessage;
  } catch {
    // Not JSON: the text is the message.
  }
  return message.length > MAX_ERROR_MESSAGE_LENGTH
    ? `${message.slice(0, MAX_ERROR_MESSAGE_LENGTH)}…`
    : message;
}

export const errorInfoFrom = (caught: CaughtError): ErrorInfo => ({
  name: caught.Error,
  message: causeMessage(caught.Cause),
});

/** An error a step caught itself, as records store it. */
export const errorInfoOf = (error: unknown): ErrorInfo =>
  error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: "Error", message: String(error) };

export interface RunOutcome {
  status: RunStatus;
  timedOutWaitingFor?: "running" | "port-open";
  error?: ErrorInfo;
  /** Succeeded runs only. */
  timeline?: Timeline;
}

const incomplete = (message: string): RunOutcome => ({
  status: "failed",
  error: { name: INCOMPLETE_RUN_ERROR, message },
});

/**
 * Succeeded when the probe saw the port open within openTimeoutSeconds of running; timeout when
 * running or open never came in time (an outcome, never a fake interval); failed otherwise.
 */
export function classifyRun(state: RunState): RunOutcome {
  const { failure, launch, observation, settings } = state;
  if (failure) {
    if (failure.Error === ErrorNames.runningTimeout) {
      return { status: "timeout", timedOutWaitingFor: "running" };
    }
    return { status: "failed", error: errorInfoFrom(failure) };
  }
  if (!launch) return incomplete("no launch result and no failure were recorded for this run");
  if (!observation) return incomplete("no observation and no failure were recorded for this run");
  const [poll, probe] = observation;
  if (probe.status !== "open") return { status: "timeout", timedOutWaitingFor: "port-open" };
  const timeline = deriveTimeline({
    launchRequestedAt: launch.launchRequestedAt,
    launchRespondedAt: launch.launchRespondedAt,
    runningAt: poll.runningAt,
    firstClosedAt: probe.firstClosedAt,
    firstOpenAt: probe.firstOpenAt,
  });
  if (!timeline) return incomplete("the probe reported the port open without a time it was first open");
  // The probe's own deadline runs from the launch response, so after an early `running` it can still
  // see an open that is later than the benchmark allows.
  if (timeline.timestamps.portOpenAt - poll.runningAt > settings.openTimeoutSeconds * 1000) {
    return { status: "timeout", timedOutWaitingFor: "port-open" };
  }
  return { status: "succeeded", timeline };
}

/**
 * What `discardFirst` discards. Run one after another, the first run is the only cold one: it warms the
 * image's snapshot for the rest. With `concurrency` runs at once, the Map starts the first `concurrency`
 * runs together, before any has booted: the whole first wave boots cold and is discarded, not just
 * run 0 (which need not even be the first of them to launch).
 */
export function discardedRuns(
  settings: Pick<BenchmarkSettings, "discardFirst" | "concurrency" | "runs">,
): Discarded {
  if (!settings.discardFirst) return { rule: "none", runIndexes: [] };
  const wave = Math.min(settings.concurrency, settings.runs);
  return {
    rule: wave > 1 ? "firstWave" : "firstRun",
    runIndexes: Array.from({ length: wave }, (_, index) => index),
  };
}

export interface Discarded {
  /** `firstRun`: run 0, of runs made one after another; `firstWave`: the runs started together first. */
  rule: "none" | "firstRun" | "firstWave";
  runIndexes: number[];
}

/** Earlier runs' valid pending times, ms: what the poll of a later run expects (functions/poll-state). */
export const validPendingMs = (runs: readonly RunRecord[]): number[] =>
  runs.flatMap((run) =>
    run.status === "succeeded" && run.intervals && isValidInterval(run.integrity, "pendingToRunning")
      ? [run.intervals.pendingToRunning * 1000]
      : [],
  );

export const isCounted = (settings: BenchmarkSettings, runIndex: number): boolean =>
  !discardedRuns(settings).runIndexes.includes(runIndex);

// ---- builders ------------------------------------------------------------------------------
/** The run item of one Map iteration, from everything the iteration accumulated. */
export function buildRunRecord(state: RunState): RunRecord {
  const { benchmark, settings, image, run, launch, observation, termination, terminationFailure } = state;
  const outcome = classifyRun(state);
  const [poll, probe, filmstripResult] = observation ?? [];
  const record: RunRecord = {
    pk: benchmarkPk(benchmark.benchmarkId),
    sk: runSk(run.runIndex),
    itemType: "run",
    benchmarkId: benchmark.benchmarkId,
    executionId: benchmark.executionId,
    startedAt: benchmark.startedAt,
    runIndex: run.runIndex,
    counted: isCounted(settings, run.runIndex),
    status: outcome.status,
    clientToken: launch?.clientToken ?? run.clientToken,
    image,
    instanceType: settings.instanceType,
    port: settings.port,
    timestamps: {
      launchRequestedAt: launch?.launchRequestedAt,
      launchRespondedAt: launch?.launchRespondedAt,
      launchTime: launch?.launchTime,
      privateIpAt: launch?.privateIpAt,
      pollStartedAt: poll?.pollStartedAt,
      runningNotBefore: poll?.runningNotBefore,
      runningAt: poll?.runningAt,
      probeStartedAt: probe?.probeStartedAt,
      closedNotBefore: probe?.closedNotBefore,
      firstClosedAt: probe?.firstClosedAt,
      openNotBefore: probe?.openNotBefore,
      firstOpenAt: probe?.firstOpenAt,
      probeEndedAt: probe?.probeEndedAt,
    },
    integrity: judgeRun({ settings, launch, poll, probe, hasIntervals: outcome.timeline !== undefined }),
    terminated: termination !== undefined,
  };
  if (outcome.timedOutWaitingFor) record.timedOutWaitingFor = outcome.timedOutWaitingFor;
  if (outcome.error) record.error = outcome.error;
  if (outcome.status !== "succeeded") record.failedPk = FAILED_RUN_PK;
  const instanceId = launch?.instanceId;
  if (instanceId) record.instanceId = instanceId;
  const privateIp = launch?.privateIp ?? poll?.privateIp;
  if (privateIp) record.privateIp = privateIp;
  if (settings.label !== undefined) record.label = settings.label;
  if (outcome.timeline) {
    const { timestamps, closedSeen, closedRaisedToRunning, openRaisedToClosed, intervals } = outcome.timeline;
    record.clamped = timestamps;
    record.clamping = { closedSeen, closedRaisedToRunning, openRaisedToClosed };
    record.intervals = intervals;
  }
  if (poll) {
    const { describeCalls, throttledCalls, notFoundCalls, abandonedCalls, expectedPendingMs } = poll;
    record.poll = { describeCalls, throttledCalls, notFoundCalls, abandonedCalls };
    if (expectedPendingMs !== undefined) record.poll.expectedPendingMs = expectedPendingMs;
  }
  if (launch) {
    record.earlierLaunchSends = launch.earlierLaunchSends;
    record.privateIpSource = launch.privateIpSource;
  }
  const clocks: StepClocks = withoutUndefined({
    launch: launch?.clock,
    poll: poll?.clock,
    probe: probe?.clock,
    filmstrip: filmstripResult?.status === "captured" ? filmstripResult.clock : undefined,
  });
  if (Object.keys(clocks).length > 0) record.clocks = clocks;
  if (probe) {
    const { status, attempts, unanswered, refused, connected, otherErrors } = probe;
    record.probe = { status, attempts, unanswered, refused, connected, otherErrors };
  }
  if (probe?.endMarkError !== undefined) record.probeEndMarkError = probe.endMarkError;
  if (probe?.guest !== undefined) record.guest = probe.guest;
  const console = consoleOf(state);
  if (console) record.console = console;
  const filmstrip = filmstripOf(state, filmstripResult);
  if (filmstrip) record.filmstrip = filmstrip;
  if (termination) record.terminatedInstanceIds = termination.terminatedInstanceIds;
  if (terminationFailure) record.terminationError = errorInfoFrom(terminationFailure);
  if (state.recordFailure) record.recordError = errorInfoFrom(state.recordFailure);
  record.timestamps = withoutUndefined(record.timestamps);
  return record;
}

function consoleOf(state: RunState): RunConsole | undefined {
  if (state.consoleFailure) return { status: "failed", error: errorInfoFrom(state.consoleFailure) };
  if (state.console === undefined || state.console.status === "no-instance") return undefined;
  return state.console;
}

function filmstripOf(state: RunState, result: FilmstripBranchResult | undefined): RunFilmstrip | undefined {
  if (result === undefined) {
    // The observation failed: the stream's result never came back, its manifest is in the bucket.
    if (state.settings.screenshots === undefined || state.launch === undefined) return undefined;
    return {
      status: "detached",
      manifestKey: filmstripManifestKey(state.benchmark.benchmarkId, state.run.runIndex),
    };
  }
  if (result.status === "off") return undefined;
  if (result.status === "failed") return { status: "failed", error: errorInfoFrom(result.error) };
  const { clock: _clock, ...captured } = result;
  return captured;
}

/** The unrecorded-run item of a run that could not be recorded; builds from any state, never throws. */
export function buildUnrecordedRunRecord(
  state: RunState & { recordFailure: CaughtError },
  summariseError: ErrorInfo,
): UnrecordedRunRecord {
  const record: UnrecordedRunRecord = {
    pk: benchmarkPk(state.benchmark.benchmarkId),
    sk: unrecordedSk(state.run.runIndex),
    itemType: "unrecordedRun",
    benchmarkId: state.benchmark.benchmarkId,
    runIndex: state.run.runIndex,
    recordError: errorInfoFrom(state.recordFailure),
    summariseError,
    terminated: state.termination !== undefined,
    state: JSON.stringify(state),
  };
  if (state.launch?.instanceId) record.instanceId = state.launch.instanceId;
  if (state.terminationFailure) record.terminationError = errorInfoFrom(state.terminationFailure);
  return record;
}

// Absent observations stay absent in the item instead of being written as nulls.
const withoutUndefined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

export interface SummaryContext {
  benchmark: BenchmarkRef;
  settings: BenchmarkSettings;
  image: ResolvedImage;
}

const countWhere = <T>(items: readonly T[], predicate: (item: T) => boolean): number =>
  items.reduce((n, item) => (predicate(item) ? n + 1 : n), 0);

/**
 * The benchmark's summary item. Deterministic in its inputs, so a retried summarise overwrites it with
 * the same content. Succeeded when at least one counted run succeeded.
 */
export function buildSummaryRecord(
  context: SummaryContext,
  runs: readonly RunRecord[],
  unrecorded: readonly UnrecordedRunRecord[] = [],
): SummaryRecord {
  const { benchmark, settings, image } = context;
  const values = countedValues(runs);
  const statistics = describeIntervals(values);
  const countedSucceededRuns = countWhere(runs, (run) => run.counted && run.status === "succeeded");
  const comparability = comparabilityOf(settings, benchmark.executionId);
  const record: SummaryRecord = {
    pk: benchmarkPk(benchmark.benchmarkId),
    sk: SUMMARY_SK,
    itemType: "summary",
    recentPk: RECENT_PK,
    amiId: image.amiId,
    benchmarkId: benchmark.benchmarkId,
    executionId: benchmark.executionId,
    startedAt: benchmark.startedAt,
    status: countedSucceededRuns > 0 ? "succeeded" : "failed",
    image,
    instanceType: settings.instanceType,
    settings,
    runs: runs.length,
    countedRuns: countWhere(runs, (run) => run.counted),
    succeededRuns: countWhere(runs, (run) => run.status === "succeeded"),
    failedRuns: countWhere(runs, (run) => run.status === "failed"),
    timedOutRuns: countWhere(runs, (run) => run.status === "timeout"),
    countedSucceededRuns,
    countedFailedRuns: countWhere(runs, (run) => run.counted && run.status === "failed"),
    countedTimedOutRuns: countWhere(runs, (run) => run.counted && run.status === "timeout"),
    countedValues: values,
    comparability,
    comparabilityKey: comparabilityKey(comparability),
    discarded: discardedRuns(settings),
    integrity: summariseIntegrity(runs),
  };
  // An empty string is not a valid GSI key value: DynamoDB would reject the whole item.
  if (image.sourceParameter) record.sourceParameter = image.sourceParameter;
  if (settings.label !== undefined) record.label = settings.label;
  if (statistics) {
    record.statistics = statistics;
    record.medians = mediansOf(statistics);
  }
  const terminationFailedRuns = [...runs, ...unrecorded]
    .filter((run) => !run.terminated)
    .map((run) => ({
      runIndex: run.runIndex,
      ...(run.instanceId !== undefined && { instanceId: run.instanceId }),
      ...(run.terminationError !== undefined && { error: run.terminationError }),
    }))
    .sort((a, b) => a.runIndex - b.runIndex);
  if (terminationFailedRuns.length > 0) record.terminationFailedRuns = terminationFailedRuns;
  if (unrecorded.length > 0) {
    record.unrecordedRuns = unrecorded.map(({ runIndex, recordError, summariseError }) => ({
      runIndex,
      recordError,
      summariseError,
    }));
  }
  return record;
}

/**
 * The medians of the valid intervals. `total` is the published layout's: running to port closed plus
 * closed to open medians, present only when both are; the median of per-run totals is
 * `statistics.total.median`.
 */
function mediansOf(statistics: Partial<IntervalStatistics>): Partial<IntervalSeconds> {
  const medians: Partial<IntervalSeconds> = {};
  for (const name of INTERVAL_NAMES) {
    if (name === "total") continue; // the published total is derived below
    const median = statistics[name]?.median;
    if (median !== undefined) medians[name] = median;
  }
  if (medians.runningToPortClosed !== undefined && medians.portClosedToOpen !== undefined) {
    medians.total = medians.runningToPortClosed + medians.portClosedToOpen;
  }
  return medians;
}

/** What the Summarise step returns to the state machine. */
export function summariseResultFrom(summary: SummaryRecord): SummariseResult {
  const result: SummariseResult = {
    status: summary.status,
    runs: summary.runs,
    countedRuns: summary.countedRuns,
    succeededRuns: summary.succeededRuns,
    failedRuns: summary.failedRuns,
    timedOutRuns: summary.timedOutRuns,
    terminationFailedRuns: summary.terminationFailedRuns?.length ?? 0,
    unrecordedRuns: summary.unrecordedRuns?.length ?? 0,
  };
  if (summary.medians) result.medians = summary.medians;
  return result;
}
