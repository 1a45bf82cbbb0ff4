/**
 * The suite half of the step contract (the single-benchmark half is contract.ts), and the pure rules a
 * suite applies: which earlier benchmark makes a target redundant, how child executions are named, and
 * how a regression is told (regression.ts decides what one is). `infra/state-machine.ts` builds the
 * payloads: change both together.
 *
 * A suite execution: DiscoverTargets → Map over `benchmarks`, each a child execution of this same state
 * machine with a single-benchmark input (so benchmark id = child execution name) → SummariseSuite.
 */
import { sha256Hex } from "./benchmark-identity.js";
import { seriesOf, settingsComparability } from "./comparability.js";
import type { BenchmarkSettings, CaughtError, SummariseResult } from "./contract.js";
import type { BenchmarkInput } from "./input-schema.js";
import {
  comparisonDetails,
  describeComparison,
  describePlatform,
  type PlatformComparison,
  regressionFlagOf,
  type SeriesComparison,
  verdictWords,
} from "./regression.js";
import type { RegressionThresholds, SharedControls } from "./suite-schema.js";

// ---- DiscoverTargets -----------------------------------------------------------------------------
export interface DiscoverTargetsEvent {
  input: unknown; // the raw execution input ($)
  executionId: string; // $$.Execution.Id
  startTime: string; // $$.Execution.StartTime
}

export interface SuiteRef {
  name: string;
  /** Derived from the suite execution id as benchmark ids are; the partition of the suite item. */
  suiteRunId: string;
  executionId: string;
  startedAt: string;
  force: boolean;
  regression: RegressionThresholds;
  /** Controls another suite runs, to stand beside benchmarks this run has no control for. */
  sharedControls?: SharedControls;
  targets: number;
}

/** One benchmark the suite starts: one Map item, one child execution. */
export interface SuiteBenchmark {
  /** Index of the target in the suite, for messages. */
  target: number;
  /** Name of the child execution, and therefore its benchmark id. */
  executionName: string;
  image: string;
  amiId: string;
  imageName: string;
  architecture: string;
  sourceParameter?: string;
  instanceType: string;
  /** A control target's benchmark: run every time, compared with its own last benchmark. */
  control?: true;
  /** The child execution's input: a single-benchmark input. */
  input: BenchmarkInput;
}

export type SkipReason =
  /** The AMI already has a successful benchmark with this instance type and these settings. */
  | "already-benchmarked"
  /** Another target of this suite run resolves to the same AMI, instance type and settings. */
  | "duplicate"
  /** The target names no instance type for the image's architecture. */
  | "no-instance-type-for-architecture";

export interface SkippedBenchmark {
  target: number;
  reason: SkipReason;
  image: string;
  amiId: string;
  architecture: string;
  instanceType?: string;
  sourceParameter?: string;
  /** already-benchmarked: the earlier benchmark; duplicate: the child execution that covers it. */
  previousBenchmarkId?: string;
  previousStartedAt?: string;
}

export type UnresolvedReason =
  | "no-parameter-matched"
  | "parameter-not-found"
  | "not-an-ami"
  | "image-not-found";

/** A target (or one parameter of it) that yielded no image: a problem the suite reports and fails on. */
export interface UnresolvedTarget {
  target: number;
  reason: UnresolvedReason;
  /** The image, parameter or pattern concerned. */
  reference: string;
  message: string;
}

export interface DiscoverTargetsResult {
  suite: SuiteRef;
  /** The Map's MaxConcurrency: benchmarks at once. */
  concurrency: number;
  benchmarks: SuiteBenchmark[];
  skipped: SkippedBenchmark[];
  unresolved: UnresolvedTarget[];
}

// ---- the Map's results ---------------------------------------------------------------------------
/** What the RunBenchmark task keeps of the startExecution.sync:2 response (its ResultSelector). */
export interface ChildExecutionResult {
  status: string;
  executionArn: string;
  summary?: SummariseResult;
}

/**
 * One Map iteration's output: the item plus the child's result, the caught failure, or `alreadyRan`:
 * StartExecution refused the child's name because an execution of that name is already closed (the
 * iteration is running again, in a redriven suite, after its child ended). Step Functions answers
 * ExecutionAlreadyExists for a closed execution whatever its input, and attaches to a running one
 * with the same input instead; the closed child's result is then its summary item.
 */
export interface SuiteBenchmarkResult extends SuiteBenchmark {
  execution?: ChildExecutionResult;
  failure?: CaughtError;
  alreadyRan?: CaughtError;
}

/**
 * StartExecution's ExecutionAlreadyExists as a `states:startExecution` Task reports it (service prefix,
 * Exception suffix): the name belongs to a closed execution, or to a running one with another input.
 */
export const EXECUTION_ALREADY_EXISTS = "StepFunctions.ExecutionAlreadyExistsException";

/** Why SummariseSuite counts a child as failed when the child's own error is not what says so. */
export const SuiteChildErrors = {
  /** The child execution succeeded, yet its summary item is missing or not a success. */
  summaryMissing: "BootBench.SummaryMissing",
  /** The child had already run (`alreadyRan`) and left no summary: it stopped before Summarise. */
  earlierChildUnsummarised: "BootBench.EarlierChildUnsummarised",
} as const;

// ---- SummariseSuite ----------------------------------------------------------------------------
export interface SummariseSuiteEvent {
  suite: SuiteRef;
  results: SuiteBenchmarkResult[];
  skipped: SkippedBenchmark[];
  unresolved: UnresolvedTarget[];
}

export interface SuiteBenchmarkOutcome {
  benchmarkId: string;
  executionArn?: string;
  image: string;
  amiId: string;
  imageName: string;
  sourceParameter?: string;
  instanceType: string;
  status: "succeeded" | "failed";
  /** The child had already run when its iteration started it again (a redrive): its summary is its result. */
  alreadyRan?: true;
  /** The published total (figures.ts), seconds, when the benchmark has one. */
  total?: number;
  error?: { name: string; message: string };
  /**
   * Against the newest earlier comparable benchmark of another AMI of the series (regression.ts); for
   * a control, against its own newest earlier comparable benchmark, of any AMI.
   */
  comparison?: SeriesComparison;
  control?: true;
  /** The control's change on this instance type in this suite run, beside this benchmark's. */
  platform?: PlatformComparison;
}

export type SuiteStatus = "succeeded" | "failed";

export interface SummariseSuiteResult {
  status: SuiteStatus;
  suiteRunId: string;
  benchmarks: SuiteBenchmarkOutcome[];
  succeeded: number;
  /** Child executions that failed, plus targets that could not be resolved. */
  failed: number;
  skipped: number;
  unresolved: number;
  regressions: SuiteBenchmarkOutcome[];
  /** SNS message ids of the alerts sent. */
  alerts: string[];
}

/** The suite item: `pk = SUITE#<suiteRunId>`, `sk = SUMMARY`, no index keys (suites stay out of the indexes). */
export interface SuiteRecord {
  pk: string;
  sk: "SUMMARY";
  itemType: "suite";
  suiteRunId: string;
  name: string;
  executionId: string;
  startedAt: string;
  finishedAt: string;
  force: boolean;
  status: SuiteStatus;
  thresholds: RegressionThresholds;
  benchmarks: SuiteBenchmarkOutcome[];
  skipped: SkippedBenchmark[];
  unresolved: UnresolvedTarget[];
}

export const suitePk = (suiteRunId: string): string => `SUITE#${suiteRunId}`;

/**
 * The mark that a regression's alert went out: `pk = SUITE#<suiteRunId>`, `sk = ALERT#<benchmarkId>`,
 * written right after SNS accepted the message. SNS email subscriptions need a standard topic, which
 * has no deduplication, so this is what keeps a retried or redriven SummariseSuite from alerting twice.
 */
export interface AlertSentRecord {
  pk: string;
  sk: string;
  itemType: "alertSent";
  suiteRunId: string;
  benchmarkId: string;
  /** SNS's id of the message, returned again by a retry that finds the mark. */
  messageId: string;
  sentAt: string;
}

export const alertSentKey = (suiteRunId: string, benchmarkId: string): { pk: string; sk: string } => ({
  pk: suitePk(suiteRunId),
  sk: `ALERT#${benchmarkId}`,
});

/**
 * The alert rule: one alert per regression per suite run, published only while its suite run holds no
 * mark for it, and marked after SNS accepted it. Marking before publishing would lose the alert for
 * good when the publish then failed; marking after can only repeat it, and only when the step fails
 * between SNS's answer and the mark's write (or SNS's answer is lost: the SDK's own retry of Publish is
 * not deduplicated either). An alert is never lost; a duplicate needs a failure in that window.
 */
export function alertSentRecord(
  suiteRunId: string,
  benchmarkId: string,
  messageId: string,
  sentAt: Date,
): AlertSentRecord {
  return {
    ...alertSentKey(suiteRunId, benchmarkId),
    itemType: "alertSent",
    suiteRunId,
    benchmarkId,
    messageId,
    sentAt: sentAt.toISOString(),
  };
}

// ---- rules --------------------------------------------------------------------------------------
/**
 * A key for "this benchmark makes that one redundant": the same AMI, measured alike (the settings' part
 * of the comparability key, comparability.ts: the label included, as it marks another setup) with the
 * same run plan. Run concurrency is no part of it. The region is the table's own.
 */
export const measurementKey = (amiId: string, settings: BenchmarkSettings): string =>
  JSON.stringify([amiId, settings.runs, settings.discardFirst, settingsComparability(settings)]);

/** Whether two benchmarks of the same AMI measured the same thing (and one makes the other redundant). */
export const sameMeasurement = (a: BenchmarkSettings, b: BenchmarkSettings): boolean =>
  measurementKey("", a) === measurementKey("", b);

/**
 * The child execution's name, which becomes its benchmark id: short and plain (≤ 40 characters, so
 * benchmarkIdFor keeps it as is), unique per suite execution and deterministic, so that a redriven Map
 * iteration asks for the same execution again instead of starting a second one.
 */
export function childExecutionName(suiteName: string, suiteExecutionId: string, index: number): string {
  const run = sha256Hex(suiteExecutionId).slice(0, 8);
  return `${suiteName.slice(0, 24)}-${run}-${String(index).padStart(3, "0")}`;
}

/** The alert: a subject (SNS allows 100 characters) and a plain-text body people read in email. */
export function regressionAlert(
  suite: SuiteRef,
  outcome: SuiteBenchmarkOutcome,
  comparison: SeriesComparison,
): { subject: string; message: string } {
  const series = seriesOf(outcome);
  // A regression its control shares is more likely the platform's: the subject says so first.
  const kind =
    regressionFlagOf(comparison.regression, outcome.platform) === "drift" ? "platform drift" : "regression";
  const subject = `boot-bench ${kind}: ${outcome.imageName} on ${outcome.instanceType}: ${verdictWords(comparison)}`;
  const message = [
    `${outcome.imageName} (${outcome.amiId}) regressed against the previous image of its series: ` +
      `${describeComparison(comparison)}.`,
    "",
    `series:         ${series}`,
    `instance type:  ${outcome.instanceType}`,
    "",
    ...comparisonDetails(comparison),
    "",
    ...(outcome.platform ? [describePlatform(outcome.platform), ""] : []),
    `this benchmark: ${outcome.benchmarkId}${outcome.executionArn ? ` (${outcome.executionArn})` : ""}`,
    `previous:       ${comparison.previousBenchmarkId}, ${comparison.previousImageName} (${comparison.previousAmiId}), ` +
      `${comparison.previousStartedAt}`,
    `suite:          ${suite.name}, run ${suite.suiteRunId} (${suite.executionId})`,
  ].join("\n");
  return { subject: subject.length > 100 ? `${subject.slice(0, 99)}…` : subject, message };
}
