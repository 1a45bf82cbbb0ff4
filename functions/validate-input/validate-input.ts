import { type AllowLists, checkAllowed } from "../domain/allow-lists.js";
import { benchmarkIdFor, runItemsFor } from "../domain/benchmark-identity.js";
import type { ValidateInputEvent, ValidateInputResult } from "../domain/contract.js";
import { parseBenchmarkInput } from "../domain/input-schema.js";

/**
 * Checks the execution input and fixes the benchmark's identity and runs. Input problems throw
 * InvalidInputError (BootBench.InvalidInput), input the stack's allow-lists refuse NotAllowedError
 * (BootBench.NotAllowed); either fails the execution before anything is launched.
 */
export function validateInput(event: ValidateInputEvent, allowLists: AllowLists): ValidateInputResult {
  const settings = parseBenchmarkInput(event.input);
  checkAllowed(settings, allowLists);
  if (typeof event.executionId !== "string" || event.executionId === "") {
    throw new Error("executionId is missing: the state machine must pass $$.Execution.Id");
  }
  const benchmarkId = benchmarkIdFor(event.executionId);
  return {
    benchmark: { benchmarkId, executionId: event.executionId, startedAt: isoTime(event.startTime) },
    settings,
    runs: runItemsFor(event.executionId, settings.runs),
  };
}

// startedAt sorts every GSI, so all items must share one lexicographically ordered format whatever
// precision or offset the runner gave.
function isoTime(startTime: string): string {
  const time = typeof startTime === "string" ? new Date(startTime) : new Date(Number.NaN);
  if (Number.isNaN(time.getTime())) {
    throw new Error(
      `startTime ${JSON.stringify(startTime)} is not a time: the state machine must pass $$.Execution.StartTime`,
    );
  }
  return time.toISOString();
}
