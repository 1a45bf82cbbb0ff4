import { describe, expect, it } from "vitest";
import { benchmarkIdFor, clientTokenFor, runItemsFor } from "../../functions/domain/benchmark-identity.js";

const arn = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:BootBenchStateMachine:${name}`;

describe("benchmarkIdFor", () => {
  it("uses a short, plain execution name as it is", () => {
    expect(benchmarkIdFor(arn("3f2c7e4a-58b1-4c4e-9d0e-2a6f1c9b7d10"))).toBe(
      "3f2c7e4a-58b1-4c4e-9d0e-2a6f1c9b7d10",
    );
    expect(benchmarkIdFor(arn("weekly_freebsd-2025-06-15"))).toBe("weekly_freebsd-2025-06-15");
  });

  it("uses an id without colons as the name", () => {
    expect(benchmarkIdFor("local-0001")).toBe("local-0001");
  });

  it.each([
    ["a name with characters unsafe in keys and tags", arn("freebsd 15.0 weekly")],
    ["a name longer than 40 characters", arn("x".repeat(41))],
    ["a name starting with a dash", arn("-leading")],
    ["an empty name", arn("")],
  ])("hashes %s to 20 hex characters", (_, executionId) => {
    const id = benchmarkIdFor(executionId);
    expect(id).toMatch(/^[0-9a-f]{20}$/);
    expect(benchmarkIdFor(executionId)).toBe(id);
  });

  it("hashes the whole execution id, so equal names of different state machines differ", () => {
    const a = benchmarkIdFor("arn:aws:states:us-east-1:123456789012:execution:A:freebsd 15");
    const b = benchmarkIdFor("arn:aws:states:us-east-1:123456789012:execution:B:freebsd 15");
    expect(a).not.toBe(b);
  });
});

describe("clientTokenFor", () => {
  const execution = arn("weekly-2026-11-27");

  it("is deterministic and names the run", () => {
    expect(clientTokenFor(execution, 3)).toMatch(/^[0-9a-f]{40}-run0003$/);
    expect(clientTokenFor(execution, 3)).toBe(clientTokenFor(execution, 3));
    expect(clientTokenFor(execution, 4)).not.toBe(clientTokenFor(execution, 3));
  });

  it("differs between state machines for the same execution name (tokens are per account)", () => {
    const other = execution.replace(":execution:BootBenchStateMachine:", ":execution:OtherStack:");
    expect(other).not.toBe(execution);
    expect(clientTokenFor(other, 0)).not.toBe(clientTokenFor(execution, 0));
  });

  it("stays within 64 printable ASCII characters for any execution id", () => {
    for (const id of [arn("x".repeat(80)), arn("bench é"), execution]) {
      const token = clientTokenFor(id, 99);
      expect(token.length).toBeLessThanOrEqual(64);
      expect(token).toMatch(/^[\x21-\x7e]+$/);
    }
  });
});

describe("runItemsFor", () => {
  it("numbers runs from 0 with their client tokens", () => {
    const execution = arn("bench-1");
    expect(runItemsFor(execution, 3)).toEqual(
      [0, 1, 2].map((runIndex) => ({
        runIndex,
        clientToken: clientTokenFor(execution, runIndex),
      })),
    );
  });

  it("gives distinct tokens for 100 runs", () => {
    const tokens = runItemsFor(arn("bench-1"), 100).map((item) => item.clientToken);
    expect(new Set(tokens).size).toBe(100);
  });
});
