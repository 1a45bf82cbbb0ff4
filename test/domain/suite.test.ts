import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { benchmarkIdFor } from "../../functions/domain/benchmark-identity.js";
import { parseBenchmarkInput } from "../../functions/domain/input-schema.js";
import type { SummaryRecord } from "../../functions/domain/run-record.js";
import {
  childExecutionName,
  compareWithPrevious,
  isSeriesPredecessor,
  measurementKey,
  sameMeasurement,
} from "../../functions/domain/suite.js";
import {
  compileParameterPattern,
  literalPrefixOf,
  looksLikeGraviton,
  parseSuiteExecutionInput,
  patternProblem,
} from "../../functions/domain/suite-schema.js";

describe("parameter patterns", () => {
  const matches = (pattern: string, names: string[]) =>
    names.filter((n) => compileParameterPattern(pattern).test(n));

  it("matches * within one segment, {a,b} alternatives, ? and ** across segments", () => {
    const names = [
      "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
      "/aws/service/freebsd/arm64/base/ufs/15.0/CURRENT",
      "/aws/service/freebsd/amd64/base/ufs/14.3/STABLE",
      "/aws/service/freebsd/amd64/base/ufs/14.3/RELEASE",
      "/aws/service/freebsd/amd64/base/zfs/15.0/CURRENT",
      "/aws/service/freebsd/amd64/small/ufs/15.0/CURRENT",
      "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT/extra",
    ];
    expect(matches("/aws/service/freebsd/*/base/ufs/*/{CURRENT,STABLE}", names)).toEqual(names.slice(0, 3));
    expect(matches("/aws/service/freebsd/amd64/base/ufs/1?.?/CURRENT", names)).toEqual([names[0]]);
    expect(matches("/aws/service/freebsd/**/CURRENT", names)).toEqual([
      names[0],
      names[1],
      names[4],
      names[5],
    ]);
    // Dots are literal.
    expect(matches("/aws/service/freebsd/amd64/base/ufs/15x0/*", names)).toEqual([]);
  });

  it("starts GetParametersByPath at the literal prefix", () => {
    expect(literalPrefixOf("/aws/service/freebsd/*/base/ufs/*/{CURRENT,STABLE}")).toBe(
      "/aws/service/freebsd",
    );
    expect(literalPrefixOf("/aws/service/debian/release/bookworm/latest/{amd64,arm64}")).toBe(
      "/aws/service/debian/release/bookworm/latest",
    );
  });

  it("names what is wrong with a pattern", () => {
    expect(patternProblem("aws/service/*")).toBe("must be an absolute SSM path starting with /");
    expect(patternProblem("/aws/service/debian")).toBe("has no wildcard: use image for a single parameter");
    expect(patternProblem("/aws//x/*")).toMatch(/empty segments/);
    expect(patternProblem("/aws/{a,b/x")).toMatch(/braces/);
    expect(patternProblem("/aws/{a,,b}")).toMatch(/must not be empty/);
    expect(patternProblem("/aws/a**/x")).toMatch(/whole segment/);
    expect(patternProblem("/aws/a b/*")).toMatch(/may contain only/);
  });
});

describe("suite inputs", () => {
  it("applies defaults: force false, two benchmarks at once, 10 % and 0.5 s thresholds", () => {
    const input = parseSuiteExecutionInput({
      suite: { name: "s", targets: [{ image: "ami-12345678", instanceTypes: { x86_64: ["c7i.large"] } }] },
    });
    expect(input).toMatchObject({
      force: false,
      suite: { concurrency: 2, regression: { relative: 0.1, absoluteSeconds: 0.5 } },
    });
  });

  it("accepts the sample suite input in events/", () => {
    const sample = JSON.parse(
      readFileSync(new URL("../../events/suite-freebsd-current.json", import.meta.url), "utf8"),
    );
    expect(parseSuiteExecutionInput(sample).suite.targets).toHaveLength(1);
  });

  it("tells Graviton instance types from the others", () => {
    for (const type of [
      "c7g.large",
      "m7gd.xlarge",
      "t4g.micro",
      "x2gd.medium",
      "im4gn.large",
      "a1.large",
      "c8g.2xlarge",
    ]) {
      expect(looksLikeGraviton(type), type).toBe(true);
    }
    for (const type of [
      "c7i.large",
      "g5.xlarge",
      "g4dn.xlarge",
      "m7a.large",
      "c5.xlarge",
      "t3.micro",
      "c7i-flex.large",
    ]) {
      expect(looksLikeGraviton(type), type).toBe(false);
    }
  });
});

describe("suite rules", () => {
  const settings = (extra: Record<string, unknown> = {}) =>
    parseBenchmarkInput({ image: "/aws/service/x", instanceType: "c7i.large", ...extra });

  it("treats label and run concurrency as no measurement setting, everything else as one", () => {
    expect(sameMeasurement(settings({ label: "a", concurrency: 3 }), settings())).toBe(true);
    expect(sameMeasurement(settings({ runs: 5 }), settings())).toBe(false);
    expect(sameMeasurement(settings({ userData: "x" }), settings())).toBe(false);
    expect(sameMeasurement(settings({ instanceType: "m7i.large" }), settings())).toBe(false);
    expect(measurementKey("ami-1", settings({ label: "a" }))).toBe(measurementKey("ami-1", settings()));
  });

  it("names children short enough to be their own benchmark ids", () => {
    const execution =
      "arn:aws:states:us-east-1:123456789012:execution:BootBench-Benchmark:0f8fad5b-d9cb-469f-a165-70867728950e";
    const name = childExecutionName("a-suite-with-a-rather-long-name-indeed", execution, 12);
    expect(name.length).toBeLessThanOrEqual(40);
    expect(name).toMatch(/^a-suite-with-a-rather-lo-[0-9a-f]{8}-012$/);
    expect(
      benchmarkIdFor(`arn:aws:states:us-east-1:123456789012:execution:BootBench-Benchmark:${name}`),
    ).toBe(name);
  });

  const summary = (benchmarkId: string, amiId: string, total: number, startedAt: string): SummaryRecord =>
    ({
      benchmarkId,
      amiId,
      startedAt,
      status: "succeeded",
      sourceParameter: "/aws/service/x",
      settings: settings(),
      image: { amiId, name: amiId, architecture: "x86_64" },
      medians: {
        runInstancesApi: 1,
        pendingToRunning: 7,
        runningToPortClosed: total - 2,
        portClosedToOpen: 2,
        total,
      },
    }) as SummaryRecord;

  it("flags a regression only when worse by more than both thresholds", () => {
    const thresholds = { relative: 0.1, absoluteSeconds: 0.5 };
    const previous = summary("old", "ami-a", 8, "2025-08-01T00:00:00.000Z");
    const at = (total: number) =>
      compareWithPrevious(summary("new", "ami-b", total, "2025-09-01T00:00:00.000Z"), previous, thresholds);
    expect(at(9)?.regression).toBe(true); // +1 s, +12.5 %
    expect(at(8.7)?.regression).toBe(false); // +0.7 s, +8.75 %
    expect(at(7)?.regression).toBe(false); // faster
    expect(at(9)).toMatchObject({ deltaSeconds: 1, deltaRelative: 0.125, previousTotal: 8, total: 9 });
  });

  it("takes as predecessor only an older benchmark of another AMI in the same series", () => {
    const current = summary("new", "ami-b", 9, "2025-09-01T00:00:00.000Z");
    expect(isSeriesPredecessor(current, summary("old", "ami-a", 8, "2025-08-01T00:00:00.000Z"))).toBe(true);
    expect(isSeriesPredecessor(current, summary("old", "ami-b", 8, "2025-08-01T00:00:00.000Z"))).toBe(false);
    expect(isSeriesPredecessor(current, summary("later", "ami-a", 8, "2025-09-02T00:00:00.000Z"))).toBe(
      false,
    );
    expect(isSeriesPredecessor(current, current)).toBe(false);
  });
});
