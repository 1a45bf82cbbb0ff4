/**
 * The longest legitimate life of a run's instance, from the first RunInstances that may have launched
 * it until its TerminateInstances is sent, read from the rendered state machine definition: every
 * figure is a TimeoutSeconds or a Retry field of the Map `Runs`'s ItemProcessor, so changing a step's
 * timeout or a retrier changes the bound, and the sweeper (infra/constructs/sweeper.ts) refuses at synth
 * an age bound that could end a run in progress.
 *
 * The run's path, as infra/state-machine.ts builds it:
 *
 *   LaunchInstance ─→ Observe (Parallel: PollState | ProbePort | CaptureScreenshots) ─→ CaptureConsole ─→ TerminateInstance ─→ …
 *        │                          └──────── Catch ─────────────↗      └── Catch ──↗
 *        └──────── Catch ──────────────────────────────────────────────────────────↗
 *
 * The longest life takes every state of that path (a launch that fails skips Observe and
 * CaptureConsole: shorter), and
 * assumes the worst of every retrier: each retries up to its MaxAttempts (Step Functions keeps one count
 * per retrier and never resets it within a state, so a Task makes at most 1 + ΣMaxAttempts attempts),
 * and each wait is as long as full jitter allows, min(IntervalSeconds × BackoffRate^k, MaxDelaySeconds)
 * for a retrier's k-th retry. The ASL defaults apply to fields left out (1 s, 3 attempts, rate 2).
 */
import { Stack } from "aws-cdk-lib";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { FILMSTRIP_SECONDS_AFTER_LAUNCH } from "../functions/domain/filmstrip.js";
import { GUEST_TIMINGS_MAX_SECONDS } from "../functions/domain/guest-timings.js";
import { MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS } from "../functions/domain/input-schema.js";
import type { AslDefinition, AslState } from "./asl.js";
import { flattenIntrinsic } from "./intrinsics.js";
import { TASK_TIMEOUT_MARGIN } from "./state-machine.js";

/** One part of the life, with its figure and how it was reached (for the README and error messages). */
export interface RunLifeTerm {
  name: string;
  seconds: number;
  /** The figures it is made of, e.g. `(1 + 5 + 6 + 6) attempts × 75 s`. */
  arithmetic: string;
}

export interface RunLifetime {
  totalSeconds: number;
  terms: RunLifeTerm[];
  /** `1350 + 306 + … = 4919 s`. */
  arithmetic: string;
}

export interface RunLifeLimits {
  /**
   * The Tasks whose handlers stop by themselves at an absolute deadline: seconds after the launch's
   * `launchRespondedAt` (passed in their Parameters) by which they end, by state name.
   */
  deadlinesAfterLaunch: Readonly<Record<string, number>>;
  /** What a Task's TimeoutSeconds adds to its function's timeout (TASK_TIMEOUT_MARGIN). */
  taskMarginSeconds: number;
}

/**
 * The stack's own limits. PollState stops at launchRespondedAt + runningTimeoutSeconds, ProbePort at
 * launchRespondedAt + runningTimeoutSeconds + openTimeoutSeconds; validation bounds the sum (and so
 * both) by MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS (runningTimeoutSeconds alone is also at most 600 today,
 * a figure the schema does not export: the poll's bound is the looser one, never too short). With
 * guest timings the probe logs in after the port opened, by the deadline at the latest, for up to
 * GUEST_TIMINGS_MAX_SECONDS more (functions/domain/guest-timings.ts).
 * CaptureScreenshots returns by the probe's deadline plus its tail and finish (functions/domain/filmstrip.ts).
 */
export const RUN_LIFE_LIMITS: RunLifeLimits = {
  deadlinesAfterLaunch: {
    PollState: MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS,
    ProbePort: MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS + GUEST_TIMINGS_MAX_SECONDS,
    CaptureScreenshots: FILMSTRIP_SECONDS_AFTER_LAUNCH,
  },
  taskMarginSeconds: TASK_TIMEOUT_MARGIN.toSeconds(),
};

/**
 * EC2's LaunchTime has whole seconds, truncated: the sweeper may see an instance up to a second older
 * than it is, so that second belongs to the life the bound must exceed.
 */
export const LAUNCH_TIME_RESOLUTION_SECONDS = 1;

const RUNS_MAP = "Runs";
const ACQUIRE_SLOT = "AcquireRunSlot";
const LAUNCH = "LaunchInstance";
const OBSERVE = "Observe";
const CAPTURE_CONSOLE = "CaptureConsole";
const TERMINATE = "TerminateInstance";
const RELEASE_SLOT = "ReleaseRunSlot";

// ASL's defaults for a retrier's fields.
const DEFAULT_INTERVAL_SECONDS = 1;
const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_BACKOFF_RATE = 2;

/** The rendered definition of a state machine, as CloudFormation receives it (ARNs as `<Id.Arn>`). */
export function renderedDefinition(stateMachine: sfn.StateMachine): AslDefinition {
  const cfn = stateMachine.node.defaultChild as sfn.CfnStateMachine;
  if (cfn.definitionString === undefined) {
    throw new Error(
      `State machine ${stateMachine.node.path} has no inline definition to bound a run's life by`,
    );
  }
  return JSON.parse(flattenIntrinsic(Stack.of(stateMachine).resolve(cfn.definitionString))) as AslDefinition;
}

/** {@link longestRunLife} of a state machine of this stack, with the stack's own limits. */
export function runLifeOf(
  stateMachine: sfn.StateMachine,
  limits: RunLifeLimits = RUN_LIFE_LIMITS,
): RunLifetime {
  return longestRunLife(renderedDefinition(stateMachine), limits);
}

/**
 * The longest time from the first RunInstances of a run until its TerminateInstances is sent, as the
 * sum of named terms. Refuses a definition whose run path it does not know (another state between
 * launch and terminate, a Retry on Observe or the Map, a Task without TimeoutSeconds): a bound computed
 * over a different path could be too short, so the shape must be taught here first.
 */
export function longestRunLife(definition: AslDefinition, limits: RunLifeLimits): RunLifetime {
  const state = processorState(definition);
  const launch = state(LAUNCH);
  const observe = state(OBSERVE);
  const capture = state(CAPTURE_CONSOLE);
  const terminate = state(TERMINATE);
  checkPath(launch, observe, capture);

  const terms: RunLifeTerm[] = [
    // The first attempt may send RunInstances as soon as it starts, and every later attempt replays the
    // same ClientToken, so the instance lives through all attempts, each up to its TimeoutSeconds (a
    // lost response, a throttled send after the instance exists: the retried errors can all come
    // late), and through every wait between them.
    ...attemptTerms("launch", LAUNCH, launch),
    ...observeTerms(observe, limits),
    // Between the observation and terminate on every path that had an instance id: all its attempts.
    ...attemptTerms("console", CAPTURE_CONSOLE, capture),
    // The call goes out somewhere inside the last attempt; every attempt before it may have failed
    // at its very end (a NotFound hunt, throttling), so all of them count in full.
    ...attemptTerms("terminate", TERMINATE, terminate),
    {
      name: "launchTimeWholeSeconds",
      seconds: LAUNCH_TIME_RESOLUTION_SECONDS,
      arithmetic: "LaunchTime truncated to whole seconds",
    },
  ];
  return lifetimeOf(terms);
}

/**
 * The longest time a run holds its run slot (functions/domain/run-slots.ts), which its lease must
 * outlast: from the lease's write inside AcquireRunSlot's last attempt (the rest of that attempt; a
 * retried attempt renews the lease), through the run's whole life, to the write that gives it back in
 * ReleaseRunSlot's last attempt (all of them, and the waits between). Refuses a run path other than
 * AcquireRunSlot → LaunchInstance … TerminateInstance → ReleaseRunSlot, failures included.
 */
export function longestSlotHold(definition: AslDefinition, limits: RunLifeLimits): RunLifetime {
  const state = processorState(definition);
  const acquire = state(ACQUIRE_SLOT);
  const terminate = state(TERMINATE);
  const release = state(RELEASE_SLOT);
  const catchTargets = (s: AslState) => (s.Catch ?? []).map((c) => c.Next);
  const problems = [
    runsProcessor(definition).StartAt !== ACQUIRE_SLOT && `the run does not start with ${ACQUIRE_SLOT}`,
    acquire.Next !== LAUNCH && `${ACQUIRE_SLOT} goes on to ${String(acquire.Next)}, not ${LAUNCH}`,
    terminate.Next !== RELEASE_SLOT &&
      `${TERMINATE} goes on to ${String(terminate.Next)}, not ${RELEASE_SLOT}`,
    ...catchTargets(acquire)
      .filter((next) => next !== TERMINATE)
      .map((next) => `a Catch of ${ACQUIRE_SLOT} goes to ${next}, not ${TERMINATE}`),
    ...catchTargets(terminate)
      .filter((next) => next !== RELEASE_SLOT)
      .map((next) => `a Catch of ${TERMINATE} goes to ${next}, not ${RELEASE_SLOT}`),
  ].filter((problem): problem is string => typeof problem === "string");
  if (problems.length > 0) throw unknownShape(problems.join("; "));
  const acquireTimeout = taskTimeout(ACQUIRE_SLOT, acquire);
  return lifetimeOf([
    {
      name: "acquireAnswer",
      seconds: acquireTimeout,
      arithmetic: `${ACQUIRE_SLOT}: the rest of its last attempt, at most ${figure(acquireTimeout)} s TimeoutSeconds`,
    },
    ...longestRunLife(definition, limits).terms,
    ...attemptTerms("release", RELEASE_SLOT, release),
  ]);
}

function lifetimeOf(terms: RunLifeTerm[]): RunLifetime {
  const totalSeconds = terms.reduce((sum, term) => sum + term.seconds, 0);
  return {
    totalSeconds,
    terms,
    arithmetic: `${terms.map((term) => figure(term.seconds)).join(" + ")} = ${figure(totalSeconds)} s`,
  };
}

function processorState(definition: AslDefinition): (name: string) => AslState {
  const processor = runsProcessor(definition);
  return (name) => {
    const found = processor.States[name];
    if (found === undefined) throw unknownShape(`the Map ${RUNS_MAP} has no state ${name}`);
    return found;
  };
}

/**
 * Observe ends when all its branches have (or as soon as one fails, which only shortens it), so it lasts
 * as long as its longest branch. A branch is one Task; for a Task with a deadline D after
 * launchRespondedAt (before Observe starts, so at most D after it), an attempt that starts at t ends by
 * max(t, D) + margin: the handler returns at its deadline (the poll waits at most 2 s more for requests
 * still out), and what comes around the handler (invoke round trip, a cold start's Init of at most 10
 * s, the response) is what TASK_TIMEOUT_MARGIN is sized for. A retried attempt ends by the same
 * deadline, but one that starts after it still takes that margin: by induction the last of n attempts
 * ends by D + n × margin + the retry waits. (Not max(D, waits + one attempt) + margin: an attempt that
 * runs to the deadline and then fails with a retried error, a Lambda.ServiceException on the way back,
 * pushes every later attempt past the deadline, and each of those costs a margin of its own.) Without a
 * deadline, n × TimeoutSeconds + waits; the smaller of the two holds.
 */
function observeTerms(observe: AslState, limits: RunLifeLimits): RunLifeTerm[] {
  const branches = observe.Branches ?? [];
  if (observe.Type !== "Parallel" || branches.length === 0) {
    throw unknownShape(`${OBSERVE} is a ${observe.Type} without branches, not a Parallel`);
  }
  if ((observe.Retry ?? []).length > 0) {
    throw unknownShape(`${OBSERVE} has a Retry: a retried Parallel re-runs both branches`);
  }
  const bounds = branches.map((branch) => {
    const names = Object.keys(branch.States);
    const name = branch.StartAt;
    const task = branch.States[name];
    // One Task, and at most the Pass states its Catch goes to, which end the branch at once.
    const catchTargets = new Set((task?.Catch ?? []).map((c) => c.Next));
    const others = names.filter((other) => other !== name);
    const passesOnly = others.every((other) => {
      const pass = branch.States[other];
      return catchTargets.has(other) && pass?.Type === "Pass" && pass.End === true;
    });
    if (task === undefined || task.Type !== "Task" || task.End !== true || !passesOnly) {
      throw unknownShape(
        `a branch of ${OBSERVE} has the states ${names.join(", ")}, not one Task (and the Pass states its Catch ends in)`,
      );
    }
    return observedTaskTerms(name, task, limits);
  });
  const total = (terms: RunLifeTerm[]) => terms.reduce((sum, term) => sum + term.seconds, 0);
  return bounds.reduce((longest, terms) => (total(terms) > total(longest) ? terms : longest));
}

function observedTaskTerms(name: string, task: AslState, limits: RunLifeLimits): RunLifeTerm[] {
  const untimed = attemptTerms("observe", name, task);
  const deadline = limits.deadlinesAfterLaunch[name];
  if (deadline === undefined) return untimed;
  // The deadline is the handler's own: it only holds if the Task hands it launchRespondedAt.
  if (task.Parameters?.["launchRespondedAt.$"] === undefined) {
    throw unknownShape(`${name} is said to stop at a deadline but is not given launchRespondedAt`);
  }
  const { attempts, attemptCounts, waits, waitArithmetic } = retryBudget(task);
  const margin = limits.taskMarginSeconds;
  const bounded: RunLifeTerm[] = [
    {
      name: "observeDeadline",
      seconds: deadline,
      arithmetic: `${name} stops by launchRespondedAt + ${figure(deadline)} s`,
    },
    {
      name: "observeAttemptOverruns",
      seconds: attempts * margin,
      arithmetic: `${name}: ${attemptCounts} attempts × ${figure(margin)} s Task margin`,
    },
    { name: "observeRetryWaits", seconds: waits, arithmetic: `${name}: ${waitArithmetic}` },
  ];
  const sum = (terms: RunLifeTerm[]) => terms.reduce((total, term) => total + term.seconds, 0);
  return sum(bounded) < sum(untimed) ? bounded : untimed;
}

/** All attempts of a Task at their TimeoutSeconds, and the longest waits between them. */
function attemptTerms(prefix: string, name: string, task: AslState): RunLifeTerm[] {
  const timeout = taskTimeout(name, task);
  const { attempts, attemptCounts, waits, waitArithmetic } = retryBudget(task);
  return [
    {
      name: `${prefix}Attempts`,
      seconds: attempts * timeout,
      arithmetic: `${name}: ${attemptCounts} attempts × ${figure(timeout)} s TimeoutSeconds`,
    },
    { name: `${prefix}RetryWaits`, seconds: waits, arithmetic: `${name}: ${waitArithmetic}` },
  ];
}

function retryBudget(task: AslState): {
  attempts: number;
  attemptCounts: string;
  waits: number;
  waitArithmetic: string;
} {
  const retriers = task.Retry ?? [];
  const waitsOf = retriers.map((retrier) => {
    const interval = retrier.IntervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
    const rate = retrier.BackoffRate ?? DEFAULT_BACKOFF_RATE;
    const cap = retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY;
    // Full jitter waits a random share of this, no jitter exactly this: the longest either way.
    return Array.from({ length: retrier.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS }, (_, k) =>
      Math.min(interval * rate ** k, cap),
    );
  });
  const attempts = 1 + waitsOf.reduce((sum, waits) => sum + waits.length, 0);
  const waits = waitsOf.flat().reduce((sum, wait) => sum + wait, 0);
  const nonEmpty = waitsOf.filter((list) => list.length > 0);
  return {
    attempts,
    attemptCounts: `(${[1, ...waitsOf.map((list) => list.length)].join(" + ")})`,
    waits,
    waitArithmetic:
      nonEmpty.length === 0
        ? "no retries"
        : `${nonEmpty.map((list) => `(${list.map(figure).join(" + ")})`).join(" + ")} s retry waits`,
  };
}

function taskTimeout(name: string, task: AslState): number {
  if (task.Type !== "Task" || task.TimeoutSeconds === undefined || task.TimeoutSecondsPath !== undefined) {
    throw unknownShape(`${name} is not a Task with a fixed TimeoutSeconds`);
  }
  return task.TimeoutSeconds;
}

function runsProcessor(definition: AslDefinition): AslDefinition {
  const runs = findState(definition, RUNS_MAP);
  const processor = runs?.ItemProcessor ?? runs?.Iterator;
  if (runs === undefined || runs.Type !== "Map" || processor === undefined) {
    throw unknownShape(`the definition has no Map ${RUNS_MAP} with an ItemProcessor`);
  }
  // A retried Map re-runs its iterations, whose launches replay the same ClientTokens.
  if ((runs.Retry ?? []).length > 0) throw unknownShape(`the Map ${RUNS_MAP} has a Retry`);
  return processor;
}

function findState(definition: AslDefinition, name: string): AslState | undefined {
  for (const [stateName, state] of Object.entries(definition.States)) {
    if (stateName === name) return state;
    for (const nested of [...(state.Branches ?? []), state.ItemProcessor, state.Iterator]) {
      const found = nested === undefined ? undefined : findState(nested, name);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * Nothing but Observe and CaptureConsole between launch and terminate, on the success path and on
 * every Catch (a launch's Catch may skip both, an observation's only Observe).
 */
function checkPath(launch: AslState, observe: AslState, capture: AslState): void {
  const catchTargets = (state: AslState) => (state.Catch ?? []).map((c) => c.Next);
  const catchesGoTo = (name: string, state: AslState, allowed: string[]) =>
    catchTargets(state)
      .filter((next) => !allowed.includes(next))
      .map((next) => `a Catch of ${name} goes to ${next}, not ${allowed.join(" or ")}`);
  const problems = [
    launch.Next !== OBSERVE && `${LAUNCH} goes on to ${String(launch.Next)}, not ${OBSERVE}`,
    observe.Next !== CAPTURE_CONSOLE &&
      `${OBSERVE} goes on to ${String(observe.Next)}, not ${CAPTURE_CONSOLE}`,
    capture.Next !== TERMINATE && `${CAPTURE_CONSOLE} goes on to ${String(capture.Next)}, not ${TERMINATE}`,
    ...catchesGoTo(LAUNCH, launch, [CAPTURE_CONSOLE, TERMINATE]),
    ...catchesGoTo(OBSERVE, observe, [CAPTURE_CONSOLE, TERMINATE]),
    ...catchesGoTo(CAPTURE_CONSOLE, capture, [TERMINATE]),
  ].filter((problem): problem is string => typeof problem === "string");
  if (problems.length > 0) throw unknownShape(problems.join("; "));
}

function unknownShape(problem: string): Error {
  return new Error(
    `Cannot bound a run's life: ${problem}. Teach infra/run-lifetime.ts the run's new path, so that the ` +
      "sweeper's age bound and the run-slot lease still cover every run in progress",
  );
}

/** Whole seconds as they are; a fractional wait (a BackoffRate such as 1.5) to the millisecond. */
function figure(seconds: number): string {
  return Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(3).replace(/\.?0+$/, "");
}
