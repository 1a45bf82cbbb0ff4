/**
 * The run-slot steps against dynalite (a real DynamoDB implementation: conditional writes and
 * consistent reads as DynamoDB does them), and with collaborators that fail on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireRunSlot, type RunSlotStore } from "../../functions/acquire-run-slot/acquire-run-slot.js";
import {
  readRunSlots,
  releaseRunSlot as releaseSlotItem,
  takeRunSlot,
  takeRunStart,
} from "../../functions/aws/run-slot-table.js";
import type { AcquireRunSlotResult, RunState } from "../../functions/domain/contract.js";
import { RunSlotsBusyError } from "../../functions/domain/errors.js";
import { runSlotHolder } from "../../functions/domain/run-slots.js";
import { type RunSlotReleaser, releaseRunSlot } from "../../functions/release-run-slot/release-run-slot.js";
import { succeededRunState } from "../domain/run-state-fixtures.js";
import { type SeededTable, startSeededTable } from "../support/results-dynamodb.js";

let table: SeededTable;
beforeAll(async () => {
  table = await startSeededTable([]);
});
afterAll(async () => {
  await table?.close();
});

const LEASE_SECONDS = 600;
const SPACING_MS = 1000;
/** A clock that only moves forward, by more than the spacing between two starts unless told otherwise. */
let clock = 1_800_000_000_000;
const later = (ms = 10_000): number => {
  clock += ms;
  return clock;
};

const runState = (benchmarkId: string, runIndex: number, slot?: AcquireRunSlotResult): RunState => {
  const { slot: _slot, ...state } = succeededRunState(runIndex);
  return {
    ...state,
    benchmark: { ...state.benchmark, benchmarkId },
    run: { ...state.run, runIndex },
    ...(slot !== undefined && { slot }),
  };
};

const store = (spacingMs = SPACING_MS): RunSlotStore & RunSlotReleaser => ({
  read: () => readRunSlots(table.client, table.tableName),
  take: (slot, holder, now) =>
    takeRunSlot(table.client, table.tableName, { slot, holder, now, leaseSeconds: LEASE_SECONDS }),
  takeStart: (now) => takeRunStart(table.client, table.tableName, { now, spacingMs }),
  release: (slot, holder) => releaseSlotItem(table.client, table.tableName, { slot, holder }),
});

const acquire = (
  benchmarkId: string,
  runIndex: number,
  slots: number,
  now: () => number = () => later(),
  spacingMs = SPACING_MS,
) =>
  acquireRunSlot(runState(benchmarkId, runIndex), {
    store: store(spacingMs),
    settings: { slots, leaseSeconds: LEASE_SECONDS, startSpacingMs: spacingMs },
    now,
  });

const release = (benchmarkId: string, runIndex: number, slot?: AcquireRunSlotResult) =>
  releaseRunSlot(runState(benchmarkId, runIndex, slot), { store: store() });

const heldSlots = async () =>
  (await readRunSlots(table.client, table.tableName)).filter((lease) => lease.holder !== undefined);

describe("acquiring a run slot", () => {
  it("gives each of 20 runs racing for 4 slots a slot of its own or RunSlotsBusy, never a shared one", async () => {
    // No spacing between starts here: the race for the slots themselves.
    const at = later();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => acquire("race", i, 4, () => at, 0)),
    );
    const taken = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value.slot] : []));
    const refused = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason] : []));
    expect(taken.sort()).toEqual([0, 1, 2, 3]);
    expect(refused).toHaveLength(16);
    for (const error of refused) {
      expect(error).toBeInstanceOf(RunSlotsBusyError);
      expect((error as Error).name).toBe("BootBench.RunSlotsBusy");
      expect((error as Error).message).toMatch(/all 4 run slots of the account are held by other runs/);
    }
    const holders = (await heldSlots()).map((lease) => lease.holder);
    expect(new Set(holders).size).toBe(4);
    for (const holder of holders) expect(holder).toMatch(/^race#00\d\d$/);
    for (let i = 0; i < 20; i++) await release("race", i);
    expect(await heldSlots()).toEqual([]);
  });

  it("hands a retried acquire the slot its run already holds, renewing the lease", async () => {
    const first = await acquire("retry", 0, 4);
    // Within the spacing: a retry is no new start, so it is not held back.
    const at = later(10);
    const again = await acquire("retry", 0, 4, () => at);
    expect(again.slot).toBe(first.slot);
    expect(again.expiresAt).toBe(at + LEASE_SECONDS * 1000);
    expect(again.expiredHolder).toBeUndefined();
    expect(await heldSlots()).toHaveLength(1);
    await release("retry", 0, again);
  });

  it("takes over a slot whose lease expired, and names the run that never gave it back", async () => {
    const now = later();
    // One slot, held by a run whose execution crashed an hour ago.
    await takeRunSlot(table.client, table.tableName, {
      slot: 0,
      holder: runSlotHolder("crashed", 2),
      now: now - 3_600_000,
      leaseSeconds: 60,
    });
    const taken = await acquire("after-crash", 0, 1, () => now);
    expect(taken).toEqual({
      slot: 0,
      acquiredAt: now,
      expiresAt: now + LEASE_SECONDS * 1000,
      expiredHolder: "crashed#0002",
    });
    // The one slot is now held, unexpired: the next run must wait.
    await expect(acquire("after-crash", 1, 1)).rejects.toThrow(/all 1 run slots/);
    // The crashed run's release, should it ever come, does not take the slot from its new holder.
    expect(await release("crashed", 2)).toEqual({ releasedSlots: [] });
    expect(await release("after-crash", 0, taken)).toEqual({ releasedSlots: [0] });
    expect((await acquire("after-crash", 1, 1)).slot).toBe(0);
    await release("after-crash", 1);
  });

  it("reads again after losing every race for the free slots, before calling itself busy", async () => {
    let reads = 0;
    let starts = 0;
    const real = store();
    const losing: RunSlotStore = {
      read: () => {
        reads++;
        return real.read();
      },
      // Another run takes the free slot first on the first two rounds.
      take: (slot, holder, now) => (reads <= 2 ? Promise.resolve(undefined) : real.take(slot, holder, now)),
      takeStart: (now) => {
        starts++;
        return real.takeStart(now);
      },
    };
    const taken = await acquireRunSlot(runState("unlucky", 0), {
      store: losing,
      settings: { slots: 2, leaseSeconds: LEASE_SECONDS, startSpacingMs: SPACING_MS },
      now: () => later(),
    });
    // Three reads, one start claimed for all of them.
    expect(reads).toBe(3);
    expect(starts).toBe(1);
    expect([0, 1]).toContain(taken.slot);
    await release("unlucky", 0, taken);
  });
});

describe("pacing run starts across the account", () => {
  it("starts at most one run per spacing, whatever slots are free, and the next once it has passed", async () => {
    const first = await acquire("paced", 0, 4);
    const at = clock;
    await expect(acquire("paced", 1, 4, () => at + SPACING_MS - 1)).rejects.toThrow(
      /a run of the account started less than 1000 ms ago: runs start at most once every 1000 ms/,
    );
    const second = await acquire("paced", 1, 4, () => at + SPACING_MS);
    clock = at + SPACING_MS;
    expect(second.slot).not.toBe(first.slot);
    await release("paced", 0, first);
    await release("paced", 1, second);
  });

  it("lets one of many runs asking at the same instant start, and the others wait", async () => {
    const at = later();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => acquire("burst", i, 4, () => at)),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === "rejected") expect(String(o.reason)).toMatch(/started less than 1000 ms ago/);
    }
    for (let i = 0; i < 10; i++) await release("burst", i);
    expect(await heldSlots()).toEqual([]);
  });
});

describe("giving a run slot back", () => {
  it("frees the slot for the next run", async () => {
    const taken = await acquire("handover", 0, 1);
    await expect(acquire("handover", 1, 1)).rejects.toThrow(RunSlotsBusyError);
    expect(await release("handover", 0, taken)).toEqual({ releasedSlots: [taken.slot] });
    // A retried release finds nothing more to give back.
    expect(await release("handover", 0, taken)).toEqual({ releasedSlots: [] });
    const next = await acquire("handover", 1, 1);
    expect(next.slot).toBe(taken.slot);
    await release("handover", 1, next);
  });

  it("finds the run's slot by its holder when the acquire's answer never reached the state", async () => {
    const taken = await acquire("lost-answer", 4, 3);
    // The state has no `slot`: the acquire timed out after its write, and the run went on to terminate.
    expect(await release("lost-answer", 4)).toEqual({ releasedSlots: [taken.slot] });
    expect(await heldSlots()).toEqual([]);
  });

  it("gives back nothing for a run that never held a slot", async () => {
    expect(await release("never", 0)).toEqual({ releasedSlots: [] });
  });
});
