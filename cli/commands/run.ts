/**
 * `boot-bench run --local`: benchmark images on the embedded local cloud, through the stack's own
 * state machine definition and handlers, and print the result table with the measurement error that
 * only the local cloud can know.
 */
import { type Command, Option } from "commander";
import { causeMessage, type RunRecord, unrecordedSk } from "../../functions/domain/run-record.js";
import type { LocalPipeline } from "../../local-cloud/local-pipeline.js";
import { boundaryErrors, summariseErrors } from "../../local-cloud/measurement-error.js";
import { type BenchmarkFlags, checkFlagInputs, inputFromFlags } from "../benchmark-flags.js";
import { bootTable } from "../boot-table.js";
import { mapConcurrently } from "../concurrently.js";
import {
  type BenchmarkOutcome,
  LOCAL_NETWORK_FLAGS,
  type LocalCloudFlags,
  localPipelineOptions,
  runLocalBenchmark,
} from "../local-benchmark.js";
import { createProgressReporter, printBenchmarkIds } from "../progress.js";
import { DEFAULT_DATA_DIR } from "../results-table.js";
import { runNote } from "../results-view.js";

interface RunOptions extends BenchmarkFlags, LocalCloudFlags {
  local?: boolean;
  image?: string[];
  timeScale: string;
  parallel: string;
  // Suites, input files and deployed stacks (cli/run-modes.ts).
  input?: string;
  suite?: string;
  force?: boolean;
  stack: string;
  stateMachineArn?: string;
  table?: string;
  pollInterval: string;
  name?: string;
}

export function registerRunCommand(program: Command): void {
  program
    .command("run")
    .description("benchmark one or more images (each image is one execution of the state machine)")
    .addOption(new Option("--local", "run on the embedded local cloud (no AWS account needed)"))
    .option(
      "-i, --image <ref...>",
      "AMI id, SSM parameter path, or resolve:ssm:<path> (repeatable); default: the local catalogue",
    )
    .option("-t, --instance-type <type>", "EC2 instance type", "c7i.large")
    .option("-n, --runs <n>", "runs per image (the first is discarded unless --keep-first)", "5")
    .option("--keep-first", "count the first run too")
    .option("--user-data-file <file>", "user data passed to every instance")
    .option("--port <port>", "TCP port to probe (default: 22 in AWS; the local cloud's sshd port locally)")
    .option("--probe-interval-ms <ms>", "a new connect() every this many ms")
    .option("--running-timeout <s>", "give up waiting for state running after this many seconds")
    .option("--open-timeout <s>", "give up waiting for the port after this many seconds")
    .option("--concurrency <n>", "runs of one image at once (default 1: one after another)")
    .option("--label <label>", "a label stored with the benchmark")
    .option("--screenshots <fps>", "a boot filmstrip: console screenshots at 0.2 to 1 frames a second")
    .option(
      "--guest-timings",
      "log in once the port is open (a key pair made for the benchmark) and keep the guest's boot milestones",
    )
    .option("--time-scale <factor>", "local cloud: boot durations are multiplied by this", "0.1")
    .option("--parallel <n>", "local cloud: images benchmarked at once", "4")
    .option(
      "--data-dir <dir>",
      "local cloud: where DynamoDB keeps results between commands",
      DEFAULT_DATA_DIR,
    )
    .option("--in-memory", "local cloud: keep results in memory only")
    .option("--throttle", "local cloud: enforce EC2's API rate limits (token buckets)")
    .option(
      "--subnet-id <id...>",
      "local cloud: launch into these subnets (repeatable; default: the EC2 endpoint's default VPC's default subnets)",
    )
    .option(
      "--security-group-id <id>",
      "local cloud: the instances' security group (default: the default group of the subnets' VPC)",
    )
    .option("--suite <name>", "run a suite of config/suites.ts (see `boot-bench schedules`)")
    .option("--force", "suite: benchmark images again that already have a benchmark with the same settings")
    .option("--input <file>", 'a JSON execution input: one benchmark, or { "suite": … }')
    .option(
      "--stack <name>",
      "deployed: the stack whose StateMachineArn and TableName outputs to use",
      "BootBench",
    )
    .option("--state-machine-arn <arn>", "deployed: the state machine to start instead of the stack's")
    .option("--table <name>", "deployed: the results table instead of the stack's")
    .option("--poll-interval <s>", "deployed: seconds between progress polls", "5")
    .option("--name <name>", "deployed: the execution name, which becomes the benchmark id")
    .action(async (options: RunOptions) => {
      const fromFlags = (image: string) => inputFromFlags(image, options);
      if (!options.local) {
        const given = Object.entries(LOCAL_NETWORK_FLAGS).filter(
          ([key]) => options[key as keyof RunOptions] !== undefined,
        );
        if (given.length > 0) {
          throw new Error(
            `${given.map(([, flag]) => flag).join(" and ")} ${given.length === 1 ? "is" : "are"} only for --local: ` +
              "a deployed stack launches into its own VPC (context vpcId and subnetIds)",
          );
        }
        const { runDeployedMode } = await import("../run-modes.js");
        process.exitCode = await runDeployedMode(options, fromFlags);
      } else if (options.suite !== undefined || options.input !== undefined) {
        const { runLocalInputMode } = await import("../run-modes.js");
        process.exitCode = await runLocalInputMode(options, fromFlags);
      } else {
        process.exitCode = await runLocal(options);
      }
    });
}

async function runLocal(options: RunOptions): Promise<number> {
  const progress = createProgressReporter(process.stderr);
  // Loaded here, not at the top: the pipeline brings in the CDK (over a second), which every other
  // command (results, history, report) would otherwise pay for at startup.
  const { startLocalPipeline } = await import("../../local-cloud/local-pipeline.js");
  const pipeline = await startLocalPipeline(
    localPipelineOptions(options, numberOption("--time-scale", options.timeScale), progress.onEvent),
  );
  try {
    const images = options.image ?? defaultImages(pipeline);
    const sshPort = pipeline.localAws?.cloud.sshPort;
    const inputs = images.map((image) => inputFromFlags(image, options, sshPort));
    checkFlagInputs(inputs);
    let outcomes: BenchmarkOutcome[];
    try {
      outcomes = await mapConcurrently(inputs, numberOption("--parallel", options.parallel), (input) => {
        const name = `local-${new Date().toISOString().replace(/[-:.TZ]/g, "")}-${Math.random().toString(36).slice(2, 8)}`;
        progress.started(name, String(input.image), Number(input.runs));
        return runLocalBenchmark(pipeline, input, name);
      });
    } finally {
      progress.stop();
    }
    printResults(
      outcomes,
      pipeline,
      numberOption("--time-scale", options.timeScale),
      options.inMemory === true,
    );
    printBenchmarkIds(progress.benchmarks(), options);
    return outcomes.every((o) => o.execution.status === "SUCCEEDED") ? 0 : 2;
  } finally {
    await pipeline.close();
  }
}

/** The catalogue's current images that boot to an open port on x86_64, one per AMI. */
function defaultImages(pipeline: LocalPipeline): string[] {
  const catalogue = pipeline.localAws?.cloud.catalogue;
  if (!catalogue) throw new Error("--image is required when AWS_ENDPOINT_URL_EC2 names another local cloud");
  const seen = new Set<string>();
  const images: string[] = [];
  for (const parameter of catalogue.parameters()) {
    const amiId = parameter.versions.at(-1)?.value;
    const image = amiId === undefined ? undefined : catalogue.image(amiId);
    if (!image || seen.has(image.imageId) || image.architecture !== "x86_64") continue;
    if (image.boot.runningToNetwork === null || image.boot.networkToSsh === null) continue;
    seen.add(image.imageId);
    images.push(parameter.name);
  }
  return images;
}

function printResults(
  outcomes: BenchmarkOutcome[],
  pipeline: LocalPipeline,
  timeScale: number,
  inMemory: boolean,
): void {
  const cloud = pipeline.localAws?.cloud;
  const errorHeaders = cloud ? ["error running ms", "error closed ms", "error open ms"] : [];
  const rows = outcomes.flatMap((outcome) => {
    if (!outcome.summary) return [];
    return [
      {
        summary: outcome.summary,
        ...(cloud && { extra: errorColumns(outcome.runs, (id) => cloud.truth(id)) }),
      },
    ];
  });
  if (rows.length > 0) {
    console.log(bootTable(rows, errorHeaders));
    // The time scale is boot-bench's own cloud's; an endpoint it did not start boots at its own pace.
    console.log(
      "\nMedians of the counted runs, seconds." +
        (cloud
          ? ` Local cloud at time scale ${timeScale}: boots take ${timeScale}× their emulated length.`
          : ""),
    );
    if (cloud) {
      console.log(
        "error: median |observed - true| of each boundary over the counted runs, ms (p99 in brackets).",
      );
      // Owned by this cloud alone while it ran: no other local cloud on the machine answered its probes.
      console.log(
        `Instances on ${cloud.addressBlocks.join(", ")}, claimed by this local cloud for its life.`,
      );
    }
    console.log(
      "marked: counted runs with an integrity mark (left out of the medians); bracket p99: the widest " +
        "resolution of running, port closed and port open in 99 % of the counted runs.",
    );
  }
  for (const outcome of outcomes) {
    if (outcome.execution.status === "SUCCEEDED") continue;
    // Runs that failed, and runs that measured fine but left their instance running or were recorded late.
    const failedRuns = outcome.runs.filter(
      (run) => run.status !== "succeeded" || !run.terminated || run.recordError !== undefined,
    );
    console.log(
      `\n${outcome.image}: execution ${outcome.execution.status} with ${outcome.execution.error ?? "no error"}`,
    );
    console.log(`  ${causeMessage(outcome.execution.cause)}`);
    for (const run of failedRuns) {
      console.log(`  run ${run.runIndex}: ${run.status}; ${runNote(run)}`);
    }
    for (const run of outcome.summary?.unrecordedRuns ?? []) {
      console.log(
        `  run ${run.runIndex}: not recorded (${run.recordError.name}); its whole state is kept in item ` +
          `${unrecordedSk(run.runIndex)}: boot-bench results --runs ${outcome.benchmarkId} shows it`,
      );
    }
  }
  console.log(
    inMemory
      ? "\nResults were kept in memory only (--in-memory) and go when this command ends; without it they are kept in " +
          "--data-dir for `boot-bench results --local`."
      : `\nResults are in DynamoDB table ${pipeline.tableName}; query them with \`boot-bench results --local\`.`,
  );
}

function errorColumns(
  runs: RunRecord[],
  truthOf: (instanceId: string) => { runningAt?: number; networkUpAt?: number; sshUpAt?: number } | undefined,
): Record<string, string> {
  const errors = runs
    .filter((run) => run.counted && run.status === "succeeded" && run.instanceId)
    .map((run) => boundaryErrors(run.timestamps, truthOf(run.instanceId as string) ?? {}));
  const cell = (values: (number | undefined)[]) => {
    const summary = summariseErrors(values);
    return summary ? `${summary.medianAbsMs.toFixed(1)} (${summary.p99AbsMs.toFixed(1)})` : "-";
  };
  return {
    "error running ms": cell(errors.map((e) => e.running)),
    "error closed ms": cell(errors.map((e) => e.closed)),
    "error open ms": cell(errors.map((e) => e.open)),
  };
}

function numberOption(flag: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0)
    throw new Error(`${flag} must be a positive number, got ${JSON.stringify(value)}`);
  return parsed;
}
