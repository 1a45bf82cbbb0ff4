/**
 * Runs the stack's state machine definition with aws-local-stepfunctions, every Task executed by the
 * real handler of its step, in process. Task errors are shaped as Lambda reports them (the Error is the
 * thrown error's name, the Cause Lambda's JSON), and a handler that outlives its function's timeout
 * fails with `Sandbox.Timedout`, as in AWS.
 *
 * A `states:startExecution.sync:2` Task of this same state machine (a suite's benchmark) runs a nested
 * local execution of the same definition and answers as Step Functions does: the child's description
 * with `Output` as JSON (the `:2` variant), or `States.TaskFailed` with that description as the Cause.
 */
import "./promise-with-resolvers.js";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { StateMachine } from "aws-local-stepfunctions";
import type { AslDefinition } from "../../infra/asl.js";
import { type HostClockFault, withHostClock } from "./host-clock.js";
import {
  allStates,
  LOCAL_ACCOUNT,
  type LocalDefinition,
  type LocalTask,
  stateMachineArn,
} from "./local-definition.js";

/** aws-local-stepfunctions does not export its event type; derive it from the API. */
export type ExecutionEvent =
  ReturnType<StateMachine["run"]>["eventLogs"] extends AsyncGenerator<infer E> ? E : never;

type LambdaHandler = (event: unknown, context: unknown) => Promise<unknown>;

export interface ExecutionOutcome {
  executionArn: string;
  status: "SUCCEEDED" | "FAILED" | "ABORTED";
  output?: unknown;
  error?: string;
  cause?: string;
  /** States entered plus retries: what AWS bills as state transitions. */
  stateTransitions: number;
  startedAt: string;
  stoppedAt: string;
}

export interface LocalExecution {
  executionArn: string;
  name: string;
  result: Promise<ExecutionOutcome>;
  abort(): void;
}

/**
 * A fault injected around one Task's real handler, for tests of how the state machine copes with a
 * Lambda invocation that fails (test/e2e/fault-matrix.test.ts). `invocation` counts this state's
 * invocations in the execution from 1, retries and Map iterations included; `event` is the payload.
 * Return an Error to fail the invocation with it (its name becomes the state's Error, shaped as Lambda
 * reports it), or undefined to let it through.
 * - `before`: the handler never runs (a crashed runtime, an invoke that never arrived).
 * - `after`: the handler ran to completion and its side effects stand, but its response is lost (a
 *   timeout or a dropped connection after the work was done).
 * - `delayMs`: the handler starts this many milliseconds late (a VPC function whose network interface is
 *   being re-created, a throttled or queued invocation): Step Functions' clock runs, Lambda's does not.
 * - `clock`: the invocation runs on a host whose clock is off (runner/host-clock.ts).
 */
export interface TaskFault {
  before?: (invocation: number, event: unknown) => Error | undefined;
  after?: (invocation: number, event: unknown) => Error | undefined;
  delayMs?: (invocation: number, event: unknown) => number | undefined;
  clock?: (invocation: number, event: unknown) => HostClockFault | undefined;
}
/** Faults by Task state name. */
export type TaskFaults = Readonly<Record<string, TaskFault>>;

export interface LocalStateMachineOptions {
  region: string;
  projectRoot: string;
  stateMachineName: string;
  /** Replaces every Retry wait with this many milliseconds (tests); default: the definition's backoff. */
  retryIntervalMs?: number;
  /** Called for every execution event, e.g. to show progress. */
  onEvent?: (executionName: string, event: ExecutionEvent) => void;
  /** Faults for every execution (tests); `startExecution` can give its own instead. */
  taskFaults?: TaskFaults;
}

// Step Functions execution names: 1 to 80 characters, no whitespace, wildcards or control characters.
const NAME_FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/;
const isExecutionName = (name: string): boolean =>
  name.length >= 1 &&
  name.length <= 80 &&
  !NAME_FORBIDDEN.test(name) &&
  ![...name].some((char) => {
    const code = char.charCodeAt(0);
    return code < 0x20 || (code >= 0x7f && code <= 0x9f);
  });

/** A Task error as Step Functions reports it: `Error` is the name, `Cause` the message. */
function taskError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

export class LocalStateMachine {
  /** Execution names started as nested executions: Step Functions refuses to reuse one. */
  private readonly nestedNames = new Set<string>();

  private constructor(
    private readonly local: LocalDefinition,
    private readonly handlers: Map<string, LambdaHandler>,
    private readonly options: LocalStateMachineOptions,
  ) {}

  /**
   * Loads the handler of every Task. The handlers read their configuration from the environment when
   * their module loads, so `environment` must already be in `process.env`.
   */
  static async load(local: LocalDefinition, options: LocalStateMachineOptions): Promise<LocalStateMachine> {
    for (const [name, value] of Object.entries(local.environment)) {
      if (process.env[name] !== value) {
        throw new Error(
          `process.env.${name} must be set to ${JSON.stringify(value)} before the handlers load`,
        );
      }
    }
    const handlers = new Map<string, LambdaHandler>();
    for (const task of local.tasks) {
      const entry = pathToFileURL(join(options.projectRoot, "functions", task.step, "index.ts")).href;
      const module = (await import(entry)) as { handler?: LambdaHandler };
      if (typeof module.handler !== "function")
        throw new Error(`functions/${task.step}/index.ts exports no handler`);
      handlers.set(task.stateName, module.handler);
    }
    return new LocalStateMachine(local, handlers, options);
  }

  get definition(): AslDefinition {
    return this.local.definition;
  }

  get stateMachineArn(): string {
    return stateMachineArn(this.options.region, this.options.stateMachineName);
  }

  startExecution(
    input: unknown,
    name: string = randomUUID(),
    overrides: { taskFaults?: TaskFaults } = {},
  ): LocalExecution {
    const executionArn = `arn:aws:states:${this.options.region}:${LOCAL_ACCOUNT}:execution:${this.options.stateMachineName}:${name}`;
    const startedAt = new Date().toISOString();
    const stateMachine = new StateMachine(this.local.definition as never, {
      validationOptions: { checkArn: false },
    });
    const children = new Set<LocalExecution>();
    const faults = overrides.taskFaults ?? this.options.taskFaults ?? {};
    const invocations = new Map<string, number>();
    // Step Functions starts no task of a stopped execution, but aws-local-stepfunctions lets a running
    // Map go on to its next iteration after abort(): such tasks fail here without running.
    let aborted = false;
    const taskResourceLocalHandlers = Object.fromEntries(
      this.local.tasks.map((task) => [
        task.stateName,
        (event: unknown) => {
          if (aborted) return Promise.reject(lambdaError("ExecutionAborted", "the execution was aborted"));
          const invocation = (invocations.get(task.stateName) ?? 0) + 1;
          invocations.set(task.stateName, invocation);
          return this.invoke(task, event, faults[task.stateName], invocation);
        },
      ]),
    );
    for (const task of this.local.nestedExecutionTasks) {
      taskResourceLocalHandlers[task.stateName] = (parameters: unknown) =>
        this.runNested(parameters, children, overrides);
    }
    const execution = stateMachine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: taskResourceLocalHandlers as never,
        ...(this.options.retryIntervalMs !== undefined && { retryIntervalOverrides: this.retryOverrides() }),
      },
      context: {
        Execution: { Id: executionArn, Name: name, Input: input as never, StartTime: startedAt },
        StateMachine: { Id: this.stateMachineArn, Name: this.options.stateMachineName },
      },
    });
    let stateTransitions = 0;
    const collecting = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === "StateEntered" || event.type === "StateRetried") stateTransitions++;
        this.options.onEvent?.(name, event);
      }
    })();
    const finish = (
      outcome: Omit<ExecutionOutcome, "executionArn" | "stateTransitions" | "startedAt" | "stoppedAt">,
    ) =>
      collecting.then(() => ({
        executionArn,
        startedAt,
        stoppedAt: new Date().toISOString(),
        stateTransitions,
        ...outcome,
      }));
    const result = execution.result.then(
      (output) => finish({ status: "SUCCEEDED", output }),
      (error: unknown) => {
        if (error instanceof Error && error.name === "ExecutionAbortedError")
          return finish({ status: "ABORTED" });
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause : (error as Error);
        return finish({ status: "FAILED", error: cause.name, cause: cause.message });
      },
    );
    const abort = () => {
      aborted = true;
      // Step Functions stops the children of a .sync task when the parent stops.
      for (const child of children) child.abort();
      execution.abort();
    };
    return { executionArn, name, result, abort };
  }

  /**
   * `states:startExecution.sync:2`: starts a nested execution of this state machine and waits for it.
   * Anything but this state machine is refused (local-definition.ts already refused it statically).
   */
  private async runNested(
    parameters: unknown,
    children: Set<LocalExecution>,
    overrides: { taskFaults?: TaskFaults },
  ): Promise<unknown> {
    const p = (parameters ?? {}) as Record<string, unknown>;
    if (p.StateMachineArn !== this.stateMachineArn) {
      throw taskError(
        "StepFunctions.StateMachineDoesNotExistException",
        `The local runner only starts executions of ${this.stateMachineArn}, not ${String(p.StateMachineArn)}`,
      );
    }
    const name = p.Name === undefined ? randomUUID() : String(p.Name);
    if (!isExecutionName(name)) {
      throw taskError("StepFunctions.InvalidNameException", `Invalid Name: '${name}'`);
    }
    if (this.nestedNames.has(name)) {
      throw taskError("StepFunctions.ExecutionAlreadyExistsException", `Execution Already Exists: '${name}'`);
    }
    let input: unknown = p.Input ?? {};
    if (typeof input === "string") {
      try {
        input = JSON.parse(input);
      } catch {
        throw taskError(
          "StepFunctions.InvalidExecutionInputException",
          "Invalid State Machine Execution Input",
        );
      }
    }
    this.nestedNames.add(name);
    const child = this.startExecution(input, name, overrides);
    children.add(child);
    const outcome = await child.result.finally(() => children.delete(child));
    const description = {
      ExecutionArn: outcome.executionArn,
      Input: input,
      InputDetails: { Included: true },
      Name: name,
      StartDate: Date.parse(outcome.startedAt),
      StateMachineArn: this.stateMachineArn,
      Status: outcome.status,
      StopDate: Date.parse(outcome.stoppedAt),
    };
    if (outcome.status === "SUCCEEDED") {
      // The :2 variant returns the child's Output as JSON (plain .sync would return a string).
      return JSON.parse(
        JSON.stringify({ ...description, Output: outcome.output ?? null, OutputDetails: { Included: true } }),
      );
    }
    throw taskError(
      "States.TaskFailed",
      JSON.stringify({
        ...description,
        Input: JSON.stringify(input),
        ...(outcome.error !== undefined && { Error: outcome.error }),
        ...(outcome.cause !== undefined && { Cause: outcome.cause }),
      }),
    );
  }

  private async invoke(task: LocalTask, event: unknown, fault?: TaskFault, invocation = 1): Promise<unknown> {
    const delayMs = fault?.delayMs?.(invocation, event) ?? 0;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const clockFault = fault?.clock?.(invocation, event);
    if (clockFault) return withHostClock(clockFault, () => this.invokeNow(task, event, fault, invocation));
    return this.invokeNow(task, event, fault, invocation);
  }

  private async invokeNow(
    task: LocalTask,
    event: unknown,
    fault: TaskFault | undefined,
    invocation: number,
  ): Promise<unknown> {
    const handler = this.handlers.get(task.stateName) as LambdaHandler;
    const deadline = Date.now() + task.timeoutSeconds * 1000;
    const context = {
      functionName: task.functionLogicalId,
      functionVersion: "$LATEST",
      invokedFunctionArn: `arn:aws:lambda:${this.options.region}:${LOCAL_ACCOUNT}:function:${task.functionLogicalId}`,
      memoryLimitInMB: "256",
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${task.functionLogicalId}`,
      logStreamName: "local",
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            lambdaError("Sandbox.Timedout", `Task timed out after ${task.timeoutSeconds.toFixed(2)} seconds`),
          ),
        task.timeoutSeconds * 1000,
      );
    });
    try {
      // A JSON round trip, as the payload crosses the Lambda service in AWS.
      const payload = JSON.parse(JSON.stringify(event ?? null));
      const before = fault?.before?.(invocation, payload);
      if (before) throw lambdaError(before.name, before.message);
      const result = await Promise.race([handler(payload, context), timeout]);
      const after = fault?.after?.(invocation, payload);
      if (after) throw lambdaError(after.name, after.message);
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      // Already shaped as Lambda reports it (a timeout, an injected fault): wrapping again would nest the JSON.
      if (error instanceof LambdaInvocationError) throw error;
      const e = error instanceof Error ? error : new Error(String(error));
      throw lambdaError(e.name, e.message, e.stack);
    } finally {
      clearTimeout(timer);
    }
  }

  private retryOverrides(): Record<string, number> {
    const overrides: Record<string, number> = {};
    for (const [stateName, state] of allStates(this.local.definition)) {
      if (Array.isArray(state.Retry)) overrides[stateName] = this.options.retryIntervalMs as number;
    }
    return overrides;
  }
}

/** An error as Step Functions sees a failed Lambda invocation: Error = errorType, Cause = Lambda's JSON. */
class LambdaInvocationError extends Error {}

function lambdaError(errorType: string, errorMessage: string, stack?: string): Error {
  const trace = stack?.split("\n") ?? [];
  const error = new LambdaInvocationError(JSON.stringify({ errorType, errorMessage, trace }));
  error.name = errorType;
  return error;
}
