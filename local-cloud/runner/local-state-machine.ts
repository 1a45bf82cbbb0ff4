/**
 * Runs the stack's state machine definition with aws-local-stepfunctions, every Task executed by the
 * real handler of its step, in process. Task errors are shaped as Lambda reports them (the Error is the
 * thrown error's name, the Cause Lambda's JSON), and a handler that outlives its function's timeout
 * fails with `Sandbox.Timedout`, as in AWS.
 *
 * A `states:startExecution.sync:2` Task of this same state machine (a suite's benchmark) runs a nested
 * local execution of the same definition and answers as Step Functions does: the child's description
 * with `Output` as JSON (the `:2` variant), or `States.TaskFailed` with that description as the Cause.
 * Its name follows StartExecution's rules: the same name and input as a running execution attach to
 * it (the Task waits for that execution), while a closed execution of that name, or a running one with
 * another input, fail the Task with StepFunctions.ExecutionAlreadyExistsException.
 *
 * `redrive` approximates RedriveExecution: the failed or aborted execution runs again from its start,
 * with the same ARN, name, input and start time, and every Task that its earlier attempts completed
 * (returned a result, or failed with an error that a Catch of that state took after the last retry)
 * answers as it did then without running; everything else runs anew. With deterministic Pass, Choice
 * and Map states that replays the path to the unsuccessful states and re-runs only them, as Step
 * Functions does. A Task is recognised by its state name and its exact payload, and a result that
 * arrived after the execution was aborted does not count as completed (Step Functions had stopped).
 */
import "./promise-with-resolvers.js";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { StateMachine } from "aws-local-stepfunctions";
import { EXECUTION_ALREADY_EXISTS } from "../../functions/domain/suite.js";
import type { AslDefinition, AslState } from "../../infra/asl.js";
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

/** What one execution (and its nested executions) runs with, beyond the runner's options. */
export interface ExecutionOverrides {
  /** Replaces the runner's `taskFaults`. */
  taskFaults?: TaskFaults;
  /** Called for every event of this execution and of its nested executions, after the runner's `onEvent`. */
  onEvent?: (executionName: string, event: ExecutionEvent) => void;
}

/** A Task that an attempt of an execution completed: a redrive answers with it instead of running it. */
type CompletedTask = { result: unknown } | { error: unknown };

/** Every execution the runner started, by name: the execution names Step Functions refuses to reuse. */
interface ExecutionRecord {
  executionArn: string;
  name: string;
  input: unknown;
  inputJson: string;
  startedAt: string;
  /** The latest attempt (the first one, or the latest redrive). */
  attempt: LocalExecution;
  /** Set when the latest attempt has closed. */
  outcome?: ExecutionOutcome;
  /** Completed Tasks by state name and payload; dropped once the execution succeeds (not redrivable). */
  completed: Map<string, CompletedTask>;
}

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
  private readonly executions = new Map<string, ExecutionRecord>();
  private statesByName: Map<string, AslState> | undefined;

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

  /**
   * Starts an execution under `name`. Unlike a nested StartExecution, this does not check the name: its
   * callers (tests, the CLI, the load run) make up a fresh one each time.
   */
  startExecution(
    input: unknown,
    name: string = randomUUID(),
    overrides: ExecutionOverrides = {},
  ): LocalExecution {
    const record: ExecutionRecord = {
      executionArn: `arn:aws:states:${this.options.region}:${LOCAL_ACCOUNT}:execution:${this.options.stateMachineName}:${name}`,
      name,
      input,
      inputJson: JSON.stringify(input ?? null),
      startedAt: new Date().toISOString(),
      attempt: undefined as never,
      completed: new Map(),
    };
    this.executions.set(name, record);
    return this.runAttempt(record, overrides);
  }

  /**
   * An execution as DescribeExecution answers for it (local-cloud/sfn/sfn-server.ts): RUNNING until its
   * latest attempt has closed. Undefined: no execution of this runner has that ARN.
   */
  describeExecution(
    executionArn: string,
  ):
    | { name: string; status: "RUNNING" | ExecutionOutcome["status"]; startedAt: string; stoppedAt?: string }
    | undefined {
    const record = [...this.executions.values()].find((r) => r.executionArn === executionArn);
    if (record === undefined) return undefined;
    return {
      name: record.name,
      status: record.outcome?.status ?? "RUNNING",
      startedAt: record.startedAt,
      ...(record.outcome && { stoppedAt: record.outcome.stoppedAt }),
    };
  }

  /**
   * Redrives a FAILED or ABORTED execution (an approximation of RedriveExecution, see the file's
   * comment): same ARN, name, input and start time; Tasks its earlier attempts completed are not run
   * again. Refuses an execution that is running or succeeded, as Step Functions does.
   */
  redrive(executionArn: string, overrides: ExecutionOverrides = {}): LocalExecution {
    const record = [...this.executions.values()].find((r) => r.executionArn === executionArn);
    if (record === undefined) {
      throw taskError("ExecutionDoesNotExist", `Execution Does Not Exist: '${executionArn}'`);
    }
    if (record.outcome === undefined || record.outcome.status === "SUCCEEDED") {
      throw taskError(
        "ExecutionNotRedrivable",
        `Execution is ${record.outcome?.status ?? "RUNNING"}; only a FAILED or ABORTED execution can be redriven: '${executionArn}'`,
      );
    }
    record.outcome = undefined;
    return this.runAttempt(record, overrides);
  }

  private runAttempt(record: ExecutionRecord, overrides: ExecutionOverrides): LocalExecution {
    const { executionArn, name, input, startedAt } = record;
    const stateMachine = new StateMachine(this.local.definition as never, {
      validationOptions: { checkArn: false },
    });
    const children = new Set<LocalExecution>();
    const faults = overrides.taskFaults ?? this.options.taskFaults ?? {};
    const invocations = new Map<string, number>();
    // Step Functions starts no task of a stopped execution, but aws-local-stepfunctions lets a running
    // Map go on to its next iteration after abort(): such tasks fail here without running.
    let aborted = false;
    const earlier = new Map(record.completed);
    const retries = new Map<string, number>();
    /** Answers as an earlier attempt did, or runs the Task and keeps what completed it. */
    const completing = async (stateName: string, payload: unknown, run: () => Promise<unknown>) => {
      const key = `${stateName}\n${JSON.stringify(payload ?? null)}`;
      const done = earlier.get(key);
      if (done !== undefined) {
        if ("error" in done) throw done.error;
        return structuredClone(done.result);
      }
      try {
        const result = await run();
        if (!aborted) record.completed.set(key, { result });
        return result;
      } catch (error) {
        if (!aborted && this.isCaughtForGood(stateName, key, error, retries))
          record.completed.set(key, { error });
        throw error;
      }
    };
    const taskResourceLocalHandlers = Object.fromEntries(
      this.local.tasks.map((task) => [
        task.stateName,
        (event: unknown) => {
          if (aborted) return Promise.reject(lambdaError("ExecutionAborted", "the execution was aborted"));
          return completing(task.stateName, event, () => {
            const invocation = (invocations.get(task.stateName) ?? 0) + 1;
            invocations.set(task.stateName, invocation);
            return this.invoke(task, event, faults[task.stateName], invocation);
          });
        },
      ]),
    );
    for (const task of this.local.nestedExecutionTasks) {
      taskResourceLocalHandlers[task.stateName] = (parameters: unknown) => {
        if (aborted) return Promise.reject(taskError("ExecutionAborted", "the execution was aborted"));
        return completing(task.stateName, parameters, () => this.runNested(parameters, children, overrides));
      };
    }
    // The start time is kept through a redrive, as Step Functions keeps it (the steps derive ids and
    // records from it); patches/aws-local-stepfunctions+3.0.0.patch makes the library honour it.
    const execution = stateMachine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: taskResourceLocalHandlers as never,
        ...(this.options.retryIntervalMs !== undefined && {
          retryIntervalOverrides: this.retryOverrides(),
        }),
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
        overrides.onEvent?.(name, event);
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
    const result = execution.result
      .then(
        (output) => finish({ status: "SUCCEEDED", output }),
        (error: unknown) => {
          if (error instanceof Error && error.name === "ExecutionAbortedError")
            return finish({ status: "ABORTED" });
          const cause =
            error instanceof Error && error.cause instanceof Error ? error.cause : (error as Error);
          return finish({ status: "FAILED", error: cause.name, cause: cause.message });
        },
      )
      .then((outcome) => {
        record.outcome = outcome;
        if (outcome.status === "SUCCEEDED") record.completed.clear();
        return outcome;
      });
    const abort = () => {
      aborted = true;
      // Step Functions stops the children of a .sync task when the parent stops.
      for (const child of children) child.abort();
      execution.abort();
    };
    record.attempt = { executionArn, name, result, abort };
    return record.attempt;
  }

  /**
   * Whether Step Functions is done with this Task error: no retrier of the state takes it again (the
   * first retrier whose ErrorEquals matches decides, as in aws-local-stepfunctions) and a catcher takes
   * it, so the execution went on past the state. `retries` counts this attempt's retries by Task.
   */
  private isCaughtForGood(
    stateName: string,
    key: string,
    error: unknown,
    retries: Map<string, number>,
  ): boolean {
    this.statesByName ??= new Map(allStates(this.local.definition));
    const state = this.statesByName.get(stateName);
    const name = error instanceof Error ? error.name : "";
    const matches = (errorEquals: readonly string[]) =>
      errorEquals.some((e) => e === name || e === "States.ALL" || e === "States.TaskFailed");
    const index = (state?.Retry ?? []).findIndex((retrier) => matches(retrier.ErrorEquals));
    const retrier = state?.Retry?.[index];
    if (retrier !== undefined) {
      const retried = retries.get(`${index}\n${key}`) ?? 0;
      if (retried < (retrier.MaxAttempts ?? 3)) {
        retries.set(`${index}\n${key}`, retried + 1);
        return false;
      }
    }
    return (state?.Catch ?? []).some((catcher) => matches(catcher.ErrorEquals));
  }

  /**
   * `states:startExecution.sync:2`: starts a nested execution of this state machine and waits for it.
   * Anything but this state machine is refused (local-definition.ts already refused it statically).
   */
  private async runNested(
    parameters: unknown,
    children: Set<LocalExecution>,
    overrides: ExecutionOverrides,
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
    const existing = this.executions.get(name);
    if (
      existing !== undefined &&
      (existing.outcome !== undefined || existing.inputJson !== JSON.stringify(input ?? null))
    ) {
      throw taskError(EXECUTION_ALREADY_EXISTS, `Execution Already Exists: '${existing.executionArn}'`);
    }
    // Same name and input as a running execution: StartExecution succeeds, and .sync waits for that one.
    const child = existing?.attempt ?? this.startExecution(input, name, overrides);
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
