import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../functions/domain/errors.js";
import { base64Length, parseBenchmarkInput } from "../../functions/domain/input-schema.js";

const minimal = { image: "ami-0123456789abcdef0", instanceType: "c7i.large" };

/** The problems of an input that must be rejected. */
function problemsOf(raw: unknown): readonly string[] {
  try {
    parseBenchmarkInput(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).name).toBe("BootBench.InvalidInput");
    return (error as InvalidInputError).problems;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

describe("parseBenchmarkInput defaults", () => {
  it("applies every default to a minimal input", () => {
    expect(parseBenchmarkInput(minimal)).toEqual({
      image: "ami-0123456789abcdef0",
      instanceType: "c7i.large",
      runs: 10,
      discardFirst: true,
      port: 22,
      probeIntervalMs: 10,
      runningTimeoutSeconds: 120,
      openTimeoutSeconds: 600,
      concurrency: 1,
      imdsV2: "required",
      encryptRootVolume: false,
    });
  });

  it("leaves optional fields absent rather than undefined", () => {
    const settings = parseBenchmarkInput(minimal);
    expect("userData" in settings).toBe(false);
    expect("label" in settings).toBe(false);
    // No default: the integrity rules' own defaults apply (functions/domain/integrity.ts).
    expect("runningBracketLimitMs" in settings).toBe(false);
    expect("portBracketLimitMs" in settings).toBe(false);
  });

  it("keeps every given value", () => {
    const full = {
      image: "resolve:ssm:/aws/service/freebsd/arm64/base/ufs/15.0/CURRENT",
      instanceType: "m7g.metal-48xl",
      runs: 1,
      discardFirst: false,
      userData: "firstboot_freebsd_update_enable=NO\n",
      port: 2222,
      probeIntervalMs: 5,
      runningTimeoutSeconds: 240,
      openTimeoutSeconds: 600,
      concurrency: 10,
      label: "FreeBSD 15 (arm64) — weekly",
      imdsV2: "optional",
      encryptRootVolume: true,
      runningBracketLimitMs: 1_000,
      portBracketLimitMs: 25,
    };
    expect(parseBenchmarkInput(full)).toEqual(full);
  });
});

describe("parseBenchmarkInput instance hardening", () => {
  it("requires IMDSv2 unless the benchmark says optional, and names any other value", () => {
    expect(parseBenchmarkInput({ ...minimal, imdsV2: "optional" }).imdsV2).toBe("optional");
    expect(problemsOf({ ...minimal, imdsV2: "disabled" })).toEqual([
      'imdsV2: must be "required" (IMDSv2 only) or "optional" (got "disabled")',
    ]);
    expect(problemsOf({ ...minimal, imdsV2: true })).toEqual([
      'imdsV2: must be "required" (IMDSv2 only) or "optional" (got true)',
    ]);
  });

  it("takes guest timings as true or false, absent by default", () => {
    expect(parseBenchmarkInput(minimal).guestTimings).toBeUndefined();
    expect(parseBenchmarkInput({ ...minimal, guestTimings: true }).guestTimings).toBe(true);
    expect(problemsOf({ ...minimal, guestTimings: "yes" })).toEqual([
      'guestTimings: must be true or false (got "yes")',
    ]);
  });

  it("takes a filmstrip of 0.2 to 1 frames a second, and names the nested field it refuses", () => {
    expect(parseBenchmarkInput(minimal).screenshots).toBeUndefined();
    for (const framesPerSecond of [0.2, 0.5, 1]) {
      expect(parseBenchmarkInput({ ...minimal, screenshots: { framesPerSecond } }).screenshots).toEqual({
        framesPerSecond,
      });
    }
    const range = "must be a number from 0.2 to 1";
    expect(problemsOf({ ...minimal, screenshots: { framesPerSecond: 2 } })).toEqual([
      `screenshots.framesPerSecond: ${range} (got 2)`,
    ]);
    expect(problemsOf({ ...minimal, screenshots: { framesPerSecond: 0.1 } })).toEqual([
      `screenshots.framesPerSecond: ${range} (got 0.1)`,
    ]);
    expect(problemsOf({ ...minimal, screenshots: { framesPerSecond: "1" } })).toEqual([
      `screenshots.framesPerSecond: ${range} (got "1")`,
    ]);
    expect(problemsOf({ ...minimal, screenshots: {} })).toEqual([
      `screenshots.framesPerSecond: ${range} (got undefined)`,
    ]);
    expect(problemsOf({ ...minimal, screenshots: { framesPerSecond: 1, fps: 1 } })).toEqual([
      "screenshots.fps: is not a known field",
    ]);
    expect(problemsOf({ ...minimal, screenshots: true })).toEqual([
      'screenshots: must be an object such as {"framesPerSecond": 0.5} (got true)',
    ]);
  });

  it("takes encryptRootVolume as a boolean only", () => {
    expect(parseBenchmarkInput({ ...minimal, encryptRootVolume: true }).encryptRootVolume).toBe(true);
    expect(problemsOf({ ...minimal, encryptRootVolume: "yes" })).toEqual([
      'encryptRootVolume: must be true or false (got "yes")',
    ]);
  });
});

describe("parseBenchmarkInput image", () => {
  it.each([
    "ami-12345678",
    "ami-0123456789abcdef0",
    "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "/my_params/boot.bench-image",
    "resolve:ssm:/aws/service/debian/release/12/latest/amd64",
  ])("accepts %s", (image) => {
    expect(parseBenchmarkInput({ ...minimal, image }).image).toBe(image);
  });

  it.each([
    "ami-1234567",
    "ami-123456789",
    "ami-0123456789ABCDEF0",
    "ami-0123456789abcdef",
    "aws/service/freebsd",
    "/aws/service/freebsd/",
    "/aws//service",
    "/aws/service/free bsd",
    "/aws/service/freebsd:1",
    "resolve:ssm:aws/service/freebsd",
    "resolve:ssm:",
    "",
  ])("rejects %j, naming the field", (image) => {
    const problems = problemsOf({ ...minimal, image });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^image: must be an AMI id/);
  });

  it("rejects an SSM path longer than SSM allows", () => {
    expect(problemsOf({ ...minimal, image: `/${"a".repeat(1011)}` })[0]).toMatch(/^image: /);
  });

  it("says image is required when it is missing", () => {
    expect(problemsOf({ instanceType: "c7i.large" })).toEqual(["image: is required"]);
  });
});

describe("parseBenchmarkInput instanceType", () => {
  it.each([
    "c7i.large",
    "m7g.metal-48xl",
    "c7i-flex.large",
    "u7in-32tb.224xlarge",
    "mac2-m2pro.metal",
    "t3.nano",
  ])("accepts %s", (instanceType) => {
    expect(parseBenchmarkInput({ ...minimal, instanceType }).instanceType).toBe(instanceType);
  });

  it.each(["c7i", "C7i.large", "c7i.", ".large", "c7i..large", "c7i.large.x", "7c.large", "c7i large"])(
    "rejects %j",
    (instanceType) => {
      expect(problemsOf({ ...minimal, instanceType })).toEqual([
        `instanceType: must be an EC2 instance type such as c7i.large or m7g.metal-48xl (got ${JSON.stringify(instanceType)})`,
      ]);
    },
  );

  it("says instanceType is required when it is missing", () => {
    expect(problemsOf({ image: "ami-12345678" })).toEqual(["instanceType: is required"]);
  });
});

describe("parseBenchmarkInput integer ranges", () => {
  it.each([
    ["runs", 2, 100, "must be an integer from 1 to 100"],
    ["port", 1, 65535, "must be an integer from 1 to 65535"],
    ["probeIntervalMs", 5, 1000, "must be an integer from 5 to 1000"],
    ["runningTimeoutSeconds", 1, 230, "must be an integer from 1 to 600"],
    ["openTimeoutSeconds", 1, 720, "must be an integer from 1 to 840"],
    ["concurrency", 1, 10, "must be an integer from 1 to 10"],
    ["runningBracketLimitMs", 10, 60_000, "must be an integer from 10 to 60000"],
    ["portBracketLimitMs", 1, 60_000, "must be an integer from 1 to 60000"],
  ] as const)("%s accepts its bounds and rejects values outside them", (field, low, high, message) => {
    // Ten runs at once need an eleventh run to count once the first wave is discarded.
    const base = field === "concurrency" ? { ...minimal, runs: 11 } : minimal;
    expect(parseBenchmarkInput({ ...base, [field]: low })[field]).toBe(low);
    expect(parseBenchmarkInput({ ...base, [field]: high })[field]).toBe(high);
    const lowest = field === "runs" ? 1 : low;
    expect(problemsOf({ ...minimal, [field]: lowest - 1 })).toEqual([
      `${field}: ${message} (got ${lowest - 1})`,
    ]);
  });

  it.each([
    ["runs", 101],
    ["port", 65536],
    ["probeIntervalMs", 1001],
    ["runningTimeoutSeconds", 601],
    ["openTimeoutSeconds", 841],
    ["concurrency", 11],
    ["runningBracketLimitMs", 60_001],
    ["portBracketLimitMs", 60_001],
  ] as const)("%s rejects %d", (field, value) => {
    const problems = problemsOf({ ...minimal, discardFirst: false, [field]: value });
    expect(problems[0]).toMatch(
      new RegExp(`^${field}: must be an integer from \\d+ to \\d+ \\(got ${value}\\)$`),
    );
  });

  it("rejects fractions once, not once per broken rule", () => {
    expect(problemsOf({ ...minimal, runs: 0.5 })).toEqual([
      "runs: must be an integer from 1 to 100 (got 0.5)",
    ]);
  });
});

describe("parseBenchmarkInput wrong types", () => {
  it.each([
    ["runs", "10", 'runs: must be an integer from 1 to 100 (got "10")'],
    ["port", null, "port: must be an integer from 1 to 65535 (got null)"],
    ["discardFirst", "yes", 'discardFirst: must be true or false (got "yes")'],
    ["discardFirst", 0, "discardFirst: must be true or false (got 0)"],
    ["image", 42, "image: must be an AMI id"],
    ["label", ["a"], "label: must be 1 to 128 printable characters (got an array)"],
    ["userData", { script: "x" }, "userData: must be a string"],
    ["concurrency", true, "concurrency: must be an integer from 1 to 10 (got true)"],
  ] as const)("%s = %j", (field, value, expected) => {
    const problems = problemsOf({ ...minimal, [field]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.startsWith(expected)).toBe(true);
  });

  it.each([
    [null, "null"],
    [[minimal], "an array"],
    ["ami-12345678", '"ami-12345678"'],
    [42, "42"],
    [undefined, "undefined"],
  ])("rejects a non-object input %j", (raw, description) => {
    expect(problemsOf(raw)).toEqual([`input: must be a JSON object, got ${description}`]);
  });
});

describe("parseBenchmarkInput userData", () => {
  it("accepts exactly 16 KB once base64-encoded", () => {
    const userData = "x".repeat(12_288);
    expect(base64Length(userData)).toBe(16_384);
    expect(parseBenchmarkInput({ ...minimal, userData }).userData).toBe(userData);
  });

  it("rejects one byte more, naming the limit and without echoing the script", () => {
    const problems = problemsOf({ ...minimal, userData: "x".repeat(12_289) });
    expect(problems).toEqual([
      "userData: must be at most 16 KB (16384 bytes) once base64-encoded, RunInstances' UserData limit; " +
        "it is 16388 bytes encoded",
    ]);
  });

  it("measures UTF-8 bytes, not characters", () => {
    // "é" is 2 bytes: 6,144 of them are 12,288 bytes, exactly at the limit; one more is over.
    expect(parseBenchmarkInput({ ...minimal, userData: "é".repeat(6_144) }).userData).toHaveLength(6_144);
    expect(problemsOf({ ...minimal, userData: "é".repeat(6_145) })[0]).toMatch(
      /^userData: must be at most 16 KB/,
    );
  });
});

describe("parseBenchmarkInput label", () => {
  it("accepts 128 characters and rejects 129", () => {
    expect(parseBenchmarkInput({ ...minimal, label: "a".repeat(128) }).label).toHaveLength(128);
    expect(problemsOf({ ...minimal, label: "a".repeat(129) })[0]).toMatch(
      /^label: must be 1 to 128 printable/,
    );
  });

  it.each(["", "tab\there", "new\nline", "nul\u0000", "bidi\u202e"])("rejects %j", (label) => {
    expect(problemsOf({ ...minimal, label })[0]).toMatch(/^label: must be 1 to 128 printable characters/);
  });
});

describe("parseBenchmarkInput strictness and cross-field rules", () => {
  it("names every unknown field", () => {
    expect(problemsOf({ ...minimal, Runs: 3, keyName: "mine" })).toEqual([
      "Runs: is not a known field",
      "keyName: is not a known field",
    ]);
  });

  it("rejects runs = 1 while the first run is discarded (also by default)", () => {
    const expected = [
      "runs: must be at least 2 when discardFirst is true (the first run is discarded, so nothing would be " +
        "counted); set discardFirst to false to count a single run",
    ];
    expect(problemsOf({ ...minimal, runs: 1 })).toEqual(expected);
    expect(problemsOf({ ...minimal, runs: 1, discardFirst: true })).toEqual(expected);
    expect(parseBenchmarkInput({ ...minimal, runs: 1, discardFirst: false }).runs).toBe(1);
  });

  it("rejects runs that the first wave would use up when runs go on concurrently and the first is discarded", () => {
    expect(problemsOf({ ...minimal, runs: 3, concurrency: 3 })).toEqual([
      "runs: must be more than concurrency (3) when discardFirst is true: the first wave of 3 runs starts " +
        "together and boots cold, so all of it is discarded and 3 runs would leave nothing counted; add " +
        "runs, lower concurrency, or set discardFirst to false",
    ]);
    expect(parseBenchmarkInput({ ...minimal, runs: 4, concurrency: 3 }).runs).toBe(4);
    expect(parseBenchmarkInput({ ...minimal, runs: 3, concurrency: 3, discardFirst: false }).runs).toBe(3);
  });

  it("limits runningTimeoutSeconds + openTimeoutSeconds to 840, defaults included", () => {
    expect(
      parseBenchmarkInput({ ...minimal, runningTimeoutSeconds: 240, openTimeoutSeconds: 600 }),
    ).toMatchObject({
      runningTimeoutSeconds: 240,
      openTimeoutSeconds: 600,
    });
    expect(problemsOf({ ...minimal, runningTimeoutSeconds: 241 })).toEqual([
      "openTimeoutSeconds: runningTimeoutSeconds + openTimeoutSeconds must be at most 840 " +
        "(the probe Lambda stops at 900 s); got 241 + 600 = 841",
    ]);
    expect(problemsOf({ ...minimal, openTimeoutSeconds: 840 })[0]).toContain("got 120 + 840 = 960");
  });

  it("reports field problems and cross-field problems together", () => {
    expect(
      problemsOf({
        image: "ami-x",
        instanceType: "c7i.large",
        runs: 1,
        runningTimeoutSeconds: 600,
        extra: 1,
      }),
    ).toEqual([
      expect.stringMatching(/^image: /),
      "extra: is not a known field",
      expect.stringMatching(/^runs: must be at least 2/),
      expect.stringMatching(/^openTimeoutSeconds: runningTimeoutSeconds \+ openTimeoutSeconds/),
    ]);
  });

  it("skips a cross-field rule when one of its fields is itself invalid", () => {
    expect(problemsOf({ ...minimal, runningTimeoutSeconds: 700, openTimeoutSeconds: 600 })).toEqual([
      "runningTimeoutSeconds: must be an integer from 1 to 600 (got 700)",
    ]);
  });

  it("joins the problems into the error message", () => {
    expect(() => parseBenchmarkInput({ ...minimal, runs: 0, port: 0 })).toThrow(
      "runs: must be an integer from 1 to 100 (got 0); port: must be an integer from 1 to 65535 (got 0)",
    );
  });
});
