/**
 * Runs the stack's state machine definition with aws-local-stepfunctions, every Task executed by the
 * real handler of its step, in process. Task errors are shaped as Lambda reports them (the Error is the
 * thrown error's name, the Cause Lambda's JSON), and a handler that outlives its function's timeout
 * fails with `Sandbox.Timedout`, as in AWS.
 */
import "./promise-with-resolvers.js";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { StateMachine } from "aws-local-stepfunctions";
import {
  type AslDefinition,
  allStates,
  LOCAL_ACCOUNT,
  type LocalDefinition,
  type LocalTask,
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

export interface LocalStateMachineOptions {
  region: string;
  projectRoot: string;
  stateMachineName: string;
  /** Replaces every Retry wait with this many milliseconds (tests); default: the definition's backoff. */
  retryIntervalMs?: number;
  /** Called for every execution event, e.g. to show progress. */
  onEvent?: (executionName: string, event: ExecutionEvent) => void;
}

export class LocalStateMachine {
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
    return `arn:aws:states:${this.options.region}:${LOCAL_ACCOUNT}:stateMachine:${this.options.stateMachineName}`;
  }

  startExecution(input: unknown, name: string = randomUUID()): LocalExecution {
    const executionArn = `arn:aws:states:${this.options.region}:${LOCAL_ACCOUNT}:execution:${this.options.stateMachineName}:${name}`;
    const startedAt = new Date().toISOString();
    const stateMachine = new StateMachine(this.local.definition as never, {
      validationOptions: { checkArn: false },
    });
    const taskResourceLocalHandlers = Object.fromEntries(
      this.local.tasks.map((task) => [task.stateName, (event: unknown) => this.invoke(task, event)]),
    );
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
    return { executionArn, name, result, abort: () => execution.abort() };
  }

  private async invoke(task: LocalTask, event: unknown): Promise<unknown> {
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
      const result = await Promise.race([handler(payload, context), timeout]);
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      if (error instanceof Error && error.name === "Sandbox.Timedout") throw error;
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
function lambdaError(errorType: string, errorMessage: string, stack?: string): Error {
  const trace = stack?.split("\n") ?? [];
  const error = new Error(JSON.stringify({ errorType, errorMessage, trace }));
  error.name = errorType;
  return error;
}
