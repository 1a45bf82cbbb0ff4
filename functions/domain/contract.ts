/**
 * The data contract between the state machine's steps. Every Lambda step takes one of the `*Event`
 * types below as its payload (built by the state machine's `Parameters`) and returns the matching
 * `*Result`. The state machine definition in `infra/state-machine.ts` is the other half of this file:
 * change both together.
 *
 * Timestamps are wall-clock epoch milliseconds with sub-millisecond precision, taken on a clock
 * anchored to `Date.now()` at the start of each invocation (functions/shared/clock.ts), because they
 * cross Lambda invocations on different hosts.
 */
import type { ClockReport } from "../shared/clock.js";
import type { GuestTimings } from "./guest-timings.js";

/** Benchmark settings after validation, with every default applied. */
export interface BenchmarkSettings {
  /** As given: `ami-…`, `/aws/service/…` (an SSM parameter path) or `resolve:ssm:/…`. */
  image: string;
  instanceType: string;
  runs: number;
  discardFirst: boolean;
  /** Plain text, passed base64-encoded to RunInstances. */
  userData?: string;
  port: number;
  probeIntervalMs: number;
  runningTimeoutSeconds: number;
  openTimeoutSeconds: number;
  /** How many runs go on at once (Map MaxConcurrency). 1 = one after another. */
  concurrency: number;
  label?: string;
  /** Instance metadata service: `required` (IMDSv2 only, the default) or `optional` (IMDSv1 allowed too).
   * Optional here so that settings stored before the field existed still type-check; absent = required. */
  imdsV2?: "required" | "optional";
  /** Encrypt the root EBS volume (the account's default EBS key); absent = false, the image's own mapping. */
  encryptRootVolume?: boolean;
  /** Widest running bracket that still counts; absent = the default of functions/domain/integrity.ts. */
  runningBracketLimitMs?: number;
  /** Widest port closed and port open bracket that still counts; absent = the default there. */
  portBracketLimitMs?: number;
  /** A boot filmstrip (CaptureScreenshots): absent = none, the default. */
  screenshots?: ScreenshotSettings;
  /**
   * Guest-side timings (functions/domain/guest-timings.ts): the benchmark's instances get its own key
   * pair, and the probe logs in once the port is open. Absent = false, the default: no key pair.
   */
  guestTimings?: boolean;
}

/** How often CaptureScreenshots asks EC2 for a console screenshot: 0.2 to 1 frames a second. */
export interface ScreenshotSettings {
  framesPerSecond: number;
}

/** Identity of one benchmark (one execution). */
export interface BenchmarkRef {
  /** Short, unique, derived from the execution id; the DynamoDB partition of the benchmark. */
  benchmarkId: string;
  executionId: string;
  /** ISO 8601 start time of the execution. */
  startedAt: string;
}

/** The image that was actually benchmarked, recorded with every run. */
export interface ResolvedImage {
  amiId: string;
  name: string;
  architecture: string; // x86_64 | arm64 | i386 | x86_64_mac | arm64_mac
  bootMode?: string; // legacy-bios | uefi | uefi-preferred
  /** The SSM parameter the AMI id came from, when the image was given as one. */
  sourceParameter?: string;
  description?: string;
  creationDate?: string;
  /** Device name of the root volume (`/dev/xvda`, `/dev/sda1`): where an encrypted root mapping goes. */
  rootDeviceName?: string;
  /** `ebs` or `instance-store`. */
  rootDeviceType?: string;
}

// ---- ValidateInput -------------------------------------------------------------------------
export interface ValidateInputEvent {
  input: unknown; // the raw execution input ($)
  executionId: string; // $$.Execution.Id
  startTime: string; // $$.Execution.StartTime
}
export interface ValidateInputResult {
  benchmark: BenchmarkRef;
  settings: BenchmarkSettings;
  /** One item per run, the Map's items. */
  runs: RunItem[];
}

/** One Map item. The client token exists before the launch, so a failed launch can still be cleaned up. */
export interface RunItem {
  runIndex: number;
  /** RunInstances ClientToken: derived from the execution and the run index, at most 64 ASCII chars. */
  clientToken: string;
}

// ---- ResolveImage --------------------------------------------------------------------------
export interface ResolveImageEvent {
  /** For the step's log lines. */
  benchmarkId: string;
  settings: BenchmarkSettings;
}
export type ResolveImageResult = ResolvedImage;

// ---- per run (Map iteration) ----------------------------------------------------------------
/** What every step inside one Map iteration receives. */
export interface RunContext {
  benchmark: BenchmarkRef;
  settings: BenchmarkSettings;
  image: ResolvedImage;
  run: RunItem;
  /** The benchmark's key pair (PrepareGuestKey); `{}` or absent: its instances get none. */
  guestKey?: GuestKeyState;
}

// ---- PrepareGuestKey / DeleteGuestKey (guest timings) --------------------------------------------
export interface GuestKey {
  keyName: string;
  keyPairId: string;
}
/** What the state carries after PrepareGuestKey, or `{}` when the benchmark asked for no guest timings. */
export type GuestKeyState = GuestKey | Record<string, never>;
export interface PrepareGuestKeyEvent {
  benchmark: BenchmarkRef;
}
export type PrepareGuestKeyResult = GuestKey;
export interface DeleteGuestKeyEvent {
  benchmark: BenchmarkRef;
  guestKey: GuestKey;
}
export interface DeleteGuestKeyResult {
  /** The key pair that is gone now (EC2 answers a delete of one already gone the same way). */
  keyPairId: string;
}

/** The whole state of one Map iteration as it accumulates; terminate and record take all of it. */
export interface RunState extends RunContext {
  /** The run's lease on one of the account's run slots (functions/domain/run-slots.ts). */
  slot?: AcquireRunSlotResult;
  launch?: LaunchInstanceResult;
  observation?: ObservationResult;
  /** Set when launch or observation failed for this run. */
  failure?: CaughtError;
  /** The instance's console output, kept after the run and before terminate (CaptureConsole). */
  console?: CaptureConsoleResult;
  /** Set when CaptureConsole failed after its retries: the run goes on, and its record says why. */
  consoleFailure?: CaughtError;
  termination?: TerminateInstanceResult;
  /** Set when terminating failed after all retries (the sweeper is then the last line of defence). */
  terminationFailure?: CaughtError;
  slotRelease?: ReleaseRunSlotResult;
  /** Set when giving the slot back failed after all retries: its lease expires on its own. */
  slotReleaseFailure?: CaughtError;
  /** Set when RecordRun failed after all retries; Summarise then records the run, or keeps it unrecorded. */
  recordFailure?: CaughtError;
}

// ---- run slots (account-wide cap on runs in flight) ---------------------------------------------
export type AcquireRunSlotEvent = RunState;
export interface AcquireRunSlotResult {
  slot: number;
  acquiredAt: number;
  expiresAt: number;
  /** The run whose expired lease this one replaced: it never gave its slot back. */
  expiredHolder?: string;
}

/** Every path of a run passes here after terminate, whether or not a slot was ever acquired. */
export type ReleaseRunSlotEvent = RunState;
export interface ReleaseRunSlotResult {
  /** The slots the run held and gave back: none when it never got one, or a retry already gave it back. */
  releasedSlots: number[];
}

export type LaunchInstanceEvent = RunState;
export interface LaunchInstanceResult {
  instanceId: string;
  privateIp: string;
  /** Where the private IP came from: the launch response, or (when it had none) DescribeInstances. */
  privateIpSource: "runInstances" | "describeInstances";
  /** When the private IP was known, so the probe could start: launchRespondedAt or later. */
  privateIpAt: number;
  clientToken: string;
  /** Just before the RunInstances request was sent. */
  launchRequestedAt: number;
  /** When its response arrived. */
  launchRespondedAt: number;
  /** The instance's LaunchTime as EC2 reports it: whole seconds, EC2's clock. */
  launchTime?: number;
  /**
   * Earlier RunInstances requests of this run (same ClientToken) whose outcome may have been a launch:
   * more than 0 means this response may be a replay that returned an instance launched before it.
   */
  earlierLaunchSends: number;
  /** The launch step's clock (absent only in records written before clocks were reported). */
  clock?: ClockReport;
}

export interface PollStateEvent {
  /** Whose earlier runs tell how long pending takes. */
  benchmarkId: string;
  /** For the step's log lines. */
  runIndex: number;
  instanceId: string;
  launchRespondedAt: number;
  runningTimeoutSeconds: number;
}
export interface PollStateResult {
  /** First DescribeInstances response with state running and a private IP. */
  runningAt: number;
  /**
   * The lower end of the running bracket: the send time of the latest request whose answer said not yet
   * running (pending, or running without an address; never NotFound, which an instance already running can answer), among those sent before the request that
   * said running. Absent when the first answer already said running: the poll has no evidence of when.
   */
  runningNotBefore?: number;
  /** When the first DescribeInstances was sent. */
  pollStartedAt: number;
  privateIp: string;
  describeCalls: number;
  throttledCalls: number;
  notFoundCalls: number;
  /** Requests given up on after the request timeout without an answer. */
  abandonedCalls: number;
  /** The pending time earlier runs led the poll to expect (it polled slowly before, closely after). */
  expectedPendingMs?: number;
  clock?: ClockReport;
}

export interface ProbePortEvent {
  /** With runIndex, names the run's launch ledger, whose `endedAt` (set by terminate) stops the probe. */
  benchmarkId: string;
  runIndex: number;
  /** For the step's log lines: the probe reaches the instance by its address alone. */
  instanceId: string;
  privateIp: string;
  port: number;
  probeIntervalMs: number;
  /** Probing stops at launchRespondedAt + (runningTimeoutSeconds + openTimeoutSeconds) s. */
  launchRespondedAt: number;
  runningTimeoutSeconds: number;
  openTimeoutSeconds: number;
  /**
   * The benchmark's key pair (`{}`: none). With one, once the port is open the probe logs in as the
   * image's user and collects the guest timings (functions/probe-port/guest-timings.ts).
   */
  guestKey: GuestKeyState;
  /** Whose family and login user the guest session takes. */
  image: ResolvedImage;
}
export interface ProbePortResult {
  status: "open" | "timeout";
  probeStartedAt: number;
  /** Arrival time of the first RST (ECONNREFUSED), if any was seen. */
  firstClosedAt?: number;
  /**
   * Lower end of the closed bracket: the start of the latest unanswered attempt among those started
   * before the attempt that got the first RST. Absent when there is none: no evidence of "not yet".
   */
  closedNotBefore?: number;
  /** Arrival time of the first SYN/ACK (successful connect), if any. */
  firstOpenAt?: number;
  /**
   * Lower end of the open bracket: the start of the latest attempt answered by RST or not at all among
   * those started before the attempt that got the first SYN/ACK. Absent when there is none.
   */
  openNotBefore?: number;
  probeEndedAt: number;
  attempts: number;
  /** Attempts abandoned after 1 s without an answer. */
  unanswered: number;
  refused: number;
  connected: number;
  /** Attempts that failed otherwise (EHOSTUNREACH, …): counted, never classified as closed/open. */
  otherErrors: number;
  /** Why the probe's end mark could not be written: the run's filmstrip then ran to its deadline. */
  endMarkError?: string;
  /** With a key pair and the port open: what the guest said of its boot, asked after the end mark. */
  guest?: GuestTimings;
  clock?: ClockReport;
}

/**
 * Output of the Parallel state, in branch order: poll, probe, and the filmstrip (absent in states
 * that were recorded before the filmstrip branch existed).
 */
export type ObservationResult = [PollStateResult, ProbePortResult, FilmstripBranchResult?];

// ---- CaptureScreenshots (the boot filmstrip) ----------------------------------------------------
/**
 * Invoked on every run: `settings.screenshots` says whether there is anything to do, which the state
 * machine's JSONPath cannot test without a Choice in the branch.
 */
export interface CaptureScreenshotsEvent {
  /** With runIndex, names the run's launch ledger, whose marks stop the stream. */
  benchmarkId: string;
  runIndex: number;
  instanceId: string;
  /** The stream ends by the probe's deadline plus a tail (functions/domain/filmstrip.ts). */
  launchRespondedAt: number;
  settings: BenchmarkSettings;
}

/** One stored frame: a JPEG as EC2 gave it, and when it was asked for and answered. */
export interface FilmstripFrame {
  /** The frame's S3 key (functions/domain/run-record.ts, filmstripFrameKey). */
  key: string;
  /** Just before GetConsoleScreenshot was sent (the step's clock, epoch ms). */
  requestedAt: number;
  /** When its answer arrived: the picture shows the screen at some instant in between. */
  respondedAt: number;
  bytes: number;
}

/** Why the stream stopped. */
export type FilmstripStop =
  /** The probe marked its end (port open, or its deadline) and the tail after it has passed. */
  | "probe-ended"
  /** Terminate marked the run ended (the poll failed, or the probe's mark never came). */
  | "run-ended"
  /** The probe's own deadline plus the tail passed without either mark. */
  | "deadline";

/** What the stream saw besides its frames: every frame slot is in exactly one of these counts. */
export interface FilmstripCounts {
  /** Slots whose frame is stored. */
  frames: number;
  /** Slots answered with RequestLimitExceeded: skipped, never retried in a burst. */
  throttled: number;
  /** Slots answered with any other error (an instance not visible yet, a 5xx, a lost connection). */
  failed: number;
  /** Slots that came while the previous request was still unanswered: one request at a time. */
  busy: number;
}

/** The manifest stored beside the frames (filmstripManifestKey): all that `filmstrip` needs. */
export interface FilmstripManifest extends FilmstripCounts {
  benchmarkId: string;
  runIndex: number;
  instanceId: string;
  framesPerSecond: number;
  startedAt: number;
  endedAt: number;
  stoppedBy: FilmstripStop;
  /** In capture order. */
  frameList: FilmstripFrame[];
  /** The last error other than throttling, when there was one (`Name: message`). */
  lastError?: string;
}

export type CaptureScreenshotsResult =
  | (FilmstripCounts & {
      status: "captured";
      bucket: string;
      manifestKey: string;
      framesPerSecond: number;
      storedBytes: number;
      startedAt: number;
      endedAt: number;
      stoppedBy: FilmstripStop;
      lastError?: string;
      clock?: ClockReport;
    })
  /** The benchmark asked for no filmstrip. */
  | { status: "off" };

/** The filmstrip branch of Observe: the step's result, or its failure as the branch's Catch kept it. */
export type FilmstripBranchResult = CaptureScreenshotsResult | { status: "failed"; error: CaughtError };

/** A Step Functions Catch output (`Cause` is JSON from Lambda, plain text from the local runner). */
export interface CaughtError {
  Error: string;
  Cause?: string;
}

/**
 * CaptureConsole takes the whole RunState after the observation (or its failure), before terminate.
 * Its one input is `launch.instanceId`.
 */
export type CaptureConsoleEvent = RunState;
/** What EC2 said about the output, whether it was stored or not. */
interface ConsoleFetch {
  /** True when EC2 gave the latest serial output (`Latest`), false for its buffered output. */
  latest: boolean;
  /** Why EC2 refused `Latest` (an instance type without Nitro), so that the buffered output was taken. */
  latestRefused?: string;
  /** EC2's `Timestamp`: when the output was last updated (ISO 8601). */
  outputUpdatedAt?: string;
  /** Just before GetConsoleOutput was sent (the step's clock). */
  capturedAt: number;
}
export type CaptureConsoleResult =
  | (ConsoleFetch & {
      status: "stored";
      /** The stack's console bucket: with `key`, all a reader needs (`aws s3 cp s3://bucket/key -`). */
      bucket: string;
      /** The S3 object (gzip; functions/domain/run-record.ts, consoleOutputKey). */
      key: string;
      /** The output's own size, decoded, before compression. */
      bytes: number;
      /** The stored object's size. */
      storedBytes: number;
    })
  /** EC2 answered with no output yet (buffered output is posted only at state transitions): nothing stored. */
  | (ConsoleFetch & { status: "empty" })
  /** The run had no instance id (its launch failed): there is no console to ask for. */
  | { status: "no-instance" };

/** TerminateInstance takes the whole RunState: `launch.instanceId` when the launch returned, else
 * instances are found by `run.clientToken`. */
export type TerminateInstanceEvent = RunState;
export interface TerminateInstanceResult {
  terminatedInstanceIds: string[];
  /**
   * Without a launch result only: whether the run's launch ledger showed a RunInstances request that may
   * have launched an instance. False: none can have, so no instance was searched for.
   */
  launchSent?: boolean;
  /** Why the run-ended mark (the ledger's `endedAt`) could not be written; termination went ahead. */
  runEndedMarkError?: string;
}

export type RecordRunEvent = RunState;
export type RunStatus = "succeeded" | "failed" | "timeout";
export interface RecordRunResult {
  runIndex: number;
  status: RunStatus;
}

/**
 * What one Map iteration ends with. No iteration fails (a failure inside the inline Map would stop
 * every other run): a run whose record could not be written after all retries ends with its whole
 * state, so that Summarise can record it late or keep it as an unrecorded-run item.
 */
export type RunIterationResult = RecordRunResult | UnrecordedRunResult;
export interface UnrecordedRunResult {
  runIndex: number;
  unrecorded: RunState & { recordFailure: CaughtError };
}

export interface SummariseEvent {
  benchmark: BenchmarkRef;
  settings: BenchmarkSettings;
  image: ResolvedImage;
  /** The Map's output, one per run. */
  iterations: RunIterationResult[];
}
export type BenchmarkStatus = "succeeded" | "failed";
export interface SummariseResult {
  status: BenchmarkStatus;
  runs: number;
  countedRuns: number;
  succeededRuns: number;
  failedRuns: number;
  timedOutRuns: number;
  /** Median seconds of the counted successful runs' valid intervals; absent when none succeeded. */
  medians?: Partial<IntervalSeconds>;
  /** Runs whose instance could not be terminated: the execution fails with BootBench.TerminateFailed. */
  terminationFailedRuns: number;
  /** Runs kept as unrecorded-run items: the execution fails with BootBench.RunsUnrecorded. */
  unrecordedRuns: number;
}

/** How a benchmark execution ends once Summarise has answered: Succeeded, or a Fail state's error. */
export type BenchmarkEnd = { status: "succeeded" } | { status: "failed"; error: string };

/**
 * The rule of the BenchmarkOutcome? Choice (infra/state-machine.ts), condition for condition and in its
 * order; test/infra/benchmark-end.test.ts runs the synthesised Choice against it. A suite applies it to
 * a child whose end it did not see (a redriven Map iteration finds the child already closed).
 */
export function benchmarkEnd(
  summary: Pick<SummariseResult, "status" | "terminationFailedRuns" | "unrecordedRuns">,
): BenchmarkEnd {
  if (summary.terminationFailedRuns > 0) return { status: "failed", error: ErrorNames.terminateFailed };
  if (summary.unrecordedRuns > 0) return { status: "failed", error: ErrorNames.runsUnrecorded };
  if (summary.status === "succeeded") return { status: "succeeded" };
  return { status: "failed", error: ErrorNames.noSuccessfulRuns };
}

/** The four ec2-boot-bench intervals plus total (running to port open), in seconds. */
export interface IntervalSeconds {
  runInstancesApi: number;
  pendingToRunning: number;
  runningToPortClosed: number;
  portClosedToOpen: number;
  total: number;
}

/** Error names a step throws (Step Functions sees them as the `Error` of a failure). */
export const ErrorNames = {
  invalidInput: "BootBench.InvalidInput",
  /** Valid input that the stack's allow-lists refuse (an instance type, an SSM parameter prefix). */
  notAllowed: "BootBench.NotAllowed",
  imageNotFound: "BootBench.ImageNotFound",
  incompatibleInstanceType: "BootBench.IncompatibleInstanceType",
  runningTimeout: "BootBench.RunningTimeout",
  instanceTerminated: "BootBench.InstanceTerminated",
  /**
   * Terminate has marked the run ended (its launch ledger's `endedAt`): a launch that starts after that
   * sends nothing, and a probe still running stops. Only invocations whose Task has already ended see it.
   */
  runEnded: "BootBench.RunEnded",
  noSuccessfulRuns: "BootBench.NoSuccessfulRuns",
  /** Summarise found fewer run items than the benchmark has runs: a Map iteration never recorded. */
  runsMissing: "BootBench.RunsMissing",
  /** A run's instance could not be terminated; the runs were recorded and the benchmark summarised. */
  terminateFailed: "BootBench.TerminateFailed",
  /** A run could not be recorded even by Summarise; it is kept as an unrecorded-run item. */
  runsUnrecorded: "BootBench.RunsUnrecorded",
  /**
   * Every run slot of the account stayed held until the acquire step's retries ran out: the run never
   * launched. Within the retries it is the signal that makes Step Functions wait and try again.
   */
  runSlotsBusy: "BootBench.RunSlotsBusy",
  /** A suite run in which a benchmark failed or a target could not be resolved (functions/domain/suite.ts). */
  suiteIncomplete: "BootBench.SuiteIncomplete",
} as const;
