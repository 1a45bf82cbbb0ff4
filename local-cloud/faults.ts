/**
 * Faults the local cloud can inject, set when it starts (`startLocalAws({ faults })`) and changed at
 * runtime (`cloud.faults.set({...})`). Each one mirrors something EC2 really does (DESIGN section 4).
 */
import {
  type ApiClass,
  apiClassOf,
  EC2_TOKEN_BUCKETS,
  type TokenBucketSpec,
} from "../functions/domain/ec2-request-buckets.js";
import type { GuestCommandId } from "../functions/domain/guest-timings.js";

/**
 * Which launches a per-launch fault hits. `true`: every launch. An object: launches of the listed
 * instance types and/or images (any launch when neither is given), only the next `count` of them when
 * `count` is given. Idempotent replays of a launch (same ClientToken) are not new launches.
 */
export type LaunchSelector =
  | boolean
  | { count?: number; instanceTypes?: readonly string[]; imageIds?: readonly string[] };

export interface FaultSettings {
  /** EC2 throttling (`RequestLimitExceeded`, HTTP 503): `true` for EC2's real buckets, or custom ones. */
  throttling?: boolean | Partial<Record<ApiClass, TokenBucketSpec>>;
  /**
   * A throttling burst: the next N requests of each named action (`RunInstances`, `DescribeImages`, …)
   * answer `RequestLimitExceeded` whatever the buckets hold, then service resumes. Deterministic, so a
   * test can make sure every action it cares about is throttled at least once.
   */
  throttleBursts?: Readonly<Record<string, number>>;
  /**
   * EC2's server errors (functions/domain/ec2-errors.ts): the next `count` requests of each named action
   * (`DescribeImages`, `TerminateInstances`, `ImportKeyPair`, …) answer HTTP 500 `InternalError`, or 503
   * `Unavailable` with `code`, then service resumes. `carriedOut: true`: the action is carried out
   * first and only its answer is lost (an instance terminated, a key pair imported), which a 5xx does
   * not rule out. RunInstances has its own fault, `runInstancesInternalError` (its replays by
   * ClientToken).
   */
  serverErrors?: Readonly<Record<string, ServerErrorBurst>>;
  /**
   * Eventual consistency: for this long after an instance's launch, DescribeInstances and
   * TerminateInstances naming it answer `InvalidInstanceID.NotFound`, and filters do not see it; for
   * this long after a key pair's import, RunInstances and DescribeKeyPairs naming it answer
   * `InvalidKeyPair.NotFound`, and DescribeKeyPairs does not list it.
   */
  notFoundWindowMs?: number;
  /** RunInstances fails with `InsufficientInstanceCapacity`. */
  insufficientCapacity?: LaunchSelector;
  /**
   * RunInstances answers HTTP 500 `InternalError`, which leaves the caller not knowing whether anything
   * was launched (DESIGN section 4). `launched: true`: the instance was launched all the same (it exists,
   * is tagged and boots; only the answer is lost), and a retry with the same ClientToken returns it.
   * `launched: false`: nothing was launched, and a retry with the same ClientToken launches afresh.
   * Only new launches are hit, never an idempotent replay.
   */
  runInstancesInternalError?: Exclude<LaunchSelector, boolean> & { launched: boolean };
  /** The instance goes pending → terminated with StateReason `Server.InternalError`. */
  internalErrorOnLaunch?: LaunchSelector;
  /** The instance's network never comes up: its port never answers. */
  networkNeverUp?: LaunchSelector;
  /** sshd never starts: the port answers RST forever. */
  portNeverOpens?: LaunchSelector;
  /**
   * A console that cannot be fetched: GetConsoleOutput naming a hit instance answers HTTP 500
   * `InternalError`, every time, with or without `Latest`. The instance boots as usual.
   */
  consoleOutputUnavailable?: LaunchSelector;
  /**
   * A screen that cannot be captured: GetConsoleScreenshot naming a hit instance answers HTTP 500
   * `InternalError`, every time. The instance boots as usual, and its console output is unaffected.
   */
  consoleScreenshotUnavailable?: LaunchSelector;
  /**
   * The guest's sshd refuses every login of an instance launched with a key pair: the key never
   * reached the login user's authorized_keys (cloud-init could not fetch it from the instance metadata,
   * or the image names its user otherwise). The port opens and the banner comes as usual.
   */
  guestLoginRefused?: LaunchSelector;
  /**
   * The listed guest-timing commands never answer on a hit instance (a `journalctl` reading a huge
   * journal, a `ps` stuck on a hung NFS mount): their channels stay open and silent until the client
   * gives up. The other commands answer as usual.
   */
  guestCommandsHang?: Exclude<LaunchSelector, boolean> & { commands: readonly GuestCommandId[] };
  /**
   * The guest of a hit instance stops answering altogether when asked `command` (a kernel panic, a
   * hung guest, its host gone): nothing more is read or sent on the session's connection, which is
   * neither closed nor reset. `when`: before the command's channel is answered (`asked`, the default),
   * or once it is open (`answering`).
   */
  guestGoesDark?: Exclude<LaunchSelector, boolean> & {
    command: GuestCommandId;
    when?: "asked" | "answering";
  };
  /**
   * EC2 itself slower this week (another host generation, a slower volume path): every boot's running
   * to network takes this many seconds longer, before time scaling, whatever the image. A suite's
   * control target exists to tell this from an image's own regression.
   */
  platformSlowdownSeconds?: number;
  /**
   * Stalled requests: the next N requests of each named action (`DescribeInstances`,
   * `TerminateInstances`, `DescribeImages`, …) are read in full and then never answered (no status
   * line, not one byte) and not carried out, the connection held open until the client closes it; then
   * service resumes. On EC2 a call can hang like this (a response lost on the way, a half-open
   * connection), and the SDK does not give up on its own for a long time: the EC2 client's default
   * socket timeout is 15 minutes of silence, longer than any Lambda step, and its `requestTimeout` only
   * logs a warning unless `throwOnRequestTimeout` is set. Only a deadline (an `abortSignal`, the
   * client's request timeout) ends it. A stalled request takes no throttling token and counts as a call
   * in `stats()`, with no error.
   */
  stalledRequests?: Readonly<Record<string, number>>;
  /**
   * The RunInstances response leaves out the instance's private IP (`privateIpAddress`, and
   * `privateDnsName`, which spells it out): `PrivateIpAddress` is optional in EC2's Instance shape, and
   * code that reads it from the launch response must cope with its absence. DescribeInstances shows the
   * address as usual, or only `addressVisibleAfterSeconds` (before time scaling, like the cloud's other
   * durations) after the response was sent. The instance boots and answers on its address as usual.
   * An idempotent replay of a hit launch (same ClientToken) lacks the address too, as the original
   * response did: a retry must not be the way to get it.
   */
  launchWithoutPrivateIp?:
    | boolean
    | (Exclude<LaunchSelector, boolean> & { addressVisibleAfterSeconds?: number });
}

/** One action's run of server errors (`FaultSettings.serverErrors`). */
export interface ServerErrorBurst {
  count: number;
  /** The action is carried out before the error goes back (default: it is not). */
  carriedOut?: boolean;
  /** Default `InternalError` (HTTP 500); `Unavailable` is HTTP 503. */
  code?: "InternalError" | "Unavailable";
}

/** A server error to answer one request with (Faults.serverError). */
export interface ServerErrorAnswer {
  code: "InternalError" | "Unavailable";
  status: 500 | 503;
  carriedOut: boolean;
}

/** The guest-side faults of one instance (local-cloud/ec2/guest-ssh.ts). */
export interface GuestFaults {
  /** These commands never answer (a hung `journalctl`, a stuck NFS mount under `ps`). */
  hangs?: readonly GuestCommandId[];
  /**
   * The guest stops answering altogether when asked this command (a kernel panic, a hung guest, its
   * host gone): from then on nothing is read from its connection or sent on it, and the connection is
   * neither closed nor reset. `asked`: before the command's channel is answered; `answering`: once its
   * channel is open.
   */
  goesDark?: { command: GuestCommandId; when: "asked" | "answering" };
}

export type LaunchFault =
  | "insufficientCapacity"
  | "runInstancesInternalError"
  | "internalErrorOnLaunch"
  | "networkNeverUp"
  | "portNeverOpens"
  | "consoleOutputUnavailable"
  | "consoleScreenshotUnavailable"
  | "guestLoginRefused"
  | "guestCommandsHang"
  | "guestGoesDark"
  | "launchWithoutPrivateIp";

class TokenBucket {
  #tokens: number;
  #at: number;
  constructor(
    readonly spec: TokenBucketSpec,
    private readonly now: () => number,
  ) {
    this.#tokens = spec.burst;
    this.#at = now();
  }
  take(): boolean {
    const now = this.now();
    this.#tokens = Math.min(
      this.spec.burst,
      this.#tokens + ((now - this.#at) / 1000) * this.spec.refillPerSecond,
    );
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export interface LaunchDescription {
  instanceType: string;
  imageId: string;
}

export class Faults {
  #settings: FaultSettings = {};
  #buckets: Map<ApiClass, TokenBucket> | undefined;
  readonly #now: () => number;

  constructor(initial: FaultSettings = {}, now: () => number = () => performance.now()) {
    this.#now = now;
    this.set(initial);
  }

  /**
   * Changes the named faults and leaves the others as they are; a fault given as `undefined` or
   * `false` is switched off. Setting `throttling` starts from full buckets.
   */
  set(settings: FaultSettings): void {
    if (settings.serverErrors?.RunInstances !== undefined) {
      throw new Error("serverErrors: RunInstances has a fault of its own, runInstancesInternalError");
    }
    for (const [key, value] of Object.entries(settings) as [keyof FaultSettings, unknown][]) {
      if (value === undefined || value === false) delete this.#settings[key];
      else Object.assign(this.#settings, { [key]: structuredClone(value) });
    }
    if ("throttling" in settings) {
      const throttling = this.#settings.throttling;
      this.#buckets = throttling
        ? new Map(
            (Object.keys(EC2_TOKEN_BUCKETS) as ApiClass[]).map((cls) => [
              cls,
              new TokenBucket(
                (throttling === true ? undefined : throttling[cls]) ?? EC2_TOKEN_BUCKETS[cls],
                this.#now,
              ),
            ]),
          )
        : undefined;
    }
  }

  /** Switches every fault off. */
  clear(): void {
    this.#settings = {};
    this.#buckets = undefined;
  }

  /** The faults in force (per-launch counts show what is left). */
  get(): FaultSettings {
    return structuredClone(this.#settings);
  }

  get notFoundWindowMs(): number {
    return this.#settings.notFoundWindowMs ?? 0;
  }

  /** Takes a token from the action's bucket; false means the call is throttled. */
  admit(action: string): boolean {
    if (this.#takeOne("throttleBursts", action)) return false;
    return this.#buckets?.get(apiClassOf(action))?.take() ?? true;
  }

  /** The server error this request of `action` gets, if `serverErrors` has one left for it (used up). */
  serverError(action: string): ServerErrorAnswer | undefined {
    const bursts = this.#settings.serverErrors as Record<string, ServerErrorBurst> | undefined;
    const burst = bursts?.[action];
    if (burst === undefined || burst.count <= 0) return undefined;
    burst.count -= 1;
    const code = burst.code ?? "InternalError";
    return { code, status: code === "InternalError" ? 500 : 503, carriedOut: burst.carriedOut === true };
  }

  /** Whether this request is to be read and never answered; a stall uses up one of its action's count. */
  stalls(action: string): boolean {
    return this.#takeOne("stalledRequests", action);
  }

  /** Uses up one of `action`'s count in a per-action fault; false when it has none left. */
  #takeOne(fault: "throttleBursts" | "stalledRequests", action: string): boolean {
    const counts = this.#settings[fault] as Record<string, number> | undefined;
    const left = counts?.[action] ?? 0;
    if (counts === undefined || left <= 0) return false;
    counts[action] = left - 1;
    return true;
  }

  /**
   * For a launch `launchWithoutPrivateIp` hits: how long after the launch response DescribeInstances
   * hides the address too, seconds before time scaling (0: only the response lacks it). Undefined:
   * not hit.
   */
  hidesPrivateIp(launch: LaunchDescription): number | undefined {
    const selector = this.#settings.launchWithoutPrivateIp;
    // Read before hits(), which drops the selector once its count is used up.
    const seconds = typeof selector === "object" ? (selector.addressVisibleAfterSeconds ?? 0) : 0;
    return this.hits("launchWithoutPrivateIp", launch) ? seconds : undefined;
  }

  /**
   * For a new launch `runInstancesInternalError` hits: whether the instance is launched before the 500
   * goes back. Undefined: not hit.
   */
  internalErrorAnswer(launch: LaunchDescription): "launched" | "nothingLaunched" | undefined {
    // Read before hits(), which drops the selector once its count is used up.
    const launched = this.#settings.runInstancesInternalError?.launched === true;
    if (!this.hits("runInstancesInternalError", launch)) return undefined;
    return launched ? "launched" : "nothingLaunched";
  }

  /**
   * What `guestCommandsHang` and `guestGoesDark` do to a launch's guest: each fault that hits it, as the
   * local guest's sshd takes it. Empty when neither hits.
   */
  guestFaults(launch: LaunchDescription): GuestFaults {
    // Read before hits(), which drops a selector once its count is used up.
    const { guestCommandsHang: hang, guestGoesDark: dark } = this.#settings;
    return {
      ...(hang !== undefined && this.hits("guestCommandsHang", launch) && { hangs: hang.commands }),
      ...(dark !== undefined &&
        this.hits("guestGoesDark", launch) && {
          goesDark: { command: dark.command, when: dark.when ?? "asked" },
        }),
    };
  }

  /** Seconds every boot's running to network is slowed by (platformSlowdownSeconds), 0 when none. */
  platformSlowdown(): number {
    return this.#settings.platformSlowdownSeconds ?? 0;
  }

  /** Whether the fault hits this launch; a hit uses up one of its `count`. */
  hits(fault: LaunchFault, launch: LaunchDescription): boolean {
    const selector = this.#settings[fault];
    if (!selector) return false;
    if (selector === true) return true;
    if (selector.instanceTypes && !selector.instanceTypes.includes(launch.instanceType)) return false;
    if (selector.imageIds && !selector.imageIds.includes(launch.imageId)) return false;
    if (selector.count === undefined) return true;
    if (selector.count <= 0) return false;
    selector.count -= 1;
    if (selector.count === 0) delete this.#settings[fault];
    return true;
  }
}
