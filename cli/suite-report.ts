/**
 * How a suite run reads on the terminal: the published table for the benchmarks it ran (with the
 * instance type and the comparison with the previous AMI of each series), then what it skipped, what
 * failed, what could not be resolved, and the regressions it alerted about.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { getItem } from "../functions/aws/benchmark-table.js";
import { PUBLISHED_TOTAL_MEANING } from "../functions/domain/figures.js";
import {
  describeComparison,
  describePlatform,
  type SeriesComparison,
  verdictWords,
} from "../functions/domain/regression.js";
import { benchmarkPk, causeMessage, SUMMARY_SK, type SummaryRecord } from "../functions/domain/run-record.js";
import { type SuiteBenchmarkOutcome, type SuiteRecord, suitePk } from "../functions/domain/suite.js";
import { bootTable } from "./boot-table.js";
import { regressionFlag } from "./results-view.js";
import { signedSeconds } from "./text-table.js";

/** The suite item and the summaries of its benchmarks, as the table holds them. */
export interface SuiteRun {
  record: SuiteRecord;
  summaries: Map<string, SummaryRecord>;
}

export async function readSuiteRun(
  client: DynamoDBClient,
  tableName: string,
  suiteRunId: string,
): Promise<SuiteRun | undefined> {
  const record = (await getItem(client, tableName, { pk: suitePk(suiteRunId), sk: "SUMMARY" })) as
    | SuiteRecord
    | undefined;
  if (record === undefined) return undefined;
  const summaries = new Map<string, SummaryRecord>();
  for (const benchmark of record.benchmarks) {
    const summary = await getItem(client, tableName, {
      pk: benchmarkPk(benchmark.benchmarkId),
      sk: SUMMARY_SK,
    });
    if (summary !== undefined) summaries.set(benchmark.benchmarkId, summary as unknown as SummaryRecord);
  }
  return { record, summaries };
}

/** The table's column: the verdict, the per-run totals' shift, and whether the control shares it. */
function comparisonCell({ comparison, platform, control }: SuiteBenchmarkOutcome): string {
  if (comparison === undefined) return "-";
  const shift = comparison.shifts.total;
  const by = shift ? ` (${signedSeconds(shift.shift)} s)` : "";
  const flag = regressionFlag(comparison.regression, platform);
  return `${control ? "control: " : ""}${verdictWords(comparison)}${by}${flag ? ` ${flag}` : ""}`;
}

/** The report as lines of text. */
export function suiteReport({ record, summaries }: SuiteRun): string {
  const lines: string[] = [
    `Suite ${record.name}, run ${record.suiteRunId}: ${record.status}` +
      ` (${record.benchmarks.length} benchmarked, ${record.skipped.length} skipped, ${record.unresolved.length} unresolved)`,
  ];
  const rows = record.benchmarks.flatMap((benchmark) => {
    const summary = summaries.get(benchmark.benchmarkId);
    if (summary === undefined) return [];
    return [
      {
        summary,
        extra: {
          "instance type": benchmark.instanceType,
          "vs previous AMI": comparisonCell(benchmark),
        },
      },
    ];
  });
  if (rows.length > 0) {
    lines.push("", bootTable(rows, ["instance type", "vs previous AMI"]));
    lines.push(
      "",
      `Medians of the counted runs, seconds; ${PUBLISHED_TOTAL_MEANING}. vs previous AMI: the per-run ` +
        "totals against the newest earlier comparable benchmark of another image of the series.",
    );
  }
  const failed = record.benchmarks.filter((b) => b.status === "failed");
  if (failed.length > 0) {
    lines.push("", "Failed:");
    for (const b of failed) {
      lines.push(
        `  ${b.image} (${b.amiId}) on ${b.instanceType}: ${b.error?.name ?? "failed"}: ${causeMessage(b.error?.message)}`,
      );
    }
  }
  if (record.skipped.length > 0) {
    lines.push("", "Skipped:");
    for (const s of record.skipped) {
      const what = `${s.image} (${s.amiId}, ${s.architecture})${s.instanceType ? ` on ${s.instanceType}` : ""}`;
      const why =
        s.reason === "already-benchmarked"
          ? `already benchmarked with these settings as ${s.previousBenchmarkId} (${s.previousStartedAt ?? "?"}); --force to run again`
          : s.reason === "duplicate"
            ? `same image, type and settings as ${s.previousBenchmarkId} in this run`
            : `the target names no instance type for ${s.architecture}`;
      lines.push(`  ${what}: ${why}`);
    }
  }
  if (record.unresolved.length > 0) {
    lines.push("", "Unresolved targets:");
    for (const u of record.unresolved) lines.push(`  targets[${u.target}] ${u.reference}: ${u.message}`);
  }
  const regressions = record.benchmarks.filter((b) => b.comparison?.regression);
  if (regressions.length > 0) {
    lines.push("", "Regressions (alerted on the stack's AlertTopicArn):");
    for (const b of regressions) {
      const c = b.comparison as SeriesComparison;
      lines.push(
        `  ${b.imageName} on ${b.instanceType}: ${describeComparison(c)}; against ${c.previousImageName} ` +
          `(${c.previousBenchmarkId})`,
      );
      if (b.platform) lines.push(`    ${describePlatform(b.platform)}`);
    }
  }
  return lines.join("\n");
}
