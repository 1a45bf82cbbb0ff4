/**
 * Instance lifecycle of the local cloud. Each instance owns a loopback address and an emulated SSH
 * port whose TCP behaviour follows the boot: no answer while the instance boots, RST once the network
 * is up, SYN/ACK once sshd listens. The true instant of every transition is recorded, so measurement
 * error can be reported against what the benchmark observed.
 */
import { randomBytes } from "node:crypto";
import { guestFamilyOf, loginUserOf } from "../../functions/domain/guest-timings.js";
import type { BootProfile, CatalogueImage } from "../catalogue.js";
import type { ConnectionServer, EmulatedPort } from "../emulated-port.js";
import type { Faults, GuestFaults, LaunchFault } from "../faults.js";
import {
  type AddressBlockClaim,
  type AddressBlockClaimer,
  claimAddressBlock,
  LAST_ROW,
} from "./address-blocks.js";
import { consoleMilestones } from "./console-output.js";
import { type GuestBootTruth, type GuestIdentity, serveGuestSsh } from "./guest-ssh.js";
import type { InstanceTypeInfo } from "./instance-types.js";
import type { LaunchKeyPair } from "./key-pairs.js";

export type InstanceStateName =
  | "pending"
  | "running"
  | "shutting-down"
  | "terminated"
  | "stopping"
  | "stopped";

export const STATE_CODES: Readonly<Record<InstanceStateName, number>> = {
  pending: 0,
  running: 16,
  "shutting-down": 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface Tag {
  key: string;
  value: string;
}

export interface StateReason {
  code: string;
  message: string;
}

/**
 * The true transition times of one instance, epoch ms (`performance.timeOrigin + performance.now()`).
 * A port transition is stamped when the emulated port starts changing phase; the change is complete
 * well under a millisecond later on loopback (and is recorded only once it completed), so a probe can
 * never see a phase before its stamp.
 */
export interface InstanceTruth {
  instanceId: string;
  imageId: string;
  instanceType: string;
  privateIp: string;
  port: number;
  bootMode: "legacy-bios" | "uefi";
  /** The RunInstances request arrived. */
  requestedAt: number;
  /** The RunInstances response was sent: the instance is pending and its port does not answer. */
  launchedAt: number;
  runningAt?: number;
  /** The port started answering RST (closed). Equal to `sshUpAt` when the port never was closed. */
  networkUpAt?: number;
  /** The port started accepting (open). */
  sshUpAt?: number;
  /** TerminateInstances took effect (the port was closed at this point). */
  shuttingDownAt?: number;
  terminatedAt?: number;
  /** The drawn durations after time scaling and jitter, ms; `null`: never happens. */
  plan: { pendingToRunningMs: number; runningToNetworkMs: number | null; networkToSshMs: number | null };
  /** Per-launch faults that hit this instance. */
  faults: LaunchFault[];
  /** With `guestCommandsHang` or `guestGoesDark`: what its guest's sshd does wrong. */
  guestFaults?: GuestFaults;
  stateReason?: StateReason;
  /** A port phase change that failed (the transition it belonged to is then missing). */
  portError?: string;
}

export interface LaunchSpec {
  image: CatalogueImage;
  instanceType: InstanceTypeInfo;
  reservationId: string;
  ownerId: string;
  amiLaunchIndex: number;
  clientToken?: string;
  subnetId: string;
  vpcId: string;
  securityGroupIds: string[];
  userData?: string;
  /** RunInstances' KeyName, with the key pair's public key as it was at launch. */
  keyPair?: LaunchKeyPair;
  shutdownBehavior: "stop" | "terminate";
  metadataOptions: { httpTokens: string; httpEndpoint: string; httpPutResponseHopLimit: number };
  /** A BlockDeviceMapping for the image's root device asked for encryption. */
  rootVolumeEncrypted: boolean;
  tags: Tag[];
  availabilityZone: string;
  requestedAt: number;
}

export type PortFactory = (host: string, port: number) => Promise<EmulatedPort>;

export interface FleetOptions {
  /** Multiplies every boot duration: 0.1 runs ten times faster than the catalogue says. */
  timeScale: number;
  sshPort: number;
  /** Relative standard deviation of each drawn duration (0.03 = ±3 %). */
  jitter: number;
  /** Uniform [0, 1) source for jitter and ids. */
  random: () => number;
  /** Seconds from shutting-down to terminated, before time scaling. */
  shutdownSeconds: number;
  createPort: PortFactory;
  /** Claims the fleet's address blocks machine-wide. Default `claimAddressBlock`. */
  claimAddressBlock?: AddressBlockClaimer;
  faults: Faults;
  now: () => number;
  /** Called after every recorded transition. */
  onTransition?: (instance: Instance) => void;
}

const hex17 = (): string => randomBytes(9).toString("hex").slice(0, 17);
export const newInstanceId = (): string => `i-${hex17()}`;
export const newReservationId = (): string => `r-${hex17()}`;

/**
 * Loopback addresses for instances: 127.0.1.1, 127.0.1.2, …, 127.0.1.254, 127.0.2.1, … (never .0 or
 * .255, never 127.0.0.x where the API listens, never outside 127.0.0.0/8), but only inside the /24
 * rows this pool has claimed machine-wide (see address-blocks.ts), so that no other local cloud can
 * bind one of them, even while nothing of ours is bound there (an instance's RST phase).
 *
 * The unit is a /24 row, claimed on demand: a pool holds its first row from the start (one row,
 * 254 instances, covers every benchmark run), and claims the lowest free row after that whenever all
 * its rows are full. A fixed bigger range per cloud would waste most of itself and still need a rule
 * for running out. Rows are kept until close(): a cloud that needed a second row once (a load run) is
 * likely to need it again, and its addresses then stay where they were. The lowest free address of
 * the owned rows is handed out, so released ones are reused.
 */
export class LoopbackAddressPool {
  static readonly size = LAST_ROW * 254;
  readonly #used = new Set<number>();
  /** Ascending, so that the lowest address is found first. */
  #claims: AddressBlockClaim[] = [];
  #growing: Promise<void> | undefined;
  #closed = false;
  readonly #claim: AddressBlockClaimer;

  constructor(claim: AddressBlockClaimer = claimAddressBlock) {
    this.#claim = claim;
  }

  static address(index: number): string {
    const row = Math.floor(index / 254) + 1; // row 0 would be 127.0.0.x
    return `127.${Math.floor(row / 256)}.${row % 256}.${(index % 254) + 1}`;
  }

  static index(address: string): number | undefined {
    const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
    if (!m) return undefined;
    const [x, y, z] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const row = x * 256 + y;
    if (x > 255 || y > 255 || row === 0 || z < 1 || z > 254) return undefined;
    return (row - 1) * 254 + (z - 1);
  }

  /** The claimed blocks, lowest first, e.g. `["127.0.5.0/24"]`. */
  get blocks(): string[] {
    return this.#claims.map((c) => c.cidr);
  }

  /** Claims the first block now, if none is held yet; returns the blocks. */
  async claim(): Promise<string[]> {
    if (this.#claims.length === 0) await this.#grow();
    return this.blocks;
  }

  /** The lowest free address of the claimed blocks (not in `skip`), claiming another block if need be. */
  async allocate(skip: ReadonlySet<string> = new Set()): Promise<string> {
    for (;;) {
      const found = this.#lowestFree(skip);
      if (found !== undefined) {
        this.#used.add(found);
        return LoopbackAddressPool.address(found);
      }
      await this.#grow();
    }
  }

  #lowestFree(skip: ReadonlySet<string>): number | undefined {
    for (const { row } of this.#claims) {
      for (let i = (row - 1) * 254, end = i + 254; i < end; i++) {
        if (!this.#used.has(i) && !skip.has(LoopbackAddressPool.address(i))) return i;
      }
    }
    return undefined;
  }

  /** Allocations that find the pool full at the same time share one claim (and then look again). */
  #grow(): Promise<void> {
    this.#growing ??= this.#claimNext().finally(() => {
      this.#growing = undefined;
    });
    return this.#growing;
  }

  async #claimNext(): Promise<void> {
    const held = new Set(this.#claims.map((c) => c.row));
    for (let row = 1; row <= LAST_ROW; row++) {
      if (this.#closed) throw new Error("the loopback address pool is closed");
      if (held.has(row)) continue;
      const claim = await this.#claim(row);
      if (claim === undefined) continue;
      if (this.#closed) {
        await claim.release();
        throw new Error("the loopback address pool is closed");
      }
      this.#claims = [...this.#claims, claim].sort((a, b) => a.row - b.row);
      return;
    }
    throw new Error("no loopback address block left: every 127.x.y.0/24 is held by a local cloud");
  }

  release(address: string): void {
    const i = LoopbackAddressPool.index(address);
    if (i !== undefined) this.#used.delete(i);
  }

  get inUse(): number {
    return this.#used.size;
  }

  /**
   * Gives every block up. Only once nothing of ours is bound on them any more: a neighbour may take
   * them the moment they are released.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#growing?.catch(() => {});
    const claims = this.#claims;
    this.#claims = [];
    this.#used.clear();
    await Promise.all(claims.map((c) => c.release()));
  }
}

const MAX_BUSY_ADDRESSES = 64;

/** EADDRINUSE, also when wrapped (`cause`) or reported as a port of this process. */
function addressInUse(error: unknown): boolean {
  let e = error as { code?: unknown; cause?: unknown; message?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++, e = e.cause as typeof e) {
    if (e.code === "EADDRINUSE") return true;
    if (typeof e.message === "string" && /already (an emulated port|in use)/.test(e.message)) return true;
  }
  return false;
}

/** A normal deviate (Box–Muller) from a uniform source. */
function gaussian(random: () => number): number {
  const u = Math.max(random(), Number.EPSILON);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

const gmt = (at: number): string => `${new Date(at).toISOString().slice(0, 19).replace("T", " ")} GMT`;

export class Instance {
  readonly id = newInstanceId();
  readonly launchTime: Date;
  state: InstanceStateName = "pending";
  stateReason: StateReason | undefined;
  stateTransitionReason = "";
  /** Cleared once terminated: a terminated instance has no network interface. */
  privateIp: string | undefined;
  readonly truth: InstanceTruth;
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Port phase changes run one after another, in the order the lifecycle asks for them. */
  #portOps: Promise<void> = Promise.resolve();
  #portClosing: Promise<void> | undefined;
  #terminated: Promise<void> | undefined;
  readonly #fleet: Fleet;

  constructor(
    readonly spec: LaunchSpec,
    readonly port: EmulatedPort,
    fleet: Fleet,
    plan: InstanceTruth["plan"],
    bootMode: InstanceTruth["bootMode"],
    faults: LaunchFault[],
  ) {
    this.#fleet = fleet;
    this.privateIp = port.host;
    this.launchTime = new Date(Math.floor(spec.requestedAt / 1000) * 1000);
    this.truth = {
      instanceId: this.id,
      imageId: spec.image.imageId,
      instanceType: spec.instanceType.instanceType,
      privateIp: port.host,
      port: port.port,
      bootMode,
      requestedAt: spec.requestedAt,
      launchedAt: Number.NaN,
      plan,
      faults,
    };
  }

  get bootMode(): InstanceTruth["bootMode"] {
    return this.truth.bootMode;
  }

  /** The RunInstances response is about to be sent: the boot clock starts now. */
  start(): void {
    if (!Number.isNaN(this.truth.launchedAt)) return;
    this.truth.launchedAt = this.#fleet.now();
    this.#after(this.truth.plan.pendingToRunningMs, () => this.#toRunning());
  }

  #after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  #port(op: () => Promise<void>): Promise<void> {
    const next = this.#portOps.then(op);
    // A failing port operation must not wedge the ones after it (close above all).
    this.#portOps = next.catch((error: unknown) => this.#fleet.onPortError(this, error));
    return this.#portOps;
  }

  #toRunning(): void {
    if (this.state !== "pending") return;
    if (this.truth.faults.includes("internalErrorOnLaunch")) {
      this.stateReason = {
        code: "Server.InternalError",
        message: "Server.InternalError: Internal error on launch",
      };
      this.truth.stateReason = this.stateReason;
      this.stateTransitionReason = `Server.InternalError: Internal error on launch (${gmt(this.#fleet.now())})`;
      this.state = "shutting-down";
      void this.#closePort();
      void this.#markTerminated();
      return;
    }
    this.state = "running";
    this.truth.runningAt = this.#fleet.now();
    this.#fleet.notify(this);
    const { runningToNetworkMs } = this.truth.plan;
    if (runningToNetworkMs !== null) this.#after(runningToNetworkMs, () => this.#networkUp());
  }

  #networkUp(): void {
    if (this.state !== "running") return;
    const { networkToSshMs } = this.truth.plan;
    if (networkToSshMs === 0) {
      // sshd already listens when the network comes up: no answer straight to open.
      void this.#port(async () => {
        const at = this.#fleet.now();
        await this.port.accept(this.#sshd());
        this.truth.networkUpAt = at;
        this.truth.sshUpAt = at;
        this.#fleet.notify(this);
      });
      return;
    }
    void this.#port(async () => {
      const at = this.#fleet.now();
      await this.port.refuse();
      this.truth.networkUpAt = at;
      this.#fleet.notify(this);
      if (networkToSshMs !== null && this.state === "running")
        this.#after(networkToSshMs, () => this.#sshUp());
    });
  }

  #sshUp(): void {
    if (this.state !== "running") return;
    void this.#port(async () => {
      const at = this.#fleet.now();
      await this.port.accept(this.#sshd());
      this.truth.sshUpAt = at;
      this.#fleet.notify(this);
    });
  }

  /**
   * The guest's sshd for an instance launched with a key pair (guest-ssh.ts): the image's login user
   * with that key, answering the guest-timing commands from this instance's truth. Without a key pair
   * the open port sends a banner and closes, as before.
   */
  #sshd(): ConnectionServer | undefined {
    const keyPair = this.spec.keyPair;
    if (keyPair === undefined) return undefined;
    const identity: GuestIdentity = {
      family: guestFamilyOf(this.spec.image),
      user: loginUserOf(this.spec.image),
      authorizedKey: keyPair.publicKey,
      ...(this.truth.faults.includes("guestLoginRefused") && { refusesLogins: true }),
      ...this.truth.guestFaults,
      hostname: `ip-${this.port.host.replaceAll(".", "-")}`,
      truth: () => this.#guestBootTruth(),
      now: () => this.#fleet.now(),
    };
    return (socket) => serveGuestSsh(socket, identity);
  }

  /** The boot as the guest knows it now: the console's milestones that have happened. */
  #guestBootTruth(): GuestBootTruth {
    const now = this.#fleet.now();
    const kernelAt = this.truth.runningAt ?? now;
    const milestones = consoleMilestones({
      image: this.spec.image,
      instanceType: this.spec.instanceType,
      bootMode: this.bootMode,
      truth: this.truth,
    });
    const at = (name: "rootMount" | "loginPrompt") =>
      milestones.find((m) => m.milestone === name && m.at <= now)?.at;
    const userlandAt = at("rootMount");
    const bootFinishedAt = at("loginPrompt");
    const sshReadyAt = this.truth.sshUpAt;
    return {
      kernelAt,
      ...(userlandAt !== undefined && { userlandAt }),
      ...(sshReadyAt !== undefined && { sshReadyAt }),
      ...(bootFinishedAt !== undefined && { bootFinishedAt }),
    };
  }

  #closePort(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#portClosing ??= this.#port(() => this.port.close());
    return this.#portClosing;
  }

  /** The terminated state, once the port is closed; the address goes back to the pool. */
  #markTerminated(): Promise<void> {
    this.#terminated ??= this.#portOps.then(() => {
      this.state = "terminated";
      this.truth.terminatedAt = this.#fleet.now();
      if (this.privateIp !== undefined) this.#fleet.releaseAddress(this.privateIp);
      this.privateIp = undefined;
      this.#fleet.notify(this);
    });
    return this.#terminated;
  }

  /** TerminateInstances: returns the previous state; the port closes at once, terminated follows. */
  terminate(shutdownMs: number): InstanceStateName {
    const previous = this.state;
    if (previous === "shutting-down" || previous === "terminated") return previous;
    const now = this.#fleet.now();
    this.state = "shutting-down";
    this.truth.shuttingDownAt = now;
    this.stateReason = {
      code: "Client.UserInitiatedShutdown",
      message: "Client.UserInitiatedShutdown: User initiated shutdown",
    };
    this.stateTransitionReason = `User initiated (${gmt(now)})`;
    void this.#closePort();
    this.#after(shutdownMs, () => void this.#markTerminated());
    return previous;
  }

  /** Stops everything at once (cloud shutdown). */
  async dispose(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    if (this.state !== "terminated") {
      if (this.state !== "shutting-down") this.state = "shutting-down";
      await this.#closePort();
      await this.#markTerminated();
    }
    await this.#portOps;
  }
}

/** All instances of one local cloud. */
export class Fleet {
  readonly #instances = new Map<string, Instance>();
  readonly #addresses: LoopbackAddressPool;
  readonly #options: FleetOptions;

  constructor(options: FleetOptions) {
    this.#options = options;
    this.#addresses = new LoopbackAddressPool(options.claimAddressBlock);
  }

  get options(): Readonly<FleetOptions> {
    return this.#options;
  }

  now(): number {
    return this.#options.now();
  }

  get(instanceId: string): Instance | undefined {
    return this.#instances.get(instanceId);
  }

  all(): Instance[] {
    return [...this.#instances.values()];
  }

  /** Scaled and jittered, ms; never negative. */
  draw(seconds: number): number {
    const { timeScale, jitter, random } = this.#options;
    return Math.max(0, seconds * 1000 * timeScale * (1 + jitter * gaussian(random)));
  }

  #plan(boot: BootProfile, legacyPenalty: boolean, faults: LaunchFault[]): InstanceTruth["plan"] {
    const network =
      boot.runningToNetwork === null || faults.includes("networkNeverUp")
        ? null
        : this.draw(
            boot.runningToNetwork +
              (legacyPenalty ? (boot.legacyBiosPenalty ?? 0) : 0) +
              this.#options.faults.platformSlowdown(),
          );
    const ssh =
      boot.networkToSsh === null || faults.includes("portNeverOpens")
        ? null
        : boot.networkToSsh === 0
          ? 0
          : this.draw(boot.networkToSsh);
    return {
      pendingToRunningMs: this.draw(boot.pendingToRunning),
      runningToNetworkMs: network,
      networkToSshMs: ssh,
    };
  }

  /**
   * Creates a pending instance whose port is already silent (so it is in place before RunInstances
   * answers). Per-launch faults are decided here. Call `start()` just before answering.
   */
  async create(spec: LaunchSpec): Promise<Instance> {
    const { image, instanceType } = spec;
    const launch = { instanceType: instanceType.instanceType, imageId: image.imageId };
    const faults = (
      [
        "internalErrorOnLaunch",
        "networkNeverUp",
        "portNeverOpens",
        "consoleOutputUnavailable",
        "consoleScreenshotUnavailable",
        "guestLoginRefused",
      ] as const
    ).filter((f): boolean => this.#options.faults.hits(f, launch));
    const guestFaults = this.#options.faults.guestFaults(launch);
    const uefi =
      instanceType.supportedBootModes.includes("uefi") &&
      (image.bootMode === "uefi" || image.bootMode === "uefi-preferred");
    const legacyPenalty = !uefi && image.bootMode === "uefi-preferred";
    const plan = this.#plan(image.boot, legacyPenalty, faults);
    const port = await this.#openPort();
    const instance = new Instance(spec, port, this, plan, uefi ? "uefi" : "legacy-bios", [
      ...faults,
      ...(guestFaults.hangs !== undefined ? (["guestCommandsHang"] as const) : []),
      ...(guestFaults.goesDark !== undefined ? (["guestGoesDark"] as const) : []),
    ]);
    if (Object.keys(guestFaults).length > 0) instance.truth.guestFaults = guestFaults;
    this.#instances.set(instance.id, instance);
    return instance;
  }

  /** The lowest free loopback address whose SSH port we can bind, its port made silent. */
  async #openPort(): Promise<EmulatedPort> {
    const busy = new Set<string>();
    const { sshPort } = this.#options;
    for (let attempt = 0; attempt < MAX_BUSY_ADDRESSES; attempt++) {
      const address = await this.#addresses.allocate(busy);
      let port: EmulatedPort | undefined;
      try {
        port = await this.#options.createPort(address, sshPort);
        await port.silent();
        return port;
      } catch (error) {
        await port?.close().catch(() => {});
        this.#addresses.release(address);
        // Our block keeps other local clouds out, but not everything else: a server on
        // 0.0.0.0:sshPort, or an emulated port a test placed by hand. Skipping the address beats failing.
        if (!addressInUse(error)) throw error;
        busy.add(address);
      }
    }
    throw new Error(
      `port ${sshPort} is in use on ${MAX_BUSY_ADDRESSES} loopback addresses in a row (is something listening on 0.0.0.0:${sshPort}?): choose another sshPort`,
    );
  }

  /** Undoes `create` for an instance that was never announced (a RunInstances that failed later). */
  async discard(instance: Instance): Promise<void> {
    this.#instances.delete(instance.id);
    await instance.port.close().catch(() => {});
    if (instance.privateIp !== undefined) this.#addresses.release(instance.privateIp);
  }

  releaseAddress(address: string): void {
    this.#addresses.release(address);
  }

  notify(instance: Instance): void {
    this.#options.onTransition?.(instance);
  }

  onPortError(instance: Instance, error: unknown): void {
    instance.truth.portError ??= (error as Error).message ?? String(error);
  }

  get addressesInUse(): number {
    return this.#addresses.inUse;
  }

  /** The address blocks this fleet holds, lowest first. */
  get addressBlocks(): string[] {
    return this.#addresses.blocks;
  }

  /** Claims the first address block now rather than at the first launch. */
  claimAddresses(): Promise<string[]> {
    return this.#addresses.claim();
  }

  /** Disposes of every instance, then gives the address blocks up (nothing of ours is bound on them then). */
  async close(): Promise<void> {
    try {
      await Promise.all(this.all().map((i) => i.dispose()));
    } finally {
      // Even when a port would not close: a block held until exit is worse for a long test process.
      await this.#addresses.close();
    }
  }
}
