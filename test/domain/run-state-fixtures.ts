import type {
  BenchmarkSettings,
  LaunchInstanceResult,
  PollStateResult,
  ProbePortResult,
  ResolvedImage,
  RunState,
} from "../../functions/domain/contract.js";

/** A launch time with a sub-millisecond part, as the anchored wall clock (functions/shared/clock.ts) gives. */
export const T0 = 1_750_000_000_000.25;

export const settings: BenchmarkSettings = {
  image: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
  instanceType: "c7i.large",
  runs: 3,
  discardFirst: true,
  port: 22,
  probeIntervalMs: 10,
  runningTimeoutSeconds: 120,
  openTimeoutSeconds: 600,
  concurrency: 1,
  label: "weekly",
};

export const image: ResolvedImage = {
  amiId: "ami-0123456789abcdef0",
  name: "FreeBSD-15.0-CURRENT-amd64-ufs-20250101",
  architecture: "x86_64",
  bootMode: "uefi-preferred",
  sourceParameter: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
};

export const benchmark = {
  benchmarkId: "bench-1",
  executionId: "arn:aws:states:us-east-1:123456789012:execution:BootBench:bench-1",
  startedAt: "2025-06-15T14:13:20.000Z",
};

/** One probe interval: the attempt before the first RST (or SYN/ACK) showed "not yet". */
const PROBE_BRACKET_MS = 10;

/**
 * Running to closed 6.26 s, closed to open 4.09 s: Debian 10 in the 2021 table. The closed and open
 * brackets are one probe interval wide, below the arrival they bound, unless the overrides give their
 * own lower ends: overriding an arrival moves its bound along, and an arrival overridden to undefined
 * takes its bound away, as the probe reports them.
 */
export function probeResult(overrides: Partial<ProbePortResult> = {}): ProbePortResult {
  const firstClosedAt = "firstClosedAt" in overrides ? overrides.firstClosedAt : T0 + 8_400 + 6_260;
  const firstOpenAt = "firstOpenAt" in overrides ? overrides.firstOpenAt : T0 + 8_400 + 6_260 + 4_090;
  return {
    status: "open",
    probeStartedAt: T0 + 1_600,
    ...(firstClosedAt !== undefined && { closedNotBefore: firstClosedAt - PROBE_BRACKET_MS, firstClosedAt }),
    ...(firstOpenAt !== undefined && { openNotBefore: firstOpenAt - PROBE_BRACKET_MS, firstOpenAt }),
    probeEndedAt: T0 + 8_400 + 6_260 + 4_090 + 1,
    attempts: 1_200,
    unanswered: 600,
    refused: 409,
    connected: 1,
    otherErrors: 0,
    clock: { anchorCorrectionMs: 0.04, driftMs: 0.003, spanMs: 17_160 },
    ...overrides,
  };
}

/**
 * Running 6.9 s after the launch response; the last "pending" answer was to the request sent 100 ms
 * before (one poll beat), so the running bracket is 100 ms wide.
 */
export function pollResult(overrides: Partial<PollStateResult> = {}): PollStateResult {
  return {
    runningAt: T0 + 8_400,
    runningNotBefore: T0 + 8_300,
    pollStartedAt: T0 + 1_600,
    privateIp: "10.0.1.23",
    describeCalls: 140,
    throttledCalls: 2,
    notFoundCalls: 1,
    abandonedCalls: 0,
    clock: { anchorCorrectionMs: 0.05, driftMs: 0.001, spanMs: 6_810 },
    ...overrides,
  };
}

/** RunInstances 1.5 s, with the private IP in its response and no earlier send of the same run. */
export function launchResult(
  runIndex = 1,
  overrides: Partial<LaunchInstanceResult> = {},
): LaunchInstanceResult {
  return {
    instanceId: "i-0123456789abcdef0",
    privateIp: "10.0.1.23",
    privateIpSource: "runInstances",
    privateIpAt: T0 + 1_500,
    clientToken: `bench-1-run${String(runIndex).padStart(4, "0")}`,
    launchRequestedAt: T0,
    launchRespondedAt: T0 + 1_500,
    earlierLaunchSends: 0,
    clock: { anchorCorrectionMs: 0.02, driftMs: 0.001, spanMs: 1_530 },
    ...overrides,
  };
}

/**
 * A run that launched and was observed (RunInstances 1.5 s, pending to running 6.9 s), then terminated;
 * every bracket within the default limits, so every interval is valid.
 */
export function succeededRunState(
  runIndex = 1,
  probe: Partial<ProbePortResult> = {},
  poll: Partial<PollStateResult> = {},
  launch: Partial<LaunchInstanceResult> = {},
): RunState {
  return {
    benchmark,
    settings,
    image,
    run: { runIndex, clientToken: `bench-1-run${String(runIndex).padStart(4, "0")}` },
    launch: launchResult(runIndex, launch),
    observation: [pollResult(poll), probeResult(probe)],
    termination: { terminatedInstanceIds: ["i-0123456789abcdef0"] },
  };
}

/** A run whose launch or observation failed and was caught. */
export function failedRunState(runIndex: number, errorName: string, cause?: string): RunState {
  const state = succeededRunState(runIndex);
  delete state.observation;
  state.failure = cause === undefined ? { Error: errorName } : { Error: errorName, Cause: cause };
  return state;
}
