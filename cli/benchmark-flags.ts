/**
 * The `run` flags that build a benchmark input, the input they build, and the check of that input
 * before any execution starts: problems named by the flag the person typed, not the input field the
 * state machine reads. A new flag goes into all three here.
 */
import { readFileSync } from "node:fs";
import { InvalidInputError } from "../functions/domain/errors.js";
import { type InputVocabulary, parseBenchmarkInput } from "../functions/domain/input-schema.js";

/** The `run` flags that make a benchmark input, as commander gives them. */
export interface BenchmarkFlags {
  instanceType: string;
  runs: string;
  keepFirst?: boolean;
  userDataFile?: string;
  port?: string;
  probeIntervalMs?: string;
  runningTimeout?: string;
  openTimeout?: string;
  concurrency?: string;
  label?: string;
  screenshots?: string;
  guestTimings?: boolean;
}

/** Numbers stay numbers; anything else goes to the validation as typed, which names it. */
const numeric = (value: string): number | string =>
  /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;

/** One image's benchmark input from the flags; `sshPort`: the local cloud's, when --port is not given. */
export function inputFromFlags(
  image: string,
  flags: BenchmarkFlags,
  sshPort?: number,
): Record<string, unknown> {
  return {
    image,
    instanceType: flags.instanceType,
    runs: numeric(flags.runs),
    ...(flags.keepFirst && { discardFirst: false }),
    ...(flags.userDataFile && { userData: readFileSync(flags.userDataFile, "utf8") }),
    ...(flags.port !== undefined
      ? { port: numeric(flags.port) }
      : sshPort !== undefined && { port: sshPort }),
    ...(flags.probeIntervalMs !== undefined && { probeIntervalMs: numeric(flags.probeIntervalMs) }),
    ...(flags.runningTimeout !== undefined && { runningTimeoutSeconds: numeric(flags.runningTimeout) }),
    ...(flags.openTimeout !== undefined && { openTimeoutSeconds: numeric(flags.openTimeout) }),
    ...(flags.concurrency !== undefined && { concurrency: numeric(flags.concurrency) }),
    ...(flags.label !== undefined && { label: flags.label }),
    ...(flags.screenshots !== undefined && { screenshots: { framesPerSecond: numeric(flags.screenshots) } }),
    ...(flags.guestTimings && { guestTimings: true }),
  };
}

/** The flag that sets each input field (inputFromFlags above, read backwards). */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  image: "--image",
  instanceType: "--instance-type",
  runs: "--runs",
  discardFirst: "--keep-first",
  userData: "--user-data-file",
  port: "--port",
  probeIntervalMs: "--probe-interval-ms",
  runningTimeoutSeconds: "--running-timeout",
  openTimeoutSeconds: "--open-timeout",
  concurrency: "--concurrency",
  label: "--label",
  screenshots: "--screenshots",
  "screenshots.framesPerSecond": "--screenshots",
  guestTimings: "--guest-timings",
};

export const FLAG_VOCABULARY: InputVocabulary = {
  name: (path) => FLAG_OF_FIELD[path] ?? path,
  firstRunDiscarded: "--keep-first is not given",
  countFirstRun: "pass --keep-first",
};

/**
 * Checks every input built from flags (one per image) before any is started; throws one error that
 * lists each problem once, by flag.
 */
export function checkFlagInputs(inputs: readonly Record<string, unknown>[]): void {
  const problems = new Set<string>();
  for (const input of inputs) {
    try {
      parseBenchmarkInput(input, FLAG_VOCABULARY);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      for (const problem of error.problems) problems.add(problem);
    }
  }
  if (problems.size > 0) {
    throw new Error(
      `the options do not make a valid benchmark; nothing was started:\n  ${[...problems].join("\n  ")}`,
    );
  }
}
