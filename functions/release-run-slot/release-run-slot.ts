import type { ReleaseRunSlotEvent, ReleaseRunSlotResult } from "../domain/contract.js";
import { type RunSlotLease, runSlotHolder } from "../domain/run-slots.js";

/** The run-slot items (functions/aws/run-slot-table.ts). */
export interface RunSlotReleaser {
  read(): Promise<RunSlotLease[]>;
  /** False when the holder no longer holds the slot. */
  release(slot: number, holder: string): Promise<boolean>;
}

/**
 * Gives the run's slot back once its instance is terminated (or could not be). Without the acquire
 * step's result (its answer was lost, or the run failed while acquiring) the run may still hold a
 * slot, so the slots are read and whatever it holds is given back. A slot whose lease expired and
 * was taken by another run stays with that run.
 */
export async function releaseRunSlot(
  event: ReleaseRunSlotEvent,
  deps: { store: RunSlotReleaser },
): Promise<ReleaseRunSlotResult> {
  const holder = runSlotHolder(event.benchmark.benchmarkId, event.run.runIndex);
  const held =
    event.slot !== undefined
      ? [event.slot.slot]
      : (await deps.store.read()).filter((lease) => lease.holder === holder).map((lease) => lease.slot);
  const releasedSlots: number[] = [];
  for (const slot of held) {
    if (await deps.store.release(slot, holder)) releasedSlots.push(slot);
  }
  return { releasedSlots };
}
