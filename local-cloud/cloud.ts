/**
 * The state of one local cloud: its image catalogue, instances, faults and API call counts, plus the
 * views tests and the measurement-error report use (`truth`, `instances`, `stats`). The HTTP side is in
 * `local-aws.ts`, the protocols in `ec2/ec2-server.ts` and `ssm/ssm-server.ts`.
 */

import { Catalogue, type CatalogueImage } from "./catalogue.js";
import type { AddressBlockClaimer } from "./ec2/address-blocks.js";
import {
  Fleet,
  type Instance,
  type InstanceStateName,
  type InstanceTruth,
  type PortFactory,
  type Tag,
} from "./ec2/instances.js";
import { KeyPairs, type LaunchKeyPair } from "./ec2/key-pairs.js";
import { defaultNetwork, type LocalNetwork } from "./ec2/network.js";
import { createEmulatedPort } from "./emulated-port.js";
import { type FaultSettings, Faults } from "./faults.js";
import { trueTime } from "./true-time.js";

export interface LocalCloudOptions {
  /** Default `us-east-1`. */
  region?: string;
  /** The account that owns the instances. Default `123456789012`. */
  accountId?: string;
  /** Multiplies every emulated duration: 0.1 boots ten times faster. Default 1. */
  timeScale?: number;
  /** The instances' SSH port. Default 22 when running as root, else 2222. */
  sshPort?: number;
  /** Relative standard deviation of every drawn boot duration. Default 0.03 (±3 %). */
  jitter?: number;
  /** Uniform [0, 1) source for jitter, e.g. a seeded one for reproducible runs. Default Math.random. */
  random?: () => number;
  /** How long RunInstances takes to answer, seconds before time scaling. Default 1.5 (as measured in 2021). */
  runInstancesSeconds?: number;
  /** From shutting-down to terminated, seconds before time scaling. Default 2. */
  shutdownSeconds?: number;
  faults?: FaultSettings;
  /** Replaces the built-in catalogue. */
  images?: readonly CatalogueImage[];
  /** Replaces `createEmulatedPort` (tests of the lifecycle alone). */
  createPort?: PortFactory;
  /** Replaces the machine-wide claim of address blocks (tests that need a predictable block). */
  claimAddressBlock?: AddressBlockClaimer;
}

export interface InstanceSnapshot {
  instanceId: string;
  reservationId: string;
  state: InstanceStateName;
  privateIp?: string;
  imageId: string;
  instanceType: string;
  clientToken?: string;
  tags: Tag[];
  /** As RunInstances asked: `required` (IMDSv2 only) or `optional`. */
  httpTokens: string;
  rootVolumeEncrypted: boolean;
  /** Where it was launched: the subnet and security groups RunInstances placed it in. */
  subnetId: string;
  securityGroupIds: string[];
  /**
   * The key pair it was launched with (RunInstances' KeyName) and its OpenSSH public key line, as it
   * was at launch: the key the instance's sshd would let in. Absent when launched without one.
   */
  keyPair?: LaunchKeyPair;
  truth: InstanceTruth;
}

export interface ApiStats {
  /** Requests per action (EC2 and SSM action names), including the ones that failed. */
  calls: Record<string, number>;
  /** Error responses per action and error code (`RequestLimitExceeded` = throttled). */
  errors: Record<string, Record<string, number>>;
}

export type TruthEvent = "running" | "networkUp" | "sshUp" | "terminated";
const TRUTH_FIELD = {
  running: "runningAt",
  networkUp: "networkUpAt",
  sshUp: "sshUpAt",
  terminated: "terminatedAt",
} as const satisfies Record<TruthEvent, keyof InstanceTruth>;

export const defaultSshPort = (): number => (process.getuid?.() === 0 ? 22 : 2222);

export class LocalCloud {
  readonly region: string;
  readonly accountId: string;
  readonly timeScale: number;
  readonly sshPort: number;
  readonly runInstancesMs: number;
  readonly shutdownMs: number;
  readonly catalogue: Catalogue;
  /** The default VPC, its subnets and its default security group: where instances launch. */
  readonly network: LocalNetwork;
  /** The account's imported key pairs (ImportKeyPair, DescribeKeyPairs, DeleteKeyPair). */
  readonly keyPairs = new KeyPairs();
  readonly faults: Faults;
  /** @internal the instances; use `instances()` / `truth()` from outside. */
  readonly fleet: Fleet;
  /** @internal RunInstances by ClientToken: the parameters' fingerprint and the (pending) result. */
  readonly launchesByToken = new Map<string, { fingerprint: string; result: Promise<Instance[]> }>();
  /** @internal launches in progress, awaited by close(). */
  readonly inFlight = new Set<Promise<unknown>>();
  #calls: Record<string, number> = {};
  #errors: Record<string, Record<string, number>> = {};
  #closed = false;
  readonly #waiters = new Set<() => void>();

  constructor(options: LocalCloudOptions = {}) {
    this.region = options.region ?? "us-east-1";
    this.accountId = options.accountId ?? "123456789012";
    this.timeScale = options.timeScale ?? 1;
    if (!(this.timeScale > 0)) throw new Error(`timeScale must be > 0, got ${options.timeScale}`);
    this.sshPort = options.sshPort ?? defaultSshPort();
    this.runInstancesMs = (options.runInstancesSeconds ?? 1.5) * 1000 * this.timeScale;
    this.shutdownMs = (options.shutdownSeconds ?? 2) * 1000 * this.timeScale;
    this.catalogue = new Catalogue(options.images);
    this.network = defaultNetwork(this.region, this.accountId);
    this.faults = new Faults(options.faults);
    this.fleet = new Fleet({
      timeScale: this.timeScale,
      sshPort: this.sshPort,
      jitter: options.jitter ?? 0.03,
      random: options.random ?? Math.random,
      shutdownSeconds: options.shutdownSeconds ?? 2,
      createPort: options.createPort ?? createEmulatedPort,
      ...(options.claimAddressBlock && { claimAddressBlock: options.claimAddressBlock }),
      faults: this.faults,
      now: trueTime,
      onTransition: () => {
        for (const wake of this.#waiters) wake();
      },
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The loopback block this cloud's instances live in, e.g. `127.0.5.0/24`, held machine-wide until
   * close() so that no other local cloud on this machine puts instances there. Undefined until
   * claimed (`startLocalAws` claims it at start; a bare LocalCloud at its first launch).
   */
  get addressBlock(): string | undefined {
    return this.fleet.addressBlocks[0];
  }

  /** Every block held: more than one only after more than 254 instances were up at once. */
  get addressBlocks(): string[] {
    return this.fleet.addressBlocks;
  }

  /** Claims the address block now; returns it. */
  async claimAddressBlock(): Promise<string> {
    const [block] = await this.fleet.claimAddresses();
    if (block === undefined) throw new Error("no loopback address block was claimed");
    return block;
  }

  /** The true transition times of an instance (a copy), or undefined for an unknown id. */
  truth(instanceId: string): InstanceTruth | undefined {
    const instance = this.fleet.get(instanceId);
    return instance && structuredClone(instance.truth);
  }

  /** Every instance ever launched by this cloud, oldest first. */
  instances(): InstanceSnapshot[] {
    return this.fleet.all().map((i) => ({
      instanceId: i.id,
      reservationId: i.spec.reservationId,
      state: i.state,
      ...(i.privateIp !== undefined && { privateIp: i.privateIp }),
      imageId: i.spec.image.imageId,
      instanceType: i.spec.instanceType.instanceType,
      ...(i.spec.clientToken !== undefined && { clientToken: i.spec.clientToken }),
      tags: i.spec.tags.map((t) => ({ ...t })),
      httpTokens: i.spec.metadataOptions.httpTokens,
      rootVolumeEncrypted: i.spec.rootVolumeEncrypted,
      subnetId: i.spec.subnetId,
      securityGroupIds: [...i.spec.securityGroupIds],
      ...(i.spec.keyPair && { keyPair: { ...i.spec.keyPair } }),
      truth: structuredClone(i.truth),
    }));
  }

  /** Resolves with the truth once the instance has reached `event`; rejects after `timeoutMs`. */
  waitFor(instanceId: string, event: TruthEvent, timeoutMs = 30_000): Promise<InstanceTruth> {
    const field = TRUTH_FIELD[event];
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const truth = this.truth(instanceId);
        if (truth?.[field] === undefined) return false;
        finish();
        resolve(truth);
        return true;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${instanceId} did not reach ${event} within ${timeoutMs} ms`));
      }, timeoutMs);
      const wake = () => void check();
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      this.#waiters.add(wake);
      check();
    });
  }

  /** Publishes an image, making it the current value of its SSM parameters (a new weekly snapshot). */
  publishImage(image: CatalogueImage): void {
    this.catalogue.publish(image);
  }

  /** @internal counts one API request and its error code, if any. */
  record(action: string, errorCode?: string): void {
    this.#calls[action] = (this.#calls[action] ?? 0) + 1;
    if (errorCode !== undefined) {
      const perAction = this.#errors[action] ?? {};
      perAction[errorCode] = (perAction[errorCode] ?? 0) + 1;
      this.#errors[action] = perAction;
    }
  }

  stats(): ApiStats {
    return { calls: { ...this.#calls }, errors: structuredClone(this.#errors) };
  }

  resetStats(): void {
    this.#calls = {};
    this.#errors = {};
  }

  /** Terminates everything at once, closes every port, then gives the address blocks up. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.inFlight]);
    await this.fleet.close();
  }
}
