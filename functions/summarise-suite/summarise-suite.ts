import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { getItem } from "../aws/benchmark-table.js";
import {
  getAlertSent,
  markComparison,
  newestBenchmarkOfAmi,
  newestBenchmarkOfSeries,
  putAlertSent,
  putSuiteRecord,
  type SummarySearch,
} from "../aws/suite-table.js";
import { type MetricRecord, regressionMetricRecord } from "../domain/boot-metrics.js";
import { seriesOf } from "../domain/comparability.js";
import { benchmarkEnd } from "../domain/contract.js";
import { type ImageReference, imageReferenceOf } from "../domain/image-reference.js";
import {
  compareWithPrevious,
  hasSample,
  isComparableBaseline,
  isControlBaseline,
  isPlatformDrift,
  type SeriesComparison,
} from "../domain/regression.js";
import {
  benchmarkPk,
  causeMessage,
  SUMMARY_SK,
  type SummaryRecord,
  summariseResultFrom,
} from "../domain/run-record.js";
import {
  alertSentRecord,
  regressionAlert,
  type SuiteBenchmarkOutcome,
  type SuiteBenchmarkResult,
  SuiteChildErrors,
  type SuiteRecord,
  type SummariseSuiteEvent,
  type SummariseSuiteResult,
  suitePk,
} from "../domain/suite.js";

export interface SummariseSuiteDeps {
  dynamoDb: DynamoDBClient;
  sns: SNSClient;
  tableName: string;
  topicArn: string;
  /** One EMF record per alert sent (regressionMetricRecord), by the invocation that sent it. */
  publishMetrics: (record: MetricRecord) => void;
  now?: () => Date;
}

/**
 * Closes a suite run: reads each child's summary, compares every new AMI of an SSM series with the
 * newest earlier comparable benchmark of another AMI of that series (isComparableBaseline; BySource,
 * newest first), marks the comparison on the summary, writes the suite item, and publishes one alert
 * per regression, once per suite run however often the step is retried or the suite redriven
 * (alertSentRecord's rule). A child that failed is compared too when it left a summary: a snapshot
 * whose every run timed out has regressed, and says so. A control target is compared with its own last
 * benchmark (ByAmi for an AMI id), and stands beside every other benchmark on its instance type.
 *
 * The suite succeeds only when every child succeeded and every target resolved; a regression is a
 * result, not a failure. A child that had already run (a redriven iteration) ends as its summary says.
 */
export async function summariseSuite(
  event: SummariseSuiteEvent,
  deps: SummariseSuiteDeps,
): Promise<SummariseSuiteResult> {
  const { suite } = event;
  const benchmarks: SuiteBenchmarkOutcome[] = [];
  for (const result of event.results) {
    benchmarks.push(await outcomeOf(result, suite.regression, deps));
  }
  besideTheirControls(benchmarks);
  await besideSharedControls(benchmarks, suite, deps);
  for (const outcome of benchmarks) {
    if (outcome.comparison === undefined) continue;
    await markComparison(
      deps.dynamoDb,
      deps.tableName,
      outcome.benchmarkId,
      outcome.comparison,
      outcome.platform,
    );
  }
  const failedChildren = benchmarks.filter((b) => b.status === "failed").length;
  const failed = failedChildren + event.unresolved.length;
  const status = failed === 0 ? "succeeded" : "failed";
  const regressions = benchmarks.filter((b) => b.comparison?.regression === true);

  const record: SuiteRecord = {
    pk: suitePk(suite.suiteRunId),
    sk: "SUMMARY",
    itemType: "suite",
    suiteRunId: suite.suiteRunId,
    name: suite.name,
    executionId: suite.executionId,
    startedAt: suite.startedAt,
    finishedAt: (deps.now?.() ?? new Date()).toISOString(),
    force: suite.force,
    status,
    thresholds: suite.regression,
    benchmarks,
    skipped: event.skipped,
    unresolved: event.unresolved,
  };
  await putSuiteRecord(deps.dynamoDb, deps.tableName, record);

  // Last, so that everything is recorded before anyone is told.
  const alerts: string[] = [];
  for (const outcome of regressions) {
    const comparison = outcome.comparison;
    if (comparison === undefined) continue;
    const sent = await getAlertSent(deps.dynamoDb, deps.tableName, suite.suiteRunId, outcome.benchmarkId);
    if (sent !== undefined) {
      alerts.push(sent.messageId);
      continue;
    }
    const { subject, message } = regressionAlert(suite, outcome, comparison);
    const published = await deps.sns.send(
      new PublishCommand({
        TopicArn: deps.topicArn,
        Subject: subject,
        Message: message,
        // For subscription filter policies: one series, one instance type, one suite.
        MessageAttributes: {
          suite: { DataType: "String", StringValue: suite.name },
          series: { DataType: "String", StringValue: seriesOf(outcome) },
          instanceType: { DataType: "String", StringValue: outcome.instanceType },
          amiId: { DataType: "String", StringValue: outcome.amiId },
        },
      }),
    );
    // SNS always answers a successful Publish with a MessageId; the mark needs one to report again.
    const messageId = published.MessageId ?? "(no message id)";
    await putAlertSent(
      deps.dynamoDb,
      deps.tableName,
      alertSentRecord(suite.suiteRunId, outcome.benchmarkId, messageId, deps.now?.() ?? new Date()),
    );
    deps.publishMetrics(regressionMetricRecord(suite, outcome));
    alerts.push(messageId);
  }

  return {
    status,
    suiteRunId: suite.suiteRunId,
    benchmarks,
    succeeded: benchmarks.length - failedChildren,
    failed,
    skipped: event.skipped.length,
    unresolved: event.unresolved.length,
    regressions,
    alerts,
  };
}

async function outcomeOf(
  result: SuiteBenchmarkResult,
  thresholds: SummariseSuiteEvent["suite"]["regression"],
  deps: SummariseSuiteDeps,
): Promise<SuiteBenchmarkOutcome> {
  const benchmarkId = result.executionName;
  const summary = (await getItem(deps.dynamoDb, deps.tableName, {
    pk: benchmarkPk(benchmarkId),
    sk: SUMMARY_SK,
  })) as SummaryRecord | undefined;
  const ended = endOf(result, summary);
  const outcome: SuiteBenchmarkOutcome = {
    benchmarkId,
    image: result.image,
    amiId: summary?.amiId ?? result.amiId,
    imageName: summary?.image.name ?? result.imageName,
    instanceType: result.instanceType,
    status: ended.status,
    ...(result.alreadyRan !== undefined && { alreadyRan: true as const }),
  };
  if (result.control) outcome.control = true;
  const sourceParameter = summary?.sourceParameter ?? result.sourceParameter;
  if (sourceParameter !== undefined) outcome.sourceParameter = sourceParameter;
  // A summary's executionId is its execution's ARN: the one source for a child that had already run.
  const executionArn =
    result.execution?.executionArn ??
    childOf(result.failure?.Cause).executionArn ??
    (result.alreadyRan ? summary?.executionId : undefined);
  if (executionArn !== undefined) outcome.executionArn = executionArn;
  if (summary?.medians?.total !== undefined) outcome.total = summary.medians.total;
  if (ended.status === "failed") outcome.error = ended.error;
  if (summary === undefined || !hasSample(summary) || summary.countedRuns === 0) return outcome;
  let previous: SummaryRecord | undefined;
  if (result.control) {
    previous = await controlBaseline(summary, deps);
  } else if (summary.sourceParameter !== undefined) {
    previous = await newestBenchmarkOfSeries(deps.dynamoDb, deps.tableName, summary.sourceParameter, {
      accept: (candidate) => earlier(candidate, summary) && isComparableBaseline(summary, candidate),
    });
  }
  if (previous === undefined || !hasSample(previous)) return outcome;
  outcome.comparison = compareWithPrevious(summary, previous, thresholds);
  return outcome;
}

const earlier = (candidate: SummaryRecord, summary: SummaryRecord): boolean =>
  candidate.startedAt < summary.startedAt;

/** The newest summary of an image as a suite names it: an AMI's, or an SSM parameter's history. */
const newestBenchmarkOfImage = (image: ImageReference, search: SummarySearch, deps: SummariseSuiteDeps) =>
  "amiId" in image
    ? newestBenchmarkOfAmi(deps.dynamoDb, deps.tableName, image.amiId, search)
    : newestBenchmarkOfSeries(deps.dynamoDb, deps.tableName, image.parameter, search);

/** A control is compared with its own last benchmark, of the same series or (named by id) the same AMI. */
const controlBaseline = (summary: SummaryRecord, deps: SummariseSuiteDeps) =>
  newestBenchmarkOfImage(
    summary.sourceParameter === undefined ? { amiId: summary.amiId } : { parameter: summary.sourceParameter },
    { accept: (candidate) => earlier(candidate, summary) && isControlBaseline(summary, candidate) },
    deps,
  );

/** A control's benchmark and its change against its own last benchmark. */
interface ControlChange {
  benchmarkId: string;
  /** As the suite names it: an AMI id or an SSM parameter. */
  image: string;
  amiId: string;
  imageName: string;
  comparison: SeriesComparison;
}

function besideControl(outcome: SuiteBenchmarkOutcome, control: ControlChange): void {
  if (outcome.comparison === undefined) return;
  outcome.platform = {
    controlBenchmarkId: control.benchmarkId,
    controlImage: control.image,
    controlAmiId: control.amiId,
    controlImageName: control.imageName,
    control: control.comparison,
    drift: isPlatformDrift(outcome.comparison, control.comparison),
  };
}

/**
 * Puts each compared benchmark beside the control of its instance type in this suite run (the first
 * control target that has a comparison), and flags platform drift where the control regressed the
 * same way (regression.ts).
 */
function besideTheirControls(outcomes: SuiteBenchmarkOutcome[]): void {
  for (const outcome of outcomes) {
    if (outcome.control || outcome.comparison === undefined) continue;
    const control = outcomes.find(
      (candidate) =>
        candidate.control && candidate.instanceType === outcome.instanceType && candidate.comparison,
    );
    if (control?.comparison === undefined) continue;
    besideControl(outcome, { ...control, comparison: control.comparison });
  }
}

const DAY_MS = 86_400_000;

/**
 * Puts each compared benchmark that has no control of this suite run beside a control another suite
 * ran (suite.sharedControls): on its instance type, the newest benchmark of the first listed image
 * that has one started within the window (withinDays before this suite run, up to now) with a sample
 * and a baseline of its own, compared with that baseline by this suite's thresholds.
 */
async function besideSharedControls(
  outcomes: SuiteBenchmarkOutcome[],
  suite: SummariseSuiteEvent["suite"],
  deps: SummariseSuiteDeps,
): Promise<void> {
  const shared = suite.sharedControls;
  if (shared === undefined) return;
  const startedSince = new Date(Date.parse(suite.startedAt) - shared.withinDays * DAY_MS).toISOString();
  const controls = new Map<string, ControlChange | undefined>();
  for (const outcome of outcomes) {
    // A control of this suite run ran beside it, nearer in time than any other suite's: it stays.
    if (outcome.control || outcome.comparison === undefined || outcome.platform !== undefined) continue;
    if (!controls.has(outcome.instanceType)) {
      controls.set(
        outcome.instanceType,
        await sharedControlOn(outcome.instanceType, shared.images, startedSince, suite, deps),
      );
    }
    const control = controls.get(outcome.instanceType);
    if (control !== undefined) besideControl(outcome, control);
  }
}

async function sharedControlOn(
  instanceType: string,
  images: readonly string[],
  startedSince: string,
  suite: SummariseSuiteEvent["suite"],
  deps: SummariseSuiteDeps,
): Promise<ControlChange | undefined> {
  for (const image of images) {
    // The suite schema accepts only valid references.
    const reference = imageReferenceOf(image);
    if (reference === undefined) continue;
    const benchmark = await newestBenchmarkOfImage(
      reference,
      {
        startedSince,
        accept: (summary) =>
          summary.instanceType === instanceType && hasSample(summary) && summary.countedRuns > 0,
      },
      deps,
    );
    if (benchmark === undefined) continue;
    const baseline = await controlBaseline(benchmark, deps);
    if (baseline === undefined || !hasSample(baseline)) continue;
    return {
      benchmarkId: benchmark.benchmarkId,
      image,
      amiId: benchmark.amiId,
      imageName: benchmark.image.name,
      comparison: compareWithPrevious(benchmark, baseline, suite.regression),
    };
  }
  return undefined;
}

/**
 * A failed startExecution.sync:2 task reports `States.TaskFailed` with the child's description as JSON
 * in its Cause (Error, Cause, ExecutionArn…); other errors (e.g. the start itself failing) are plain.
 */
function childOf(cause: string | undefined): { executionArn?: string; error?: string; cause?: string } {
  if (cause === undefined) return {};
  try {
    const parsed = JSON.parse(cause) as Record<string, unknown>;
    return {
      ...(typeof parsed.ExecutionArn === "string" && { executionArn: parsed.ExecutionArn }),
      ...(typeof parsed.Error === "string" && { error: parsed.Error }),
      ...(typeof parsed.Cause === "string" && { cause: parsed.Cause }),
    };
  } catch {
    return {};
  }
}

type ChildEnd = { status: "succeeded" } | { status: "failed"; error: { name: string; message: string } };

/**
 * How the child ended: as its execution said, or, for a child that had already run, as its summary
 * says the benchmark flow ended (benchmarkEnd, the BenchmarkOutcome? rule).
 */
function endOf(result: SuiteBenchmarkResult, summary: SummaryRecord | undefined): ChildEnd {
  if (result.alreadyRan !== undefined) {
    if (summary === undefined) {
      return {
        status: "failed",
        error: {
          name: SuiteChildErrors.earlierChildUnsummarised,
          message:
            `an earlier execution named ${result.executionName} had already ended (this iteration ran again, ` +
            "in a redriven suite) and left no summary: it stopped before Summarise",
        },
      };
    }
    const ended = benchmarkEnd(summariseResultFrom(summary));
    if (ended.status === "succeeded") return ended;
    return {
      status: "failed",
      error: {
        name: ended.error,
        message:
          `${result.executionName} had already run (this iteration ran again, in a redriven suite); ` +
          `by its summary it ended with ${ended.error}`,
      },
    };
  }
  if (result.failure !== undefined) {
    const child = childOf(result.failure.Cause);
    if (child.error !== undefined) {
      return { status: "failed", error: { name: child.error, message: causeMessage(child.cause) } };
    }
    return {
      status: "failed",
      error: { name: result.failure.Error, message: causeMessage(result.failure.Cause) },
    };
  }
  if (result.execution?.status === "SUCCEEDED" && summary?.status === "succeeded") {
    return { status: "succeeded" };
  }
  return {
    status: "failed",
    error: {
      name: SuiteChildErrors.summaryMissing,
      message: "the child execution succeeded but left no successful summary",
    },
  };
}
