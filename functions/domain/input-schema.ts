import { z } from "zod";
import type { BenchmarkSettings } from "./contract.js";
import { InvalidInputError } from "./errors.js";
import { AMI_ID, RESOLVE_SSM_PREFIX } from "./image-reference.js";

/** RunInstances rejects UserData longer than 16 KB once base64-encoded. */
export const USER_DATA_MAX_BASE64_BYTES = 16 * 1024;

/**
 * The probe Lambda waits for running and then for open in one invocation, and Lambda stops an
 * invocation at 900 s; 60 s stay in reserve for its cold start, its last connect attempts and returning.
 */
export const PROBE_LAMBDA_TIMEOUT_SECONDS = 900;
export const MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS = 840;

// SSM parameter names allow letters, digits and `_ . -`, with `/` separating hierarchy levels.
const SSM_PATH = /^\/[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;
const SSM_PATH_MAX_LENGTH = 1011;
// Family with optional dash-suffixes (`c7i-flex`, `u7in-32tb`, `mac2-m2pro`), a dot, then the size
// with optional dash-suffixes (`metal-48xl`).
export const INSTANCE_TYPE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*\.[a-z0-9]+(?:-[a-z0-9]+)*$/;
const INSTANCE_TYPE_MAX_LENGTH = 64;
// Control, format, unassigned and lone-surrogate code points break terminals and table output.
const PRINTABLE = /^[^\p{C}\p{Zl}\p{Zp}]+$/u;

const isSsmPath = (path: string): boolean => path.length <= SSM_PATH_MAX_LENGTH && SSM_PATH.test(path);

export const isValidImageReference = (image: string): boolean =>
  AMI_ID.test(image) ||
  isSsmPath(image) ||
  (image.startsWith(RESOLVE_SSM_PREFIX) && isSsmPath(image.slice(RESOLVE_SSM_PREFIX.length)));

/** Length of the base64 encoding of a string's UTF-8 bytes: what RunInstances measures. */
export const base64Length = (text: string): number => 4 * Math.ceil(Buffer.byteLength(text, "utf8") / 3);

const integerIn = (min: number, max: number) => {
  const error = `must be an integer from ${min} to ${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
};

const imageError =
  "must be an AMI id (ami- and 8 or 17 hex digits), an SSM parameter path (/…) or resolve:ssm:/…, " +
  "with only letters, digits, _ . - and / in the path";
const instanceTypeError = "must be an EC2 instance type such as c7i.large or m7g.metal-48xl";
const labelError = "must be 1 to 128 printable characters";
export const MIN_FRAMES_PER_SECOND = 0.2;
export const MAX_FRAMES_PER_SECOND = 1;
const framesPerSecondError = `must be a number from ${MIN_FRAMES_PER_SECOND} to ${MAX_FRAMES_PER_SECOND}`;

export const benchmarkInputSchema = z.strictObject({
  image: z.string({ error: imageError }).refine(isValidImageReference, { error: imageError }),
  instanceType: z
    .string({ error: instanceTypeError })
    .max(INSTANCE_TYPE_MAX_LENGTH, { error: instanceTypeError })
    .regex(INSTANCE_TYPE, { error: instanceTypeError }),
  runs: integerIn(1, 100).default(10),
  discardFirst: z.boolean({ error: "must be true or false" }).default(true),
  userData: z
    .string({ error: "must be a string (plain text; it is base64-encoded for RunInstances)" })
    .refine((text) => base64Length(text) <= USER_DATA_MAX_BASE64_BYTES, {
      error: (issue) =>
        `must be at most 16 KB (${USER_DATA_MAX_BASE64_BYTES} bytes) once base64-encoded, ` +
        `RunInstances' UserData limit; it is ${base64Length(issue.input as string)} bytes encoded`,
    })
    .optional(),
  port: integerIn(1, 65535).default(22),
  probeIntervalMs: integerIn(5, 1000).default(10),
  // Short timeouts are legitimate on the local cloud, where boots are scaled down.
  runningTimeoutSeconds: integerIn(1, 600).default(120),
  openTimeoutSeconds: integerIn(1, MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS).default(600),
  concurrency: integerIn(1, 10).default(1),
  label: z
    .string({ error: labelError })
    .min(1, { error: labelError })
    .max(128, { error: labelError })
    .regex(PRINTABLE, { error: labelError })
    .optional(),
  // IMDSv2 unless the benchmark asks otherwise: an image whose first boot still uses IMDSv1 can be
  // measured as users with that setting get it.
  imdsV2: z
    .enum(["required", "optional"], { error: 'must be "required" (IMDSv2 only) or "optional"' })
    .default("required"),
  encryptRootVolume: z.boolean({ error: "must be true or false" }).default(false),
  // Widest bracket (functions/domain/integrity.ts) a boundary may have and still count; absent: the
  // defaults there, a few poll or probe intervals.
  runningBracketLimitMs: integerIn(10, 60_000).optional(),
  portBracketLimitMs: integerIn(1, 60_000).optional(),
  // A boot filmstrip beside the poll and the probe (functions/capture-screenshots): EC2 answers about
  // one GetConsoleScreenshot a second per instance, and fewer than one in five seconds shows little.
  screenshots: z
    .strictObject(
      {
        framesPerSecond: z
          .number({ error: framesPerSecondError })
          .min(MIN_FRAMES_PER_SECOND, { error: framesPerSecondError })
          .max(MAX_FRAMES_PER_SECOND, { error: framesPerSecondError }),
      },
      { error: 'must be an object such as {"framesPerSecond": 0.5}' },
    )
    .optional(),
  // Log in over SSH once the port is open (functions/domain/guest-timings.ts): the instances then get
  // the benchmark's own key pair, which they otherwise never have.
  guestTimings: z.boolean({ error: "must be true or false" }).optional(),
});

/** What a caller may pass (before defaults): for the CLI, schedules and sample events. */
export type BenchmarkInput = z.input<typeof benchmarkInputSchema>;

type Field = keyof typeof benchmarkInputSchema.shape;
const REQUIRED_FIELDS: ReadonlySet<string> = new Set<Field>(["image", "instanceType"]);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const describeValue = (value: unknown): string => {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") {
    // Echo enough to recognise the value, never a whole user-data script.
    return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}…` : JSON.stringify(value);
  }
  if (typeof value === "object") return "an object";
  return String(value);
};

/**
 * How problems name what the person wrote: the execution input's fields (for a JSON input, a suite,
 * the state machine), or the CLI's flags for an input the CLI built from them.
 */
export interface InputVocabulary {
  /** The name of a field, by its path (`runs`, `screenshots.framesPerSecond`). */
  name(path: string): string;
  /** That the first run is discarded. */
  firstRunDiscarded: string;
  /** How to count the first run too. */
  countFirstRun: string;
}

export const INPUT_FIELD_VOCABULARY: InputVocabulary = {
  name: (path) => path,
  firstRunDiscarded: "discardFirst is true",
  countFirstRun: "set discardFirst to false",
};

const problemFor = (
  issue: z.core.$ZodIssue,
  input: Record<string, unknown>,
  vocabulary: InputVocabulary,
): string[] => {
  // A nested field (screenshots.framesPerSecond) is named by its whole path.
  const parent = issue.path.map(String);
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${vocabulary.name([...parent, key].join("."))}: is not a known field`);
  }
  const field = parent.length > 0 ? parent.join(".") : "input";
  const named = vocabulary.name(field);
  const value = parent.reduce<unknown>((at, key) => (isPlainObject(at) ? at[key] : undefined), input);
  if (value === undefined && REQUIRED_FIELDS.has(field)) return [`${named}: is required`];
  // The size message already says how big it is; echoing the script would not help.
  if (field === "userData" && issue.code === "custom") return [`${named}: ${issue.message}`];
  return [`${named}: ${issue.message} (got ${describeValue(value)})`];
};

/** Field value after its own validation and default, or undefined when the field itself is invalid. */
const validField = <K extends Field>(key: K, input: Record<string, unknown>) => {
  const result = benchmarkInputSchema.shape[key].safeParse(input[key]);
  return result.success ? (result.data as z.output<(typeof benchmarkInputSchema.shape)[K]>) : undefined;
};

// Checked on each field's own parsed value so that they are reported together with field problems.
const crossFieldProblems = (input: Record<string, unknown>, vocabulary: InputVocabulary): string[] => {
  const { name, firstRunDiscarded, countFirstRun } = vocabulary;
  const problems: string[] = [];
  const runs = validField("runs", input);
  const discardFirst = validField("discardFirst", input);
  if (runs === 1 && discardFirst === true) {
    problems.push(
      `${name("runs")}: must be at least 2 when ${firstRunDiscarded} (the first run is discarded, so ` +
        `nothing would be counted); ${countFirstRun} to count a single run`,
    );
  }
  const concurrency = validField("concurrency", input);
  if (
    discardFirst === true &&
    runs !== undefined &&
    concurrency !== undefined &&
    concurrency > 1 &&
    runs <= concurrency
  ) {
    problems.push(
      `${name("runs")}: must be more than ${name("concurrency")} (${concurrency}) when ${firstRunDiscarded}: ` +
        `the first wave of ${concurrency} runs starts together and boots cold, so all of it is discarded ` +
        `and ${runs} runs would leave nothing counted; add runs, lower ${name("concurrency")}, or ${countFirstRun}`,
    );
  }
  const running = validField("runningTimeoutSeconds", input);
  const open = validField("openTimeoutSeconds", input);
  if (running !== undefined && open !== undefined && running + open > MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS) {
    problems.push(
      `${name("openTimeoutSeconds")}: ${name("runningTimeoutSeconds")} + ${name("openTimeoutSeconds")} must be at most ` +
        `${MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS} (the probe Lambda stops at ${PROBE_LAMBDA_TIMEOUT_SECONDS} s); ` +
        `got ${running} + ${open} = ${running + open}`,
    );
  }
  return problems;
};

/**
 * Validates a raw execution input and applies the defaults.
 * @throws InvalidInputError listing every problem, each prefixed with the field it concerns, named in
 * the vocabulary given.
 */
export function parseBenchmarkInput(
  raw: unknown,
  vocabulary: InputVocabulary = INPUT_FIELD_VOCABULARY,
): BenchmarkSettings {
  if (!isPlainObject(raw)) {
    throw new InvalidInputError([`input: must be a JSON object, got ${describeValue(raw)}`]);
  }
  const result = benchmarkInputSchema.safeParse(raw);
  const problems = result.success
    ? []
    : result.error.issues.flatMap((issue) => problemFor(issue, raw, vocabulary));
  problems.push(...crossFieldProblems(raw, vocabulary));
  if (!result.success || problems.length > 0) {
    throw new InvalidInputError([...new Set(problems)]);
  }
  return result.data;
}
