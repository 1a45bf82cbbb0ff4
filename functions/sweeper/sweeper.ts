import { type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import {
  DeleteKeyPairCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  type EC2Client,
  type Instance,
  type KeyPairInfo,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { DescribeExecutionCommand, type SFNClient } from "@aws-sdk/client-sfn";
import { getItem, marshallItem, retireGuestKey } from "../aws/benchmark-table.js";
import { type MetricRecord, SWEEP_METRICS } from "../domain/boot-metrics.js";
import { EC2_TRANSIENT_ERRORS } from "../domain/ec2-errors.js";
import { GUEST_KEY_SK } from "../domain/guest-timings.js";
import { TAG_BENCHMARK, TAG_RUN, TAG_STACK } from "../domain/instance-tags.js";
import { benchmarkPk, type ErrorInfo, errorInfoOf } from "../domain/run-record.js";
import {
  expiredInstances,
  expiredKeyPairs,
  type KeyPairSweepFailure,
  SWEEPABLE_STATES,
  type SweepFailure,
  type SweepRecord,
  type SweptInstance,
  type SweptKeyPair,
  sweepPk,
  sweepSk,
  sweptInstance,
  sweptKeyPair,
  type TaggedInstance,
  type TaggedKeyPair,
} from "../domain/sweep-record.js";
import type { Clock, Sleep } from "../shared/clock.js";

export interface SweepConfig {
  /** Value of the `boot-bench:stack` tag: only this stack's instances and key pairs are ever looked at. */
  stackTag: string;
  tableName: string;
  /** Instances (and key pairs) at least this old are terminated (deleted) by scheduled sweeps. */
  maxAgeMinutes: number;
}

export interface SweeperDeps {
  ec2: EC2Client;
  dynamodb: DynamoDBClient;
  /** Asks whether a key pair's benchmark still runs (DescribeExecution). */
  sfn: SFNClient;
  config: SweepConfig;
  clock: Clock;
  sleep: Sleep;
  /** One structured line per sweep, ERROR when an instance or a key pair could not be ended. */
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
  /** Key pairs with the stack tag. */
  keyPairsExamined: number;
  /** Of those, the ones older than the bound (deleted unless dryRun). */
  keyPairsExpired: SweptKeyPair[];
  /** Expired by age, but their benchmark still runs: kept. */
  keyPairsInUse: SweptKeyPair[];
  keyPairsDeleted: SweptKeyPair[];
  keyPairsFailed: KeyPairSweepFailure[];
  /** DescribeKeyPairs failed after retries: the instances were still swept, no key pair was. */
  keyPairsDescribeError?: ErrorInfo;
  /** The item written, when the sweep terminated or deleted something, or failed to. */
  record?: { pk: string; sk: string };
}

/** TerminateInstances takes up to 1,000 ids; smaller batches keep one bad id from failing many. */
const TERMINATE_BATCH = 50;
const RETRYABLE: ReadonlySet<string> = new Set(EC2_TRANSIENT_ERRORS);
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
 * Terminates every instance carrying this stack's tag that is older than the bound, then deletes the
 * stack's key pairs older than it (a benchmark's key pair outlives it when its delete failed or its
 * execution was stopped), and records what it did: one DynamoDB item per sweep that terminated or
 * deleted (or failed to) something, and one structured log line per sweep. It trusts nothing upstream:
 * an execution that was stopped, timed out or whose terminate step gave up leaves instances only this finds.
 *
 * Throws SweepIncompleteError after recording when an instance could not be terminated or a key pair
 * deleted, so the invocation counts as failed (Lambda's Errors metric) and the next sweep tries again.
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

  // After the instances, and never in their way: a key pair that cannot be listed or deleted costs
  // nothing, an instance left running does.
  const keys = await sweepKeyPairs(deps, now, maxAgeMinutes, dryRun);

  const result: SweepResult = {
    sweptAt,
    maxAgeMinutes,
    dryRun,
    examined: tagged.length,
    expired,
    terminated,
    failed,
    ...keys,
  };
  const keyPairFailures = keys.keyPairsFailed.length + (keys.keyPairsDescribeError ? 1 : 0);
  if (terminated.length > 0 || failed.length > 0 || keys.keyPairsDeleted.length > 0 || keyPairFailures > 0) {
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
      keyPairsExamined: keys.keyPairsExamined,
      keyPairsDeleted: keys.keyPairsDeleted,
      keyPairsFailed: keys.keyPairsFailed,
      ...(keys.keyPairsDescribeError && { keyPairsDescribeError: keys.keyPairsDescribeError }),
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
    keyPairsExamined: keys.keyPairsExamined,
    keyPairsExpired: keys.keyPairsExpired.length,
    keyPairsDeleted: keys.keyPairsDeleted.map(({ keyName, keyPairId, benchmarkId, ageSeconds }) => ({
      keyName,
      keyPairId,
      benchmarkId,
      ageSeconds,
    })),
    keyPairsFailed: keys.keyPairsFailed,
    ...(keys.keyPairsDescribeError && { keyPairsDescribeError: keys.keyPairsDescribeError }),
    record: result.record,
  };
  const incomplete = failed.length > 0 || keyPairFailures > 0;
  if (incomplete) deps.logger.error("boot-bench sweep", report);
  else deps.logger.info("boot-bench sweep", report);
  deps.publishMetrics(sweepMetricRecord(result));
  if (incomplete) {
    const reasons = [
      ...(failed.length > 0
        ? [`could not terminate ${failed.map((f) => `${f.instanceId} (${f.error.name})`).join(", ")}`]
        : []),
      ...(keys.keyPairsFailed.length > 0
        ? [
            `could not delete key pair ${keys.keyPairsFailed
              .map((f) => `${f.keyName} ${f.keyPairId} (${f.error.name})`)
              .join(", ")}`,
          ]
        : []),
      ...(keys.keyPairsDescribeError
        ? [`could not describe key pairs (${keys.keyPairsDescribeError.name})`]
        : []),
    ];
    throw new SweepIncompleteError(reasons.join("; "));
  }
  return result;
}

/**
 * A sweep's EMF record: how many instances had outlived the bound (each one the pipeline failed to
 * terminate in time; the stack alarms on any), how many it ended, how many key pairs it deleted, and
 * how many instances and key pairs it could not end (a DescribeKeyPairs that failed counts as one).
 */
export function sweepMetricRecord(result: SweepResult): MetricRecord {
  const count = (name: string, value: number) => ({ name, unit: "Count" as const, value });
  const failures =
    result.failed.length + result.keyPairsFailed.length + (result.keyPairsDescribeError ? 1 : 0);
  return {
    dimensions: {},
    metrics: [
      count(SWEEP_METRICS.instancesExpired, result.expired.length),
      count(SWEEP_METRICS.instancesSwept, result.terminated.length),
      count(SWEEP_METRICS.keyPairsDeleted, result.keyPairsDeleted.length),
      count(SWEEP_METRICS.sweepFailures, failures),
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

type KeyPairSweep = Pick<
  SweepResult,
  | "keyPairsExamined"
  | "keyPairsExpired"
  | "keyPairsInUse"
  | "keyPairsDeleted"
  | "keyPairsFailed"
  | "keyPairsDescribeError"
>;

/**
 * Whether a key pair's benchmark still runs: its guest key item names the execution, which Step
 * Functions describes. No item, a retired one, or an execution Step Functions no longer has: it does not.
 */
async function benchmarkStillRuns(deps: SweeperDeps, benchmarkId: string): Promise<boolean> {
  const item = await getItem(deps.dynamodb, deps.config.tableName, {
    pk: benchmarkPk(benchmarkId),
    sk: GUEST_KEY_SK,
  });
  if (item === undefined || item.retiredAt !== undefined || typeof item.executionId !== "string")
    return false;
  const { executionId } = item;
  try {
    const execution = await withRetries(deps, () =>
      deps.sfn.send(new DescribeExecutionCommand({ executionArn: executionId })),
    );
    return execution.status === "RUNNING" || execution.status === "PENDING_REDRIVE";
  } catch (error) {
    if (errorName(error) === "ExecutionDoesNotExist") return false;
    throw error;
  }
}

/** Describes the stack's key pairs and deletes those past the bound, one DeleteKeyPair each. */
async function sweepKeyPairs(
  deps: SweeperDeps,
  now: number,
  maxAgeMinutes: number,
  dryRun: boolean,
): Promise<KeyPairSweep> {
  const outcome: KeyPairSweep = {
    keyPairsExamined: 0,
    keyPairsExpired: [],
    keyPairsInUse: [],
    keyPairsDeleted: [],
    keyPairsFailed: [],
  };
  let tagged: TaggedKeyPair[];
  try {
    tagged = await describeTaggedKeyPairs(deps);
  } catch (error) {
    outcome.keyPairsDescribeError = errorInfoOf(error);
    return outcome;
  }
  outcome.keyPairsExamined = tagged.length;
  outcome.keyPairsExpired = expiredKeyPairs(tagged, now, maxAgeMinutes).map((k) => sweptKeyPair(k, now));
  if (dryRun) return outcome;
  for (const keyPair of outcome.keyPairsExpired) {
    try {
      // Older than a run, not necessarily than its benchmark: runs go one after another, and a key
      // pair deleted under a running benchmark fails its next launch (InvalidKeyPair.NotFound).
      if (keyPair.benchmarkId !== undefined && (await benchmarkStillRuns(deps, keyPair.benchmarkId))) {
        outcome.keyPairsInUse.push(keyPair);
        continue;
      }
      await withRetries(deps, () =>
        deps.ec2.send(new DeleteKeyPairCommand({ KeyPairId: keyPair.keyPairId })),
      );
      outcome.keyPairsDeleted.push(keyPair);
      if (keyPair.benchmarkId !== undefined) {
        await retireGuestKey(deps.dynamodb, deps.config.tableName, keyPair.benchmarkId, new Date(now));
      }
    } catch (error) {
      // Deleted meanwhile (the benchmark's own delete, late): nothing is left to delete.
      if (errorName(error) === "InvalidKeyPair.NotFound") continue;
      outcome.keyPairsFailed.push({
        keyName: keyPair.keyName,
        keyPairId: keyPair.keyPairId,
        error: errorInfoOf(error),
      });
    }
  }
  return outcome;
}

/** Every key pair with the stack tag. DescribeKeyPairs has no pages: it answers with all of them. */
async function describeTaggedKeyPairs(deps: SweeperDeps): Promise<TaggedKeyPair[]> {
  const page = await withRetries(deps, () =>
    deps.ec2.send(
      new DescribeKeyPairsCommand({
        Filters: [{ Name: `tag:${TAG_STACK}`, Values: [deps.config.stackTag] }],
      }),
    ),
  );
  return (page.KeyPairs ?? []).flatMap((k) => {
    const tagged = toTaggedKeyPair(k, deps.config.stackTag);
    return tagged ? [tagged] : [];
  });
}

function toTaggedKeyPair(keyPair: KeyPairInfo, stackTag: string): TaggedKeyPair | undefined {
  const tag = (key: string) => keyPair.Tags?.find((t) => t.Key === key)?.Value;
  const createTime = keyPair.CreateTime?.getTime();
  // As for instances: the filter did this already, and a foreign key pair stays safe from an endpoint
  // that ignores filters. Without a CreateTime its age is unknown, so it is left alone.
  if (
    keyPair.KeyPairId === undefined ||
    keyPair.KeyName === undefined ||
    createTime === undefined ||
    tag(TAG_STACK) !== stackTag
  )
    return undefined;
  const tagged: TaggedKeyPair = { keyPairId: keyPair.KeyPairId, keyName: keyPair.KeyName, createTime };
  const benchmarkId = tag(TAG_BENCHMARK);
  if (benchmarkId !== undefined) tagged.benchmarkId = benchmarkId;
  return tagged;
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
