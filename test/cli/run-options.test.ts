/**
 * The CLI checks what a person typed before anything starts, and says it in the CLI's words: the flag,
 * not the input field; a sentence, not an errno.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { checkFlagInputs, inputFromFlags } from "../../cli/benchmark-flags.js";
import { checkReportOut } from "../../cli/commands/report.js";
import { executionInput } from "../../cli/run-modes.js";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import { cli } from "./cli-in-process.js";

const DEBIAN = BUILT_IN_AMI_IDS.debian12Amd64;
const scratch = mkdtempSync(join(tmpdir(), "boot-bench-run-options-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  process.exitCode = undefined;
});

describe("run: every option checked before any execution starts", () => {
  it("refuses --runs 0 for every image at once, naming the flag, and starts no execution", async () => {
    const run = await cli(
      "run",
      "--local",
      "--in-memory",
      "--runs",
      "0",
      "--image",
      DEBIAN,
      "--image",
      DEBIAN,
    );
    expect(run.code).toBe(1);
    // Said once, for both images; nothing ran, so no execution failed and no table was printed.
    expect(run.err).toBe(
      "boot-bench: the options do not make a valid benchmark; nothing was started:\n" +
        "  --runs: must be an integer from 1 to 100 (got 0)",
    );
    expect(run.out).toBe("");
  });

  it("names --keep-first, not discardFirst, for --runs 1", async () => {
    const run = await cli("run", "--local", "--in-memory", "--runs", "1", "--image", DEBIAN);
    expect(run.code).toBe(1);
    expect(run.err).toContain("--runs: must be at least 2 when --keep-first is not given");
    expect(run.err).toContain("pass --keep-first to count a single run");
    expect(run.err).not.toContain("discardFirst");
  });

  it("asks for guest timings with --guest-timings, and for none without it", () => {
    const flags = { instanceType: "c7i.large", runs: "3" };
    expect(inputFromFlags(DEBIAN, { ...flags, guestTimings: true })).toMatchObject({ guestTimings: true });
    expect(inputFromFlags(DEBIAN, flags)).not.toHaveProperty("guestTimings");
  });

  it("lists every bad flag, each by its flag", () => {
    expect(() =>
      checkFlagInputs([
        {
          image: DEBIAN,
          instanceType: "c7i.large",
          runs: 4,
          concurrency: 4,
          runningTimeoutSeconds: 600,
          openTimeoutSeconds: 600,
          screenshots: { framesPerSecond: 2 },
          probeIntervalMs: "often",
        },
      ]),
    ).toThrow(
      new Error(
        "the options do not make a valid benchmark; nothing was started:\n" +
          '  --probe-interval-ms: must be an integer from 5 to 1000 (got "often")\n' +
          "  --screenshots: must be a number from 0.2 to 1 (got 2)\n" +
          "  --runs: must be more than --concurrency (4) when --keep-first is not given: the first wave of 4 " +
          "runs starts together and boots cold, so all of it is discarded and 4 runs would leave nothing " +
          "counted; add runs, lower --concurrency, or pass --keep-first\n" +
          "  --open-timeout: --running-timeout + --open-timeout must be at most 840 (the probe Lambda stops " +
          "at 900 s); got 600 + 600 = 1200",
      ),
    );
  });

  it("refuses a deployed run's bad flags before it looks for the stack", () => {
    const fromFlags = () => ({ image: DEBIAN, instanceType: "c7i.large", runs: 0 });
    expect(() =>
      executionInput(
        { image: [DEBIAN], stack: "BootBench", timeScale: "0.1", dataDir: scratch, pollInterval: "5" },
        fromFlags,
      ),
    ).toThrow("--runs: must be an integer from 1 to 100 (got 0)");
  });

  it("says that --in-memory results are not kept", async () => {
    const run = await cli(
      "run",
      "--local",
      "--in-memory",
      "--runs",
      "1",
      "--keep-first",
      "--time-scale",
      "0.02",
      "--image",
      DEBIAN,
    );
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    expect(run.out).toContain("Results were kept in memory only (--in-memory) and go when this command ends");
    expect(run.out).not.toContain("Results are in DynamoDB table");
  });
});

describe("two local runs in one process", () => {
  it("gives each its own local cloud: a closed pipeline's endpoints are not left as preset ones", async () => {
    const { startLocalPipeline } = await import("../../local-cloud/local-pipeline.js");
    const before = process.env.AWS_ENDPOINT_URL_EC2;
    const first = await startLocalPipeline({ cloud: { timeScale: 0.02 } });
    expect(process.env.AWS_ENDPOINT_URL_EC2).toBe(first.endpoints.ec2);
    await first.close();
    expect(process.env.AWS_ENDPOINT_URL_EC2).toBe(before);
    const second = await startLocalPipeline({ cloud: { timeScale: 0.02 } });
    try {
      expect(second.localAws).toBeDefined();
      expect(second.endpoints.ec2).not.toBe(first.endpoints.ec2);
    } finally {
      await second.close();
    }
  });
});

describe("errors a new user meets first", () => {
  it("says how to set a Region when a deployed command has none", async () => {
    for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"]) vi.stubEnv(name, undefined);
    // No profile, and credentials from the environment: nothing is looked up beyond this machine.
    vi.stubEnv("AWS_CONFIG_FILE", join(scratch, "no-config"));
    vi.stubEnv("AWS_SHARED_CREDENTIALS_FILE", join(scratch, "no-credentials"));
    vi.stubEnv("AWS_ACCESS_KEY_ID", "x");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "x");
    const run = await cli("results", "--table", "boot-bench-results");
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      "boot-bench: Region is missing: a deployed stack's command needs an AWS Region: set AWS_REGION (or " +
        "AWS_DEFAULT_REGION, or a region in your AWS profile), or add --local for the local cloud",
    );
  });

  it("refuses report --out into a folder that does not exist, or onto a folder, in a sentence", async () => {
    const missing = join(scratch, "no-such-folder", "report.html");
    const run = await cli("report", "--local", "--data-dir", join(scratch, "data"), "--out", missing);
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      `boot-bench: --out ${missing}: there is no folder ${join(scratch, "no-such-folder")} to write the ` +
        "report into; create it first",
    );
    expect(() => checkReportOut(scratch)).toThrow(
      `--out ${scratch} is a folder: give the report's file name, e.g. ${scratch}/report.html`,
    );
    expect(() => checkReportOut(join(scratch, "report.html"))).not.toThrow();
  });
});
