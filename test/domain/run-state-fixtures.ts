import type {
  BenchmarkSettings,
  ProbePortResult,
  ResolvedImage,
  RunState,
} from "../../functions/domain/contract.js";

/** A launch time with a sub-millisecond part, as `performance.timeOrigin + performance.now()` gives. */
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

/** Running to closed 6.26 s, closed to open 4.09 s: Debian 10 in the 2021 table. */
export function probeResult(overrides: Partial<ProbePortResult> = {}): ProbePortResult {
  return {
    status: "open",
    probeStartedAt: T0 + 1_600,
    firstClosedAt: T0 + 8_400 + 6_260,
    firstOpenAt: T0 + 8_400 + 6_260 + 4_090,
    probeEndedAt: T0 + 8_400 + 6_260 + 4_090 + 1,
    attempts: 1_200,
    unanswered: 600,
    refused: 409,
    connected: 1,
    otherErrors: 0,
    ...overrides,
  };
}

/** A run that launched and was observed (RunInstances 1.5 s, pending to running 6.9 s), then terminated. */
export function succeededRunState(runIndex = 1, probe: Partial<ProbePortResult> = {}): RunState {
  return {
    benchmark,
    settings,
    image,
    run: { runIndex, clientToken: `bench-1-run${String(runIndex).padStart(4, "0")}` },
    launch: {
      instanceId: "i-0123456789abcdef0",
      privateIp: "10.0.1.23",
      clientToken: `bench-1-run${String(runIndex).padStart(4, "0")}`,
      launchRequestedAt: T0,
      launchRespondedAt: T0 + 1_500,
    },
    observation: [
      {
        runningAt: T0 + 8_400,
        privateIp: "10.0.1.23",
        describeCalls: 140,
        throttledCalls: 2,
        notFoundCalls: 1,
      },
      probeResult(probe),
    ],
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
