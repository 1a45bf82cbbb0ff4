/**
 * `boot-bench run --local`: benchmarks images on the embedded local cloud through the stack's own
 * state machine and handlers, one execution per image, and reports what the table holds.
 */
import { randomUUID } from "node:crypto";
import { getItem, queryRuns } from "../functions/aws/benchmark-table.js";
import { benchmarkIdFor } from "../functions/domain/benchmark-identity.js";
import {
  benchmarkPk,
  type RunRecord,
  SUMMARY_SK,
  type SummaryRecord,
} from "../functions/domain/run-record.js";
import type { LocalPipeline } from "../local-cloud/local-pipeline.js";
import type { ExecutionOutcome, TaskFaults } from "../local-cloud/runner/local-state-machine.js";

export interface BenchmarkOutcome {
  image: string;
  execution: ExecutionOutcome;
  benchmarkId: string;
  summary?: SummaryRecord;
  runs: RunRecord[];
}

/** Runs one execution and reads back what it recorded. */
export async function runLocalBenchmark(
  pipeline: LocalPipeline,
  input: Record<string, unknown>,
  executionName: string = randomUUID(),
  overrides: { taskFaults?: TaskFaults } = {},
): Promise<BenchmarkOutcome> {
  const execution = await pipeline.stateMachine.startExecution(input, executionName, overrides).result;
  // Derived from the execution exactly as ValidateInput derives it, so a failed execution's runs are found too.
  const benchmarkId = benchmarkIdFor(execution.executionArn);
  const [summary, runs] = await Promise.all([
    getItem(pipeline.dynamoDb, pipeline.tableName, { pk: benchmarkPk(benchmarkId), sk: SUMMARY_SK }),
    queryRuns(pipeline.dynamoDb, pipeline.tableName, benchmarkId),
  ]);
  return {
    image: String(input.image),
    execution,
    benchmarkId,
    ...(summary && { summary: summary as unknown as SummaryRecord }),
    runs,
  };
}
