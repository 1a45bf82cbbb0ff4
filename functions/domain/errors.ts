import { ErrorNames } from "./contract.js";

/**
 * A failure with a name Step Functions can route on. Lambda's Node.js runtime reports a thrown
 * error's `name` as its `errorType`, which becomes the state's `Error`.
 */
export class BootBenchError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export class InvalidInputError extends BootBenchError {
  /** One line per problem, each naming the field, e.g. `runs: must be at most 100`. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(ErrorNames.invalidInput, problems.join("; "));
    this.problems = problems;
  }
}

/** The input is valid, but the stack's allow-lists (functions/domain/allow-lists.ts) refuse it. */
export class NotAllowedError extends BootBenchError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(ErrorNames.notAllowed, problems.join("; "));
    this.problems = problems;
  }
}

export class ImageNotFoundError extends BootBenchError {
  constructor(message: string) {
    super(ErrorNames.imageNotFound, message);
  }
}

export class IncompatibleInstanceTypeError extends BootBenchError {
  constructor(message: string) {
    super(ErrorNames.incompatibleInstanceType, message);
  }
}

export class RunningTimeoutError extends BootBenchError {
  constructor(message: string) {
    super(ErrorNames.runningTimeout, message);
  }
}

export class InstanceTerminatedError extends BootBenchError {
  constructor(message: string) {
    super(ErrorNames.instanceTerminated, message);
  }
}

export class RunsMissingError extends BootBenchError {
  /** Run indexes with no run item. */
  readonly missingRunIndexes: readonly number[];
  constructor(missingRunIndexes: readonly number[], message: string) {
    super(ErrorNames.runsMissing, message);
    this.missingRunIndexes = missingRunIndexes;
  }
}

export class RunSlotsBusyError extends BootBenchError {
  constructor(message: string) {
    super(ErrorNames.runSlotsBusy, message);
  }
}

export class RunEndedError extends BootBenchError {
  constructor(message: string) {
    super(ErrorNames.runEnded, message);
  }
}
