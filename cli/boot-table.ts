/**
 * The comparison table in the layout of the published ec2-boot-bench results: AMI Id, AMI Name,
 * running to port closed, closed to open, total; seconds with two decimals; sorted by total.
 */
import type { SummaryRecord } from "../functions/domain/run-record.js";
import { type Column, seconds, textTable } from "./text-table.js";

export interface BootTableRow {
  summary: SummaryRecord;
  /** Extra columns (e.g. the local cloud's measurement error), appended after the published ones. */
  extra?: Record<string, string>;
}

export function bootTable(rows: BootTableRow[], extraHeaders: string[] = []): string {
  const sorted = [...rows].sort(
    (a, b) =>
      (a.summary.medians?.total ?? Number.POSITIVE_INFINITY) -
      (b.summary.medians?.total ?? Number.POSITIVE_INFINITY),
  );
  const columns: Column<BootTableRow>[] = [
    { header: "AMI Id", value: (r) => r.summary.amiId },
    { header: "AMI Name", value: (r) => r.summary.image.name },
    {
      header: "running to port closed",
      value: (r) => seconds(r.summary.medians?.runningToPortClosed),
      align: "right",
    },
    { header: "closed to open", value: (r) => seconds(r.summary.medians?.portClosedToOpen), align: "right" },
    { header: "total", value: (r) => seconds(r.summary.medians?.total), align: "right" },
    {
      header: "runs ok",
      value: (r) => `${r.summary.countedSucceededRuns}/${r.summary.countedRuns}`,
      align: "right",
    },
    // Runs whose figures could not be trusted (functions/domain/integrity.ts): left out of the medians.
    { header: "marked", value: (r) => String(r.summary.integrity.markedRuns), align: "right" },
    // The benchmark's own resolution: the p99 width of the running, closed and open brackets.
    { header: "bracket p99 ms run/closed/open", value: (r) => bracketP99(r.summary), align: "right" },
    ...extraHeaders.map((header) => ({
      header,
      value: (r: BootTableRow) => r.extra?.[header] ?? "-",
      align: "right" as const,
    })),
  ];
  return textTable(columns, sorted);
}

function bracketP99(summary: SummaryRecord): string {
  const p99 = (boundary: "running" | "closed" | "open") => {
    const value = summary.integrity.bracketWidths[boundary]?.p99Ms;
    return value === undefined ? "-" : value.toFixed(0);
  };
  return `${p99("running")}/${p99("closed")}/${p99("open")}`;
}
