import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { getItem } from "../aws/benchmark-table.js";
import { markComparison, newestBenchmarkOfSeries, putSuiteRecord } from "../aws/suite-table.js";
import { benchmarkPk, causeMessage, SUMMARY_SK, type SummaryRecord } from "../domain/run-record.js";
import {
  compareWithPrevious,
  isSeriesPredecessor,
  regressionAlert,
  type SuiteBenchmarkOutcome,
  type SuiteBenchmarkResult,
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
  now?: () => Date;
}

/**
 * Closes a suite run: reads each child's summary, compares every new AMI of an SSM series with the
 * previous AMI of that series (same instance type and settings; BySource, newest first), marks the
 * comparison on the summary, writes the suite item, and publishes one alert per regression.
 *
 * The suite succeeds only when every child succeeded and every target resolved; a regression is a
 * result, not a failure.
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

  // Last, so that everything is recorded before anyone is told; a retried step may repeat an alert.
  const alerts: string[] = [];
  for (const outcome of regressions) {
    const comparison = outcome.comparison;
    if (comparison === undefined) continue;
    const { subject, message } = regressionAlert(suite, outcome, comparison);
    const published = await deps.sns.send(
      new PublishCommand({
        TopicArn: deps.topicArn,
        Subject: subject,
        Message: message,
        // For subscription filter policies: one series, one instance type, one suite.
        MessageAttributes: {
          suite: { DataType: "String", StringValue: suite.name },
          series: { DataType: "String", StringValue: outcome.sourceParameter ?? outcome.image },
          instanceType: { DataType: "String", StringValue: outcome.instanceType },
          amiId: { DataType: "String", StringValue: outcome.amiId },
        },
      }),
    );
    if (published.MessageId !== undefined) alerts.push(published.MessageId);
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
  const outcome: SuiteBenchmarkOutcome = {
    benchmarkId,
    image: result.image,
    amiId: summary?.amiId ?? result.amiId,
    imageName: summary?.image.name ?? result.imageName,
    instanceType: result.instanceType,
    status:
      result.execution?.status === "SUCCEEDED" && summary?.status === "succeeded" ? "succeeded" : "failed",
  };
  const sourceParameter = summary?.sourceParameter ?? result.sourceParameter;
  if (sourceParameter !== undefined) outcome.sourceParameter = sourceParameter;
  const executionArn = result.execution?.executionArn ?? childOf(result.failure?.Cause).executionArn;
  if (executionArn !== undefined) outcome.executionArn = executionArn;
  if (summary?.medians !== undefined) outcome.total = summary.medians.total;
  if (outcome.status === "failed") {
    outcome.error = errorOf(result);
    return outcome;
  }
  if (summary?.sourceParameter === undefined) return outcome;
  const previous = await newestBenchmarkOfSeries(
    deps.dynamoDb,
    deps.tableName,
    summary.sourceParameter,
    (candidate) => isSeriesPredecessor(summary, candidate),
  );
  const comparison = previous && compareWithPrevious(summary, previous, thresholds);
  if (comparison !== undefined) {
    outcome.comparison = comparison;
    await markComparison(deps.dynamoDb, deps.tableName, benchmarkId, comparison);
  }
  return outcome;
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

function errorOf(result: SuiteBenchmarkResult): { name: string; message: string } {
  if (result.failure === undefined) {
    return {
      name: "BootBench.SummaryMissing",
      message: "the child execution succeeded but left no successful summary",
    };
  }
  const child = childOf(result.failure.Cause);
  if (child.error !== undefined) return { name: child.error, message: causeMessage(child.cause) };
  return { name: result.failure.Error, message: causeMessage(result.failure.Cause) };
}
