import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { benchmarkIdFor } from "../../functions/domain/benchmark-identity.js";
import { parseBenchmarkInput } from "../../functions/domain/input-schema.js";
import { compareWithPrevious } from "../../functions/domain/regression.js";
import {
  childExecutionName,
  measurementKey,
  regressionAlert,
  type SuiteBenchmarkOutcome,
  type SuiteRef,
  sameMeasurement,
} from "../../functions/domain/suite.js";
import {
  compileParameterPattern,
  literalPrefixOf,
  looksLikeGraviton,
  parseSuiteExecutionInput,
  patternProblem,
} from "../../functions/domain/suite-schema.js";
import { benchmarkRecords, type RunSpec } from "../support/benchmark-records.js";

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

  it("treats run concurrency as no measurement setting; the run plan and the comparability as one", () => {
    expect(sameMeasurement(settings({ concurrency: 3 }), settings())).toBe(true);
    // Defaults applied: the same settings spelled out are the same measurement.
    expect(sameMeasurement(settings({ port: 22, imdsV2: "required" }), settings())).toBe(true);
    expect(sameMeasurement(settings({ label: "a" }), settings())).toBe(false);
    expect(sameMeasurement(settings({ runs: 5 }), settings())).toBe(false);
    expect(sameMeasurement(settings({ discardFirst: false }), settings())).toBe(false);
    expect(sameMeasurement(settings({ userData: "x" }), settings())).toBe(false);
    expect(sameMeasurement(settings({ instanceType: "m7i.large" }), settings())).toBe(false);
    expect(sameMeasurement(settings({ openTimeoutSeconds: 60 }), settings())).toBe(false);
    expect(measurementKey("ami-1", settings({ concurrency: 2 }))).toBe(measurementKey("ami-1", settings()));
    expect(measurementKey("ami-1", settings())).not.toBe(measurementKey("ami-2", settings()));
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

  it("tells a regression in the comparison's own words, with the previous image and the rule", () => {
    const steady = (total: number): RunSpec[] =>
      Array.from({ length: 10 }, (_, i) => ({ closed: total - 2 + i / 10, open: 2 }));
    const records = (benchmarkId: string, amiId: string, total: number, startedAt: string) =>
      benchmarkRecords({
        benchmarkId,
        amiId,
        name: `FreeBSD ${amiId}`,
        series: "/aws/service/x",
        startedAt,
        runs: steady(total),
      }).summary;
    const previous = records("old", "ami-a", 20, "2025-08-01T00:00:00.000Z");
    const current = records("new", "ami-b", 23, "2025-09-01T00:00:00.000Z");
    const comparison = compareWithPrevious(current, previous, { relative: 0.1, absoluteSeconds: 0.5 });
    const suite = { name: "weekly", suiteRunId: "run-1", executionId: "arn:suite" } as SuiteRef;
    const outcome = {
      benchmarkId: "new",
      image: "/aws/service/x",
      amiId: "ami-b",
      imageName: "FreeBSD ami-b",
      sourceParameter: "/aws/service/x",
      instanceType: "c7i.large",
      status: "succeeded",
      comparison,
    } as SuiteBenchmarkOutcome;
    const alert = regressionAlert(suite, outcome, comparison);
    expect(alert.subject).toBe("boot-bench regression: FreeBSD ami-b on c7i.large: slower");
    const lines = alert.message.split("\n");
    expect(lines[0]).toBe(
      "FreeBSD ami-b (ami-b) regressed against the previous image of its series: " +
        "slower by 3.00 s, 95 % CI 2.70 to 3.30 s, p < 0.001.",
    );
    expect(lines).toContain(
      "per-run totals (running to port open): slower by 3.00 s, 95 % CI 2.70 to 3.30 s, p < 0.001; " +
        "median run total 23.50 s, was 20.50 s",
    );
    expect(lines).toContain("timeouts: 0 timeouts in 9 runs against 0 in 9");
    expect(lines).toContain("previous:       old, FreeBSD ami-a (ami-a), 2025-08-01T00:00:00.000Z");
    expect(alert.message).toContain(
      "whole 95 % CI lies above both 10 % of the earlier median run total and 0.50 s",
    );
  });
});
