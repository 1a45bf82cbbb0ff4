/**
 * Runs the CLI in process as `npx boot-bench …` does, with stderr as a pipe or as a terminal: its exit
 * code, what it printed (console.log and stdout), its error messages (console.error) and everything
 * else it wrote to stderr (progress). One local pipeline per test file: the handlers' SDK clients are
 * made once per process, as in Lambda, so a second pipeline in the same worker would find them
 * pointing at the first one's closed endpoints.
 */
import { vi } from "vitest";
import { main } from "../../cli/main.js";
import { streamWrite } from "./results-dataset.js";

export interface CliRun {
  code: number;
  out: string;
  err: string;
  stderr: string;
}

async function runCli(stderr: { isTTY: boolean; columns?: number }, args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const written: string[] = [];
  const saved = { isTTY: process.stderr.isTTY, columns: process.stderr.columns };
  Object.assign(process.stderr, stderr);
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void out.push(String(line)));
  vi.spyOn(console, "error").mockImplementation((line: unknown) => void err.push(String(line)));
  vi.spyOn(process.stdout, "write").mockImplementation(streamWrite((text) => out.push(text)));
  vi.spyOn(process.stderr, "write").mockImplementation(streamWrite((text) => written.push(text)));
  try {
    const code = await main(["node", "boot-bench", ...args]);
    return { code, out: out.join("\n"), err: err.join("\n"), stderr: written.join("") };
  } finally {
    vi.restoreAllMocks();
    Object.assign(process.stderr, saved);
  }
}

/** With stderr a pipe, as in CI logs. */
export const cli = (...args: string[]): Promise<CliRun> => runCli({ isTTY: false }, args);

/** With stderr a terminal `columns` wide. */
export const cliOnTerminal = (columns: number, ...args: string[]): Promise<CliRun> =>
  runCli({ isTTY: true, columns }, args);
