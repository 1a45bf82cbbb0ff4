/**
 * The longest legitimate life of a run's instance (infra/run-lifetime.ts), from the synthesised
 * definition, and the sweeper's age bound that follows from it. The figures are written out, so a change
 * to a step's timeout or retrier shows up here as a diff, and the README's table must follow.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { FILMSTRIP_SECONDS_AFTER_LAUNCH } from "../../functions/domain/filmstrip.js";
import { DEFAULT_RUN_SLOTS, RUN_START_SPACING_MS } from "../../functions/domain/run-slots.js";
import type { AslDefinition, AslState } from "../../infra/asl.js";
import { BootBenchStack } from "../../infra/boot-bench-stack.js";
import { PROJECT_ROOT } from "../../infra/constructs/benchmark-function.js";
import { SWEEP_MAX_AGE_MARGIN_MINUTES, sweepAgeBounds } from "../../infra/constructs/sweeper.js";
import {
  longestRunLife,
  longestSlotHold,
  RUN_LIFE_LIMITS,
  type RunLifetime,
} from "../../infra/run-lifetime.js";
import { deployedMaxAgeMinutes } from "../../local-cloud/local-sweeper.js";
import { type CfnResource, definitionOf, resourcesOfType, synthesize } from "./synth.js";

const { template } = synthesize();
const definition = definitionOf(template) as AslDefinition;
const life = longestRunLife(definition, RUN_LIFE_LIMITS);

const LAMBDA_WAITS =
  "(2 + 4 + 8 + 16 + 30) + (5 + 10 + 20 + 40 + 60 + 60) + (1 + 2 + 4 + 8 + 16 + 20) s retry waits";

/** CaptureConsole's brief retries: Lambda's transient errors twice, throttling, NotFound and EC2's 5xx three times. */
const CONSOLE_TERMS = [
  {
    name: "consoleAttempts",
    seconds: 180,
    arithmetic: "CaptureConsole: (1 + 2 + 3) attempts × 30 s TimeoutSeconds",
  },
  {
    name: "consoleRetryWaits",
    seconds: 10,
    arithmetic: "CaptureConsole: (1 + 2) + (1 + 2 + 4) s retry waits",
  },
];

/** A copy of the definition with one state of the run changed. */
function withRunState(name: string, change: (state: AslState, run: Record<string, AslState>) => void) {
  const copy = structuredClone(definition);
  const run = copy.States.Runs?.ItemProcessor?.States;
  const state = run?.[name] ?? findInBranches(run ?? {}, name);
  if (run === undefined || state === undefined) throw new Error(`No run state ${name}`);
  change(state, run);
  return copy;
}

function findInBranches(states: Record<string, AslState>, name: string): AslState | undefined {
  return Object.values(states)
    .flatMap((state) => state.Branches ?? [])
    .map((branch) => branch.States[name])
    .find((state) => state !== undefined);
}

const lifeOf = (changed: AslDefinition, limits = RUN_LIFE_LIMITS): RunLifetime =>
  longestRunLife(changed, limits);

/** A stack with this context, in an App of its own (all synthesised into one folder, removed after the file). */
const outdir = mkdtempSync(join(tmpdir(), "boot-bench-run-lifetime-"));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
const stackWith = (context: Record<string, unknown>) =>
  new BootBenchStack(new App({ outdir, context: { "aws:cdk:bundling-stacks": [], ...context } }), "Bound");

describe("the longest legitimate life of a run's instance", () => {
  it("adds up launch, observe, console capture and terminate at their worst, from the synthesised definition", () => {
    expect(life).toEqual({
      totalSeconds: 4919,
      terms: [
        {
          name: "launchAttempts",
          seconds: 1350,
          arithmetic: "LaunchInstance: (1 + 5 + 6 + 6) attempts × 75 s TimeoutSeconds",
        },
        { name: "launchRetryWaits", seconds: 306, arithmetic: `LaunchInstance: ${LAMBDA_WAITS}` },
        {
          name: "observeDeadline",
          seconds: 840,
          arithmetic: "PollState stops by launchRespondedAt + 840 s",
        },
        {
          name: "observeAttemptOverruns",
          seconds: 270,
          arithmetic: "PollState: (1 + 5 + 6 + 6) attempts × 15 s Task margin",
        },
        { name: "observeRetryWaits", seconds: 306, arithmetic: `PollState: ${LAMBDA_WAITS}` },
        ...CONSOLE_TERMS,
        {
          name: "terminateAttempts",
          seconds: 1350,
          arithmetic: "TerminateInstance: (1 + 5 + 6 + 6) attempts × 75 s TimeoutSeconds",
        },
        { name: "terminateRetryWaits", seconds: 306, arithmetic: `TerminateInstance: ${LAMBDA_WAITS}` },
        { name: "launchTimeWholeSeconds", seconds: 1, arithmetic: "LaunchTime truncated to whole seconds" },
      ],
      arithmetic: "1350 + 306 + 840 + 270 + 306 + 180 + 10 + 1350 + 306 + 1 = 4919 s",
    });
  });

  it("counts CaptureConsole's attempts and waits between the observation and terminate", () => {
    const names = life.terms.map((t) => t.name);
    expect(life.terms.filter((t) => t.name.startsWith("console"))).toEqual(CONSOLE_TERMS);
    expect(names.slice(names.indexOf("observeRetryWaits"), names.indexOf("terminateAttempts") + 1)).toEqual([
      "observeRetryWaits",
      "consoleAttempts",
      "consoleRetryWaits",
      "terminateAttempts",
    ]);
  });

  it("moves with every Task timeout and every retrier", () => {
    // 18 attempts, each 10 s longer.
    const slowerLaunch = withRunState("LaunchInstance", (launch) => {
      launch.TimeoutSeconds = 85;
    });
    expect(lifeOf(slowerLaunch).totalSeconds).toBe(4919 + 18 * 10);

    // One more attempt of 75 s, after a wait of min(2 × 2^5, 30) s.
    const moreRetries = withRunState("TerminateInstance", (terminate) => {
      const [lambdaTransient] = terminate.Retry ?? [];
      if (lambdaTransient) lambdaTransient.MaxAttempts = 6;
    });
    expect(lifeOf(moreRetries).totalSeconds).toBe(4919 + 75 + 30);

    // CaptureConsole: 6 attempts, each 10 s longer.
    const slowerConsole = withRunState("CaptureConsole", (capture) => {
      capture.TimeoutSeconds = 40;
    });
    expect(lifeOf(slowerConsole).totalSeconds).toBe(4919 + 6 * 10);

    // ResourceNotReady's waits uncapped: 5 + 10 + 20 + 40 + 80 + 160 = 315 s instead of 195 s.
    const uncapped = withRunState("LaunchInstance", (launch) => {
      const notReady = launch.Retry?.find((r) => r.ErrorEquals.includes("Lambda.ResourceNotReadyException"));
      if (notReady) delete notReady.MaxDelaySeconds;
    });
    expect(lifeOf(uncapped).totalSeconds).toBe(4919 + 120);

    // A retrier defaults to 3 attempts, 1 s, rate 2: with PollState held to 600 s (1176 s in all),
    // ProbePort's 840 + 15 × 15 + 255 + (1 + 2 + 4) = 1327 s is Observe's longer branch.
    const withDefaults = withRunState("ProbePort", (probe) => {
      probe.Retry = [...(probe.Retry ?? []), { ErrorEquals: ["States.ALL"] }];
    });
    const probeLonger = lifeOf(withDefaults, {
      ...RUN_LIFE_LIMITS,
      deadlinesAfterLaunch: { PollState: 600, ProbePort: 840 },
    });
    expect(probeLonger.terms.filter((t) => t.name.startsWith("observe")).map((t) => t.arithmetic)).toEqual([
      "ProbePort stops by launchRespondedAt + 840 s",
      "ProbePort: (1 + 5 + 6 + 3) attempts × 15 s Task margin",
      "ProbePort: (2 + 4 + 8 + 16 + 30) + (5 + 10 + 20 + 40 + 60 + 60) + (1 + 2 + 4) s retry waits",
    ]);
    expect(probeLonger.totalSeconds).toBe(4919 - 1416 + 1327);
  });

  it("takes Observe's longer branch, each bounded by its deadline or else by its attempts", () => {
    // PollState bounded by 600 s: 600 + 18 × 15 + 306 = 1176 s, so ProbePort's 840 + 12 × 15 + 255 =
    // 1275 s is the longer.
    const shorterPoll = lifeOf(definition, {
      ...RUN_LIFE_LIMITS,
      deadlinesAfterLaunch: { PollState: 600, ProbePort: 840 },
    });
    expect(shorterPoll.terms.filter((t) => t.name.startsWith("observe"))).toEqual([
      { name: "observeDeadline", seconds: 840, arithmetic: "ProbePort stops by launchRespondedAt + 840 s" },
      {
        name: "observeAttemptOverruns",
        seconds: 180,
        arithmetic: "ProbePort: (1 + 5 + 6) attempts × 15 s Task margin",
      },
      {
        name: "observeRetryWaits",
        seconds: 255,
        arithmetic: "ProbePort: (2 + 4 + 8 + 16 + 30) + (5 + 10 + 20 + 40 + 60 + 60) s retry waits",
      },
    ]);
    expect(shorterPoll.totalSeconds).toBe(4919 - 1416 + 1275);

    // Without deadlines every attempt may take its whole TimeoutSeconds: 18 × 915 + 306 s.
    const noDeadlines = lifeOf(definition, { ...RUN_LIFE_LIMITS, deadlinesAfterLaunch: {} });
    expect(noDeadlines.terms.filter((t) => t.name.startsWith("observe"))).toEqual([
      {
        name: "observeAttempts",
        seconds: 18 * 915,
        arithmetic: "PollState: (1 + 5 + 6 + 6) attempts × 915 s TimeoutSeconds",
      },
      { name: "observeRetryWaits", seconds: 306, arithmetic: `PollState: ${LAMBDA_WAITS}` },
    ]);
  });

  it("bounds the filmstrip branch by its own deadline, one attempt and no retry", () => {
    // The stream ends by the probe's deadline plus its tail and finish: 840 + 3 + 11 = 854 s, + 15 s.
    expect(FILMSTRIP_SECONDS_AFTER_LAUNCH).toBe(854);
    const shortObservation = lifeOf(definition, {
      ...RUN_LIFE_LIMITS,
      deadlinesAfterLaunch: { ...RUN_LIFE_LIMITS.deadlinesAfterLaunch, PollState: 100, ProbePort: 100 },
    });
    expect(shortObservation.terms.filter((t) => t.name.startsWith("observe"))).toEqual([
      {
        name: "observeDeadline",
        seconds: 854,
        arithmetic: "CaptureScreenshots stops by launchRespondedAt + 854 s",
      },
      {
        name: "observeAttemptOverruns",
        seconds: 15,
        arithmetic: "CaptureScreenshots: (1) attempts × 15 s Task margin",
      },
      { name: "observeRetryWaits", seconds: 0, arithmetic: "CaptureScreenshots: no retries" },
    ]);
  });

  it("refuses a run path it does not know, rather than bound it too short", () => {
    const refused = /Cannot bound a run's life: .*Teach infra\/run-lifetime.ts/;
    const inserted = withRunState("LaunchInstance", (launch, run) => {
      run.WaitAfterLaunch = { Type: "Wait", Next: "Observe" };
      launch.Next = "WaitAfterLaunch";
    });
    expect(() => lifeOf(inserted)).toThrow(/LaunchInstance goes on to WaitAfterLaunch, not Observe/);
    const skipsConsole = withRunState("Observe", (observe) => {
      observe.Next = "TerminateInstance";
    });
    expect(() => lifeOf(skipsConsole)).toThrow(/Observe goes on to TerminateInstance, not CaptureConsole/);
    const retriedObserve = withRunState("Observe", (observe) => {
      observe.Retry = [{ ErrorEquals: ["States.ALL"] }];
    });
    expect(() => lifeOf(retriedObserve)).toThrow(/Observe has a Retry/);
    const untimed = withRunState("TerminateInstance", (terminate) => {
      delete terminate.TimeoutSeconds;
    });
    expect(() => lifeOf(untimed)).toThrow(/TerminateInstance is not a Task with a fixed TimeoutSeconds/);
    const noDeadline = withRunState("ProbePort", (probe) => {
      delete probe.Parameters?.["launchRespondedAt.$"];
    });
    expect(() => lifeOf(noDeadline)).toThrow(/ProbePort is said to stop at a deadline/);
    // A Pass after the filmstrip that is not only where its Catch ends: the branch would go on.
    const filmstripGoesOn = withRunState("CaptureScreenshots", (shots, run) => {
      const branch = run.Observe?.Branches?.[2];
      if (branch === undefined) throw new Error("no filmstrip branch");
      delete shots.End;
      shots.Next = "AfterFilmstrip";
      branch.States.AfterFilmstrip = { Type: "Pass", End: true };
    });
    expect(() => lifeOf(filmstripGoesOn)).toThrow(
      /a branch of Observe has the states CaptureScreenshots, FilmstripFailed, AfterFilmstrip, not one Task/,
    );
    for (const changed of [inserted, skipsConsole, retriedObserve, untimed, noDeadline, filmstripGoesOn]) {
      expect(() => lifeOf(changed)).toThrow(refused);
    }
  });
});

describe("the longest hold of a run slot, which its lease must outlast", () => {
  const hold = longestSlotHold(definition, RUN_LIFE_LIMITS);

  it("is the rest of the acquire's attempt, the run's whole life, and every attempt to give it back", () => {
    expect(hold.terms.slice(1, -2)).toEqual(life.terms);
    expect(hold.terms[0]).toEqual({
      name: "acquireAnswer",
      seconds: 45,
      arithmetic: "AcquireRunSlot: the rest of its last attempt, at most 45 s TimeoutSeconds",
    });
    expect(hold.terms.slice(-2)).toEqual([
      {
        name: "releaseAttempts",
        seconds: 810,
        arithmetic: "ReleaseRunSlot: (1 + 5 + 6 + 6) attempts × 45 s TimeoutSeconds",
      },
      { name: "releaseRetryWaits", seconds: 306, arithmetic: `ReleaseRunSlot: ${LAMBDA_WAITS}` },
    ]);
    expect(hold.totalSeconds).toBe(45 + life.totalSeconds + 810 + 306);
    // What the stack deploys as the lease (test/infra/boot-bench-stack.test.ts checks the environment).
    expect(hold.totalSeconds).toBe(6080);
  });

  it("is the lease and the default cap the README states, with the arithmetic", () => {
    const readme = readFileSync(join(PROJECT_ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Many benchmarks at once: run slots"));
    const text = section.slice(0, section.indexOf("\n## ", 1)).replace(/\s+/g, " ");
    expect(text).toContain(`the run's whole life (${life.totalSeconds} s, the table above)`);
    expect(text).toContain(
      `((1 + 5 + 6 + 6) attempts × 45 s + 306 s of retry waits = 1116 s): ${hold.totalSeconds} s.`,
    );
    expect(text).toContain(`so floor(20 × 0.5 / 2.4) = ${DEFAULT_RUN_SLOTS} runs`);
    expect(readme).toContain(
      `| \`runSlots\`, \`runStartSpacingMs\` | ${DEFAULT_RUN_SLOTS}, ${RUN_START_SPACING_MS} |`,
    );
  });

  it("refuses a run path on which the slot could be held outside the acquire → release bracket", () => {
    const refused = /Cannot bound a run's life: .*run-slot lease/;
    const launchFirst = structuredClone(definition);
    const processor = launchFirst.States.Runs?.ItemProcessor;
    if (processor === undefined) throw new Error("no Runs processor");
    processor.StartAt = "LaunchInstance";
    expect(() => longestSlotHold(launchFirst, RUN_LIFE_LIMITS)).toThrow(/does not start with AcquireRunSlot/);
    const recordsBeforeRelease = withRunState("TerminateInstance", (terminate) => {
      terminate.Next = "RecordRun";
    });
    expect(() => longestSlotHold(recordsBeforeRelease, RUN_LIFE_LIMITS)).toThrow(
      /TerminateInstance goes on to RecordRun, not ReleaseRunSlot/,
    );
    const failureSkipsRelease = withRunState("TerminateInstance", (terminate) => {
      for (const c of terminate.Catch ?? []) c.Next = "RecordRun";
    });
    expect(() => longestSlotHold(failureSkipsRelease, RUN_LIFE_LIMITS)).toThrow(
      /a Catch of TerminateInstance goes to RecordRun, not ReleaseRunSlot/,
    );
    for (const changed of [launchFirst, recordsBeforeRelease, failureSkipsRelease]) {
      expect(() => longestSlotHold(changed, RUN_LIFE_LIMITS)).toThrow(refused);
    }
  });
});

describe("the run-slot context", () => {
  it("takes a cap and a spacing from context, and refuses values out of range by name", () => {
    expect(stackWith({ runSlots: "8", runStartSpacingMs: 0 }).runSlots).toEqual({
      slots: 8,
      leaseSeconds: 6080,
      startSpacingMs: 0,
    });
    expect(() => stackWith({ runSlots: 0 })).toThrow(
      /Context runSlots must be a whole number of runs in flight from 1 to 500, got 0/,
    );
    expect(() => stackWith({ runSlots: "four" })).toThrow(/Context runSlots .* got "four"/);
    expect(() => stackWith({ runStartSpacingMs: 60_001 })).toThrow(
      /Context runStartSpacingMs must be a whole number of milliseconds between run starts from 0 to 60000/,
    );
  });
});

describe("the sweeper's age bound", () => {
  it("is at least the life in whole minutes, strictly above it; the default adds 10 minutes", () => {
    expect(sweepAgeBounds(life)).toEqual({ minimumMinutes: 82, defaultMinutes: 92 });
    expect(SWEEP_MAX_AGE_MARGIN_MINUTES).toBe(10);
    // The sweeper ends instances at least the bound old: a life of exactly 82 minutes needs 83.
    expect(sweepAgeBounds({ ...life, totalSeconds: 82 * 60 }).minimumMinutes).toBe(83);
  });

  it("is deployed by default at 92 minutes, and the local sweeper uses the same", () => {
    const sweepers = Object.values(resourcesOfType(template, "AWS::Lambda::Function")).filter(
      (fn: CfnResource) =>
        (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables
          ?.MAX_AGE_MINUTES !== undefined,
    );
    expect(sweepers.map((fn) => fn.Properties.Environment)).toEqual([
      { Variables: expect.objectContaining({ MAX_AGE_MINUTES: "92" }) },
    ]);
    expect(deployedMaxAgeMinutes()).toBe("92");
  });

  it("refuses at synth a bound below the life, naming the context key, the value and the arithmetic", () => {
    const refusal = (() => {
      try {
        stackWith({ sweeperMaxAgeMinutes: 81 });
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error("a bound of 81 minutes was accepted");
    })();
    expect(refusal).toContain("Context sweeperMaxAgeMinutes=81 could end runs in progress");
    expect(refusal).toContain(
      "(launchAttempts 1350 s (LaunchInstance: (1 + 5 + 6 + 6) attempts × 75 s TimeoutSeconds) + " +
        `launchRetryWaits 306 s (LaunchInstance: ${LAMBDA_WAITS}) + observeDeadline 840 s`,
    );
    expect(refusal).toContain(
      "consoleAttempts 180 s (CaptureConsole: (1 + 2 + 3) attempts × 30 s TimeoutSeconds) + " +
        "consoleRetryWaits 10 s (CaptureConsole: (1 + 2) + (1 + 2 + 4) s retry waits) + terminateAttempts 1350 s",
    );
    expect(refusal).toContain("launchTimeWholeSeconds 1 s (LaunchTime truncated to whole seconds) = 4919 s)");
    expect(refusal).toContain("81 minutes (4860 s) old; it must be at least 82 minutes (default 92)");
    expect(() => stackWith({ sweeperMaxAgeMinutes: "0" })).toThrow(/sweeperMaxAgeMinutes=0 could end runs/);
    expect(() => stackWith({ sweeperMaxAgeMinutes: 82 })).not.toThrow();
  });
});

describe("the README's arithmetic", () => {
  const readme = readFileSync(join(PROJECT_ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Nothing leaks: the sweeper"));
  const sweeperSection = section.slice(0, section.indexOf("\n## ", 1));
  const architecture = readFileSync(join(PROJECT_ROOT, "docs", "architecture.md"), "utf8");
  const { minimumMinutes, defaultMinutes } = sweepAgeBounds(life);

  it("lists each term with the figures the definition gives", () => {
    const rows = [...sweeperSection.matchAll(/^\| `(\w+)` \| (.+) \| (\d+) \|$/gm)].map(
      ([, name, arithmetic, seconds]) => ({ name, seconds: Number(seconds), arithmetic }),
    );
    expect(rows).toEqual(life.terms);
    expect(sweeperSection).toContain(`| total | ${life.arithmetic} | ${life.totalSeconds} |`);
  });

  it("states the minimum and the default that follow, wherever the bound is mentioned", () => {
    const text = (markdown: string) => markdown.replace(/\s+/g, " ");
    expect(text(sweeperSection)).toContain(
      `the bound is at least ${minimumMinutes} minutes (${minimumMinutes * 60} s > ${life.totalSeconds} s)`,
    );
    expect(text(sweeperSection)).toContain(
      `a margin of ${SWEEP_MAX_AGE_MARGIN_MINUTES} minutes: ${defaultMinutes} minutes`,
    );
    expect(text(sweeperSection)).toContain(`instances that are at least ${defaultMinutes} minutes old`);
    expect(sweeperSection).toContain(`# the bound is at least ${minimumMinutes} minutes`);
    expect(readme).toContain(
      `| \`sweeperMaxAgeMinutes\`, \`sweeperIntervalMinutes\` | ${defaultMinutes}, 10 | the sweeper's age bound (at least ${minimumMinutes},`,
    );
    expect(text(architecture)).toContain(
      `(context, default ${defaultMinutes}, at least ${minimumMinutes}: above the longest legitimate life of a run's instance, ${life.totalSeconds} s,`,
    );
  });
});
