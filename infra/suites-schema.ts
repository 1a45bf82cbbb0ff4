/**
 * The suites configuration (config/suites.ts) as the stack reads it at synth and the CLI reads it for
 * `run --suite` and `schedules`: validated with zod, user data files read, every problem reported at
 * once with the suite and the field it concerns.
 *
 * Schedules are EventBridge Scheduler cron expressions (six fields: minutes hours day-of-month month
 * day-of-week year, one of the day fields `?`) in an IANA time zone, exactly what is deployed; the CLI
 * computes their next runs with cron-parser after translating the day-of-week numbering.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { CronExpressionParser } from "cron-parser";
import { z } from "zod";
import { InvalidInputError } from "../functions/domain/errors.js";
import { parseBenchmarkInput } from "../functions/domain/input-schema.js";
import {
  checkTarget,
  controlFlag,
  describeIssues,
  parseSuiteExecutionInput,
  SUITE_NAME,
  type SuiteExecutionInput,
  sharedControlsSchema,
  suiteBenchmarkShape,
  targetBaseShape,
} from "../functions/domain/suite-schema.js";

export const PROJECT_ROOT = fileURLToPath(new URL("../", import.meta.url));

// ---- cron ----------------------------------------------------------------------------------------
const FIELD_NAMES = ["minutes", "hours", "day-of-month", "month", "day-of-week", "year"] as const;
// What EventBridge allows in each field (the names are checked by cron-parser afterwards).
const FIELD_CHARS: Record<(typeof FIELD_NAMES)[number], RegExp> = {
  minutes: /^[0-9,\-*/]+$/,
  hours: /^[0-9,\-*/]+$/,
  "day-of-month": /^(?:\?|[0-9,\-*/LW]+)$/,
  month: /^[0-9A-Za-z,\-*/]+$/,
  "day-of-week": /^(?:\?|[0-9A-Za-z,\-*/L#]+)$/,
  year: /^[0-9,\-*/]+$/,
};

/** EventBridge numbers days 1-7 from Sunday, cron-parser 0-6: shift the numbers, never a step. */
function dayOfWeekForCronParser(field: string): string {
  return field
    .split(",")
    .map((part) => {
      const [range, step] = part.split("/") as [string, string | undefined];
      const shifted = range.replace(/\d+/g, (n, offset: number) =>
        // In `6#3` only the day is a day; the occurrence after # stays.
        offset > 0 && range[offset - 1] === "#" ? n : String(Number(n) - 1),
      );
      return step === undefined ? shifted : `${shifted}/${step}`;
    })
    .join(",");
}

export interface ParsedCron {
  /** `cron(…)`: the ScheduleExpression. */
  expression: string;
  /** The same schedule in cron-parser's syntax (seconds first, no year). */
  cronParser: string;
}

/**
 * Checks an EventBridge Scheduler cron expression (the part inside `cron(…)`).
 * @returns the problems (empty when valid) and, when valid, the parsed forms.
 */
export function parseSchedulerCron(
  cron: string,
  timezone = "UTC",
): { problems: string[]; parsed?: ParsedCron } {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 6) {
    return {
      problems: [
        `must have 6 fields (minutes hours day-of-month month day-of-week year), as EventBridge Scheduler's cron(); ` +
          `got ${fields.length}, e.g. "0 6 ? * FRI *"`,
      ],
    };
  }
  const problems: string[] = [];
  fields.forEach((field, i) => {
    const name = FIELD_NAMES[i] as (typeof FIELD_NAMES)[number];
    if (!FIELD_CHARS[name].test(field))
      problems.push(`${name} field ${JSON.stringify(field)} is not valid there`);
  });
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if ((dayOfMonth === "?") === (dayOfWeek === "?")) {
    problems.push("exactly one of day-of-month and day-of-week must be ? (EventBridge cannot combine both)");
  }
  if (year !== "*") problems.push(`year must be * (got ${JSON.stringify(year)}): suites repeat every year`);
  if (problems.length > 0) return { problems };
  const cronParser = [
    "0",
    minutes,
    hours,
    dayOfMonth === "?" ? "*" : dayOfMonth,
    month,
    dayOfWeek === "?" ? "*" : dayOfWeekForCronParser(dayOfWeek),
  ].join(" ");
  try {
    CronExpressionParser.parse(cronParser, { tz: timezone, currentDate: new Date() }).next();
  } catch (error) {
    return { problems: [`is not a valid cron expression: ${(error as Error).message}`] };
  }
  return { problems: [], parsed: { expression: `cron(${fields.join(" ")})`, cronParser } };
}

export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** The next `count` run times of a schedule after `from`. */
export function nextRuns(cron: string, timezone: string, from: Date, count = 1): Date[] {
  const { problems, parsed } = parseSchedulerCron(cron, timezone);
  if (!parsed) throw new Error(`cron ${cron}: ${problems.join("; ")}`);
  const expression = CronExpressionParser.parse(parsed.cronParser, { tz: timezone, currentDate: from });
  return expression.take(count).map((date) => date.toDate());
}

// ---- configuration schema -------------------------------------------------------------------------
const scheduleSchema = z
  .strictObject({
    cron: z.string({ error: 'must be an EventBridge cron expression such as "0 6 ? * FRI *"' }),
    timezone: z
      .string({ error: "must be an IANA time zone such as UTC or America/Vancouver" })
      .refine(isTimeZone, { error: (issue) => `${JSON.stringify(issue.input)} is not an IANA time zone` }),
  })
  .superRefine((schedule, ctx) => {
    const tz = isTimeZone(schedule.timezone) ? schedule.timezone : "UTC";
    for (const problem of parseSchedulerCron(schedule.cron, tz).problems) {
      ctx.addIssue({ code: "custom", message: problem, path: ["cron"] });
    }
  });

const userDataFile = z.string({ error: "must be a path relative to the repository root" });

const configTargetSchema = z
  .strictObject({
    ...targetBaseShape,
    userDataFile: userDataFile.optional(),
    control: controlFlag,
  })
  .superRefine(checkTarget);

const suiteNameError =
  "must be 1 to 40 characters: lower-case letters, digits and -, starting with a letter or digit";

export const suiteConfigSchema = z.strictObject({
  name: z.string({ error: suiteNameError }).regex(SUITE_NAME, { error: suiteNameError }),
  description: z.string().max(512).optional(),
  schedule: scheduleSchema,
  /** false: the schedule is deployed DISABLED (as with context schedules=false). */
  enabled: z.boolean().default(true),
  targets: z.array(configTargetSchema).min(1, { error: "must list at least one target" }),
  userDataFile: userDataFile.optional(),
  sharedControls: sharedControlsSchema.optional(),
  ...suiteBenchmarkShape,
});

/** A suite as written in config/suites.ts (before defaults). */
export type SuiteConfig = z.input<typeof suiteConfigSchema>;

export interface LoadedSuite {
  name: string;
  description?: string;
  schedule: { cron: string; timezone: string; expression: string };
  enabled: boolean;
  /** The execution input the schedule sends: `{ suite }` with user data inlined. */
  input: SuiteExecutionInput;
}

export class SuiteConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid suite configuration (${source}):\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "SuiteConfigError";
  }
}

const suiteLabel = (raw: unknown, index: number): string => {
  const name = (raw as { name?: unknown } | null)?.name;
  return typeof name === "string" && name !== "" ? `suite "${name}"` : `suites[${index}]`;
};

function readUserData(file: string, baseDir: string, where: string, problems: string[]): string | undefined {
  const path = isAbsolute(file) ? file : join(baseDir, file);
  if (!existsSync(path) || !statSync(path).isFile()) {
    problems.push(
      `${where}: file ${file} does not exist (paths are relative to ${relative(process.cwd(), baseDir) || "."})`,
    );
    return undefined;
  }
  return readFileSync(path, "utf8");
}

/**
 * Validates the suites, reads their user data files and builds each suite's execution input.
 * @throws SuiteConfigError naming suite and field for every problem, e.g.
 *   `suite "freebsd-weekly": schedule.cron: exactly one of day-of-month and day-of-week must be ?`
 */
export function loadSuites(raw: unknown, options: { baseDir?: string; source?: string } = {}): LoadedSuite[] {
  const baseDir = options.baseDir ?? PROJECT_ROOT;
  const source = options.source ?? "config/suites.ts";
  if (!Array.isArray(raw)) throw new SuiteConfigError(source, ["suites: must be a list of suites"]);
  const problems: string[] = [];
  const loaded: LoadedSuite[] = [];
  const names = new Set<string>();
  raw.forEach((rawSuite: unknown, index) => {
    const label = suiteLabel(rawSuite, index);
    const result = suiteConfigSchema.safeParse(rawSuite);
    if (!result.success) {
      problems.push(...describeIssues(result.error.issues, rawSuite).map((p) => `${label}: ${p}`));
      return;
    }
    const config = result.data;
    if (names.has(config.name)) problems.push(`${label}: name: is used by another suite`);
    names.add(config.name);
    const own: string[] = [];
    const suiteUserData =
      config.userDataFile === undefined
        ? undefined
        : readUserData(config.userDataFile, baseDir, "userDataFile", own);
    const targets = config.targets.map((target, t) => {
      const { userDataFile: file, ...rest } = target;
      const userData =
        file === undefined ? undefined : readUserData(file, baseDir, `targets[${t}].userDataFile`, own);
      return { ...rest, ...(userData !== undefined && { userData }) };
    });
    const { schedule, enabled, description, userDataFile: _file, targets: _targets, ...settings } = config;
    const candidate = {
      suite: { ...settings, targets, ...(suiteUserData !== undefined && { userData: suiteUserData }) },
    };
    let input: SuiteExecutionInput | undefined;
    try {
      input = parseSuiteExecutionInput(candidate);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      own.push(...error.problems.map((p) => p.replace(/^suite\./, "")));
    }
    // Settings are checked as each benchmark will check them (runs vs discardFirst, timeouts together).
    if (input !== undefined) {
      input.suite.targets.forEach((target, t) => {
        const instanceType =
          target.instanceTypes.x86_64?.[0] ?? target.instanceTypes.arm64?.[0] ?? "c7i.large";
        const {
          concurrency: _c,
          regression: _r,
          name: _n,
          targets: _t,
          sharedControls: _s,
          ...benchmark
        } = input?.suite ?? {};
        try {
          parseBenchmarkInput({
            ...benchmark,
            image: "ami-00000000",
            instanceType,
            ...(target.userData !== undefined && { userData: target.userData }),
          });
        } catch (error) {
          if (!(error instanceof InvalidInputError)) throw error;
          own.push(...error.problems.map((p) => `targets[${t}]: ${p}`));
        }
      });
    }
    problems.push(...[...new Set(own)].map((p) => `${label}: ${p}`));
    if (input !== undefined && own.length === 0) {
      const parsed = parseSchedulerCron(schedule.cron, schedule.timezone).parsed as ParsedCron;
      loaded.push({
        name: config.name,
        ...(description !== undefined && { description }),
        schedule: {
          cron: schedule.cron.trim().split(/\s+/).join(" "),
          timezone: schedule.timezone,
          expression: parsed.expression,
        },
        enabled,
        input,
      });
    }
  });
  if (problems.length > 0) throw new SuiteConfigError(source, problems);
  return loaded;
}

/** A suite's schedule name in a stack: the stack creates it, `boot-bench schedules --stack` finds it. */
export const scheduleName = (stackName: string, suiteName: string): string => `${stackName}-${suiteName}`;

/** The execution input of one configured suite, e.g. for `boot-bench run --suite`. */
export function suiteInput(suites: readonly LoadedSuite[], name: string, force = false): SuiteExecutionInput {
  const suite = suites.find((s) => s.name === name);
  if (!suite) {
    throw new Error(
      `no suite named ${name} in config/suites.ts; known: ${suites.map((s) => s.name).join(", ") || "none"}`,
    );
  }
  return { ...suite.input, force };
}
