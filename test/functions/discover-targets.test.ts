/**
 * DiscoverTargets against the local cloud's SSM (GetParametersByPath, the FreeBSD weekly series) and
 * EC2 (DescribeImages), with an in-memory dynalite holding the results table for the dedupe.
 */
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { marshallItem } from "../../functions/aws/benchmark-table.js";
import { discoverTargets } from "../../functions/discover-targets/discover-targets.js";
import type { BenchmarkSettings } from "../../functions/domain/contract.js";
import { InvalidInputError } from "../../functions/domain/errors.js";
import { parseBenchmarkInput } from "../../functions/domain/input-schema.js";
import type { SummaryRecord } from "../../functions/domain/run-record.js";
import type { DiscoverTargetsResult } from "../../functions/domain/suite.js";
import type { SuiteExecutionInputDraft } from "../../functions/domain/suite-schema.js";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import {
  ensureTable,
  type LocalDynamoDb,
  startLocalDynamoDb,
} from "../../local-cloud/runner/local-dynamodb.js";
import { startTestCloud, type TestCloud } from "../local-cloud/local-aws-support.js";
import { resultsTableDefinition } from "../support/results-dynamodb.js";

const AMD64_CURRENT = "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT";
const ARM64_CURRENT = "/aws/service/freebsd/arm64/base/ufs/15.0/CURRENT";
const AMD64_STABLE = "/aws/service/freebsd/amd64/base/ufs/14.3/STABLE";
const EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:BootBench-Benchmark:weekly-2025-09-05";

let cloud: TestCloud;
let local: LocalDynamoDb;
let dynamoDb: DynamoDBClient;
let tableCount = 0;
let tableName: string;

beforeAll(async () => {
  cloud = await startTestCloud();
  local = await startLocalDynamoDb();
  dynamoDb = new DynamoDBClient({
    endpoint: local.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
});
afterAll(async () => {
  dynamoDb?.destroy();
  await local?.close();
  await cloud?.close();
});
beforeEach(async () => {
  tableName = `results-${++tableCount}`;
  await ensureTable(dynamoDb, resultsTableDefinition(tableName));
});

const freebsdSuite = (extra: Partial<SuiteExecutionInputDraft["suite"]> = {}): SuiteExecutionInputDraft => ({
  suite: {
    name: "freebsd-weekly",
    targets: [
      {
        pattern: "/aws/service/freebsd/*/base/ufs/*/{CURRENT,STABLE}",
        instanceTypes: { x86_64: ["c7i.large"], arm64: ["c7g.large"] },
      },
    ],
    runs: 10,
    userData: '>>/etc/rc.conf\nfirstboot_pkgs_enable="NO"\n',
    ...extra,
  },
});

const discover = (input: unknown, executionId = EXECUTION): Promise<DiscoverTargetsResult> =>
  discoverTargets(
    { input, executionId, startTime: "2025-09-05T10:00:00.123Z" },
    { ssm: cloud.ssm, ec2: cloud.ec2, dynamoDb, tableName },
  );

/** A summary as Summarise writes it, enough for ByAmi. */
async function seedSummary(
  benchmarkId: string,
  amiId: string,
  settings: BenchmarkSettings,
  status = "succeeded",
) {
  const summary: Partial<SummaryRecord> = {
    pk: `BENCHMARK#${benchmarkId}`,
    sk: "SUMMARY",
    itemType: "summary",
    recentPk: "BENCHMARK",
    amiId,
    benchmarkId,
    executionId: `arn:aws:states:us-east-1:123456789012:execution:BootBench-Benchmark:${benchmarkId}`,
    startedAt: "2025-08-29T10:00:00.000Z",
    status: status as SummaryRecord["status"],
    instanceType: settings.instanceType,
    settings,
  };
  await dynamoDb.send(new PutItemCommand({ TableName: tableName, Item: marshallItem(summary) }));
}

describe("discovery by pattern", () => {
  it("finds every parameter the pattern matches, and pairs each image with its own architecture's types", async () => {
    const result = await discover(freebsdSuite());

    expect(result.benchmarks.map((b) => [b.image, b.architecture, b.instanceType, b.amiId])).toEqual([
      [AMD64_STABLE, "x86_64", "c7i.large", BUILT_IN_AMI_IDS.freebsd143Stable],
      [AMD64_CURRENT, "x86_64", "c7i.large", BUILT_IN_AMI_IDS.freebsdCurrentAmd64],
      [ARM64_CURRENT, "arm64", "c7g.large", BUILT_IN_AMI_IDS.freebsdCurrentArm64],
    ]);
    // 14.3/RELEASE is under the same path but not CURRENT or STABLE.
    expect(result.benchmarks.map((b) => b.image)).not.toContain(
      "/aws/service/freebsd/amd64/base/ufs/14.3/RELEASE",
    );
    expect(result).toMatchObject({ skipped: [], unresolved: [], concurrency: 2 });
    expect(result.suite).toMatchObject({
      name: "freebsd-weekly",
      suiteRunId: "weekly-2025-09-05",
      executionId: EXECUTION,
      startedAt: "2025-09-05T10:00:00.123Z",
      force: false,
      regression: { relative: 0.1, absoluteSeconds: 0.5 },
      targets: 1,
    });
  });

  it("gives each child a single-benchmark input with the series as image, and a short, stable execution name", async () => {
    const benchmarks = (await discover(freebsdSuite())).benchmarks;
    const [first, second] = benchmarks;
    expect(first?.input).toEqual({
      image: AMD64_STABLE,
      instanceType: "c7i.large",
      runs: 10,
      userData: '>>/etc/rc.conf\nfirstboot_pkgs_enable="NO"\n',
      label: "freebsd-weekly",
    });
    expect(() => parseBenchmarkInput(first?.input)).not.toThrow();
    expect(first?.sourceParameter).toBe(AMD64_STABLE);
    expect(first?.imageName).toBe("FreeBSD 14.3-STABLE-amd64-20250828 UFS");
    expect(first?.executionName).toMatch(/^freebsd-weekly-[0-9a-f]{8}-000$/);
    expect(second?.executionName).toMatch(/-001$/);
    // Deterministic: the same suite execution asks for the same children again.
    expect((await discover(freebsdSuite())).benchmarks.map((b) => b.executionName)).toEqual(
      benchmarks.map((b) => b.executionName),
    );
    const another = await discover(freebsdSuite(), `${EXECUTION}-retry`);
    expect(another.benchmarks[0]?.executionName).not.toBe(first?.executionName);
  });

  it("never sends an image to another architecture's types: a target without arm64 types skips arm64 images", async () => {
    const result = await discover(
      freebsdSuite({
        targets: [
          {
            pattern: "/aws/service/freebsd/*/base/ufs/15.0/CURRENT",
            instanceTypes: { x86_64: ["c7i.large", "m7i.large"] },
          },
        ],
      }),
    );
    expect(result.benchmarks.map((b) => [b.image, b.instanceType])).toEqual([
      [AMD64_CURRENT, "c7i.large"],
      [AMD64_CURRENT, "m7i.large"],
    ]);
    expect(result.skipped).toEqual([
      {
        target: 0,
        reason: "no-instance-type-for-architecture",
        image: ARM64_CURRENT,
        amiId: BUILT_IN_AMI_IDS.freebsdCurrentArm64,
        architecture: "arm64",
        sourceParameter: ARM64_CURRENT,
      },
    ]);
  });

  it("follows GetParametersByPath pages through a whole tree with ** and an explicit path", async () => {
    const result = await discover(
      freebsdSuite({
        targets: [
          {
            path: "/aws/service",
            pattern: "/aws/service/**/CURRENT",
            instanceTypes: { x86_64: ["c7i.large"] },
          },
        ],
      }),
    );
    expect(result.benchmarks.map((b) => b.image)).toEqual([AMD64_CURRENT]);
    expect(result.skipped.map((s) => s.image)).toEqual([ARM64_CURRENT]);
    // More than one page: the catalogue publishes more than ten parameters under /aws/service.
    expect(cloud.aws.cloud.stats().calls.GetParametersByPath).toBeGreaterThan(1);
  });

  it("takes images as given: an AMI id, a parameter, resolve:ssm:", async () => {
    const result = await discover(
      freebsdSuite({
        targets: [
          { image: BUILT_IN_AMI_IDS.debian12Amd64, instanceTypes: { x86_64: ["c7i.large"] } },
          {
            image: "resolve:ssm:/aws/service/debian/release/bookworm/latest/arm64",
            instanceTypes: { arm64: ["c7g.large"] },
          },
        ],
      }),
    );
    expect(result.benchmarks.map((b) => [b.image, b.sourceParameter, b.architecture])).toEqual([
      [BUILT_IN_AMI_IDS.debian12Amd64, undefined, "x86_64"],
      [
        "/aws/service/debian/release/bookworm/latest/arm64",
        "/aws/service/debian/release/bookworm/latest/arm64",
        "arm64",
      ],
    ]);
  });

  it("reports targets that resolve to nothing, and carries on with the others", async () => {
    const result = await discover(
      freebsdSuite({
        targets: [
          {
            pattern: "/aws/service/freebsd/riscv64/base/ufs/*/CURRENT",
            instanceTypes: { x86_64: ["c7i.large"] },
          },
          {
            image: "/aws/service/freebsd/amd64/base/ufs/13.0/RELEASE",
            instanceTypes: { x86_64: ["c7i.large"] },
          },
          { image: AMD64_CURRENT, instanceTypes: { x86_64: ["c7i.large"] } },
        ],
      }),
    );
    expect(result.unresolved.map((u) => [u.target, u.reason, u.reference])).toEqual([
      [0, "no-parameter-matched", "/aws/service/freebsd/riscv64/base/ufs/*/CURRENT"],
      [1, "parameter-not-found", "/aws/service/freebsd/amd64/base/ufs/13.0/RELEASE"],
    ]);
    expect(result.benchmarks.map((b) => b.image)).toEqual([AMD64_CURRENT]);
  });

  it("refuses an invalid suite with InvalidInputError naming each field", async () => {
    const error = await discover({
      suite: {
        name: "x",
        targets: [{ pattern: "aws/service/*", instanceTypes: { amd64: ["c7i.large"] } }],
        colour: 1,
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).problems).toEqual([
      "suite.targets[0].pattern: must be an absolute SSM path starting with /",
      'suite.targets[0].instanceTypes.amd64: unknown architecture "amd64"; use x86_64 or arm64',
      "suite.colour: is not a known field",
    ]);
  });
});

describe("dedupe", () => {
  const settingsFor = (instanceType: string, extra: Record<string, unknown> = {}) =>
    parseBenchmarkInput({
      image: AMD64_CURRENT,
      instanceType,
      runs: 10,
      userData: '>>/etc/rc.conf\nfirstboot_pkgs_enable="NO"\n',
      // A suite's benchmarks are labelled with its name unless the suite names a label.
      label: "freebsd-weekly",
      ...extra,
    });

  it("skips an AMI that already has a successful benchmark with the same instance type and settings (ByAmi)", async () => {
    await seedSummary("earlier", BUILT_IN_AMI_IDS.freebsdCurrentAmd64, settingsFor("c7i.large"));
    const result = await discover(freebsdSuite());

    expect(result.benchmarks.map((b) => b.image)).toEqual([AMD64_STABLE, ARM64_CURRENT]);
    expect(result.skipped).toEqual([
      {
        target: 0,
        reason: "already-benchmarked",
        image: AMD64_CURRENT,
        amiId: BUILT_IN_AMI_IDS.freebsdCurrentAmd64,
        architecture: "x86_64",
        sourceParameter: AMD64_CURRENT,
        instanceType: "c7i.large",
        previousBenchmarkId: "earlier",
        previousStartedAt: "2025-08-29T10:00:00.000Z",
      },
    ]);
  });

  it("benchmarks it again when the earlier benchmark failed, differs in type or settings, or with force", async () => {
    const amiId = BUILT_IN_AMI_IDS.freebsdCurrentAmd64;
    await seedSummary("failed-one", amiId, settingsFor("c7i.large"), "failed");
    await seedSummary("other-type", amiId, settingsFor("m7i.large"));
    await seedSummary("other-runs", amiId, settingsFor("c7i.large", { runs: 5 }));
    await seedSummary("other-user-data", amiId, settingsFor("c7i.large", { userData: "#!/bin/sh\n" }));
    // A label marks another setup (and another comparability key): its benchmark does not count here.
    await seedSummary("other-label", amiId, settingsFor("c7i.large", { label: "another-suite" }));
    expect((await discover(freebsdSuite())).skipped).toEqual([]);

    await seedSummary("same", amiId, settingsFor("c7i.large"));
    expect((await discover(freebsdSuite())).skipped.map((s) => s.previousBenchmarkId)).toEqual(["same"]);
    const forced = await discover({ ...freebsdSuite(), force: true });
    expect(forced.skipped).toEqual([]);
    expect(forced.benchmarks).toHaveLength(3);
    expect(forced.suite.force).toBe(true);
  });

  it("benchmarks a control target at every run, though the same benchmark exists, and marks it", async () => {
    const amiId = BUILT_IN_AMI_IDS.freebsdCurrentAmd64;
    await seedSummary("same-again", amiId, settingsFor("c7i.large"));
    const pattern = "/aws/service/freebsd/*/base/ufs/*/{CURRENT,STABLE}";
    const withControl = freebsdSuite({
      targets: [{ pattern, instanceTypes: { x86_64: ["c7i.large"], arm64: ["c7g.large"] }, control: true }],
    });
    const result = await discover(withControl);
    expect(result.skipped).toEqual([]);
    expect(result.benchmarks.find((b) => b.amiId === amiId)).toMatchObject({ control: true });
    expect(result.benchmarks.every((b) => b.control === true)).toBe(true);
    // Without the flag the same target is skipped as already benchmarked, and carries no mark.
    const plain = await discover(freebsdSuite());
    expect(plain.skipped.map((s) => s.amiId)).toContain(amiId);
    expect(plain.benchmarks.some((b) => "control" in b)).toBe(false);
  });

  it("runs an image only once per suite run when two targets resolve to it", async () => {
    const result = await discover(
      freebsdSuite({
        targets: [
          {
            pattern: "/aws/service/freebsd/amd64/base/ufs/*/CURRENT",
            instanceTypes: { x86_64: ["c7i.large"] },
          },
          { image: AMD64_CURRENT, instanceTypes: { x86_64: ["c7i.large"] } },
        ],
      }),
    );
    expect(result.benchmarks).toHaveLength(1);
    expect(result.skipped).toMatchObject([
      {
        target: 1,
        reason: "duplicate",
        image: AMD64_CURRENT,
        previousBenchmarkId: result.benchmarks[0]?.executionName,
      },
    ]);
  });
});
