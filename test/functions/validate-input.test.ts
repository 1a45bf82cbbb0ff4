import { describe, expect, it } from "vitest";
import { clientTokenFor } from "../../functions/domain/benchmark-identity.js";
import type { ValidateInputEvent } from "../../functions/domain/contract.js";
import { InvalidInputError } from "../../functions/domain/errors.js";
import { handler } from "../../functions/validate-input/index.js";
import { validateInput } from "../../functions/validate-input/validate-input.js";

const executionId =
  "arn:aws:states:us-east-1:123456789012:execution:BootBench:3f2c7e4a-58b1-4c4e-9d0e-2a6f1c9b7d10";
const event = (input: unknown, startTime = "2025-06-15T14:13:20.123Z"): ValidateInputEvent => ({
  input,
  executionId,
  startTime,
});

describe("validateInput", () => {
  it("returns the benchmark identity, the settings with defaults, and one item per run", () => {
    const result = validateInput(
      event({
        image: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
        instanceType: "c7i.large",
        runs: 3,
      }),
    );
    expect(result).toEqual({
      benchmark: {
        benchmarkId: "3f2c7e4a-58b1-4c4e-9d0e-2a6f1c9b7d10",
        executionId,
        startedAt: "2025-06-15T14:13:20.123Z",
      },
      settings: {
        image: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
        instanceType: "c7i.large",
        runs: 3,
        discardFirst: true,
        port: 22,
        probeIntervalMs: 10,
        runningTimeoutSeconds: 120,
        openTimeoutSeconds: 600,
        concurrency: 1,
        imdsV2: "required",
        encryptRootVolume: false,
      },
      runs: [0, 1, 2].map((runIndex) => ({ runIndex, clientToken: clientTokenFor(executionId, runIndex) })),
    });
  });

  it("normalises startTime to UTC ISO 8601 with milliseconds, the GSIs' sort format", () => {
    const input = { image: "ami-12345678", instanceType: "t3.micro" };
    expect(validateInput(event(input, "2025-06-15T16:13:20+02:00")).benchmark.startedAt).toBe(
      "2025-06-15T14:13:20.000Z",
    );
  });

  it("rejects a startTime that is not a time", () => {
    expect(() =>
      validateInput(event({ image: "ami-12345678", instanceType: "t3.micro" }, "yesterday")),
    ).toThrow(/startTime "yesterday" is not a time/);
  });

  it("throws BootBench.InvalidInput before anything else", () => {
    expect(() => validateInput(event({ image: "ami-12345678" }))).toThrow(InvalidInputError);
  });
});

describe("validate-input handler", () => {
  it("returns the result through middy", async () => {
    const result = await handler(
      event({ image: "ami-12345678", instanceType: "t3.micro", runs: 2 }),
      {} as never,
    );
    expect(result.runs).toHaveLength(2);
  });

  it("fails with the error name Step Functions routes on", async () => {
    await expect(
      handler(event({ image: "ami-12345678", instanceType: "t3.micro", runs: 0 }), {} as never),
    ).rejects.toMatchObject({
      name: "BootBench.InvalidInput",
      message: "runs: must be an integer from 1 to 100 (got 0)",
    });
  });
});
