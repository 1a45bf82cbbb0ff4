import { describe, expect, it } from "vitest";
import { EC2_TOKEN_BUCKETS } from "../../functions/domain/ec2-request-buckets.js";
import {
  DEFAULT_RUN_SLOTS,
  RUN_START_SPACING_MS,
  runSlotHolder,
  runSlotSettingsFromEnvironment,
  runSlotSettingsToEnvironment,
  slotsToTry,
} from "../../functions/domain/run-slots.js";

const NOW = 1_750_000_000_000;
const me = runSlotHolder("bench-1", 3);
/** A fixed "random" source: the shuffle is then deterministic. */
const noShuffle = () => 0.999_999;

describe("which slots a run tries", () => {
  it("names the holder by benchmark and zero-padded run index", () => {
    expect(me).toBe("bench-1#0003");
  });

  it("offers slots never taken and slots given back, none held", () => {
    const leases = [
      { slot: 0, holder: "other#0000", expiresAt: NOW + 60_000 },
      { slot: 1 }, // given back
      { slot: 3, holder: "other#0001", expiresAt: NOW + 1 },
    ];
    expect(slotsToTry(leases, 4, me, NOW, noShuffle).sort()).toEqual([1, 2]);
  });

  it("offers a slot whose lease has expired: a crashed run does not hold it for ever", () => {
    const leases = [
      { slot: 0, holder: "crashed#0000", expiresAt: NOW - 1 },
      { slot: 1, holder: "other#0001", expiresAt: NOW + 60_000 },
    ];
    expect(slotsToTry(leases, 2, me, NOW, noShuffle)).toEqual([0]);
    // At the very instant of expiry the lease is over.
    expect(slotsToTry([{ slot: 0, holder: "x", expiresAt: NOW }], 1, me, NOW)).toEqual([0]);
  });

  it("offers only the run's own slot when it already holds one (a retried acquire)", () => {
    const leases = [{ slot: 5, holder: me, expiresAt: NOW + 60_000 }];
    expect(slotsToTry(leases, 8, me, NOW)).toEqual([5]);
  });

  it("offers nothing when every slot is held, and never a slot above a lowered cap", () => {
    const held = [0, 1].map((slot) => ({ slot, holder: `other#${slot}`, expiresAt: NOW + 60_000 }));
    expect(slotsToTry(held, 2, me, NOW)).toEqual([]);
    // Slot 7 is free but the cap is now 2; the run's own lease there does not count either.
    expect(
      slotsToTry([...held, { slot: 7 }, { slot: 6, holder: me, expiresAt: NOW + 1 }], 2, me, NOW),
    ).toEqual([]);
  });

  it("tries the free slots in random order, so runs acquiring together spread over them", () => {
    const orders = new Set<string>();
    let seed = 1;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    for (let i = 0; i < 50; i++) orders.add(slotsToTry([], 4, me, NOW, random).join(","));
    expect(orders.size).toBeGreaterThan(10);
    for (const order of orders) expect(order.split(",").map(Number).sort()).toEqual([0, 1, 2, 3]);
  });
});

describe("the default cap", () => {
  it("starts runs half as often as EC2 refills RunInstances", () => {
    expect(EC2_TOKEN_BUCKETS.runInstances.refillPerSecond).toBe(2);
    expect(RUN_START_SPACING_MS).toBe(1000);
  });

  it("fits half the account's DescribeInstances refill at a run's measured call rate", () => {
    expect(EC2_TOKEN_BUCKETS.describe.refillPerSecond).toBe(20);
    expect(DEFAULT_RUN_SLOTS).toBe(Math.floor((20 * 0.5) / 2.4));
    expect(DEFAULT_RUN_SLOTS).toBe(4);
  });
});

describe("the slot steps' configuration", () => {
  it("round-trips through the environment", () => {
    const settings = { slots: 4, leaseSeconds: 6080, startSpacingMs: RUN_START_SPACING_MS };
    const env = runSlotSettingsToEnvironment(settings);
    expect(env).toEqual({ RUN_SLOTS: "4", RUN_SLOT_LEASE_SECONDS: "6080", RUN_START_SPACING_MS: "1000" });
    expect(
      runSlotSettingsFromEnvironment(
        env.RUN_SLOTS ?? "",
        env.RUN_SLOT_LEASE_SECONDS ?? "",
        env.RUN_START_SPACING_MS ?? "",
      ),
    ).toEqual(settings);
    expect(runSlotSettingsFromEnvironment("4", "60", "0").startSpacingMs).toBe(0);
  });

  it("refuses a cap, a lease or a spacing out of range, naming the variable", () => {
    expect(() => runSlotSettingsFromEnvironment("4", "60", "-1")).toThrow(
      /RUN_START_SPACING_MS must be a whole number of milliseconds from 0 to 60000, got -1/,
    );
    expect(() => runSlotSettingsFromEnvironment("4", "60", "")).toThrow(/RUN_START_SPACING_MS/);
    expect(() => runSlotSettingsFromEnvironment("0", "60", "1000")).toThrow(
      /RUN_SLOTS must be a whole number from 1 to 500, got 0/,
    );
    expect(() => runSlotSettingsFromEnvironment("2.5", "60", "1000")).toThrow(/RUN_SLOTS/);
    expect(() => runSlotSettingsFromEnvironment("501", "60", "1000")).toThrow(/RUN_SLOTS/);
    expect(() => runSlotSettingsFromEnvironment("4", "", "1000")).toThrow(
      /RUN_SLOT_LEASE_SECONDS must be a whole number/,
    );
  });
});
