/**
 * `boot-bench compare <a> <b>`: whether b boots slower than a, by the one rule of
 * functions/domain/regression.ts that history and the suites' alerts use too: the shift of each
 * interval over the counted runs with its 95 % interval, a verdict on the per-run totals, and timeouts
 * and failures compared as counts. An A/B compare is often across a deliberate difference (c7i against
 * c7g, a UEFI label against a BIOS one), so a difference in what was measured is listed, not refused.
 */
import type { Command } from "commander";
import { getSummary, querySummariesByAmi } from "../../functions/aws/benchmark-queries.js";
import { comparabilityDifferences } from "../../functions/domain/comparability.js";
import { representativeBenchmark } from "../../functions/domain/comparison.js";
import { INTERVAL_LABELS, RUN_TOTAL_MEDIAN_MEANING } from "../../functions/domain/figures.js";
import { INTERVAL_NAMES, type IntervalName } from "../../functions/domain/integrity.js";
import {
  type BenchmarkComparison,
  COMPARISON_CONFIDENCE,
  type CountComparison,
  compareBenchmarks,
  describeComparison,
  formatP,
  hasSample,
  type IntervalShift,
  thresholdRule,
  verdictWords,
} from "../../functions/domain/regression.js";
import type { SummaryRecord } from "../../functions/domain/run-record.js";
import { jsonDocument, type OutputFormat, renderTable, type TabularFormat } from "../output-format.js";
import { flushed, processIo, type QueryDeps, writeNotes } from "../query-command.js";
import {
  addTargetOptions,
  addThresholdOptions,
  formatOption,
  type ThresholdOptions,
  thresholdsFrom,
  withResultsTable,
} from "../query-options.js";
import type { TableTargetOptions } from "../results-table.js";
import { shortTime } from "../results-view.js";
import { type Column, pValueCell, seconds, signedSeconds } from "../text-table.js";
import { REGRESSION_EXIT_CODE } from "./history.js";

export interface CompareRequest extends ThresholdOptions {
  /** The baseline: a benchmark id, or an AMI id for that AMI's newest benchmark with results. */
  a: string;
  /** The one judged against it, the same way. */
  b: string;
  /** Narrow an AMI id to its newest benchmark on this instance type… */
  instanceType?: string;
  /** …and with this label. */
  label?: string;
  format: OutputFormat;
}

export interface CompareOutcome {
  a: SummaryRecord;
  b: SummaryRecord;
  /** What differs in what was measured, `field: a against b` (comparabilityDifferences). */
  differences: string[];
  /** `b` against `a`: positive shifts are b slower. */
  comparison: BenchmarkComparison;
}

const AMI_ID = /^ami-[0-9a-f]+$/;

/**
 * A summary that carries what a comparison is computed from. Summaries written before the counted
 * runs' values and the comparability were stored have medians only, and medians alone cannot say
 * whether a difference is more than noise.
 */
function comparableSummary(summary: SummaryRecord): SummaryRecord {
  if (!hasSample(summary) || summary.comparability === undefined || summary.comparabilityKey === undefined) {
    throw new Error(
      `benchmark ${summary.benchmarkId} (${summary.amiId}) cannot be compared: it was summarised before summaries stored ` +
        "per-run samples (the counted runs' values and what makes benchmarks comparable), and medians " +
        "alone cannot tell a shift from noise; benchmark the image again to compare it",
    );
  }
  return summary;
}

interface Narrowing {
  instanceType?: string;
  label?: string;
}

const narrowingWords = ({ instanceType, label }: Narrowing): string =>
  [
    ...(instanceType !== undefined ? [`on ${instanceType}`] : []),
    ...(label !== undefined ? [`with label ${label}`] : []),
  ]
    .map((words) => ` ${words}`)
    .join("");

/** A benchmark id's summary, or the benchmark that stands for an AMI (representativeBenchmark). */
async function resolveBenchmark(deps: QueryDeps, argument: string, narrowing: Narrowing) {
  if (AMI_ID.test(argument)) {
    const summaries = await querySummariesByAmi(deps.client, deps.tableName, argument, {
      ...narrowing,
      newestFirst: true,
    });
    // The one that stands for the AMI everywhere: an all-failed retry does not hide the measurement.
    const newest = representativeBenchmark(summaries);
    if (!newest) {
      throw new Error(`${argument}${narrowingWords(narrowing)}: no benchmark in table ${deps.tableName}`);
    }
    return comparableSummary(newest);
  }
  if (argument.startsWith("ami-")) {
    throw new Error(`${JSON.stringify(argument)} is not an AMI id (ami- followed by hex digits)`);
  }
  const summary = await getSummary(deps.client, deps.tableName, argument);
  if (!summary) {
    throw new Error(
      `no summary of benchmark ${argument} in table ${deps.tableName}: not a benchmark id there, or the ` +
        "benchmark is still running (its summary is written last); `boot-bench results` lists benchmark ids, " +
        "or give an AMI id (ami-…) for its newest benchmark",
    );
  }
  return comparableSummary(summary);
}

// ---- output --------------------------------------------------------------------------------------
interface ShiftRow {
  interval: IntervalName;
  shift: IntervalShift;
}

const CONFIDENCE_WORDS = `${Math.round(COMPARISON_CONFIDENCE * 100)} %`;
function shiftColumns(format: TabularFormat): Column<ShiftRow>[] {
  // "9/9" in text; in CSV two numbers, because a spreadsheet reads 9/9 as the ninth of September.
  const runs: Column<ShiftRow>[] =
    format === "csv"
      ? [
          { header: "a runs", value: (row) => String(row.shift.earlierCount), align: "right" },
          { header: "b runs", value: (row) => String(row.shift.laterCount), align: "right" },
        ]
      : [
          {
            header: "runs a/b",
            value: (row) => `${row.shift.earlierCount}/${row.shift.laterCount}`,
            align: "right",
          },
        ];
  return [
    { header: "interval", value: (row) => INTERVAL_LABELS[row.interval] },
    { header: "a median", value: (row) => seconds(row.shift.earlierMedian), align: "right" },
    { header: "b median", value: (row) => seconds(row.shift.laterMedian), align: "right" },
    { header: "shift", value: (row) => signedSeconds(row.shift.shift), align: "right" },
    { header: `${CONFIDENCE_WORDS} CI low`, value: (row) => signedSeconds(row.shift.low), align: "right" },
    { header: "high", value: (row) => signedSeconds(row.shift.high), align: "right" },
    { header: "p", value: (row) => pValueCell(row.shift.pValue), align: "right" },
    ...runs,
  ];
}

const shiftRows = (comparison: BenchmarkComparison): ShiftRow[] =>
  INTERVAL_NAMES.flatMap((interval) => {
    const shift = comparison.shifts[interval];
    return shift ? [{ interval, shift }] : [];
  });

const describeBenchmark = (summary: SummaryRecord): string =>
  `${summary.benchmarkId}: ${summary.amiId} ${summary.image.name} on ${summary.instanceType}` +
  `${summary.label !== undefined ? `, label ${summary.label}` : ""}, started ${shortTime(summary.startedAt)} UTC`;

function countLine(count: CountComparison): string {
  const differs = count.later !== count.earlier || count.laterRuns !== count.earlierRuns;
  return (
    `${count.later} in ${count.laterRuns} counted runs of b against ${count.earlier} in ` +
    `${count.earlierRuns} of a` +
    (differs ? ` (one-sided ${formatP(count.pGreater)})` : "") +
    (count.regression ? ", more often beyond chance: a regression" : "")
  );
}

/** The result in words, label first: what the table's reader and a CI log want to see. */
function resultLines(comparison: BenchmarkComparison): [string, string][] {
  const verdict = verdictWords(comparison);
  return [
    ["b against a", describeComparison(comparison)],
    ["verdict", comparison.regressions.length > 0 ? `${verdict} (a regression)` : verdict],
    ["timeouts", countLine(comparison.timeouts)],
    ["failed runs", countLine(comparison.failures)],
  ];
}

function differencesNote(outcome: Pick<CompareOutcome, "a" | "b" | "differences">): string | undefined {
  if (outcome.differences.length === 0) return undefined;
  const rules =
    outcome.a.comparability.integrityRulesVersion !== outcome.b.comparability.integrityRulesVersion;
  return (
    `These benchmarks differ in (a against b): ${outcome.differences.join("; ")}. They are compared all ` +
    "the same; the shift includes whatever the difference does." +
    (rules
      ? ` The runs were judged by different integrity rules (version ${outcome.a.comparability.integrityRulesVersion} ` +
        `against ${outcome.b.comparability.integrityRulesVersion}), so which runs and intervals count differs too.`
      : "")
  );
}

export function compareNote(comparison: BenchmarkComparison): string {
  return (
    "Seconds; shift = b minus a, so positive is b slower: the Hodges-Lehmann estimate with its " +
    `rank-based ${CONFIDENCE_WORDS} CI, p two-sided Mann-Whitney, runs = valid values of a/b. The total ` +
    `row's medians are those of the per-run totals (${RUN_TOTAL_MEDIAN_MEANING}), which can differ from the ` +
    "published total `boot-bench results` shows. The verdict is judged on the " +
    `per-run totals alone. ${thresholdRule(comparison.thresholds)} Thresholds: --threshold, --min-change.`
  );
}

const sideDocument = (summary: SummaryRecord) => ({
  benchmarkId: summary.benchmarkId,
  amiId: summary.amiId,
  imageName: summary.image.name,
  instanceType: summary.instanceType,
  label: summary.label ?? null,
  startedAt: summary.startedAt,
  comparabilityKey: summary.comparabilityKey,
});

export function comparisonOutput(outcome: CompareOutcome, format: TabularFormat): string {
  const table = renderTable(shiftColumns(format), shiftRows(outcome.comparison), format);
  if (format === "csv") return table;
  const sides: [string, string][] = [
    ["a", describeBenchmark(outcome.a)],
    ["b", describeBenchmark(outcome.b)],
  ];
  const differences = differencesNote(outcome);
  const result = resultLines(outcome.comparison);
  if (format === "markdown") {
    const bullets = (lines: [string, string][]) =>
      lines.map(([name, value]) => `- **${name}**: ${value}`).join("\n");
    return [bullets(sides), ...(differences ? [differences] : []), table, bullets(result)].join("\n\n");
  }
  const width = Math.max(...[...sides, ...result].map(([name]) => name.length)) + 2;
  const lines = (rows: [string, string][]) =>
    rows.map(([name, value]) => `${`${name}:`.padEnd(width)}${value}`).join("\n");
  return [lines(sides), table, lines(result)].join("\n\n");
}

// ---- the command ---------------------------------------------------------------------------------
export async function showComparison(deps: QueryDeps, request: CompareRequest): Promise<CompareOutcome> {
  const narrowing: Narrowing = {
    ...(request.instanceType !== undefined && { instanceType: request.instanceType }),
    ...(request.label !== undefined && { label: request.label }),
  };
  if (Object.keys(narrowing).length > 0 && !AMI_ID.test(request.a) && !AMI_ID.test(request.b)) {
    throw new Error(
      "--instance-type and --label pick one benchmark of an AMI id; with two benchmark ids there is nothing to pick",
    );
  }
  const thresholds = thresholdsFrom(request);
  const [a, b] = await Promise.all([
    resolveBenchmark(deps, request.a, narrowing),
    resolveBenchmark(deps, request.b, narrowing),
  ]);
  if (a.benchmarkId === b.benchmarkId) {
    const resolved = [request.a, request.b].filter((argument) => argument !== a.benchmarkId);
    throw new Error(
      `a and b are the same benchmark, ${a.benchmarkId}` +
        (resolved.length > 0 ? ` (${[...new Set(resolved)].join(" and ")} resolved to it)` : "") +
        ": compare two different benchmarks",
    );
  }
  const comparison = compareBenchmarks(a, b, thresholds);
  const outcome: CompareOutcome = {
    a,
    b,
    differences: comparabilityDifferences(a.comparability, b.comparability),
    comparison,
  };
  const differences = differencesNote(outcome);
  if (request.format === "json") {
    deps.out.write(
      `${jsonDocument({
        a: sideDocument(a),
        b: sideDocument(b),
        differences: outcome.differences,
        headline: describeComparison(comparison),
        verdict: verdictWords(comparison),
        comparison,
      })}\n`,
    );
  } else {
    deps.out.write(`${comparisonOutput(outcome, request.format)}\n`);
  }
  // Beside CSV and JSON, which must stay exactly what was asked for, the result goes to stderr in words.
  const beside =
    request.format === "csv" || request.format === "json"
      ? [
          ...resultLines(comparison).map(([name, value]) => `${name}: ${value}`),
          ...(differences ? [differences] : []),
        ]
      : request.format === "table" && differences
        ? [differences]
        : [];
  writeNotes(deps, request.format, [...beside, compareNote(comparison)]);
  return outcome;
}

interface CompareOptions extends Omit<CompareRequest, "a" | "b">, TableTargetOptions {
  failOnRegression?: boolean;
}

export function registerCompareCommand(program: Command): void {
  const command = program
    .command("compare")
    .description(
      "whether benchmark b boots slower than a: each interval's shift with its 95 % interval, and the verdict",
    )
    .argument(
      "<a>",
      "the baseline: a benchmark id, or an AMI id (ami-…) for its newest benchmark with results",
    )
    .argument("<b>", "the benchmark judged against it: a benchmark id or an AMI id")
    .option("--instance-type <type>", "with an AMI id: its newest benchmark on this instance type")
    .option("--label <label>", "with an AMI id: its newest benchmark with this label")
    .option("--fail-on-regression", `exit with status ${REGRESSION_EXIT_CODE} when b regressed against a`)
    .addOption(formatOption());
  addThresholdOptions(command);
  addTargetOptions(command).action(async (a: string, b: string, options: CompareOptions) => {
    const outcome = await withResultsTable(options, ({ client, tableName }) =>
      showComparison({ client, tableName, ...processIo() }, { ...options, a, b }),
    );
    if (options.failOnRegression && outcome.comparison.regressions.length > 0) {
      process.exitCode = REGRESSION_EXIT_CODE;
    }
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  });
}
