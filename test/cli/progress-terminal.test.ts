/**
 * `run --local` progress on a terminal, through the real pipeline on the local cloud: cli-progress
 * bars that a terminal emulator (xterm.js, headless) shows as one line per benchmark with its runs,
 * elapsed time and the last run's figures.
 */
import { Terminal } from "@xterm/headless";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import { cliOnTerminal } from "./cli-in-process.js";

const DEBIAN = BUILT_IN_AMI_IDS.debian12Amd64;
const FREEBSD = "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT";
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe("run --local progress, on a terminal", () => {
  it("on a terminal: a bar per benchmark with runs done, elapsed time and the last run's figures", async () => {
    const run = await cliOnTerminal(
      220,
      "run",
      "--local",
      "--in-memory",
      "--runs",
      "3",
      "--image",
      DEBIAN,
      "--image",
      FREEBSD,
    );
    expect(run.code, run.out).toBe(0);
    // The bars are redrawn in place as runs finish (escape codes, earlier frames), and no piped lines.
    expect(run.stderr).toContain("\u001b[");
    // Once a run is in, the time left is estimated from it.
    expect(run.stderr).toMatch(/ 1\/3 runs {2}\d+s elapsed, \d+s left {2}/);
    expect(run.stderr).not.toContain("started, 3 runs");
    const terminal = new Terminal({ cols: 220, rows: 20, allowProposedApi: true });
    await new Promise<void>((resolve) => terminal.write(run.stderr, resolve));
    const screen = Array.from(
      { length: 20 },
      (_, i) => terminal.buffer.active.getLine(i)?.translateToString(true) ?? "",
    ).filter((line) => line !== "");
    terminal.dispose();
    // What is left on the terminal: exactly one line per benchmark, finished.
    expect(screen).toHaveLength(2);
    for (const [index, image] of [DEBIAN, FREEBSD].entries()) {
      expect(screen[index]).toMatch(
        new RegExp(
          `^${image} +=+ 3/3 runs  \\d+s elapsed  succeeded  last: run \\d: total \\d+\\.\\d\\d s, running to port closed \\d+\\.\\d\\d s, closed to open \\d+\\.\\d\\d s, `,
        ),
      );
    }
    expect(run.out).toMatch(/^Benchmark ids \(their runs were in memory only\):$/m);
  }, 120_000);
});
