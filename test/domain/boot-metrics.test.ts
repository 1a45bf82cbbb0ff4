import { describe, expect, it } from "vitest";
import { INTERVAL_METRICS, runMetricRecord } from "../../functions/domain/boot-metrics.js";
import { seriesOf } from "../../functions/domain/comparability.js";
import { isValidInterval } from "../../functions/domain/integrity.js";
import { buildRunRecord } from "../../functions/domain/run-record.js";
import { failedRunState, image, pollResult, succeededRunState } from "./run-state-fixtures.js";

const metricValue = (record: ReturnType<typeof runMetricRecord>, name: string) =>
  record.metrics.find((metric) => metric.name === name)?.value;

describe("a run's EMF record", () => {
  it("has the series and instance type as dimensions and the run's ids as metadata", () => {
    const record = runMetricRecord(buildRunRecord(succeededRunState(1)));
    expect(record.dimensions).toEqual({
      Series: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
      InstanceType: "c7i.large",
    });
    expect(record.metadata).toEqual({
      benchmarkId: "bench-1",
      runIndex: 1,
      status: "succeeded",
      amiId: "ami-0123456789abcdef0",
      instanceId: "i-0123456789abcdef0",
    });
  });

  it("gives a counted, trusted run's intervals in seconds, its bracket widths and its counts", () => {
    const run = buildRunRecord(succeededRunState(1, {}, { throttledCalls: 3 }));
    const record = runMetricRecord(run);
    for (const name of INTERVAL_METRICS) {
      expect(record.metrics).toContainEqual({ name, unit: "Seconds", value: run.intervals?.[name] });
    }
    expect(record.metrics).toContainEqual({ name: "total", unit: "Seconds", value: 10.35 });
    expect(record.metrics).toContainEqual({ name: "closedBracketWidth", unit: "Milliseconds", value: 10 });
    expect(metricValue(record, "runningBracketWidth")).toBe(run.integrity.brackets.running?.widthMs);
    expect(metricValue(record, "runs")).toBe(1);
    expect(metricValue(record, "failedRuns")).toBe(0);
    expect(metricValue(record, "timedOutRuns")).toBe(0);
    expect(metricValue(record, "throttledCalls")).toBe(3);
    expect(metricValue(record, "untrustedIntervals")).toBe(0);
  });

  it("never graphs an interval integrity judged untrustworthy: it counts it instead", () => {
    // The running bracket 5 s wide: pending-to-running and what ends at running are not known.
    const poll = pollResult();
    const run = buildRunRecord(succeededRunState(1, {}, { runningNotBefore: poll.runningAt - 5_000 }));
    const untrusted = INTERVAL_METRICS.filter((name) => !isValidInterval(run.integrity, name));
    expect(untrusted).toContain("pendingToRunning");
    const record = runMetricRecord(run);
    for (const name of untrusted) expect(metricValue(record, name)).toBeUndefined();
    expect(metricValue(record, "runInstancesApi")).toBe(run.intervals?.runInstancesApi);
    expect(metricValue(record, "untrustedIntervals")).toBe(untrusted.length);
    expect(metricValue(record, "runningBracketWidth")).toBe(5_000);
  });

  it("keeps the discarded first run out of the boot-time graphs, as the medians do", () => {
    const run = buildRunRecord(succeededRunState(0));
    expect(run.counted).toBe(false);
    const record = runMetricRecord(run);
    for (const name of INTERVAL_METRICS) expect(metricValue(record, name)).toBeUndefined();
    expect(metricValue(record, "untrustedIntervals")).toBeUndefined();
    expect(metricValue(record, "runs")).toBe(1);
  });

  it("counts a failed run and a timed-out run", () => {
    const failed = runMetricRecord(buildRunRecord(failedRunState(1, "InsufficientInstanceCapacity", "none")));
    expect([metricValue(failed, "failedRuns"), metricValue(failed, "timedOutRuns")]).toEqual([1, 0]);
    const timedOut = runMetricRecord(buildRunRecord(failedRunState(2, "BootBench.RunningTimeout", "slow")));
    expect([metricValue(timedOut, "failedRuns"), metricValue(timedOut, "timedOutRuns")]).toEqual([0, 1]);
    expect(metricValue(timedOut, "total")).toBeUndefined();
  });
});

describe("seriesOf", () => {
  it("is the SSM parameter an image came from, else its AMI id", () => {
    expect(seriesOf(image)).toBe("/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT");
    expect(seriesOf({ amiId: "ami-0abc" })).toBe("ami-0abc");
  });
});
