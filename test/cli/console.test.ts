import { describe, expect, it } from "vitest";
import { type ConsoleDeps, consoleHeading, runIndexOption, showConsole } from "../../cli/commands/console.js";
import { buildRunRecord, type RunRecord } from "../../functions/domain/run-record.js";
import { failedRunState, succeededRunState } from "../domain/run-state-fixtures.js";

const BUCKET = "bootbench-consoleoutput-1a2b3c";
const TEXT =
  "[    0.000000] Linux version 6.1.0\n[    3.900000] sshd[612]: Server listening on :: port 22.\n";

const stored = (
  runIndex: number,
  overrides: Partial<Extract<RunRecord["console"], { status: "stored" }>> = {},
) =>
  buildRunRecord({
    ...succeededRunState(runIndex),
    console: {
      status: "stored",
      bucket: BUCKET,
      key: `console/bench-1/run-000${runIndex}.txt.gz`,
      bytes: 20_480,
      storedBytes: 4_096,
      latest: true,
      outputUpdatedAt: "2025-06-15T12:00:09.000Z",
      capturedAt: 1,
      ...overrides,
    },
  });

function deps(runs: RunRecord[], objects: Record<string, string>): ConsoleDeps & { written: () => string } {
  let written = "";
  return {
    runs: async () => runs,
    objects: {
      read: async (bucket, key) => {
        const text = objects[`${bucket}/${key}`];
        if (text === undefined)
          throw Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey" });
        return text;
      },
    },
    out: {
      write: (chunk: string) => {
        written += chunk;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    written: () => written,
  };
}

describe("boot-bench console", () => {
  it("prints each run's heading and stored output, in run order", async () => {
    const runs = [stored(1), stored(2, { latest: false, latestRefused: "UnsupportedOperation: no Nitro" })];
    const d = deps(runs, {
      [`${BUCKET}/console/bench-1/run-0001.txt.gz`]: TEXT,
      [`${BUCKET}/console/bench-1/run-0002.txt.gz`]: "two\n",
    });
    await expect(showConsole(d, { benchmarkId: "bench-1" })).resolves.toBe(true);
    expect(d.written()).toBe(
      "== run 1, succeeded, i-0123456789abcdef0: latest output, 20.0 KiB (4.0 KiB stored), updated 2025-06-15T12:00:09.000Z ==\n" +
        `${TEXT}\n` +
        "== run 2, succeeded, i-0123456789abcdef0: buffered output (Latest refused: UnsupportedOperation: no Nitro), 20.0 KiB (4.0 KiB stored), updated 2025-06-15T12:00:09.000Z ==\n" +
        "two\n\n",
    );
  });

  it("says why a run has no output, and fails when no chosen run has any", async () => {
    const unfetchable = buildRunRecord({
      ...succeededRunState(3),
      consoleFailure: { Error: "InternalError", Cause: "An internal error has occurred" },
    });
    const neverLaunched = buildRunRecord(failedRunState(4, "InsufficientInstanceCapacity"));
    delete neverLaunched.instanceId;
    const d = deps([unfetchable, neverLaunched], {});
    await expect(showConsole(d, { benchmarkId: "bench-1" })).resolves.toBe(false);
    expect(d.written()).toContain(
      "(the console output could not be fetched or stored: InternalError: An internal error has occurred)",
    );
    expect(d.written()).toContain("(no instance was launched, so there is no console)");
  });

  it("says when the object expired", async () => {
    const d = deps([stored(1)], {});
    await expect(showConsole(d, { benchmarkId: "bench-1", runIndex: 1 })).resolves.toBe(false);
    expect(d.written()).toContain(
      `(s3://${BUCKET}/console/bench-1/run-0001.txt.gz is gone: the bucket's lifecycle rule expires console output)`,
    );
  });

  it("shows only --run, and names the runs there are when it does not exist", async () => {
    const d = deps([stored(1), stored(2)], { [`${BUCKET}/console/bench-1/run-0002.txt.gz`]: "two\n" });
    await expect(showConsole(d, { benchmarkId: "bench-1", runIndex: 2 })).resolves.toBe(true);
    expect(d.written()).not.toContain("run 1");
    await expect(showConsole(d, { benchmarkId: "bench-1", runIndex: 7 })).rejects.toThrow(
      "benchmark bench-1 has no run 7; its runs are 1, 2",
    );
    await expect(showConsole(deps([], {}), { benchmarkId: "nope" })).rejects.toThrow(
      "no runs of benchmark nope are recorded",
    );
  });

  it("takes --run as a run index only", () => {
    expect(runIndexOption("0")).toBe(0);
    expect(runIndexOption(undefined)).toBeUndefined();
    for (const bad of ["-1", "1.5", "one", ""]) {
      expect(() => runIndexOption(bad), bad).toThrow("--run takes a run index");
    }
  });

  it("marks a run that was not counted", () => {
    expect(consoleHeading(stored(0))).toMatch(/^== run 0, succeeded, i-\w+, not counted: latest output/);
  });
});
