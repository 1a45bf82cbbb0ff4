import { describe, expect, it } from "vitest";
import {
  comparabilityDifferences,
  comparabilityKey,
  comparabilityOf,
  regionOfExecution,
} from "../../functions/domain/comparability.js";
import type { BenchmarkSettings } from "../../functions/domain/contract.js";

const EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:BootBench:weekly-1";
const settings: BenchmarkSettings = {
  image: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
  instanceType: "c7i.large",
  runs: 10,
  discardFirst: true,
  port: 22,
  probeIntervalMs: 50,
  runningTimeoutSeconds: 300,
  openTimeoutSeconds: 600,
  concurrency: 1,
};
const keyOf = (changed: Partial<BenchmarkSettings>, executionId = EXECUTION) =>
  comparabilityKey(comparabilityOf({ ...settings, ...changed }, executionId));

describe("comparabilityKey", () => {
  it("is the same whatever the image, the run count, discarding or concurrency", () => {
    const key = keyOf({});
    expect(key).toMatch(/^v1-[0-9a-f]{16}$/);
    expect(keyOf({ image: "ami-0123456789abcdef0", runs: 3, discardFirst: false, concurrency: 5 })).toBe(key);
  });

  it("applies defaults, so an absent setting equals its default spelled out", () => {
    expect(
      keyOf({
        imdsV2: "required",
        encryptRootVolume: false,
        runningBracketLimitMs: 500,
        portBracketLimitMs: 250,
      }),
    ).toBe(keyOf({}));
  });

  it.each<[string, Partial<BenchmarkSettings>]>([
    ["instance type", { instanceType: "c7g.large" }],
    ["user data", { userData: "#!/bin/sh\n" }],
    ["port", { port: 2222 }],
    ["probe interval", { probeIntervalMs: 100 }],
    ["IMDS", { imdsV2: "optional" }],
    ["encryption", { encryptRootVolume: true }],
    ["running bracket limit", { runningBracketLimitMs: 1000 }],
    ["port bracket limit", { portBracketLimitMs: 1000 }],
    ["running timeout", { runningTimeoutSeconds: 120 }],
    ["open timeout", { openTimeoutSeconds: 120 }],
    ["label", { label: "uefi" }],
    ["guest key pair", { guestTimings: true }],
  ])("differs with the %s", (_, changed) => {
    expect(keyOf(changed)).not.toBe(keyOf({}));
  });

  it("keeps every key it gave before guest timings existed: a benchmark without them keys as before", () => {
    // The key these settings had before the field existed (computed with that code): stored summaries
    // carry it, and their comparisons must still find them.
    expect(keyOf({})).toBe("v1-101fa3f52008507c");
    expect(keyOf({ guestTimings: false })).toBe("v1-101fa3f52008507c");
    const withKeyPair = comparabilityOf({ ...settings, guestTimings: true }, EXECUTION);
    expect(comparabilityDifferences(comparabilityOf(settings, EXECUTION), withKeyPair)).toEqual([
      "guestKeyPair: null against true",
    ]);
  });

  it("differs between regions and between integrity rules versions", () => {
    expect(keyOf({}, EXECUTION.replace("eu-west-1", "us-east-1"))).not.toBe(keyOf({}));
    const v2 = comparabilityKey(comparabilityOf(settings, EXECUTION, 2));
    expect(v2).toMatch(/^v2-/);
  });

  it("names what differs", () => {
    const a = comparabilityOf(settings, EXECUTION);
    const b = comparabilityOf({ ...settings, port: 2222, label: "zfs" }, EXECUTION);
    expect(comparabilityDifferences(a, b)).toEqual(["port: 22 against 2222", 'label: null against "zfs"']);
  });
});

describe("regionOfExecution", () => {
  it("reads the region of an execution ARN and refuses anything else", () => {
    expect(regionOfExecution(EXECUTION)).toBe("eu-west-1");
    expect(() => regionOfExecution("weekly-1")).toThrow(/not a Step Functions execution ARN: weekly-1/);
  });
});
