/**
 * Which benchmarks measured the same thing, so that their numbers may be compared: the one rule behind
 * the CLI's results, history and compare, the suites' regression alerts and the report (issue 11).
 * Pure; the key is computed when a summary is written and stored with it.
 */
import { sha256Hex } from "./benchmark-identity.js";
import type { BenchmarkSettings, ResolvedImage } from "./contract.js";
import {
  DEFAULT_RUNNING_BRACKET_LIMIT_MS,
  defaultPortBracketLimitMs,
  INTEGRITY_RULES_VERSION,
} from "./integrity.js";

/**
 * Everything that changes what a benchmark's numbers mean, with every default applied:
 * - where and on what it ran: the region (EC2's control plane differs between regions) and the
 *   instance type;
 * - what the guest was asked to do before sshd: the user data, as a digest (it can be 16 KB);
 * - how it was observed: the port, the probe interval (the resolution of the port boundaries), IMDS
 *   and root-volume encryption (both change the launch path);
 * - which runs and intervals count: the integrity rules version and bracket limits, and the timeouts
 *   (a 100 s boot is a success under a 120 s open timeout and a timeout under 60 s);
 * - the label, which marks a setup the settings cannot tell (UEFI against BIOS of one image, …).
 *
 * - whether the instances had the benchmark's key pair (guest timings): cloud-init installs it before
 *   sshd starts, so the guest does more before the port opens.
 *
 * Not in it: the image (that is what is compared), the number of runs and whether the first is
 * discarded (the statistics weigh the runs there are), the run concurrency, and the filmstrip (EC2
 * takes screenshots from outside the guest, without a keystroke: the boot is the same).
 */
/**
 * A series is what a weekly number is compared along: the SSM parameter the image was resolved from,
 * or the AMI when it was given directly. The one definition, for metrics, alerts and their attributes.
 */
export const seriesOf = (image: Pick<ResolvedImage, "sourceParameter" | "amiId">): string =>
  image.sourceParameter ?? image.amiId;

export interface Comparability {
  integrityRulesVersion: number;
  region: string;
  instanceType: string;
  /** SHA-256 of the user data (UTF-8), hex; absent without user data. */
  userDataSha256?: string;
  port: number;
  probeIntervalMs: number;
  imdsV2: "required" | "optional";
  encryptRootVolume: boolean;
  runningBracketLimitMs: number;
  portBracketLimitMs: number;
  runningTimeoutSeconds: number;
  openTimeoutSeconds: number;
  label?: string;
  guestKeyPair?: true;
}

/** The region of a Step Functions execution ARN (`arn:aws:states:<region>:…`). */
export function regionOfExecution(executionId: string): string {
  const region = executionId.split(":")[3];
  if (!region) throw new RangeError(`not a Step Functions execution ARN: ${executionId}`);
  return region;
}

export function comparabilityOf(
  settings: BenchmarkSettings,
  executionId: string,
  integrityRulesVersion: number = INTEGRITY_RULES_VERSION,
): Comparability {
  return {
    ...settingsComparability(settings, integrityRulesVersion),
    region: regionOfExecution(executionId),
  };
}

/** What the settings alone decide of a benchmark's comparability: all of it but the region. */
export function settingsComparability(
  settings: BenchmarkSettings,
  integrityRulesVersion: number = INTEGRITY_RULES_VERSION,
): Omit<Comparability, "region"> {
  const comparability: Omit<Comparability, "region"> = {
    integrityRulesVersion,
    instanceType: settings.instanceType,
    port: settings.port,
    probeIntervalMs: settings.probeIntervalMs,
    imdsV2: settings.imdsV2 ?? "required",
    encryptRootVolume: settings.encryptRootVolume ?? false,
    runningBracketLimitMs: settings.runningBracketLimitMs ?? DEFAULT_RUNNING_BRACKET_LIMIT_MS,
    portBracketLimitMs: settings.portBracketLimitMs ?? defaultPortBracketLimitMs(settings.probeIntervalMs),
    runningTimeoutSeconds: settings.runningTimeoutSeconds,
    openTimeoutSeconds: settings.openTimeoutSeconds,
  };
  if (settings.userData !== undefined) {
    comparability.userDataSha256 = sha256Hex(settings.userData);
  }
  if (settings.label !== undefined) comparability.label = settings.label;
  if (settings.guestTimings === true) comparability.guestKeyPair = true;
  return comparability;
}

const KEY_FIELDS = [
  "integrityRulesVersion",
  "region",
  "instanceType",
  "userDataSha256",
  "port",
  "probeIntervalMs",
  "imdsV2",
  "encryptRootVolume",
  "runningBracketLimitMs",
  "portBracketLimitMs",
  "runningTimeoutSeconds",
  "openTimeoutSeconds",
  "label",
] as const satisfies readonly (keyof Comparability)[];
/**
 * Fields added after keys were first stored: in the key only when set, so that every key stored
 * before them (and every benchmark without them) stays what it was.
 */
const LATER_KEY_FIELDS = ["guestKeyPair"] as const satisfies readonly (keyof Comparability)[];

/**
 * The stored key: `v<rules>-` and 16 hex characters of the SHA-256 of the fields in a fixed order.
 * Equal keys, comparable benchmarks; a query by key (`comparabilityKey = :key`) finds them all.
 */
export function comparabilityKey(comparability: Comparability): string {
  const canonical = JSON.stringify([
    ...KEY_FIELDS.map((field) => comparability[field] ?? null),
    ...LATER_KEY_FIELDS.flatMap((field) =>
      comparability[field] === undefined ? [] : [[field, comparability[field]]],
    ),
  ]);
  const digest = sha256Hex(canonical).slice(0, 16);
  return `v${comparability.integrityRulesVersion}-${digest}`;
}

/** Why two comparabilities differ, field by field, for a message that says what to change. */
export function comparabilityDifferences(a: Comparability, b: Comparability): string[] {
  return [...KEY_FIELDS, ...LATER_KEY_FIELDS].flatMap((field) =>
    (a[field] ?? null) === (b[field] ?? null)
      ? []
      : [`${field}: ${JSON.stringify(a[field] ?? null)} against ${JSON.stringify(b[field] ?? null)}`],
  );
}
