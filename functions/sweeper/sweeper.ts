import { type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import {
  DescribeInstancesCommand,
  type EC2Client,
  type Instance,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { marshallItem } from "../aws/benchmark-table.js";
import { type MetricRecord, SWEEP_METRICS } from "../domain/boot-metrics.js";
import { TAG_BENCHMARK, TAG_RUN, TAG_STACK } from "../domain/instance-tags.js";
import { errorInfoOf } from "../domain/run-record.js";
import {
  expiredInstances,
  SWEEPABLE_STATES,
  type SweepFailure,
  type SweepRecord,
  type SweptInstance,
  sweepPk,
  sweepSk,
  sweptInstance,
  type TaggedInstance,
} from "../domain/sweep-record.js";
import type { Clock, Sleep } from "../shared/clock.js";

export interface SweepConfig {
  /** Value of the `boot-bench:stack` tag: only this stack's instances are ever looked at. */
  stackTag: string;
  tableName: string;
  /** Instances at least this old are terminated (scheduled sweeps). */
  maxAgeMinutes: number;
}

export interface SweeperDeps {
  ec2: EC2Client;
  dynamodb: DynamoDBClient;
  config: SweepConfig;
  clock: Clock;
  sleep: Sleep;
  /** One structured line per sweep, ERROR when an instance could not be terminated. */
  logger: SweepLogger;
  /** The sweep's EMF record ({@link sweepMetricRecord}), also when the sweep then fails. */
  publishMetrics: (record: MetricRecord) => void;
  /** Lambda's request id: names the sweep in its record. */
  invocationId: string;
  /** Uniform [0, 1) for backoff jitter. */
  random?: () => number;
}

/**
 * What starts a sweep: EventBridge's scheduled event (whose fields are ignored), or a manual
 * invocation that may lower the bound (`{"maxAgeMinutes": 0}` after stopping executions by hand:
 * it also ends the instances of benchmarks still running) or only report (`dryRun`).
 */
/** The part of the function's logger (Powertools) a sweep writes with. */
export interface SweepLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface SweepEvent {
  maxAgeMinutes?: number;
  dryRun?: boolean;
  source?: string;
  "detail-type"?: string;
  [key: string]: unknown;
}

export interface SweepResult {
  sweptAt: string;
  maxAgeMinutes: number;
  dryRun: boolean;
  /** Instances with the stack tag in a sweepable state. */
  examined: number;
  /** Of those, the ones older than the bound (terminated unless dryRun). */
  expired: SweptInstance[];
  terminated: SweptInstance[];
  failed: SweepFailure[];
  /** The item written, when the sweep terminated something or failed to. */
  record?: { pk: string; sk: string };
}

/** TerminateInstances takes up to 1,000 ids; smaller batches keep one bad id from failing many. */
const TERMINATE_BATCH = 50;
const RETRYABLE = new Set(["RequestLimitExceeded", "InternalError", "Unavailable", "ServiceUnavailable"]);
const MAX_ATTEMPTS = 8;
const BASE_DELAY_MS = 250;
const MAX_DELAY_MS = 8_000;

const errorName = (error: unknown): string => (error instanceof Error ? error.name : "Error");

export class SweepIncompleteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BootBench.SweepIncomplete";
  }
}

/**
 * Terminates every instance carrying this stack's tag that is older than the bound, and records
 * what it did: one DynamoDB item per sweep that terminated (or failed to terminate) something, and
 * one structured log line per sweep. It trusts nothing upstream: an execution that was stopped, timed
 * out or whose terminate step gave up leaves instances only this finds.
 *
 * Throws SweepIncompleteError after recording when an instance could not be terminated, so the
 * invocation counts as failed (Lambda's Errors metric) and the next sweep tries again.
 */
export async function sweep(event: SweepEvent, deps: SweeperDeps): Promise<SweepResult> {
  const maxAgeMinutes = boundOf(event, deps.config.maxAgeMinutes);
  const dryRun = event.dryRun === true;
  const trigger =
    event.source === "aws.events" || event["detail-type"] === "Scheduled Event" ? "schedule" : "manual";
  const now = deps.clock();
  const sweptAt = new Date(now).toISOString();

  const tagged = await describeTagged(deps);
  const expired = expiredInstances(tagged, now, maxAgeMinutes).map((instance) =>
    sweptInstance(instance, now),
  );
  const terminated: SweptInstance[] = [];
  const failed: SweepFailure[] = [];
  if (!dryRun) {
    for (let i = 0; i < expired.length; i += TERMINATE_BATCH) {
      const batch = expired.slice(i, i + TERMINATE_BATCH);
      const outcome = await terminate(deps, batch);
      terminated.push(...outcome.terminated);
      failed.push(...outcome.failed);
    }
  }

  const result: SweepResult = {
    sweptAt,
    maxAgeMinutes,
    dryRun,
    examined: tagged.length,
    expired,
    terminated,
    failed,
  };
  if (terminated.length > 0 || failed.length > 0) {
    const record: SweepRecord = {
      pk: sweepPk(sweptAt),
      sk: sweepSk(sweptAt, deps.invocationId),
      itemType: "sweep",
      sweptAt,
      stackTag: deps.config.stackTag,
      maxAgeMinutes,
      trigger,
      invocationId: deps.invocationId,
      examined: tagged.length,
      terminated,
      failed,
    };
    await deps.dynamodb.send(
      new PutItemCommand({ TableName: deps.config.tableName, Item: marshallItem(record) }),
    );
    result.record = { pk: record.pk, sk: record.sk };
  }
  const report = {
    stackTag: deps.config.stackTag,
    trigger,
    maxAgeMinutes,
    dryRun,
    examined: tagged.length,
    expired: expired.length,
    terminated: terminated.map(({ instanceId, benchmarkId, runIndex, ageSeconds }) => ({
      instanceId,
      benchmarkId,
      runIndex,
      ageSeconds,
    })),
    failed,
    record: result.record,
  };
  if (failed.length > 0) deps.logger.error("boot-bench sweep", report);
  else deps.logger.info("boot-bench sweep", report);
  deps.publishMetrics(sweepMetricRecord(result));
  if (failed.length > 0) {
    throw new SweepIncompleteError(
      `could not terminate ${failed.map((f) => `${f.instanceId} (${f.error.name})`).join(", ")}`,
    );
  }
  return result;
}

/**
 * A sweep's EMF record: how many instances had outlived the bound (each one the pipeline failed to
 * terminate in time; the stack alarms on any), how many it ended, and how many it could not.
 */
export function sweepMetricRecord(result: SweepResult): MetricRecord {
  const count = (name: string, value: number) => ({ name, unit: "Count" as const, value });
  return {
    dimensions: {},
    metrics: [
      count(SWEEP_METRICS.instancesExpired, result.expired.length),
      count(SWEEP_METRICS.instancesSwept, result.terminated.length),
      count(SWEEP_METRICS.sweepFailures, result.failed.length),
    ],
    metadata: { maxAgeMinutes: result.maxAgeMinutes, dryRun: String(result.dryRun) },
  };
}

/** `MAX_AGE_MINUTES` as the stack sets it. */
export function parseMaxAgeMinutes(value: string): number {
  const minutes = Number(value);
  if (value.trim() === "" || !Number.isFinite(minutes) || minutes < 0) {
    throw new Error(`MAX_AGE_MINUTES must be a number of minutes >= 0, got ${JSON.stringify(value)}`);
  }
  return minutes;
}

function boundOf(event: SweepEvent, configured: number): number {
  if (event.maxAgeMinutes === undefined) return configured;
  const bound = event.maxAgeMinutes;
  if (typeof bound !== "number" || !Number.isFinite(bound) || bound < 0) {
    throw new Error(`maxAgeMinutes must be a number of minutes >= 0, got ${JSON.stringify(bound)}`);
  }
  return bound;
}

/** Every instance with the stack tag that is not already going away, all pages. */
async function describeTagged(deps: SweeperDeps): Promise<TaggedInstance[]> {
  const found: TaggedInstance[] = [];
  let nextToken: string | undefined;
  do {
    const page = await withRetries(deps, () =>
      deps.ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: `tag:${TAG_STACK}`, Values: [deps.config.stackTag] },
            { Name: "instance-state-name", Values: [...SWEEPABLE_STATES] },
          ],
          MaxResults: 1000,
          NextToken: nextToken,
        }),
      ),
    );
    for (const reservation of page.Reservations ?? []) {
      for (const instance of reservation.Instances ?? []) {
        const tagged = toTagged(instance, deps.config.stackTag);
        if (tagged) found.push(tagged);
      }
    }
    nextToken = page.NextToken;
  } while (nextToken !== undefined && nextToken !== "");
  return found;
}

function toTagged(instance: Instance, stackTag: string): TaggedInstance | undefined {
  const tag = (key: string) => instance.Tags?.find((t) => t.Key === key)?.Value;
  const launchTime = instance.LaunchTime?.getTime();
  // The filter already did this; checking again costs nothing and keeps a foreign instance safe
  // from an endpoint that ignores filters.
  if (instance.InstanceId === undefined || launchTime === undefined || tag(TAG_STACK) !== stackTag)
    return undefined;
  const tagged: TaggedInstance = {
    instanceId: instance.InstanceId,
    state: instance.State?.Name ?? "unknown",
    launchTime,
  };
  const benchmarkId = tag(TAG_BENCHMARK);
  if (benchmarkId !== undefined) tagged.benchmarkId = benchmarkId;
  const runIndex = Number(tag(TAG_RUN));
  if (tag(TAG_RUN) !== undefined && Number.isInteger(runIndex)) tagged.runIndex = runIndex;
  if (instance.ClientToken) tagged.clientToken = instance.ClientToken;
  return tagged;
}

async function terminate(
  deps: SweeperDeps,
  batch: SweptInstance[],
): Promise<{ terminated: SweptInstance[]; failed: SweepFailure[] }> {
  try {
    await withRetries(deps, () =>
      deps.ec2.send(new TerminateInstancesCommand({ InstanceIds: batch.map((i) => i.instanceId) })),
    );
    return { terminated: batch, failed: [] };
  } catch (error) {
    if (batch.length === 1) {
      // Gone between describe and terminate: nothing is left to end.
      if (errorName(error) === "InvalidInstanceID.NotFound") return { terminated: [], failed: [] };
      const [only] = batch as [SweptInstance];
      return {
        terminated: [],
        failed: [{ instanceId: only.instanceId, error: errorInfoOf(error) }],
      };
    }
  }
  // One id failed the whole call (gone already, or not ours after all): go one by one.
  const terminated: SweptInstance[] = [];
  const failed: SweepFailure[] = [];
  for (const instance of batch) {
    const outcome = await terminate(deps, [instance]);
    terminated.push(...outcome.terminated);
    failed.push(...outcome.failed);
  }
  return { terminated, failed };
}

/** The shared EC2 client does not retry; throttling and 5xx are retried here with full jitter. */
async function withRetries<T>(deps: SweeperDeps, call: () => Promise<T>): Promise<T> {
  const random = deps.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !RETRYABLE.has(errorName(error))) throw error;
      await deps.sleep(random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1)));
    }
  }
}
