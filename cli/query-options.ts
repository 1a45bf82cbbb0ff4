/**
 * Flags shared by the commands that read results (results, history, report): where the table is, how
 * to narrow what is read, and the output format. Parsing is here, in plain functions, so commands stay
 * thin and tests can give `--since` a fixed "now".
 */
import { type Command, Option } from "commander";
import type { SummaryFilter } from "../functions/aws/benchmark-queries.js";
import {
  DEFAULT_REGRESSION_THRESHOLDS,
  type RegressionThresholds,
} from "../functions/domain/suite-schema.js";
import { OUTPUT_FORMATS, type OutputFormat } from "./output-format.js";
import {
  DEFAULT_DATA_DIR,
  DEFAULT_STACK_NAME,
  openResultsTable,
  type TableTargetOptions,
} from "./results-table.js";

export interface FilterOptions {
  image?: string;
  series?: string;
  instanceType?: string;
  label?: string;
  since?: string;
}

export function addTargetOptions(command: Command): Command {
  return command
    .option("--local", "read the local cloud's DynamoDB (what `boot-bench run --local` wrote)")
    .option(
      "--data-dir <dir>",
      `with --local: where that DynamoDB keeps its data (default ${DEFAULT_DATA_DIR})`,
    )
    .option(
      "--table <name>",
      "read this DynamoDB table (standard AWS configuration: credentials, region, endpoint)",
    )
    .option(
      "--stack <name>",
      `read the table of this deployed stack (its TableName output; default ${DEFAULT_STACK_NAME})`,
    );
}

export function addFilterOptions(command: Command, { series = true }: { series?: boolean } = {}): Command {
  command.option("--image <ami-id>", "only this AMI");
  if (series) command.option("--series <ssm-parameter>", "only AMIs resolved from this SSM parameter");
  return command
    .option("--instance-type <type>", "only this instance type")
    .option("--label <label>", "only benchmarks with this label")
    .option(
      "--since <when>",
      "only benchmarks started at or after an ISO date/time, or within a duration (30m, 12h, 7d, 4w)",
    );
}

export const formatOption = (): Option =>
  new Option("--format <format>", "output format").choices(OUTPUT_FORMATS).default("table" as OutputFormat);

const DURATION_UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `--since` as the ISO 8601 UTC string stored in `startedAt` (so it can be a key condition): a duration
 * back from `nowMs`, or a date or date-time (a date alone is midnight UTC).
 */
export function parseSince(text: string, nowMs: number): string {
  const trimmed = text.trim();
  const duration = /^(\d+(?:\.\d+)?)\s*([mhdw])$/.exec(trimmed);
  if (duration) {
    const [, amount, unit] = duration;
    return new Date(nowMs - Number(amount) * (DURATION_UNIT_MS[unit as string] as number)).toISOString();
  }
  // Date.parse takes "June 5" and "2025" too; only ISO forms are unambiguous enough to filter by.
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) {
    const dateOnly = trimmed.length === 10;
    const parsed = Date.parse(dateOnly ? `${trimmed}T00:00:00Z` : trimmed.replace(" ", "T"));
    if (Number.isFinite(parsed)) return new Date(parsed).toISOString();
  }
  throw new Error(
    `--since takes an ISO date or date-time (2025-06-01, 2025-06-01T12:00Z) or a duration (30m, 12h, 7d, 4w); got ${JSON.stringify(text)}`,
  );
}

/** An SSM parameter as people write it: `resolve:ssm:/aws/…` (RunInstances' form) is the same series. */
export const seriesName = (parameter: string): string => parameter.replace(/^resolve:ssm:/, "");

export function summaryFilterFrom(options: FilterOptions, nowMs: number): SummaryFilter {
  const filter: SummaryFilter = {};
  if (options.image !== undefined) {
    if (!options.image.startsWith("ami-")) {
      throw new Error(
        `--image takes an AMI id (ami-…); for the AMIs of an SSM parameter use --series (got ${JSON.stringify(options.image)})`,
      );
    }
    filter.amiId = options.image;
  }
  if (options.series !== undefined) filter.sourceParameter = seriesName(options.series);
  if (options.instanceType !== undefined) filter.instanceType = options.instanceType;
  if (options.label !== undefined) filter.label = options.label;
  if (options.since !== undefined) filter.since = parseSince(options.since, nowMs);
  return filter;
}

export interface ThresholdOptions {
  threshold?: string;
  minChange?: string;
}

export function addThresholdOptions(command: Command): Command {
  return command
    .option(
      "--threshold <percent>",
      "flag a regression when the per-run totals' 95 % CI lies above this many percent of the earlier median…",
      String(DEFAULT_REGRESSION_THRESHOLDS.relative * 100),
    )
    .option(
      "--min-change <seconds>",
      "…and above this many seconds",
      String(DEFAULT_REGRESSION_THRESHOLDS.absoluteSeconds),
    );
}

export function thresholdsFrom(options: ThresholdOptions): RegressionThresholds {
  const nonNegative = (flag: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const value = Number(text.trim().replace(/%$/, ""));
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`${flag} must be a number ≥ 0, got ${JSON.stringify(text)}`);
    }
    return value;
  };
  return {
    relative:
      nonNegative("--threshold", options.threshold, DEFAULT_REGRESSION_THRESHOLDS.relative * 100) / 100,
    absoluteSeconds: nonNegative(
      "--min-change",
      options.minChange,
      DEFAULT_REGRESSION_THRESHOLDS.absoluteSeconds,
    ),
  };
}

export interface OpenTable {
  client: Awaited<ReturnType<typeof openResultsTable>>["client"];
  tableName: string;
}

/**
 * Opens the target table for the length of `work`. A missing table is the usual first-time mistake
 * (nothing benchmarked locally yet, or the wrong region), so it gets a message that says what to do.
 */
export async function withResultsTable<T>(
  target: TableTargetOptions,
  work: (table: OpenTable) => Promise<T>,
): Promise<T> {
  const table = await openResultsTable(target);
  try {
    return await work(table);
  } catch (error) {
    if (error instanceof Error && error.name === "ResourceNotFoundException") {
      const hint = target.local
        ? "nothing has been benchmarked locally yet: run `boot-bench run --local` first (or pass the --data-dir it used)"
        : "check --table/--stack and the AWS region (AWS_REGION)";
      throw new Error(`table ${table.tableName} not found: ${hint}`);
    }
    throw error;
  } finally {
    await table.close();
  }
}
