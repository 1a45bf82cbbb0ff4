/**
 * `boot-bench run --local --suite <name>`: a suite on the embedded local cloud, through the same
 * state machine (its child executions run nested in process), reported as a deployed run is, plus the
 * alerts the local SNS stub received instead of delivering them.
 */

import { benchmarkIdFor } from "../functions/domain/benchmark-identity.js";
import type { LocalPipeline } from "../local-cloud/local-pipeline.js";
import type { ExecutionOutcome } from "../local-cloud/runner/local-state-machine.js";
import { readSuiteRun, suiteReport } from "./suite-report.js";

export interface LocalSuiteOutcome {
  execution: ExecutionOutcome;
  report: string;
  alerts: { subject?: string; message: string }[];
}

export async function runLocalSuite(
  pipeline: LocalPipeline,
  input: { suite: Record<string, unknown>; force?: boolean },
  executionName: string,
): Promise<LocalSuiteOutcome> {
  const alertsBefore = pipeline.localSns?.messages.length ?? 0;
  const execution = await pipeline.stateMachine.startExecution(input, executionName).result;
  const run = await readSuiteRun(
    pipeline.dynamoDb,
    pipeline.tableName,
    benchmarkIdFor(execution.executionArn),
  );
  const report = run
    ? suiteReport(run)
    : `The suite recorded nothing: ${execution.error ?? execution.status}: ${execution.cause ?? ""}`;
  const alerts = (pipeline.localSns?.messages ?? []).slice(alertsBefore);
  return {
    execution,
    report,
    alerts: alerts.map((a) => ({
      ...(a.subject !== undefined && { subject: a.subject }),
      message: a.message,
    })),
  };
}
