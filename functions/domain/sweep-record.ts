/**
 * What the sweeper decides and stores. The sweeper is the last line of defence against leaked
 * instances (an execution stopped by hand, timed out, or a terminate step that gave up): it terminates
 * every instance with the stack's tag that is older than a bound, whatever the state machine thinks.
 * It deletes the stack's leftover EC2 key pairs (one per benchmark with guest timings) by the same bound.
 */
import type { ErrorInfo } from "./run-record.js";

export const SWEEP_PK_PREFIX = "SWEEP#";

/** One partition per UTC day, so a day's sweeps are one Query, newest last. */
export const sweepPk = (sweptAt: string): string => `${SWEEP_PK_PREFIX}${sweptAt.slice(0, 10)}`;
/** Time first so items sort by time; the invocation id keeps two sweeps in the same millisecond apart. */
export const sweepSk = (sweptAt: string, invocationId: string): string => `${sweptAt}#${invocationId}`;

/** States in which an instance still costs money or can still come up: what the sweeper ends. */
export const SWEEPABLE_STATES: readonly string[] = ["pending", "running", "stopping", "stopped"];

/** An instance the sweeper found, as DescribeInstances showed it. */
export interface TaggedInstance {
  instanceId: string;
  state: string;
  /** Epoch ms; EC2 reports whole seconds. */
  launchTime: number;
  benchmarkId?: string;
  runIndex?: number;
  clientToken?: string;
}

export interface SweptInstance {
  instanceId: string;
  /** The state it was in when the sweeper found it. */
  state: string;
  launchTime: string;
  ageSeconds: number;
  benchmarkId?: string;
  runIndex?: number;
  clientToken?: string;
}

export interface SweepFailure {
  instanceId: string;
  error: ErrorInfo;
}

/** A key pair the sweeper found, as DescribeKeyPairs showed it. */
export interface TaggedKeyPair {
  keyPairId: string;
  keyName: string;
  /** Epoch ms; EC2 reports whole seconds. */
  createTime: number;
  benchmarkId?: string;
}

export interface SweptKeyPair {
  keyName: string;
  keyPairId: string;
  createTime: string;
  ageSeconds: number;
  benchmarkId?: string;
}

export interface KeyPairSweepFailure {
  keyName: string;
  keyPairId: string;
  error: ErrorInfo;
}

export interface SweepRecord {
  pk: string;
  sk: string;
  itemType: "sweep";
  sweptAt: string;
  stackTag: string;
  maxAgeMinutes: number;
  trigger: "schedule" | "manual";
  invocationId: string;
  /** Instances with the stack tag in a sweepable state. */
  examined: number;
  terminated: SweptInstance[];
  failed: SweepFailure[];
  /** Key pairs with the stack tag (absent from items written before the sweeper deleted key pairs). */
  keyPairsExamined: number;
  keyPairsDeleted: SweptKeyPair[];
  keyPairsFailed: KeyPairSweepFailure[];
  /** DescribeKeyPairs failed (after retries): no key pair was looked at. */
  keyPairsDescribeError?: ErrorInfo;
}

/**
 * The instances at least `maxAgeMinutes` old at `now`, oldest first. EC2's LaunchTime has whole
 * seconds, so an age can read up to a second high; the bound is minutes, and a bound of 0 takes all.
 */
export function expiredInstances(
  instances: readonly TaggedInstance[],
  now: number,
  maxAgeMinutes: number,
): TaggedInstance[] {
  const cutoff = now - maxAgeMinutes * 60_000;
  return instances
    .filter((instance) => SWEEPABLE_STATES.includes(instance.state) && instance.launchTime <= cutoff)
    .sort((a, b) => a.launchTime - b.launchTime);
}

export function sweptInstance(instance: TaggedInstance, now: number): SweptInstance {
  const swept: SweptInstance = {
    instanceId: instance.instanceId,
    state: instance.state,
    launchTime: new Date(instance.launchTime).toISOString(),
    ageSeconds: Math.max(0, Math.round((now - instance.launchTime) / 1000)),
  };
  if (instance.benchmarkId !== undefined) swept.benchmarkId = instance.benchmarkId;
  if (instance.runIndex !== undefined) swept.runIndex = instance.runIndex;
  if (instance.clientToken !== undefined) swept.clientToken = instance.clientToken;
  return swept;
}

/**
 * The key pairs created at least `maxAgeMinutes` before `now`, oldest first: the instances' bound, so a
 * key pair younger than a run's longest life is never taken. That bound covers one run, not a whole
 * benchmark: a key pair lives from before the benchmark's first launch until its runs are done, and runs
 * go one after another (up to 100, each of which may wait hours for a run slot), so a benchmark still
 * running can hold a key pair older than the bound.
 */
export function expiredKeyPairs(
  keyPairs: readonly TaggedKeyPair[],
  now: number,
  maxAgeMinutes: number,
): TaggedKeyPair[] {
  const cutoff = now - maxAgeMinutes * 60_000;
  return keyPairs.filter((k) => k.createTime <= cutoff).sort((a, b) => a.createTime - b.createTime);
}

export function sweptKeyPair(keyPair: TaggedKeyPair, now: number): SweptKeyPair {
  const swept: SweptKeyPair = {
    keyName: keyPair.keyName,
    keyPairId: keyPair.keyPairId,
    createTime: new Date(keyPair.createTime).toISOString(),
    ageSeconds: Math.max(0, Math.round((now - keyPair.createTime) / 1000)),
  };
  if (keyPair.benchmarkId !== undefined) swept.benchmarkId = keyPair.benchmarkId;
  return swept;
}
