/**
 * The `boot-bench run` modes beyond benchmarking images locally (cli/commands/run.ts): a suite or an
 * input file on the local cloud, and anything against a deployed stack.
 */
import { readFileSync } from "node:fs";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SFNClient } from "@aws-sdk/client-sfn";
import { suites as configuredSuites } from "../config/suites.js";
import { parseSuiteExecutionInput } from "../functions/domain/suite-schema.js";
import { loadSuites, suiteInput } from "../infra/suites-schema.js";
import { checkFlagInputs } from "./benchmark-flags.js";
import { bootTable } from "./boot-table.js";
import { findDeployment, runDeployed } from "./deployed-run.js";
import { type LocalCloudFlags, localPipelineOptions, runLocalBenchmark } from "./local-benchmark.js";
import { runLocalSuite } from "./local-suite.js";
import { createProgressReporter, printBenchmarkIds } from "./progress.js";

export interface RunModeOptions extends LocalCloudFlags {
  image?: string[];
  input?: string;
  suite?: string;
  force?: boolean;
  port?: string;
  stack: string;
  stateMachineArn?: string;
  table?: string;
  pollInterval: string;
  name?: string;
  timeScale: string;
}

/** The execution input: `--suite` from config/suites.ts, `--input` from a file, or one image from flags. */
export function executionInput(
  options: RunModeOptions,
  fromFlags: (image: string) => Record<string, unknown>,
): Record<string, unknown> {
  const given = [
    options.suite !== undefined,
    options.input !== undefined,
    options.image !== undefined,
  ].filter(Boolean);
  if (given.length > 1) throw new Error("give one of --suite, --input and --image");
  if (options.suite !== undefined) {
    return suiteInput(
      loadSuites(configuredSuites),
      options.suite,
      options.force === true,
    ) as unknown as Record<string, unknown>;
  }
  if (options.input !== undefined) {
    const input: unknown = JSON.parse(readFileSync(options.input, "utf8"));
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      throw new Error(`${options.input} must hold a JSON object: a benchmark or { "suite": … }`);
    }
    const record = input as Record<string, unknown>;
    return options.force && "suite" in record ? { ...record, force: true } : record;
  }
  if (options.image === undefined || options.image.length !== 1) {
    throw new Error("a deployed run benchmarks one --image (or give --suite or --input)");
  }
  const input = fromFlags(options.image[0] as string);
  checkFlagInputs([input]);
  return input;
}

/** `boot-bench run` (no --local): one execution of the deployed state machine. */
export async function runDeployedMode(
  options: RunModeOptions,
  fromFlags: (image: string) => Record<string, unknown>,
): Promise<number> {
  const input = executionInput(options, fromFlags);
  const pollSeconds = Number(options.pollInterval);
  if (!(pollSeconds >= 1)) throw new Error("--poll-interval must be at least 1 second");
  const clients = {
    sfn: new SFNClient({}),
    cloudFormation: new CloudFormationClient({}),
    dynamoDb: new DynamoDBClient({}),
  };
  try {
    const deployment = await findDeployment(
      {
        stack: options.stack,
        ...(options.stateMachineArn !== undefined && { stateMachineArn: options.stateMachineArn }),
        ...(options.table !== undefined && { table: options.table }),
      },
      clients.cloudFormation,
    );
    return await runDeployed(
      input,
      deployment,
      clients,
      {
        out: (line) => console.log(line),
        err: (line) => console.error(line),
        pollMs: pollSeconds * 1000,
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        now: () => Date.now(),
      },
      options.name,
    );
  } finally {
    clients.sfn.destroy();
    clients.cloudFormation.destroy();
    clients.dynamoDb.destroy();
  }
}

/** `boot-bench run --local --suite <name>` or `--local --input file.json`: one execution on the local cloud. */
export async function runLocalInputMode(
  options: RunModeOptions,
  fromFlags: (image: string) => Record<string, unknown>,
): Promise<number> {
  const input = executionInput(options, fromFlags);
  const progress = createProgressReporter(process.stderr);
  const name = `local-${new Date().toISOString().replace(/[-:.TZ]/g, "")}-${Math.random().toString(36).slice(2, 8)}`;
  const { startLocalPipeline } = await import("../local-cloud/local-pipeline.js");
  const pipeline = await startLocalPipeline(
    localPipelineOptions(options, Number(options.timeScale), (executionName, event) => {
      // A suite's benchmarks are child executions: show each as it starts.
      if (event.type === "ExecutionStarted" && executionName !== name) {
        const child = event.input as { image?: string; instanceType?: string; runs?: number } | null;
        progress.started(
          executionName,
          `${child?.image ?? "?"} on ${child?.instanceType ?? "?"}`,
          child?.runs ?? 10,
        );
      }
      progress.onEvent(executionName, event);
    }),
  );
  try {
    const sshPort = pipeline.localAws?.cloud.sshPort;
    if ("suite" in input) {
      const parsed = parseSuiteExecutionInput(input);
      // Locally the instances' sshd listens on the local cloud's port, unless the suite or --port says otherwise.
      const port = options.port !== undefined ? Number(options.port) : (parsed.suite.port ?? sshPort);
      const localInput = { ...parsed, suite: { ...parsed.suite, ...(port !== undefined && { port }) } };
      progress.started(name, `suite ${parsed.suite.name}`, 0);
      const outcome = await runLocalSuite(pipeline, localInput, name).finally(progress.stop);
      console.log(outcome.report);
      for (const alert of outcome.alerts) {
        console.log(
          `\nAlert (the local SNS stub kept it; deployed, it goes to the AlertTopicArn topic):\n${alert.subject ?? ""}\n${alert.message}`,
        );
      }
      // The suite's own execution has no runs: the ids worth showing are its benchmarks'.
      printBenchmarkIds(progress.benchmarks().slice(1), options);
      return outcome.execution.status === "SUCCEEDED" ? 0 : 2;
    }
    const single: Record<string, unknown> = {
      ...(sshPort !== undefined && input.port === undefined && { port: sshPort }),
      ...input,
    };
    progress.started(name, String(single.image), Number(single.runs ?? 10));
    const outcome = await runLocalBenchmark(pipeline, single, name).finally(progress.stop);
    if (outcome.summary) console.log(bootTable([{ summary: outcome.summary }]));
    if (outcome.execution.status !== "SUCCEEDED") {
      console.log(`\nExecution ${outcome.execution.status} with ${outcome.execution.error ?? "no error"}`);
    }
    printBenchmarkIds(progress.benchmarks(), options);
    return outcome.execution.status === "SUCCEEDED" ? 0 : 2;
  } finally {
    await pipeline.close();
  }
}
