import type { AcquireRunSlotEvent, AcquireRunSlotResult } from "../domain/contract.js";
import { RunSlotsBusyError } from "../domain/errors.js";
import { type RunSlotLease, type RunSlotSettings, runSlotHolder, slotsToTry } from "../domain/run-slots.js";

/** The run-slot items (functions/aws/run-slot-table.ts). */
export interface RunSlotStore {
  read(): Promise<RunSlotLease[]>;
  /** Takes the slot for the holder, or returns undefined when another run got there first. */
  take(slot: number, holder: string, now: number): Promise<AcquireRunSlotResult | undefined>;
  /** Claims the account's next run start; false when the last one was less than the spacing ago. */
  takeStart(now: number): Promise<boolean>;
}

export interface AcquireRunSlotDeps {
  store: RunSlotStore;
  settings: RunSlotSettings;
  now: () => number;
  random?: () => number;
}

/**
 * How often the slots are read again after every free one was taken by another run in between: runs
 * that start together race for the same few free slots, and a lost race is not a full house.
 */
const READ_ROUNDS = 3;

/**
 * Takes one of the account's run slots for this run before anything is sent to EC2, or throws
 * RunSlotsBusyError, on which the state machine waits and tries again: when every slot is held, or
 * when the account's last run started less than `startSpacingMs` ago. A retried invocation whose first
 * answer was lost finds its own lease and renews it, so a run never holds two slots (nor starts twice).
 */
export async function acquireRunSlot(
  event: AcquireRunSlotEvent,
  deps: AcquireRunSlotDeps,
): Promise<AcquireRunSlotResult> {
  const holder = runSlotHolder(event.benchmark.benchmarkId, event.run.runIndex);
  let held = 0;
  let startClaimed = false;
  for (let round = 0; round < READ_ROUNDS; round++) {
    const leases = await deps.store.read();
    const now = deps.now();
    const candidates = slotsToTry(leases, deps.settings.slots, holder, now, deps.random);
    held = deps.settings.slots - candidates.length;
    if (candidates.length === 0) break;
    const own = leases.some((lease) => lease.holder === holder && candidates.includes(lease.slot));
    // One start per acquire: a run that lost the race for the free slots keeps its claim for the next read.
    if (!own && !startClaimed) startClaimed = await deps.store.takeStart(now);
    if (!own && !startClaimed) {
      throw new RunSlotsBusyError(
        `a run of the account started less than ${deps.settings.startSpacingMs} ms ago: runs start at most ` +
          `once every ${deps.settings.startSpacingMs} ms (context runStartSpacingMs), so this run waits`,
      );
    }
    for (const slot of candidates) {
      const taken = await deps.store.take(slot, holder, now);
      if (taken !== undefined) return taken;
    }
  }
  throw new RunSlotsBusyError(
    `all ${deps.settings.slots} run slots of the account are held by other runs (${held} seen held at ` +
      "the last read): this run waits for one before it sends anything to EC2",
  );
}
