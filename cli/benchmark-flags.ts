/**
 * The `run` flags that build a benchmark input, and the check of that input before any execution
 * starts: problems named by the flag the person typed, not the input field the state machine reads.
 */
import { InvalidInputError } from "../functions/domain/errors.js";
import { type InputVocabulary, parseBenchmarkInput } from "../functions/domain/input-schema.js";

/** The flag that sets each input field. */
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
