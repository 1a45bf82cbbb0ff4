/**
 * The results the CLI tests read: a weekly FreeBSD snapshot series with one regression, and a few AMIs
 * with the 2021 published intervals (DESIGN.md section 7), including repeats, failures and an image
 * whose port never answered closed.
 */
import {
  type BenchmarkRecords,
  benchmarkRecords,
  type RunSpec,
  tenRuns,
} from "../support/benchmark-records.js";

export const SERIES = "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT";
/** "Now" for `--since` durations: a week after the last benchmark. */
export const NOW = Date.parse("2025-06-08T00:00:00Z");

const snapshot = (
  week: number,
  day: string,
  closed: number,
  open: number,
  extra: { instanceType?: string } = {},
) =>
  benchmarkRecords({
    benchmarkId: `weekly-${week}${extra.instanceType ? `-${extra.instanceType}` : ""}`,
    startedAt: `${day}T06:00:00.000Z`,
    amiId: `ami-0f15c0000000000${week}`,
    name: `FreeBSD 15.0-CURRENT-amd64-${day.replace(/-/g, "")} UFS`,
    series: SERIES,
    runs: tenRuns(closed, open),
    ...extra,
  });

const allFailed: RunSpec[] = ["failed", "failed", "failed", "failed"];

export const DATASET: BenchmarkRecords[] = [
  // The series on c7i.large: +1 %, then +15.8 % (flagged), then faster again.
  snapshot(1, "2025-05-01", 8.0, 2.0),
  snapshot(2, "2025-05-08", 8.1, 2.0),
  snapshot(3, "2025-05-15", 9.6, 2.1),
  snapshot(4, "2025-05-22", 9.0, 2.0),
  // The week-4 AMI again a day later: no capacity at all. It must not hide the measurement before it.
  benchmarkRecords({
    benchmarkId: "weekly-4-retry",
    startedAt: "2025-05-23T06:00:00.000Z",
    amiId: "ami-0f15c00000000004",
    name: "FreeBSD 15.0-CURRENT-amd64-20250522 UFS",
    series: SERIES,
    runs: allFailed,
  }),
  // The same series on another instance type: its own history.
  snapshot(1, "2025-05-01", 7.0, 1.5, { instanceType: "m7i.large" }),
  snapshot(2, "2025-05-08", 7.2, 1.5, { instanceType: "m7i.large" }),

  // Published 2021 figures, benchmarked by AMI id.
  benchmarkRecords({
    benchmarkId: "debian-10-old",
    startedAt: "2025-04-01T12:00:00.000Z",
    amiId: "ami-0deb1000000000010",
    name: "debian-10-amd64-20210721-710",
    runs: tenRuns(7.5, 4.5),
  }),
  benchmarkRecords({
    benchmarkId: "debian-10",
    startedAt: "2025-06-01T12:00:00.000Z",
    amiId: "ami-0deb1000000000010",
    name: "debian-10-amd64-20210721-710",
    runs: tenRuns(6.26, 4.09),
  }),
  benchmarkRecords({
    benchmarkId: "amazon-linux-2",
    startedAt: "2025-06-01T13:00:00.000Z",
    amiId: "ami-0a1200000000000a2",
    name: "amzn2-ami-hvm-2.0.20210813.1-x86_64-gp2",
    runs: [...tenRuns(9.55, 1.54).slice(0, 8), "failed", "timeout-open"],
  }),
  benchmarkRecords({
    benchmarkId: "clear-linux",
    startedAt: "2025-06-01T14:00:00.000Z",
    amiId: "ami-0c1ea0000000034640",
    name: "clear-34640-ecs-base",
    // Never answered closed: closed := open, so closed to open is 0.
    runs: tenRuns(1.23, 0).map((run) =>
      typeof run === "object" ? { ...run, open: 0, closedSeen: false } : run,
    ),
  }),
  benchmarkRecords({
    benchmarkId: "freebsd-13-firstboot-off",
    startedAt: "2025-06-01T15:00:00.000Z",
    amiId: "ami-0f13000000000130",
    name: "FreeBSD 13.0-RELEASE-amd64",
    label: "firstboot-off",
    runs: tenRuns(19.0, 5.13),
  }),
  benchmarkRecords({
    benchmarkId: "broken-image",
    startedAt: "2025-06-01T16:00:00.000Z",
    amiId: "ami-0bad0000000000bad",
    name: "broken-linux-1.0",
    runs: ["failed", "timeout-running", "failed"],
  }),
];

/**
 * A stand-in for process.stdout.write that keeps the text and, like the real one, calls back once the
 * chunk is handled: the commands wait for that before the CLI exits.
 */
export function streamWrite(keep: (text: string) => void) {
  return (chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean => {
    keep(String(chunk));
    const done = typeof encodingOrCallback === "function" ? encodingOrCallback : callback;
    if (typeof done === "function") done();
    return true;
  };
}
