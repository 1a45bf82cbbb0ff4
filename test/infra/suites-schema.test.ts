/**
 * The suites configuration is validated at synth: every mistake fails `cdk synth` with a message that
 * names the suite and the field. Also the EventBridge cron handling the CLI uses for next runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { suites as configuredSuites } from "../../config/suites.js";
import { parseSuiteExecutionInput } from "../../functions/domain/suite-schema.js";
import { BootBenchStack } from "../../infra/boot-bench-stack.js";
import {
  loadSuites,
  nextRuns,
  parseSchedulerCron,
  type SuiteConfig,
  SuiteConfigError,
  suiteInput,
} from "../../infra/suites-schema.js";

const good = (): SuiteConfig => ({
  name: "weekly",
  schedule: { cron: "0 6 ? * FRI *", timezone: "UTC" },
  targets: [
    { pattern: "/aws/service/freebsd/*/base/ufs/*/CURRENT", instanceTypes: { x86_64: ["c7i.large"] } },
  ],
});

/** The problems loadSuites reports for one suite changed by `change`. */
function problemsOf(change: (suite: Record<string, unknown>) => void): string[] {
  const suite = good() as unknown as Record<string, unknown>;
  change(suite);
  try {
    loadSuites([suite]);
  } catch (error) {
    if (error instanceof SuiteConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe("the default configuration (config/suites.ts)", () => {
  const suites = loadSuites(configuredSuites);

  it("has a FreeBSD weekly suite and a baseline suite, each with a valid schedule", () => {
    expect(suites.map((s) => s.name)).toEqual(["freebsd-weekly", "baseline"]);
    for (const suite of suites) expect(suite.schedule.expression).toMatch(/^cron\(.+\)$/);
  });

  it("turns FreeBSD's first-boot updates off with configinit user data, as the published methodology did", () => {
    const freebsd = suiteInput(suites, "freebsd-weekly").suite;
    expect(freebsd.userData).toBe(
      '>>/etc/rc.conf\nfirstboot_freebsd_update_enable="NO"\nfirstboot_pkgs_enable="NO"\n',
    );
    expect(freebsd.targets[0]?.pattern).toBe("/aws/service/freebsd/*/base/ufs/*/{CURRENT,STABLE}");
  });

  it("benchmarks Amazon Linux 2023, Ubuntu LTS and Debian from their public parameters in the baseline", () => {
    const patterns = suiteInput(suites, "baseline").suite.targets.map((t) => t.pattern);
    expect(patterns.join("\n")).toMatch(/al2023/);
    expect(patterns.join("\n")).toMatch(/ubuntu\/server\/24\.04/);
    expect(patterns.join("\n")).toMatch(/debian/);
  });

  it("runs the baseline's Amazon Linux as a control every week, and puts it beside the FreeBSD snapshots", () => {
    const al2023 = suiteInput(suites, "baseline").suite.targets.find((t) => t.pattern?.includes("al2023"));
    expect(al2023?.control).toBe(true);
    const { sharedControls } = suiteInput(suites, "freebsd-weekly").suite;
    expect(sharedControls).toEqual({
      images: [
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
      ],
      withinDays: 7,
    });
    // Each shared control is a parameter the baseline's control pattern resolves to.
    const pattern = al2023?.pattern?.replace("{x86_64,arm64}", "(x86_64|arm64)") ?? "";
    for (const image of sharedControls?.images ?? []) expect(image).toMatch(new RegExp(`^${pattern}$`));
  });

  it("builds execution inputs the state machine accepts, with force when asked", () => {
    for (const suite of suites) expect(() => parseSuiteExecutionInput(suite.input)).not.toThrow();
    expect(suiteInput(suites, "baseline", true).force).toBe(true);
    expect(() => suiteInput(suites, "nope")).toThrow(/no suite named nope.*freebsd-weekly, baseline/);
  });
});

describe("configuration errors name the suite and the field", () => {
  it("a bad cron", () => {
    expect(problemsOf((s) => (s.schedule = { cron: "0 6 * * FRI *", timezone: "UTC" }))).toEqual([
      'suite "weekly": schedule.cron: exactly one of day-of-month and day-of-week must be ? (EventBridge cannot combine both)',
    ]);
    expect(problemsOf((s) => (s.schedule = { cron: "0 6 * * FRI", timezone: "UTC" }))[0]).toMatch(
      /^suite "weekly": schedule\.cron: must have 6 fields/,
    );
    expect(problemsOf((s) => (s.schedule = { cron: "0 25 ? * FRI *", timezone: "UTC" }))[0]).toMatch(
      /^suite "weekly": schedule\.cron: is not a valid cron expression/,
    );
    expect(problemsOf((s) => (s.schedule = { cron: "0 6 ? * FRI *", timezone: "Mars/Olympus" }))).toEqual([
      'suite "weekly": schedule.timezone: "Mars/Olympus" is not an IANA time zone',
    ]);
  });

  it("an unknown architecture", () => {
    expect(
      problemsOf((s) => {
        s.targets = [{ image: "/aws/service/x/y", instanceTypes: { amd64: ["c7i.large"] } }];
      }),
    ).toEqual([
      'suite "weekly": targets[0].instanceTypes.amd64: unknown architecture "amd64"; use x86_64 or arm64',
    ]);
  });

  it("an instance type under the wrong architecture", () => {
    expect(
      problemsOf((s) => {
        s.targets = [
          { image: "/aws/service/x/y", instanceTypes: { x86_64: ["c7g.large"], arm64: ["m7i.large"] } },
        ];
      }),
    ).toEqual([
      'suite "weekly": targets[0].instanceTypes.x86_64[0]: c7g.large is a Graviton (arm64) instance type; list it under arm64',
      'suite "weekly": targets[0].instanceTypes.arm64[0]: m7i.large is not a Graviton (arm64) instance type',
    ]);
  });

  it("empty targets", () => {
    expect(problemsOf((s) => (s.targets = []))).toEqual([
      'suite "weekly": targets: must list at least one target',
    ]);
  });

  it("a target with neither or both of image and pattern, or a bad pattern", () => {
    expect(problemsOf((s) => (s.targets = [{ instanceTypes: { x86_64: ["c7i.large"] } }]))).toEqual([
      'suite "weekly": targets[0]: must give either image or pattern (one of them)',
    ]);
    expect(
      problemsOf(
        (s) =>
          (s.targets = [{ pattern: "/aws/service/{a,{b}}/x", instanceTypes: { x86_64: ["c7i.large"] } }]),
      ),
    ).toEqual(['suite "weekly": targets[0].pattern: braces must be balanced and not nested']);
  });

  it("settings that no benchmark would accept, and a missing user data file", () => {
    expect(
      problemsOf((s) => Object.assign(s, { runs: 1, userDataFile: "config/user-data/missing.txt" })),
    ).toEqual([
      'suite "weekly": userDataFile: file config/user-data/missing.txt does not exist (paths are relative to .)',
      'suite "weekly": targets[0]: runs: must be at least 2 when discardFirst is true (the first run is discarded, ' +
        "so nothing would be counted); set discardFirst to false to count a single run",
    ]);
  });

  it("shared controls that name no image, a bad one, or a window out of range", () => {
    expect(problemsOf((s) => (s.sharedControls = { images: [] }))).toEqual([
      'suite "weekly": sharedControls.images: must name at least one image',
    ]);
    expect(problemsOf((s) => (s.sharedControls = { images: ["al2023"], withinDays: 0 }))).toEqual([
      'suite "weekly": sharedControls.images[0]: must be an AMI id, an SSM parameter path (/…) or resolve:ssm:/…, with only letters, digits, _ . - and /',
      'suite "weekly": sharedControls.withinDays: must be an integer from 1 to 31',
    ]);
    expect(problemsOf((s) => (s.sharedControls = { images: ["ami-0123456789abcdef0"] }))).toEqual([]);
  });

  it("names a suite by what it is called, or by its position, and reports every suite at once", () => {
    try {
      loadSuites([
        good(),
        { ...good(), name: "Bad Name", targets: [] },
        { ...good(), name: 7 },
        good(),
      ] as SuiteConfig[]);
      expect.unreachable();
    } catch (error) {
      expect((error as SuiteConfigError).problems).toEqual([
        'suite "Bad Name": name: must be 1 to 40 characters: lower-case letters, digits and -, starting with a letter or digit',
        'suite "Bad Name": targets: must list at least one target',
        "suites[2]: name: must be 1 to 40 characters: lower-case letters, digits and -, starting with a letter or digit",
        'suite "weekly": name: is used by another suite',
      ]);
    }
  });

  it("reads user data files relative to the given directory", () => {
    const dir = mkdtempSync(join(tmpdir(), "boot-bench-suites-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "ud.txt"), "#!/bin/sh\necho hi\n");
    const [suite] = loadSuites([{ ...good(), userDataFile: "ud.txt" }], { baseDir: dir });
    expect(suite?.input.suite.userData).toBe("#!/bin/sh\necho hi\n");
  });

  it("fails cdk synth with those messages", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    expect(
      () =>
        new BootBenchStack(app, "BootBench", {
          suites: [{ ...good(), schedule: { cron: "0 6 * * * *", timezone: "UTC" } }],
        }),
    ).toThrow(
      /Invalid suite configuration \(config\/suites\.ts\):\n {2}suite "weekly": schedule\.cron: exactly one/,
    );
  });
});

describe("EventBridge cron expressions", () => {
  it("translates day-of-week numbers (EventBridge 1 = Sunday) for cron-parser", () => {
    expect(parseSchedulerCron("30 2 ? * 6 *").parsed?.cronParser).toBe("0 30 2 * * 5");
    expect(parseSchedulerCron("0 0 ? * 2-6/2 *").parsed?.cronParser).toBe("0 0 0 * * 1-5/2");
    expect(parseSchedulerCron("0 0 ? * 6#3 *").parsed?.cronParser).toBe("0 0 0 * * 5#3");
    expect(parseSchedulerCron("0 0 1 * ? *").parsed).toEqual({
      expression: "cron(0 0 1 * ? *)",
      cronParser: "0 0 0 1 * *",
    });
  });

  it("computes next runs in the suite's time zone, across daylight saving time", () => {
    // Friday 03:00 in Vancouver is 10:00 UTC in summer (PDT) and 11:00 UTC in winter (PST).
    const from = new Date("2025-10-28T00:00:00Z");
    expect(nextRuns("0 3 ? * FRI *", "America/Vancouver", from, 2).map((d) => d.toISOString())).toEqual([
      "2025-10-31T10:00:00.000Z",
      "2025-11-07T11:00:00.000Z",
    ]);
    expect(nextRuns("0 3 ? * 6 *", "America/Vancouver", from, 1)[0]?.toISOString()).toBe(
      "2025-10-31T10:00:00.000Z",
    );
  });
});
