/**
 * Suite scenarios of the fault matrix (test/e2e/fault-matrix.test.ts): a suite stopped and redriven,
 * a SummariseSuite retried or redriven after SNS failed part of its alerts. Everything is counted from
 * the local EC2 (instances per child), the table (children's runs, the suite partition) and the local
 * SNS stub (messages per suite), never from what the execution said.
 */
import { expect } from "vitest";
import { benchmarkIdFor } from "../../functions/domain/benchmark-identity.js";
import { TAG_BENCHMARK } from "../../functions/domain/instance-tags.js";
import { MIN_COUNTED_RUNS } from "../../functions/domain/regression.js";
import type { SummariseSuiteResult } from "../../functions/domain/suite.js";
import type { SuiteExecutionInputDraft } from "../../functions/domain/suite-schema.js";
import {
  auditBenchmark,
  type BenchmarkAudit,
  partitionItems,
  sweepRecords,
} from "../../local-cloud/audit.js";
import { amiIdFor, type BootProfile, type CatalogueImage } from "../../local-cloud/catalogue.js";
import type { LocalPipeline } from "../../local-cloud/local-pipeline.js";
import type { ExecutionOutcome, LocalExecution } from "../../local-cloud/runner/local-state-machine.js";
import type { PublishedMessage } from "../../local-cloud/sns/sns-server.js";
import { expectNothingLeakedOrLost } from "./local-pipeline-harness.js";

export const CURRENT = "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT";
export const STABLE = "/aws/service/freebsd/amd64/base/ufs/14.3/STABLE";
export const FIRSTBOOT_OFF =
  '>>/etc/rc.conf\nfirstboot_freebsd_update_enable="NO"\nfirstboot_pkgs_enable="NO"\n';

/** How the catalogue's 14.3-STABLE amd64 snapshot boots. */
export const STABLE_BOOT: BootProfile = {
  pendingToRunning: 6.9,
  runningToNetwork: 6.1,
  networkToSsh: 3.1,
  legacyBiosPenalty: 5,
};
/** Far slower than any snapshot of the catalogue: a boot-time regression. */
export const SLOWER_BOOT: BootProfile = {
  pendingToRunning: 6.9,
  runningToNetwork: 9.5,
  networkToSsh: 3.5,
  legacyBiosPenalty: 5,
};

/** A weekly amd64 snapshot of `branch` published on `date` (after the catalogue's). */
export function weeklySnapshot(
  branch: "15.0-CURRENT" | "14.3-STABLE",
  date: string,
  boot: BootProfile,
): CatalogueImage {
  const stamp = date.replaceAll("-", "");
  const name = `FreeBSD ${branch}-amd64-${stamp} UFS`;
  return {
    imageId: amiIdFor(`782442783595/${name}`),
    name,
    description: `FreeBSD/amd64 ${branch} snapshot ${stamp} UFS`,
    architecture: "x86_64",
    bootMode: "uefi-preferred",
    creationDate: `${date}T07:12:31.000Z`,
    ownerId: "782442783595",
    platformDetails: "Linux/UNIX",
    rootDeviceName: "/dev/sda1",
    publishedAs: [branch === "15.0-CURRENT" ? CURRENT : STABLE],
    boot,
  };
}

export const slowerSnapshot = (branch: "15.0-CURRENT" | "14.3-STABLE", date: string): CatalogueImage =>
  weeklySnapshot(branch, date, SLOWER_BOOT);

/** Counted runs per benchmark of freebsdSuite: the fewest a comparison takes (regression.ts). */
export const SUITE_RUNS = MIN_COUNTED_RUNS;

/** The FreeBSD amd64 CURRENT and STABLE series, SUITE_RUNS runs each, thresholds for emulated boots. */
export const freebsdSuite = (
  name: string,
  port: number,
  extra: Partial<SuiteExecutionInputDraft["suite"]> = {},
  force = false,
): SuiteExecutionInputDraft => ({
  suite: {
    name,
    targets: [
      {
        pattern: "/aws/service/freebsd/amd64/base/ufs/*/{CURRENT,STABLE}",
        instanceTypes: { x86_64: ["c7i.large"] },
      },
    ],
    runs: SUITE_RUNS,
    discardFirst: false,
    // One label for every suite of the matrix: a label (by default the suite's name) is part of the
    // comparability key, and each scenario's suite must compare with the baseline suite's benchmarks.
    label: "freebsd-amd64",
    port,
    userData: FIRSTBOOT_OFF,
    concurrency: 2,
    // Emulated boots at a small time scale total under a second: an absolute threshold to match.
    regression: { relative: 0.1, absoluteSeconds: 0.05 },
    ...extra,
  },
  ...(force && { force }),
});

export interface SuiteAccount {
  execution: ExecutionOutcome;
  summary?: SummariseSuiteResult;
  /** One audit per child benchmark of the suite run. */
  children: BenchmarkAudit[];
  /** The alerts the local SNS kept for this suite. */
  alerts: PublishedMessage[];
  /** Items of the suite's partition (the suite item and the alert marks). */
  suiteItems: Record<string, unknown>[];
}

export const summaryOf = (execution: ExecutionOutcome): SummariseSuiteResult | undefined =>
  (execution.output as { summary?: SummariseSuiteResult } | undefined)?.summary;

/** Audits every child that launched anything or was summarised, and the suite's partition and alerts. */
export async function accountSuite(
  pipeline: LocalPipeline,
  suiteName: string,
  execution: ExecutionOutcome,
  runs: number,
): Promise<SuiteAccount> {
  const summary = summaryOf(execution);
  const suiteRunId = benchmarkIdFor(execution.executionArn);
  const sweeps = await sweepRecords(pipeline);
  // Child names start with the suite's name (childExecutionName); their benchmark id is that name.
  const ids = new Set(
    (pipeline.localAws?.cloud.instances() ?? [])
      .map((i) => i.tags.find((t) => t.key === TAG_BENCHMARK)?.value ?? "")
      .filter((id) => id.startsWith(`${suiteName}-`)),
  );
  for (const b of summary?.benchmarks ?? []) ids.add(b.benchmarkId);
  const children: BenchmarkAudit[] = [];
  for (const id of [...ids].sort()) children.push(await auditBenchmark(pipeline, id, runs, sweeps));
  return {
    execution,
    ...(summary && { summary }),
    children,
    alerts: (pipeline.localSns?.messages ?? []).filter((m) => m.attributes.suite === suiteName),
    suiteItems: await partitionItems(pipeline, `SUITE#${suiteRunId}`),
  };
}

/** The invariants of every suite scenario: no instance left, each run once, each alert once, one suite item. */
export function expectSuiteKept(account: SuiteAccount, regressions: number): void {
  for (const child of account.children) expectNothingLeakedOrLost(child);
  const alerted = account.alerts.map((m) => m.subject).sort();
  expect(alerted, "one alert per regression").toEqual([...new Set(alerted)]);
  expect(alerted).toHaveLength(regressions);
  expect(account.suiteItems.filter((i) => i.sk === "SUMMARY")).toHaveLength(1);
  expect(account.suiteItems.filter((i) => i.itemType === "alertSent")).toHaveLength(regressions);
}

/**
 * Runs the suite once and stops it at the moment its first child succeeds, before the suite's Task has
 * seen that child's answer (an operator's StopExecution, or any abort, racing the child's end); then
 * redrives it. The redriven Map runs that iteration again and StartExecution meets the closed child.
 */
export async function stopAsFirstChildEndsThenRedrive(
  pipeline: LocalPipeline,
  suiteName: string,
  input: SuiteExecutionInputDraft,
): Promise<{ stopped: SuiteAccount; redriven: SuiteAccount; firstChild: string }> {
  let firstChild: string | undefined;
  let suite: LocalExecution | undefined;
  suite = pipeline.stateMachine.startExecution(input, `run-${suiteName}`, {
    onEvent: (name, event) => {
      if (
        firstChild === undefined &&
        name.startsWith(`${suiteName}-`) &&
        event.type === "ExecutionSucceeded"
      ) {
        firstChild = name;
        suite?.abort();
      }
    },
  });
  const stopped = await accountSuite(pipeline, suiteName, await suite.result, input.suite.runs ?? SUITE_RUNS);
  const redriven = await accountSuite(
    pipeline,
    suiteName,
    await pipeline.stateMachine.redrive(stopped.execution.executionArn).result,
    input.suite.runs ?? SUITE_RUNS,
  );
  return { stopped, redriven, firstChild: firstChild as string };
}

/**
 * SNS fails the suite's second alert: `InternalError` (HTTP 500) for one invocation's worth of SDK
 * attempts, so Step Functions retries SummariseSuite; or `AuthorizationError` (403, a topic policy or
 * key that changed), which nothing retries, so the suite fails and is redriven once SNS is fixed.
 */
export async function secondAlertFails(
  pipeline: LocalPipeline,
  suiteName: string,
  input: SuiteExecutionInputDraft,
  how: "retried" | "redriven",
): Promise<{ first: SuiteAccount; final: SuiteAccount }> {
  const sns = pipeline.localSns;
  if (sns === undefined) throw new Error("the scenario needs the local SNS stub");
  let requests = 0;
  sns.setPublishFault(() => {
    requests++;
    if (how === "retried") {
      // The SDK makes 3 attempts per Publish: requests 2 to 4 are one invocation's second alert.
      return requests >= 2 && requests <= 4 ? { code: "InternalError", status: 500 } : undefined;
    }
    return requests >= 2 ? { code: "AuthorizationError", status: 403, message: "not authorized" } : undefined;
  });
  try {
    const runs = input.suite.runs ?? SUITE_RUNS;
    const execution = await pipeline.stateMachine.startExecution(input, `run-${suiteName}`).result;
    const first = await accountSuite(pipeline, suiteName, execution, runs);
    if (how === "retried") return { first, final: first };
    sns.setPublishFault(undefined);
    const redriven = await pipeline.stateMachine.redrive(execution.executionArn).result;
    return { first, final: await accountSuite(pipeline, suiteName, redriven, runs) };
  } finally {
    sns.setPublishFault(undefined);
  }
}
