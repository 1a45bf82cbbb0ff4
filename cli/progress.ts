/**
 * Live progress of local executions: which run of which image is in which phase. On a terminal the
 * status block is redrawn in place; otherwise each phase change is one line (CI logs, pipes).
 */
import type { ExecutionEvent } from "../local-cloud/runner/local-state-machine.js";
import { PHASE_OF_STATE } from "./phases.js";

interface ExecutionStatus {
  image: string;
  runs: number;
  run?: number;
  phase: string;
}

export interface ProgressReporter {
  started(executionName: string, image: string, runs: number): void;
  onEvent(executionName: string, event: ExecutionEvent): void;
  done(): void;
}

export function createProgressReporter(stream: NodeJS.WriteStream): ProgressReporter {
  const executions = new Map<string, ExecutionStatus>();
  const interactive = stream.isTTY === true;
  let drawnLines = 0;

  const describe = (status: ExecutionStatus) =>
    `${status.image}  ${status.run === undefined ? "" : `run ${status.run + 1}/${status.runs}  `}${status.phase}`;
  const redraw = () => {
    if (drawnLines > 0) stream.write(`\x1b[${drawnLines}A\x1b[0J`);
    const lines = [...executions.values()].map(describe);
    stream.write(`${lines.join("\n")}\n`);
    drawnLines = lines.length;
  };
  const update = (name: string, change: Partial<ExecutionStatus>) => {
    const status = executions.get(name);
    if (!status) return;
    Object.assign(status, change);
    if (interactive) redraw();
    else stream.write(`${describe(status)}\n`);
  };

  return {
    started(name, image, runs) {
      executions.set(name, { image, runs, phase: "starting" });
      update(name, {});
    },
    onEvent(name, event) {
      if (event.type === "StateEntered") {
        const phase = PHASE_OF_STATE[event.state.name];
        if (phase === undefined) return;
        const run = (event.state.input as { run?: { runIndex?: number } } | null)?.run?.runIndex;
        update(name, { phase, ...(run !== undefined && { run }) });
      } else if (event.type === "StateExited" && event.state.name === "RecordRun") {
        const recorded = (event.state.output as { recorded?: { status?: string } } | null)?.recorded;
        update(name, { phase: `recorded: ${recorded?.status ?? "?"}` });
      } else if (event.type === "ExecutionSucceeded" || event.type === "ExecutionFailed") {
        const outcome = event.type === "ExecutionSucceeded" ? "done" : `failed: ${event.Error}`;
        update(name, { phase: outcome, run: undefined } as Partial<ExecutionStatus>);
      }
    },
    done() {
      drawnLines = 0;
      stream.write("\n");
    },
  };
}
