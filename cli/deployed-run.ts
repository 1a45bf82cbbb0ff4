/**
 * `boot-bench run` against a deployed stack: starts an execution of its state machine (a single
 * benchmark or a suite), shows live progress from the execution history, then prints what the table
 * holds. The state machine and table come from the stack's outputs (DescribeStacks) unless given.
 * Credentials, region and endpoints are the standard AWS configuration.
 */
import { type CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { getItem } from "../functions/aws/benchmark-table.js";
import { benchmarkIdFor } from "../functions/domain/benchmark-identity.js";
import { benchmarkPk, causeMessage, SUMMARY_SK, type SummaryRecord } from "../functions/domain/run-record.js";
import { bootTable } from "./boot-table.js";
import { PHASE_OF_STATE } from "./phases.js";
import { readSuiteRun, suiteReport } from "./suite-report.js";

export interface DeployedClients {
  sfn: SFNClient;
  cloudFormation: CloudFormationClient;
  dynamoDb: DynamoDBClient;
}

export interface Deployment {
  stateMachineArn: string;
  /** Absent when it could not be found: the results are then not printed. */
  tableName?: string;
}

async function stackOutputs(
  cloudFormation: CloudFormationClient,
  stackName: string,
): Promise<Record<string, string>> {
  const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs: Record<string, string> = {};
  for (const output of Stacks?.[0]?.Outputs ?? []) {
    if (output.OutputKey !== undefined && output.OutputValue !== undefined)
      outputs[output.OutputKey] = output.OutputValue;
  }
  return outputs;
}

/** The state machine (and table) to use: given explicitly, or the stack's outputs. */
export async function findDeployment(
  options: { stack: string; stateMachineArn?: string; table?: string },
  cloudFormation: CloudFormationClient,
): Promise<Deployment> {
  if (options.stateMachineArn !== undefined) {
    let tableName = options.table;
    if (tableName === undefined) {
      // Best effort: the table is only needed to print the results.
      tableName = await stackOutputs(cloudFormation, options.stack).then(
        (outputs) => outputs.TableName,
        () => undefined,
      );
    }
    return { stateMachineArn: options.stateMachineArn, ...(tableName !== undefined && { tableName }) };
  }
  const outputs = await stackOutputs(cloudFormation, options.stack);
  const stateMachineArn = outputs.StateMachineArn;
  if (stateMachineArn === undefined) {
    throw new Error(
      `Stack ${options.stack} has no StateMachineArn output; is it deployed? Or pass --state-machine-arn`,
    );
  }
  const tableName = options.table ?? outputs.TableName;
  return { stateMachineArn, ...(tableName !== undefined && { tableName }) };
}

export interface DeployedRunIo {
  out: (line: string) => void;
  err: (line: string) => void;
  pollMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

/** Turns execution history events into progress lines, remembering which Map iteration is current. */
export function progressDescriber(): (event: HistoryEvent) => string | undefined {
  let iteration: number | undefined;
  const nameOf = (arn: unknown) => (typeof arn === "string" ? arn.slice(arn.lastIndexOf(":") + 1) : "?");
  return (event) => {
    switch (event.type) {
      case "MapIterationStarted":
        iteration = event.mapIterationStartedEventDetails?.index;
        return undefined;
      case "TaskStateEntered":
      case "ParallelStateEntered": {
        const phase = PHASE_OF_STATE[event.stateEnteredEventDetails?.name ?? ""];
        if (phase === undefined) return undefined;
        const inRun = ["LaunchInstance", "Observe", "TerminateInstance", "RecordRun"].includes(
          event.stateEnteredEventDetails?.name ?? "",
        );
        return inRun && iteration !== undefined ? `run ${iteration + 1}: ${phase}` : phase;
      }
      case "TaskSubmitted":
      case "TaskSucceeded":
      case "TaskFailed": {
        const details =
          event.taskSubmittedEventDetails ?? event.taskSucceededEventDetails ?? event.taskFailedEventDetails;
        if (details?.resourceType !== "states") return undefined;
        if (event.type === "TaskFailed") {
          const cause = event.taskFailedEventDetails?.cause;
          let child: { ExecutionArn?: string; Error?: string } = {};
          try {
            child = JSON.parse(cause ?? "{}");
          } catch {
            // A plain cause: the child could not even start.
          }
          return `benchmark ${nameOf(child.ExecutionArn)} failed: ${child.Error ?? event.taskFailedEventDetails?.error ?? "?"}`;
        }
        const output = (event.taskSubmittedEventDetails ?? event.taskSucceededEventDetails)?.output;
        let arn: string | undefined;
        try {
          arn = (JSON.parse(output ?? "{}") as { ExecutionArn?: string }).ExecutionArn;
        } catch {
          arn = undefined;
        }
        return event.type === "TaskSubmitted"
          ? `started benchmark ${nameOf(arn)}`
          : `benchmark ${nameOf(arn)} succeeded`;
      }
      case "ExecutionFailed":
        return `failed: ${event.executionFailedEventDetails?.error ?? "?"}: ${causeMessage(event.executionFailedEventDetails?.cause)}`;
      case "ExecutionSucceeded":
        return "succeeded";
      default:
        return undefined;
    }
  };
}

/** Every history event after `afterId`, oldest first. */
async function newEvents(sfn: SFNClient, executionArn: string, afterId: number): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        maxResults: 1000,
        includeExecutionData: true,
        nextToken,
      }),
    );
    events.push(...(page.events ?? []).filter((event) => (event.id ?? 0) > afterId));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return events;
}

/**
 * Starts the execution, follows it until it ends, prints the results.
 * @returns the exit code: 0 when the execution succeeded, 2 when it failed, timed out or was aborted.
 */
export async function runDeployed(
  input: Record<string, unknown>,
  deployment: Deployment,
  clients: DeployedClients,
  io: DeployedRunIo,
  name?: string,
): Promise<number> {
  const started = await clients.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: deployment.stateMachineArn,
      input: JSON.stringify(input),
      ...(name !== undefined && { name }),
    }),
  );
  const executionArn = started.executionArn as string;
  const isSuite = "suite" in input;
  io.err(`started ${isSuite ? "suite" : "benchmark"} execution ${executionArn}`);
  const startedAt = io.now();
  const describe = progressDescriber();
  let lastId = 0;
  let execution: DescribeExecutionCommandOutput;
  for (;;) {
    execution = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    for (const event of await newEvents(clients.sfn, executionArn, lastId)) {
      lastId = Math.max(lastId, event.id ?? 0);
      const line = describe(event);
      if (line !== undefined) io.err(`[+${((io.now() - startedAt) / 1000).toFixed(0)}s] ${line}`);
    }
    if (execution.status !== "RUNNING") break;
    await io.sleep(io.pollMs);
  }

  const id = benchmarkIdFor(executionArn);
  if (deployment.tableName === undefined) {
    io.out(`Execution ${execution.status}; pass --table (or --stack) to print the results.`);
    if (execution.output) io.out(execution.output);
  } else if (isSuite) {
    const run = await readSuiteRun(clients.dynamoDb, deployment.tableName, id);
    io.out(
      run
        ? suiteReport(run)
        : `No suite item SUITE#${id} in ${deployment.tableName}: the suite did not get that far.`,
    );
  } else {
    const summary = (await getItem(clients.dynamoDb, deployment.tableName, {
      pk: benchmarkPk(id),
      sk: SUMMARY_SK,
    })) as SummaryRecord | undefined;
    if (summary) io.out(bootTable([{ summary }]));
    io.out(
      `\nBenchmark ${id}: query it with \`boot-bench results --stack …\` or in table ${deployment.tableName}.`,
    );
  }
  if (execution.status === "SUCCEEDED") return 0;
  io.out(
    `\nExecution ${execution.status}${execution.error ? ` with ${execution.error}` : ""}: ${causeMessage(execution.cause)}`,
  );
  return 2;
}
