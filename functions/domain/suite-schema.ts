/**
 * A suite as the state machine receives it: `{ "suite": {…}, "force"?: true }`. The scheduler sends
 * exactly this (built from config/suites.ts at synth), the CLI builds the same from the same file, and
 * DiscoverTargets validates it again, because anyone may start an execution by hand.
 *
 * No AWS SDK here: patterns, architectures and the problem messages are plain domain code.
 */
import { z } from "zod";
import { InvalidInputError } from "./errors.js";
import { isValidImageReference } from "./input-schema.js";

/** The architectures a target can name instance types for (DescribeImages' names). */
export const SUITE_ARCHITECTURES = ["x86_64", "arm64"] as const;
export type SuiteArchitecture = (typeof SUITE_ARCHITECTURES)[number];

export const DEFAULT_SUITE_CONCURRENCY = 2;
export const DEFAULT_REGRESSION_THRESHOLDS = { relative: 0.1, absoluteSeconds: 0.5 } as const;

// ---- SSM parameter patterns ------------------------------------------------------------------
const PATTERN_CHARS = /^[A-Za-z0-9_.\-/*?{},]+$/;
const WILDCARD = /[*?{]/;

/**
 * Checks a parameter pattern: an absolute SSM path whose segments may use `*` (any characters within
 * one segment), `?` (one character), `{a,b}` (alternatives, not nested), or be `**` (any number of
 * segments). Returns the problem, or undefined when the pattern is usable.
 */
export function patternProblem(pattern: string): string | undefined {
  if (!pattern.startsWith("/")) return "must be an absolute SSM path starting with /";
  if (!PATTERN_CHARS.test(pattern)) {
    return "may contain only letters, digits, _ . - / and the wildcards * ? {a,b}";
  }
  const segments = pattern.slice(1).split("/");
  if (segments.some((segment) => segment === "")) return "must not contain empty segments (//) or end with /";
  for (const segment of segments) {
    if (segment.includes("**") && segment !== "**") return "** must be a whole segment (/**/)";
    let depth = 0;
    for (const char of segment) {
      if (char === "{") depth++;
      if (char === "}") depth--;
      if (depth < 0 || depth > 1) return "braces must be balanced and not nested";
      if (char === "," && depth === 0) return ", is only allowed inside {…}";
    }
    if (depth !== 0) return "braces must be balanced and not nested";
    if (/\{[^}]*(?:\{|,,|\{,|,\})/.test(segment) || segment.includes("{}")) {
      return "alternatives in {…} must not be empty";
    }
  }
  if (!WILDCARD.test(pattern)) return "has no wildcard: use image for a single parameter";
  return undefined;
}

/** The part of a pattern before its first segment with a wildcard: where GetParametersByPath starts. */
export function literalPrefixOf(pattern: string): string {
  const segments = pattern.slice(1).split("/");
  const literal: string[] = [];
  for (const segment of segments) {
    if (WILDCARD.test(segment)) break;
    literal.push(segment);
  }
  return `/${literal.join("/")}`;
}

const escapeRegExp = (text: string): string => text.replace(/[.+^$()|[\]\\]/g, "\\$&");

/** The pattern as an anchored regular expression over full parameter names. */
export function compileParameterPattern(pattern: string): RegExp {
  const problem = patternProblem(pattern);
  if (problem !== undefined) throw new Error(`pattern ${pattern} ${problem}`);
  const segments = pattern.slice(1).split("/");
  let source = "";
  for (const segment of segments) {
    if (segment === "**") {
      source += "(?:/[^/]+)*";
      continue;
    }
    let part = "";
    for (let i = 0; i < segment.length; i++) {
      const char = segment[i] as string;
      if (char === "*") part += "[^/]*";
      else if (char === "?") part += "[^/]";
      else if (char === "{") {
        const end = segment.indexOf("}", i);
        const alternatives = segment
          .slice(i + 1, end)
          .split(",")
          .map(escapeRegExp);
        part += `(?:${alternatives.join("|")})`;
        i = end;
      } else part += escapeRegExp(char);
    }
    source += `/${part}`;
  }
  return new RegExp(`^${source}$`);
}

// ---- instance types per architecture -----------------------------------------------------------
/**
 * Graviton families carry a `g` right after the generation digit (c7g, m7gd, t4g, x2gd, im4gn, hpc7g) or
 * are `a1`. A heuristic, used only to refuse an obvious mix-up in the configuration; DiscoverTargets
 * decides by the image's real architecture, and ResolveImage checks the type with DescribeInstanceTypes.
 */
export function looksLikeGraviton(instanceType: string): boolean {
  const family = instanceType.split(".")[0] ?? "";
  return family === "a1" || /^[a-z]+\d+g[a-z]*$/.test(family);
}

// Same shape as input-schema's, repeated so that a problem names the architecture it is under.
const INSTANCE_TYPE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*\.[a-z0-9]+(?:-[a-z0-9]+)*$/;

const instanceTypeList = (architecture: SuiteArchitecture) =>
  z
    .array(
      z
        .string({ error: "must be an EC2 instance type such as c7i.large" })
        .max(64, { error: "must be an EC2 instance type such as c7i.large" })
        .regex(INSTANCE_TYPE, { error: "must be an EC2 instance type such as c7i.large" })
        .refine((type) => looksLikeGraviton(type) === (architecture === "arm64"), {
          error: (issue) =>
            architecture === "arm64"
              ? `${String(issue.input)} is not a Graviton (arm64) instance type`
              : `${String(issue.input)} is a Graviton (arm64) instance type; list it under arm64`,
        }),
      { error: "must be a list of instance types" },
    )
    .min(1, { error: "must name at least one instance type (or leave the architecture out)" })
    .refine((types) => new Set(types).size === types.length, { error: "lists an instance type twice" });

export const instanceTypesSchema = z
  .strictObject(
    { x86_64: instanceTypeList("x86_64").optional(), arm64: instanceTypeList("arm64").optional() },
    { error: "must be an object of instance type lists per architecture, e.g. { x86_64: [c7i.large] }" },
  )
  .refine((types) => types.x86_64 !== undefined || types.arm64 !== undefined, {
    error: "must name instance types for x86_64, arm64 or both",
  });
export type InstanceTypesByArchitecture = z.output<typeof instanceTypesSchema>;

// ---- suite input ---------------------------------------------------------------------------------
const imageError =
  "must be an AMI id, an SSM parameter path (/…) or resolve:ssm:/…, with only letters, digits, _ . - and /";
const labelError = "must be 1 to 128 printable characters";
const label = z
  .string({ error: labelError })
  .min(1, { error: labelError })
  .max(128, { error: labelError })
  .regex(/^[^\p{C}\p{Zl}\p{Zp}]+$/u, { error: labelError });
const integerIn = (min: number, max: number) => {
  const error = `must be an integer from ${min} to ${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
};

/** Fields a suite target shares between the configuration file and the execution input. */
export const targetBaseShape = {
  image: z.string({ error: imageError }).refine(isValidImageReference, { error: imageError }).optional(),
  pattern: z
    .string({ error: "must be a string" })
    .superRefine((pattern, ctx) => {
      const problem = patternProblem(pattern);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  /** Where GetParametersByPath starts; default: the pattern's literal prefix. */
  path: z
    .string({ error: "must be an SSM path" })
    .regex(/^\/[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/, {
      error: "must be an SSM path such as /aws/service/freebsd",
    })
    .optional(),
  instanceTypes: instanceTypesSchema,
  label: label.optional(),
};

/** Exactly one of image and pattern; path only with a pattern, and a prefix of it. */
export function checkTarget(
  target: { image?: string | undefined; pattern?: string | undefined; path?: string | undefined },
  ctx: z.core.$RefinementCtx,
): void {
  if ((target.image === undefined) === (target.pattern === undefined)) {
    ctx.addIssue({ code: "custom", message: "must give either image or pattern (one of them)", path: [] });
  }
  if (target.path !== undefined) {
    if (target.pattern === undefined) {
      ctx.addIssue({ code: "custom", message: "is only used with pattern", path: ["path"] });
    } else if (!target.pattern.startsWith(`${target.path}/`)) {
      ctx.addIssue({
        code: "custom",
        message: `must be a prefix of the pattern ${target.pattern}`,
        path: ["path"],
      });
    }
  }
}

const userData = z.string({ error: "must be a string (plain text; it is base64-encoded for RunInstances)" });

/**
 * A target's `control`: benchmarked at every run (never skipped as already benchmarked) and compared
 * with its own last benchmark, so that each other benchmark's change on the same instance type stands
 * beside the platform's (regression.ts, platform drift). A pinned AMI makes the best control.
 */
export const controlFlag = z.boolean({ error: "must be true or false" }).optional();

export const suiteTargetSchema = z
  .strictObject({ ...targetBaseShape, userData: userData.optional(), control: controlFlag })
  .superRefine(checkTarget);
export type SuiteTarget = z.output<typeof suiteTargetSchema>;

export const SUITE_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const suiteNameError =
  "must be 1 to 40 characters: lower-case letters, digits and -, starting with a letter or digit";

export const regressionThresholdsSchema = z.strictObject({
  /** Slower when the shift's 95 % interval lies above this fraction of the earlier median run total… */
  relative: z
    .number({ error: "must be a number" })
    .gt(0, { error: "must be > 0" })
    .max(10, { error: "must be at most 10" }),
  /** …and above this many seconds (regression.ts). */
  absoluteSeconds: z
    .number({ error: "must be a number" })
    .min(0, { error: "must be ≥ 0" })
    .max(600, { error: "must be at most 600" }),
});
export type RegressionThresholds = z.output<typeof regressionThresholdsSchema>;

/**
 * Benchmark settings a suite passes to every benchmark it starts; the single-benchmark validation
 * (input-schema.ts) applies its defaults and checks them again in each child execution.
 */
export const suiteBenchmarkShape = {
  runs: integerIn(1, 100).optional(),
  discardFirst: z.boolean({ error: "must be true or false" }).optional(),
  port: integerIn(1, 65535).optional(),
  probeIntervalMs: integerIn(5, 1000).optional(),
  runningTimeoutSeconds: integerIn(1, 600).optional(),
  openTimeoutSeconds: integerIn(1, 840).optional(),
  label: label.optional(),
  /** Benchmarks (targets × instance types) at once: the suite's Map MaxConcurrency. */
  concurrency: integerIn(1, 10).default(DEFAULT_SUITE_CONCURRENCY),
  regression: regressionThresholdsSchema.default({ ...DEFAULT_REGRESSION_THRESHOLDS }),
};

/**
 * Controls another suite runs (the baseline suite's Amazon Linux, a target with `control: true` there):
 * on an instance type where this suite ran no control of its own, the newest benchmark of one of these
 * images on that type, started at most `withinDays` before this suite run (or during it), stands beside
 * each compared benchmark as its control (summarise-suite.ts).
 */
export const sharedControlsSchema = z.strictObject({
  images: z
    .array(z.string({ error: imageError }).refine(isValidImageReference, { error: imageError }), {
      error: "must be a list of AMI ids or SSM parameters",
    })
    .min(1, { error: "must name at least one image" })
    .max(10, { error: "must name at most 10 images" }),
  withinDays: integerIn(1, 31).default(7),
});
export type SharedControls = z.output<typeof sharedControlsSchema>;

export const suiteSpecSchema = z.strictObject({
  name: z.string({ error: suiteNameError }).regex(SUITE_NAME, { error: suiteNameError }),
  targets: z
    .array(suiteTargetSchema, { error: "must be a list of targets" })
    .min(1, { error: "must list at least one target" }),
  userData: userData.optional(),
  sharedControls: sharedControlsSchema.optional(),
  ...suiteBenchmarkShape,
});
export type SuiteSpec = z.output<typeof suiteSpecSchema>;

export const suiteExecutionInputSchema = z.strictObject({
  suite: suiteSpecSchema,
  /** Benchmark again even when an AMI already has a successful benchmark with the same settings. */
  force: z.boolean({ error: "must be true or false" }).default(false),
});
export type SuiteExecutionInput = z.output<typeof suiteExecutionInputSchema>;
/** What a caller may pass (before defaults). */
export type SuiteExecutionInputDraft = z.input<typeof suiteExecutionInputSchema>;

// ---- problems --------------------------------------------------------------------------------
/** `suite.targets[0].instanceTypes` from zod's path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`;
    else text += text === "" ? String(key) : `.${String(key)}`;
  }
  return text;
}

const valueAt = (root: unknown, path: readonly PropertyKey[]): unknown => {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
};

/**
 * One line per problem, each naming its field; unknown architectures and fields are named as such.
 * `raw` is the value that was validated (to tell a missing field from a wrong one), `prefix` the path
 * of that value in what the reader wrote.
 */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  raw: unknown,
  prefix: readonly PropertyKey[] = [],
): string[] {
  // An unknown field explains the object's own refinements failing; those would only repeat it.
  const withUnknownKeys = new Set(
    issues.filter((issue) => issue.code === "unrecognized_keys").map((issue) => formatPath(issue.path)),
  );
  const lines = issues.flatMap((issue) => {
    if (issue.code === "custom" && withUnknownKeys.has(formatPath(issue.path))) return [];
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      const underInstanceTypes = path.at(-1) === "instanceTypes";
      return issue.keys.map((key) =>
        underInstanceTypes
          ? `${formatPath([...path, key])}: unknown architecture ${JSON.stringify(key)}; use ${SUITE_ARCHITECTURES.join(" or ")}`
          : `${formatPath([...path, key])}: is not a known field`,
      );
    }
    if (issue.code === "invalid_type" && issue.path.length > 0 && valueAt(raw, issue.path) === undefined) {
      return [`${formatPath(path)}: is required`];
    }
    return [`${formatPath(path) || "input"}: ${issue.message}`];
  });
  return [...new Set(lines)];
}

/**
 * Validates a suite execution input and applies its defaults.
 * @throws InvalidInputError listing every problem, each prefixed with its field (`suite.targets[1].pattern: …`).
 */
export function parseSuiteExecutionInput(raw: unknown): SuiteExecutionInput {
  const result = suiteExecutionInputSchema.safeParse(raw);
  if (!result.success) throw new InvalidInputError(describeIssues(result.error.issues, raw));
  return result.data;
}
