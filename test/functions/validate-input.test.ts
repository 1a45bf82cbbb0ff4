import { afterEach, describe, expect, it, vi } from "vitest";
import { type AllowLists, ANY_INSTANCE_TYPE } from "../../functions/domain/allow-lists.js";
import { clientTokenFor } from "../../functions/domain/benchmark-identity.js";
import type { ValidateInputEvent } from "../../functions/domain/contract.js";
import { InvalidInputError, NotAllowedError } from "../../functions/domain/errors.js";
import { validateInput as validateWith } from "../../functions/validate-input/validate-input.js";

const executionId =
  "arn:aws:states:us-east-1:123456789012:execution:BootBench:3f2c7e4a-58b1-4c4e-9d0e-2a6f1c9b7d10";
const event = (input: unknown, startTime = "2025-06-15T14:13:20.123Z"): ValidateInputEvent => ({
  input,
  executionId,
  startTime,
});

const anyType: AllowLists = { instanceTypes: ANY_INSTANCE_TYPE, imageParameterPrefixes: ["/aws/service/"] };
const validateInput = (e: ValidateInputEvent) => validateWith(e, anyType);

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

describe("validateInput against the stack's allow-lists", () => {
  const lists: AllowLists = {
    instanceTypes: ["c7g.large", "c7i.large"],
    imageParameterPrefixes: ["/aws/service/", "/team/amis/"],
  };
  const validate = (input: object) => () => validateWith(event(input), lists);

  it("lets listed instance types and parameters under the prefixes through", () => {
    expect(validate({ image: "resolve:ssm:/team/amis/nightly", instanceType: "c7g.large" })).not.toThrow();
    expect(
      validate({ image: "/aws/service/debian/release/bookworm/latest/amd64", instanceType: "c7i.large" }),
    ).not.toThrow();
    // An AMI id reads no parameter.
    expect(validate({ image: "ami-12345678", instanceType: "c7i.large" })).not.toThrow();
  });

  it("refuses an unlisted instance type and a parameter outside the prefixes, naming both fields", () => {
    const refuse = validate({ image: "/prod/database/url", instanceType: "u7in-32tb.224xlarge" });
    expect(refuse).toThrow(NotAllowedError);
    expect(refuse).toThrow(
      "instanceType: u7in-32tb.224xlarge is not one this stack may launch (c7g.large, c7i.large); deploy with " +
        "-c instanceTypes=<list> to allow it, or -c instanceTypes=* for any; image: SSM parameter " +
        "/prod/database/url is outside the prefixes this stack may read (/aws/service/, /team/amis/); deploy " +
        "with -c imageParameterPrefixes=<list> to allow it",
    );
    // A prefix is a whole path segment: /team/amis-old/ is not under /team/amis/.
    expect(validate({ image: "/team/amis-old/x", instanceType: "c7i.large" })).toThrow(NotAllowedError);
  });

  it("reports invalid input first: a refusal needs a valid input to name", () => {
    expect(validate({ image: "/prod/x", instanceType: "c7i.large", runs: 0 })).toThrow(InvalidInputError);
  });
});

describe("validate-input handler", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });
  const loadHandler = async (instanceTypes: string) => {
    vi.stubEnv("ALLOWED_INSTANCE_TYPES", instanceTypes);
    vi.stubEnv("IMAGE_PARAMETER_PREFIXES", "/aws/service/");
    return (await import("../../functions/validate-input/index.js")).handler;
  };

  it("returns the result through middy", async () => {
    const handler = await loadHandler("t3.micro");
    const result = await handler(
      event({ image: "ami-12345678", instanceType: "t3.micro", runs: 2 }),
      {} as never,
    );
    expect(result.runs).toHaveLength(2);
  });

  it("fails with the error name Step Functions routes on", async () => {
    const handler = await loadHandler("*");
    await expect(
      handler(event({ image: "ami-12345678", instanceType: "t3.micro", runs: 0 }), {} as never),
    ).rejects.toMatchObject({
      name: "BootBench.InvalidInput",
      message: "runs: must be an integer from 1 to 100 (got 0)",
    });
    await expect(
      handler(event({ image: "/other/x", instanceType: "t3.micro" }), {} as never),
    ).rejects.toMatchObject({ name: "BootBench.NotAllowed" });
  });

  it("refuses to load with allow-lists that allow nothing or leave out the public parameters", async () => {
    await expect(loadHandler("")).rejects.toThrow("ALLOWED_INSTANCE_TYPES");
    vi.resetModules();
    vi.stubEnv("ALLOWED_INSTANCE_TYPES", "c7i.large");
    vi.stubEnv("IMAGE_PARAMETER_PREFIXES", "/team/");
    await expect(import("../../functions/validate-input/index.js")).rejects.toThrow(
      "IMAGE_PARAMETER_PREFIXES must include /aws/service/",
    );
  });
});
