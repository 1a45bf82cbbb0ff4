/**
 * The account-wide cap on runs in flight. EC2's request buckets are per account and region
 * (ec2-request-buckets.ts), so fifty benchmarks started at once throttle each other and every other
 * workload of the account. Each run holds one of `slots` leases from before its RunInstances until its
 * instance is terminated: the items `RUNSLOTS / SLOT#nnnn` of the benchmark table, taken and given
 * back with conditional writes (functions/aws/run-slot-table.ts). A lease expires, so that an
 * execution that crashed or was stopped between the two cannot hold its slot for ever.
 *
 * A count alone does not bound the RunInstances rate: runs that fail at once (no capacity, an image
 * that does not exist) or boot fast give their slots back within seconds. So runs also start at most
 * once every RUN_START_SPACING_MS across the account: the item `RUNSLOTS / PACE` keeps the last start.
 */
import { EC2_TOKEN_BUCKETS } from "./ec2-request-buckets.js";

export const RUN_SLOTS_PK = "RUNSLOTS";
export const RUN_SLOT_SK_PREFIX = "SLOT#";
export const runSlotSk = (slot: number): string => `${RUN_SLOT_SK_PREFIX}${String(slot).padStart(4, "0")}`;
/** The item that paces run starts across the account (its `lastStartAt`). */
export const RUN_PACE_SK = "PACE";
/** Every attribute a run-slot item has: IAM lets the slot steps touch these and no others. */
export const RUN_SLOT_ATTRIBUTES: readonly string[] = [
  "pk",
  "sk",
  "itemType",
  "slot",
  "holder",
  "acquiredAt",
  "expiresAt",
  "lastStartAt",
];

/** Who holds a slot: one run of one benchmark. A retried acquire of the same run finds its own lease. */
export const runSlotHolder = (benchmarkId: string, runIndex: number): string =>
  `${benchmarkId}#${String(runIndex).padStart(4, "0")}`;

/** A slot as read from the table; a slot never taken has no item, one given back has no holder. */
export interface RunSlotLease {
  slot: number;
  holder?: string;
  /** Epoch ms after which the lease counts as abandoned and the slot as free. */
  expiresAt?: number;
}

/**
 * The slots a run may try to take now, in the order to try them: its own lease first (a retried
 * acquire whose first answer was lost must not take a second slot), then free slots and expired
 * leases in random order, so that runs acquiring at the same moment mostly try different items.
 * Slot numbers at or above `slots` (left from a larger cap) are never offered.
 */
export function slotsToTry(
  leases: readonly RunSlotLease[],
  slots: number,
  holder: string,
  now: number,
  random: () => number = Math.random,
): number[] {
  const bySlot = new Map(leases.map((lease) => [lease.slot, lease]));
  const own = leases.find((lease) => lease.slot < slots && lease.holder === holder);
  if (own !== undefined) return [own.slot];
  const free: number[] = [];
  for (let slot = 0; slot < slots; slot++) {
    const lease = bySlot.get(slot);
    if (lease?.holder === undefined || (lease.expiresAt ?? 0) <= now) free.push(slot);
  }
  for (let i = free.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [free[i], free[j]] = [free[j] as number, free[i] as number];
  }
  return free;
}

/**
 * What one run asks of the DescribeInstances bucket, the one a run leans on: the poll sends 10
 * requests a second while the instance is pending and nothing while it boots. Measured on the local
 * cloud at time scale 1 (`npm run load -- --benchmarks 1 --runs 4 --time-scale 1`, Debian's boot
 * profile): 171 DescribeInstances in four runs one after another that took 70.5 s, so 2.4 a second
 * on average over a run (43 a run, of about 18 s).
 */
export const DESCRIBE_CALLS_PER_RUN_SECOND = 2.4;
/**
 * The share of the account's EC2 request rate boot-bench allows itself by default: the other half is
 * left to whatever else runs in the account (the issue that made this cap).
 */
export const ACCOUNT_SHARE = 0.5;

/**
 * The default cap: as many runs as fit in ACCOUNT_SHARE of the DescribeInstances refill (20 a second):
 * floor(20 × 0.5 / 2.4) = 4. RunInstances (2 a second) allows far more: four runs of ~18 s start 0.2
 * launches a second. The bucket's burst (100) absorbs the moments when several runs poll at once.
 */
export const DEFAULT_RUN_SLOTS = Math.floor(
  (EC2_TOKEN_BUCKETS.describe.refillPerSecond * ACCOUNT_SHARE) / DESCRIBE_CALLS_PER_RUN_SECOND,
);
/**
 * The least time between two run starts in the account: ACCOUNT_SHARE of the RunInstances refill
 * (2 a second), so 1 s. Each run sends one RunInstances (more only when one is throttled or fails).
 */
export const RUN_START_SPACING_MS = 1000 / (EC2_TOKEN_BUCKETS.runInstances.refillPerSecond * ACCOUNT_SHARE);

/** The most spacing a context can ask for: a minute between starts. */
export const MAX_RUN_START_SPACING_MS = 60_000;

/** The most a context can ask for: a lease is one item, and the acquire step reads them all. */
export const MAX_RUN_SLOTS = 500;

/** How the step functions read the cap (RUN_SLOTS, RUN_SLOT_LEASE_SECONDS). */
export interface RunSlotSettings {
  slots: number;
  /** How long a lease lasts: the longest legitimate life of a run (infra/run-lifetime.ts) and more. */
  leaseSeconds: number;
  /** The least time between two run starts in the account (default RUN_START_SPACING_MS; 0: none). */
  startSpacingMs: number;
}

/** The environment the slot steps are deployed with. */
export const RUN_SLOTS_ENV = "RUN_SLOTS";
export const RUN_SLOT_LEASE_SECONDS_ENV = "RUN_SLOT_LEASE_SECONDS";
export const RUN_START_SPACING_MS_ENV = "RUN_START_SPACING_MS";

export function runSlotSettingsToEnvironment(settings: RunSlotSettings): Record<string, string> {
  return {
    [RUN_SLOTS_ENV]: String(settings.slots),
    [RUN_SLOT_LEASE_SECONDS_ENV]: String(settings.leaseSeconds),
    [RUN_START_SPACING_MS_ENV]: String(settings.startSpacingMs),
  };
}

export function runSlotSettingsFromEnvironment(
  slots: string,
  leaseSeconds: string,
  startSpacingMs: string,
): RunSlotSettings {
  const settings = {
    slots: Number(slots),
    leaseSeconds: Number(leaseSeconds),
    startSpacingMs: Number(startSpacingMs),
  };
  if (!Number.isInteger(settings.slots) || settings.slots < 1 || settings.slots > MAX_RUN_SLOTS) {
    throw new Error(`${RUN_SLOTS_ENV} must be a whole number from 1 to ${MAX_RUN_SLOTS}, got ${slots}`);
  }
  if (!Number.isInteger(settings.leaseSeconds) || settings.leaseSeconds < 1) {
    throw new Error(`${RUN_SLOT_LEASE_SECONDS_ENV} must be a whole number of seconds, got ${leaseSeconds}`);
  }
  if (
    startSpacingMs.trim() === "" ||
    !Number.isInteger(settings.startSpacingMs) ||
    settings.startSpacingMs < 0 ||
    settings.startSpacingMs > MAX_RUN_START_SPACING_MS
  ) {
    throw new Error(
      `${RUN_START_SPACING_MS_ENV} must be a whole number of milliseconds from 0 to ${MAX_RUN_START_SPACING_MS}, ` +
        `got ${startSpacingMs}`,
    );
  }
  return settings;
}
