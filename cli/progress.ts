/**
 * Live progress of local executions. On a terminal, one cli-progress bar per benchmark: runs finished
 * out of runs, elapsed and estimated time left, what it is doing and the last run's figures as they
 * land. Elsewhere (CI logs, pipes) one line per finished run and per benchmark's start and end, never
 * one per phase.
 */
import cliProgress, { type MultiBar, type Options, type Params, type SingleBar } from "cli-progress";
import type { RunState } from "../functions/domain/contract.js";
import { INTERVAL_LABELS } from "../functions/domain/figures.js";
import { INTERVAL_NAMES, type IntervalName } from "../functions/domain/integrity.js";
import { buildRunRecord, type RunRecord } from "../functions/domain/run-record.js";
import type { ExecutionEvent } from "../local-cloud/runner/local-state-machine.js";
import { PHASE_OF_STATE } from "./phases.js";
import { DEFAULT_DATA_DIR } from "./results-table.js";
import { runNote } from "./results-view.js";
import { seconds } from "./text-table.js";

/** One execution of the run: for the ids printed at the end. */
export interface ProgressedBenchmark {
  label: string;
  /** Absent when the execution ended before it had a benchmark (its input was refused). */
  benchmarkId?: string;
}

export interface ProgressReporter {
  /** `runs` 0: an execution without runs of its own (a suite, whose benchmarks get their own bars). */
  started(executionName: string, label: string, runs: number): void;
  onEvent(executionName: string, event: ExecutionEvent): void;
  /** Stops the bars, leaving their last state on the terminal. */
  stop(): void;
  /** Every execution started, in start order. */
  benchmarks(): ProgressedBenchmark[];
}

interface ExecutionProgress extends ProgressedBenchmark {
  runs: number;
  finishedRuns: number;
  startedAt: number;
  endedAt?: number;
  phase: string;
  /** `succeeded`, or `failed: <error>`, once the execution has ended. */
  outcome?: string;
  /** The last finished run, as its bar shows it. */
  lastRun?: string;
  bar?: SingleBar;
}

/** The state each run of the Map ends in: recorded, or handed to Summarise to record late. */
const RUN_END_STATES: Readonly<Record<string, (input: unknown) => RunRecord>> = {
  RunRecorded: (input) => {
    const state = input as RunState & { recorded?: { status?: RunRecord["status"] } };
    const record = buildRunRecord(state);
    return state.recorded?.status === undefined ? record : { ...record, status: state.recorded.status };
  },
  RunUnrecorded: (input) => buildRunRecord(input as RunState),
};

/**
 * The intervals in the order a bar shows them: the total and the two that make it first, so that what
 * a narrow terminal cuts off is the least asked for.
 */
const BAR_ORDER: readonly IntervalName[] = [
  "total",
  "runningToPortClosed",
  "portClosedToOpen",
  "pendingToRunning",
  "runInstancesApi",
];

/**
 * One finished run in a line: its figures in the published intervals' words (in `order`), and what
 * marks it.
 */
function describeFinishedRun(
  run: RunRecord,
  unrecorded: boolean,
  order: readonly IntervalName[] = INTERVAL_NAMES,
): string {
  const parts = [
    run.intervals
      ? order.map((name) => `${INTERVAL_LABELS[name]} ${seconds(run.intervals?.[name])} s`).join(", ")
      : run.status,
  ];
  if (!run.counted) parts.push("discarded (first run)");
  const note = runNote(run);
  if (note !== "") parts.push(note);
  if (unrecorded) parts.push("not recorded yet: Summarise records it");
  return parts.join("; ");
}

const TIME_FORMAT = { autopaddingChar: "0" };
const elapsed = (execution: ExecutionProgress): string =>
  cliProgress.Format.TimeFormat(
    Math.round(((execution.endedAt ?? Date.now()) - execution.startedAt) / 1000),
    TIME_FORMAT,
    1,
  );

export function createProgressReporter(stream: NodeJS.WriteStream): ProgressReporter {
  const executions = new Map<string, ExecutionProgress>();
  const interactive = stream.isTTY === true;
  const labelWidth = () => Math.max(...[...executions.values()].map((e) => e.label.length));
  let bars: MultiBar | undefined;

  const formatBar = (options: Options, params: Params, payload: ExecutionProgress): string => {
    const label = payload.label.padEnd(labelWidth());
    if (payload.runs === 0) return `${label}  ${payload.outcome ?? payload.phase}`;
    const eta =
      params.value > 0 && typeof params.eta === "number" && Number.isFinite(params.eta)
        ? cliProgress.Format.TimeFormat(params.eta, TIME_FORMAT, 5)
        : "?";
    const doing = payload.outcome ?? payload.phase;
    return (
      `${label} ${cliProgress.Format.BarFormat(params.progress, options)} ${params.value}/${params.total} runs  ` +
      `${elapsed(payload)} elapsed${payload.outcome ? "" : `, ${eta} left`}  ${doing}` +
      (payload.lastRun ? `  last: ${payload.lastRun}` : "")
    );
  };
  const redraw = (execution: ExecutionProgress) =>
    execution.bar?.update(execution.finishedRuns, execution as unknown as Record<string, unknown>);
  const line = (text: string) => {
    if (!interactive) stream.write(`${text}\n`);
  };

  return {
    started(name, label, runs) {
      const execution: ExecutionProgress = {
        label,
        runs,
        finishedRuns: 0,
        startedAt: Date.now(),
        phase: "starting",
      };
      executions.set(name, execution);
      if (interactive) {
        bars ??= new cliProgress.MultiBar({
          stream,
          format: formatBar as Options["format"],
          barsize: 20,
          autopadding: true,
        });
        execution.bar = bars.create(runs, 0, execution);
      } else if (runs > 0) {
        line(`${label}: started, ${runs} runs`);
      }
    },
    onEvent(name, event) {
      const execution = executions.get(name);
      if (!execution) return;
      if (event.type === "StateEntered") {
        const input = event.state.input as Partial<RunState> | null;
        execution.benchmarkId ??= input?.benchmark?.benchmarkId;
        const toRecord = RUN_END_STATES[event.state.name];
        if (toRecord) {
          const run = toRecord(event.state.input);
          const unrecorded = event.state.name === "RunUnrecorded";
          execution.finishedRuns += 1;
          execution.lastRun = `run ${run.runIndex}: ${describeFinishedRun(run, unrecorded, BAR_ORDER)}`;
          line(
            `${execution.label}: run ${run.runIndex}: ${describeFinishedRun(run, unrecorded)} ` +
              `(${execution.finishedRuns}/${execution.runs} done)`,
          );
        } else {
          const phase = PHASE_OF_STATE[event.state.name];
          if (phase === undefined) return;
          const runIndex = input?.run?.runIndex;
          execution.phase = runIndex === undefined ? phase : `run ${runIndex}: ${phase}`;
        }
      } else if (event.type === "ExecutionSucceeded" || event.type === "ExecutionFailed") {
        execution.outcome = event.type === "ExecutionSucceeded" ? "succeeded" : `failed: ${event.Error}`;
        execution.endedAt = Date.now();
        line(
          `${execution.label}: ${execution.outcome} after ${elapsed(execution)}` +
            (execution.runs > 0 ? `, ${execution.finishedRuns}/${execution.runs} runs` : "") +
            (execution.benchmarkId ? `, benchmark ${execution.benchmarkId}` : ""),
        );
      } else {
        return;
      }
      redraw(execution);
    },
    stop() {
      bars?.stop();
      bars = undefined;
    },
    benchmarks: () =>
      [...executions.values()].map(({ label, benchmarkId }) => ({
        label,
        ...(benchmarkId !== undefined && { benchmarkId }),
      })),
  };
}

/**
 * Prints the benchmarks a run made, each with the command that shows its runs (with the --data-dir
 * it needs), or only their ids when they were kept in memory and are gone with this process.
 */
export function printBenchmarkIds(
  benchmarks: ProgressedBenchmark[],
  target: { dataDir: string; inMemory?: boolean },
): void {
  const withIds = benchmarks.filter(
    (b): b is ProgressedBenchmark & { benchmarkId: string } => !!b.benchmarkId,
  );
  if (withIds.length === 0) return;
  const width = Math.max(...withIds.map((b) => b.label.length));
  const dataDir = target.dataDir === DEFAULT_DATA_DIR ? "" : ` --data-dir ${target.dataDir}`;
  console.log(
    target.inMemory
      ? "\nBenchmark ids (their runs were in memory only):"
      : "\nBenchmarks, and the command that shows each one's runs:",
  );
  for (const b of withIds) {
    const shown = target.inMemory
      ? b.benchmarkId
      : `boot-bench results --local${dataDir} --runs ${b.benchmarkId}`;
    console.log(`  ${b.label.padEnd(width)}  ${shown}`);
  }
}
