/**
 * Logs, metrics and traces of every boot-bench function, through Powertools for AWS Lambda. In Lambda
 * all three go where Lambda sends stdout and the X-Ray daemon: the log lines and the EMF records to
 * the function's log group (CloudWatch extracts the metrics), the segments to X-Ray.
 *
 * Each handler has a logger of its own ({@link observed}), as each function has in Lambda, so that the
 * local runner, which loads every handler into one process, keeps the Parallel's three branches' lines
 * apart. There stdout is the CLI's: the runner sets POWERTOOLS_LOG_LEVEL=SILENT and
 * POWERTOOLS_METRICS_DISABLED=true unless the caller set them (local-cloud/local-pipeline.ts). The
 * tracer is one per bundle: it wraps the SDK clients, which are (functions/aws/).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import type { MiddlewareObj } from "@middy/core";
import { type MetricRecord, runMetricRecord } from "../domain/boot-metrics.js";
import type { RunState } from "../domain/contract.js";
import type { RunRecord } from "../domain/run-record.js";

// Service name and namespace come from the function's environment (infra/constructs/benchmark-function.ts,
// POWERTOOLS_ENVIRONMENT), as every other setting does.
export const tracer = new Tracer();

/** A handler's own logger: one per handler module, as Lambda gives each function its own process. */
export const handlerLogger = (): Logger => new Logger();

/** What ties a log line (and a trace) to a run: on every line a step writes about one. */
export interface RunLogKeys {
  benchmarkId?: string;
  runIndex?: number;
  instanceId?: string;
  /** The suite steps work on a suite run, not on one benchmark. */
  suiteRunId?: string;
}

/** A step's keys: from its event, and from its result once it has one (the launch's instance id). */
export type RunLogKeysOf<E, R> = (event: E, result?: R) => RunLogKeys;

/** The keys of a step whose event carries them itself (the poll, the probe, the filmstrip). */
export const eventKeys = ({
  benchmarkId,
  runIndex,
  instanceId,
}: Required<Omit<RunLogKeys, "suiteRunId">>): RunLogKeys => ({
  benchmarkId,
  runIndex,
  instanceId,
});

/** The keys of a step that takes a Map iteration's whole state. */
export const runStateKeys = (state: RunState): RunLogKeys => ({
  benchmarkId: state.benchmark.benchmarkId,
  runIndex: state.run.runIndex,
  instanceId: state.launch?.instanceId,
});

const defined = (keys: RunLogKeys): RunLogKeys =>
  Object.fromEntries(Object.entries(keys).filter(([, value]) => value !== undefined));

export interface ObservedOptions {
  /** The handler's logger, when its plain function writes lines of its own (the sweeper). */
  logger?: Logger;
  /**
   * Errors the step throws by design for the state machine to retry (a run waiting for a run slot):
   * logged at INFO, so that ERROR lines are failures only.
   */
  expectedErrors?: readonly string[];
}

function runKeys<E, R>(
  logger: Logger,
  keysOf: RunLogKeysOf<E, R>,
  options: ObservedOptions,
): MiddlewareObj<E, R> {
  const annotate = (keys: RunLogKeys) => {
    logger.appendKeys({ ...keys });
    for (const [key, value] of Object.entries(keys)) tracer.putAnnotation(key, value as string | number);
  };
  return {
    before: (request) => annotate(defined(keysOf(request.event))),
    after: (request) => {
      annotate(defined(keysOf(request.event, request.response ?? undefined)));
      logger.info("step succeeded");
    },
    onError: (request) => {
      const error = request.error ?? new Error("unknown error");
      if (options.expectedErrors?.includes(error.name)) {
        logger.info("step ended with an expected error", {
          error: { name: error.name, message: error.message },
        });
      } else {
        logger.error("step failed", error);
      }
    },
  };
}

/**
 * The middlewares of every handler, outermost first: the Lambda context and, per invocation, the
 * run's keys on every log line (cleared after the invocation), the X-Ray segment with the keys as
 * annotations (the result stays in DynamoDB, not in the trace), and one line when the step ends.
 */
export function observed<E, R>(
  keysOf: RunLogKeysOf<E, R> = () => ({}),
  options: ObservedOptions = {},
): MiddlewareObj<E, R>[] {
  const logger = options.logger ?? handlerLogger();
  return [
    injectLambdaContext(logger, { resetKeys: true }) as MiddlewareObj<E, R>,
    captureLambdaHandler(tracer, { captureResponse: false }) as MiddlewareObj<E, R>,
    runKeys(logger, keysOf, options),
  ];
}

/**
 * Publishes one EMF record now: its own Metrics instance, so that invocations running at once in one
 * process (the local runner) never share a buffer, and a record is never held back to a later flush.
 */
export function publishMetricRecord(record: MetricRecord): void {
  const metrics = new Metrics();
  for (const [name, value] of Object.entries(record.dimensions)) metrics.addDimension(name, value);
  for (const metric of record.metrics) metrics.addMetric(metric.name, MetricUnit[metric.unit], metric.value);
  for (const [key, value] of Object.entries(record.metadata)) metrics.addMetadata(key, String(value));
  metrics.publishStoredMetrics();
}

/** A run's record, by the step that stored the run item. */
export const publishRunMetrics = (record: RunRecord): void => publishMetricRecord(runMetricRecord(record));
