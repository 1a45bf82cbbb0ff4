/**
 * The suite branch of the state machine. The payloads built here are the other half of
 * functions/domain/suite.ts: change both together.
 *
 *   DiscoverTargets → Benchmarks (Map, MaxConcurrencyPath $.concurrency)
 *                       └ RunBenchmark: startExecution.sync:2 of this same state machine with a
 *                         single-benchmark input (Catch → BenchmarkFailed, so one failed target
 *                         does not stop the others; ExecutionAlreadyExists → BenchmarkAlreadyRan)
 *                   → SummariseSuite → SuiteSucceeded? → Succeed | SuiteFailed
 *
 * Each benchmark is its own execution, so benchmark ids stay execution ids and the single flow is
 * untouched; the local runner runs the nested execution in process.
 */
import { Duration } from "aws-cdk-lib";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";
import { ErrorNames } from "../functions/domain/contract.js";
import { EC2_TRANSIENT_ERRORS } from "../functions/domain/ec2-errors.js";
import { EXECUTION_ALREADY_EXISTS } from "../functions/domain/suite.js";
import { invoke, type StepFunctions } from "./state-machine.js";

/** The optimised integration that starts an execution and waits for it, its Output as JSON. */
export const START_EXECUTION_SYNC = "arn:aws:states:::states:startExecution.sync:2";

/**
 * TimeoutSeconds of RunBenchmark, which waits for a whole child benchmark. Without one AWS would wait
 * for as long as the child runs (up to a year) and aws-local-stepfunctions 60 s, which any real
 * benchmark outlasts. The longest valid benchmark, 100 runs one after another with every Task at its
 * TimeoutSeconds, takes about 31 h before retries (test/infra/state-machine.test.ts checks the two
 * against each other); a child still running after a week has hung, and the suite should record it
 * as failed and close rather than wait on. A week also stays below the 24.8 days a Node.js timer can
 * hold, which is what aws-local-stepfunctions arms for it.
 */
export const RUN_BENCHMARK_TIMEOUT = Duration.days(7);

export function buildSuiteFlow(scope: Construct, fns: StepFunctions, selfArn: string): sfn.IChainable {
  const discoverTargets = invoke(scope, "DiscoverTargets", fns.discoverTargets, "dynamodb", {
    payload: sfn.TaskInput.fromObject({
      input: sfn.JsonPath.entirePayload,
      executionId: sfn.JsonPath.executionId,
      startTime: sfn.JsonPath.executionStartTime,
    }),
    // SSM (ThrottlingException, shared with DynamoDB's list), and EC2's throttling, server errors and
    // unanswered requests (DescribeImages: one passing 5xx must not cost a week's suite).
    extraRetryErrors: [...EC2_TRANSIENT_ERRORS],
  });

  const runBenchmark = new sfn.CustomState(scope, "RunBenchmark", {
    stateJson: {
      Type: "Task",
      Resource: START_EXECUTION_SYNC,
      Parameters: {
        StateMachineArn: selfArn,
        "Name.$": "$.executionName",
        "Input.$": "$.input",
      },
      TimeoutSeconds: RUN_BENCHMARK_TIMEOUT.toSeconds(),
      // The child's Output is the single flow's final state; the suite needs only this of it.
      ResultSelector: {
        "status.$": "$.Status",
        "executionArn.$": "$.ExecutionArn",
        "summary.$": "$.Output.summary",
      },
      ResultPath: "$.execution",
    },
  });
  // A redriven suite runs its unfinished iterations again, with the same child names (DiscoverTargets'
  // output is kept). StartExecution attaches to a running child of that name and input, but refuses a
  // closed one: that child already ran, and SummariseSuite takes its result from its summary item.
  runBenchmark.addCatch(new sfn.Pass(scope, "BenchmarkAlreadyRan"), {
    errors: [EXECUTION_ALREADY_EXISTS],
    resultPath: "$.alreadyRan",
  });
  runBenchmark.addCatch(new sfn.Pass(scope, "BenchmarkFailed"), {
    errors: [sfn.Errors.ALL],
    resultPath: "$.failure",
  });

  const benchmarks = new sfn.Map(scope, "Benchmarks", {
    itemsPath: "$.benchmarks",
    maxConcurrencyPath: "$.concurrency",
    resultPath: "$.results",
  }).itemProcessor(runBenchmark);

  const summariseSuite = invoke(scope, "SummariseSuite", fns.summariseSuite, "dynamodb", {
    payload: sfn.TaskInput.fromObject({
      suite: sfn.JsonPath.objectAt("$.suite"),
      results: sfn.JsonPath.listAt("$.results"),
      skipped: sfn.JsonPath.listAt("$.skipped"),
      unresolved: sfn.JsonPath.listAt("$.unresolved"),
    }),
    resultPath: "$.summary",
    // SNS: throttled or briefly unavailable.
    extraRetryErrors: ["Throttled", "ThrottledException", "InternalErrorException", "KMSThrottlingException"],
  });

  const suiteSucceeded = new sfn.Choice(scope, "SuiteSucceeded?")
    .when(sfn.Condition.stringEquals("$.summary.status", "succeeded"), new sfn.Succeed(scope, "SuiteDone"))
    .otherwise(
      new sfn.Fail(scope, "SuiteFailed", {
        error: ErrorNames.suiteIncomplete,
        cause:
          "At least one benchmark of the suite failed or one target could not be resolved; the suite item " +
          "(SUITE#<id>) and the benchmarks' summaries say which and why. The other benchmarks were recorded.",
      }),
    );

  return discoverTargets.next(benchmarks).next(summariseSuite).next(suiteSucceeded);
}
