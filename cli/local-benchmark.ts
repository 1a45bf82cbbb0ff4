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
import { NETWORK_IDS } from "../local-cloud/ec2/network.js";
import type { LocalPipeline, LocalPipelineOptions } from "../local-cloud/local-pipeline.js";
import type { ExecutionOutcome, TaskFaults } from "../local-cloud/runner/local-state-machine.js";

/** The flags of `run --local` that say which local cloud to run on, rather than what to benchmark. */
export interface LocalCloudFlags {
  dataDir: string;
  inMemory?: boolean;
  throttle?: boolean;
  subnetId?: string[];
  securityGroupId?: string;
}

/** The local cloud flags that a deployed run cannot honour: its stack decides where instances launch. */
export const LOCAL_NETWORK_FLAGS = {
  subnetId: "--subnet-id",
  securityGroupId: "--security-group-id",
} as const;

/**
 * The local pipeline the flags ask for. `--subnet-id` and `--security-group-id` are checked for form
 * here, before anything starts; whether they exist, the pipeline asks the EC2 endpoint.
 */
export function localPipelineOptions(
  flags: LocalCloudFlags,
  timeScale: number,
  onEvent: LocalPipelineOptions["onEvent"],
): LocalPipelineOptions {
  const problems: string[] = [];
  for (const id of flags.subnetId ?? []) {
    if (!NETWORK_IDS.subnet.pattern.test(id))
      problems.push(`--subnet-id: must be a subnet id, subnet- and 8 or 17 hex digits (got "${id}")`);
  }
  const group = flags.securityGroupId;
  if (group !== undefined && !NETWORK_IDS.securityGroup.pattern.test(group)) {
    problems.push(
      `--security-group-id: must be a security group id, sg- and 8 or 17 hex digits (got "${group}")`,
    );
  }
  if (problems.length > 0) {
    throw new Error(
      `the options do not say where to launch; nothing was started:\n  ${problems.join("\n  ")}`,
    );
  }
  return {
    ...(flags.inMemory ? {} : { dataDir: flags.dataDir }),
    cloud: { timeScale, ...(flags.throttle && { faults: { throttling: true } }) },
    network: {
      ...(flags.subnetId !== undefined && { subnetIds: flags.subnetId }),
      ...(flags.securityGroupId !== undefined && { securityGroupId: flags.securityGroupId }),
    },
    ...(onEvent && { onEvent }),
  };
}

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
