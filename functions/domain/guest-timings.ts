/**
 * Guest-side timings (issue 12, point 3): what a booted instance can tell about its own boot, asked
 * over SSH once its port is open, so that nothing of it can move the four intervals. One fixed,
 * documented command list per OS family, and the parsers that turn the answers into milestones.
 *
 * The guest's clock is not the observers' (it is the instance's, set by NTP or by the hypervisor at
 * boot), so the milestones are kept as the guest gave them: durations since the kernel started, and
 * the kernel's start on the guest's clock. Nothing here is compared with the observed timestamps.
 */
import type { GuestKeyState, ResolvedImage } from "./contract.js";
import type { ErrorInfo } from "./run-record.js";

/** The EC2 key pair of a benchmark with guest timings: one per benchmark, deleted when its runs end. */
export const guestKeyName = (benchmarkId: string): string => `boot-bench-${benchmarkId}`;

/** The key pair's name, when the benchmark has one (`{}` or absent: its instances get none). */
export const guestKeyNameOf = (guestKey: GuestKeyState | undefined): string | undefined =>
  guestKey !== undefined && "keyName" in guestKey ? guestKey.keyName : undefined;

/** The sort key of the item that keeps the key pair's private half for the probe (its partition: the benchmark's). */
export const GUEST_KEY_SK = "GUESTKEY";

/**
 * The benchmark's key, while its runs go on: the probe, which reaches DynamoDB through the VPC's
 * gateway endpoint and nothing else of AWS, reads the private half from here. When the runs end the
 * key pair is deleted and the private half removed (`retiredAt` set): the item stays, as every item
 * of this table does, since no step may delete items.
 */
export interface GuestKeyRecord {
  pk: string;
  sk: typeof GUEST_KEY_SK;
  itemType: "guestKey";
  benchmarkId: string;
  /** The benchmark's execution: the sweeper leaves the key pair alone while it runs. */
  executionId: string;
  keyName: string;
  /** OpenSSH public key line, as imported. */
  publicKey: string;
  /** OpenSSH private key. */
  /** Removed when the key is retired. */
  privateKey?: string;
  createdAt: string;
  retiredAt?: string;
}

/** A guest key item that still holds its private half. */
export type ActiveGuestKey = GuestKeyRecord & { privateKey: string };
/** What PrepareGuestKey stores. */
export type NewGuestKey = Omit<ActiveGuestKey, "pk" | "sk" | "itemType" | "retiredAt">;

/** Every attribute of a guest key item: IAM lets the two key steps write these and no others. */
export const GUEST_KEY_ATTRIBUTES: readonly string[] = [
  "pk",
  "sk",
  "itemType",
  "benchmarkId",
  "executionId",
  "keyName",
  "publicKey",
  "privateKey",
  "createdAt",
  "retiredAt",
];

export type GuestFamily = "linux" | "freebsd";

export type GuestCommandId =
  | "systemdAnalyzeTime"
  | "systemdCriticalChain"
  | "uptime"
  | "sshdJournal"
  | "kernelLog"
  | "bootTime"
  | "boottraceLog"
  | "tslog"
  | "sshdStart";

export interface GuestCommand {
  id: GuestCommandId;
  /** Run as the image's login user, through a POSIX shell; `sudo -n` where the answer needs root. */
  command: string;
  /** Where the command comes from, for the README and the stored output. */
  source: string;
  /** What a failed or empty answer means: absent is an answer, never a failed run. */
  whenAbsent: string;
  /**
   * Asked again while its answer (stdout and stderr) matches `pattern`, every `everyMs`, for up to
   * `forMs` after the first answer: an answer that only says "not yet".
   */
  askAgainWhile?: { pattern: RegExp; everyMs: number; forMs: number };
  /** How coarse the times it gives are (a whole multiple of this, ms), when coarser than a millisecond. */
  resolutionMs?: number;
}

/** Each command's whole answer is bounded: kernel logs of big machines run to hundreds of KB. */
export const GUEST_OUTPUT_LIMIT_BYTES = 256 * 1024;
/** A command that has not answered after this long is abandoned (its channel closed). */
export const GUEST_COMMAND_TIMEOUT_MS = 10_000;
/** Until the SSH handshake and the login are done. */
export const GUEST_LOGIN_TIMEOUT_MS = 10_000;
/**
 * The whole session, login included: a command that would start later is not run, one still running
 * then is abandoned. The instance lives this much longer at most (the probe answers after it).
 */
export const GUEST_SESSION_BUDGET_MS = 40_000;
/** Reading the benchmark's key before the session, and storing the answers after it, each. */
export const GUEST_STORE_TIMEOUT_MS = 5_000;
/**
 * The most the guest timings add to the probe after the port opened: the key's read, the session and
 * the store, and a second of slack. The probe's Lambda timeout and a run's longest life count it.
 */
export const GUEST_TIMINGS_MAX_SECONDS =
  Math.ceil((GUEST_STORE_TIMEOUT_MS + GUEST_SESSION_BUDGET_MS + GUEST_STORE_TIMEOUT_MS) / 1000) + 1;

/**
 * systemd answers this while units are still starting, which can outlast sshd by seconds: asked again
 * each second for up to 10 s (the instance is kept that much longer), then given up as "not finished".
 */
const SYSTEMD_NOT_FINISHED = { pattern: /Bootup is not yet finished/, everyMs: 1_000, forMs: 10_000 };

export const GUEST_COMMANDS: Readonly<Record<GuestFamily, readonly GuestCommand[]>> = {
  linux: [
    {
      id: "systemdAnalyzeTime",
      command: "systemd-analyze time",
      source: "systemd's systemd-analyze(1): time spent in firmware, loader, kernel and userspace",
      whenAbsent:
        "not a systemd image (command not found), or the boot has not finished: systemd answers " +
        "'Bootup is not yet finished' while units are still starting, which can outlast sshd " +
        "(asked again each second for up to 10 s)",
      askAgainWhile: SYSTEMD_NOT_FINISHED,
    },
    {
      id: "systemdCriticalChain",
      command: "systemd-analyze critical-chain --no-pager",
      source: "systemd-analyze(1) critical-chain: the chain of units that gated the default target",
      whenAbsent: "as for systemd-analyze time",
      askAgainWhile: SYSTEMD_NOT_FINISHED,
    },
    {
      id: "uptime",
      command: "cat /proc/uptime; date +%s.%N",
      source:
        "Linux procfs proc(5) /proc/uptime, seconds since the kernel started, then the guest's clock " +
        "(coreutils date): their difference is the kernel's start on the guest's clock",
      whenAbsent: "never on Linux",
      resolutionMs: 10,
    },
    {
      id: "sshdJournal",
      command:
        "sudo -n journalctl -b -o short-monotonic --no-pager -u ssh.service -u sshd.service 2>/dev/null",
      source:
        "systemd-journald journalctl(1): sshd's messages this boot, stamped with seconds since the " +
        "kernel started (Debian and Ubuntu name the unit ssh.service, Amazon Linux sshd.service)",
      whenAbsent: "no journal (not systemd), or no passwordless sudo for the login user",
    },
    {
      id: "kernelLog",
      command: "sudo -n dmesg 2>/dev/null || dmesg",
      source: "util-linux dmesg(1): the kernel ring buffer, each line stamped with seconds since start",
      whenAbsent: "kernel.dmesg_restrict set and no passwordless sudo",
    },
  ],
  freebsd: [
    {
      id: "bootTime",
      command: "sysctl -n kern.boottime",
      source: "FreeBSD sysctl(8) kern.boottime: when the kernel started, on the guest's clock",
      whenAbsent: "never on FreeBSD",
    },
    {
      id: "boottraceLog",
      command: "sysctl -n kern.boottrace.log 2>&1",
      source:
        "FreeBSD boottrace(4), 14.0 and later: kernel, init and rc(8) events with milliseconds since boot",
      whenAbsent:
        "off unless the image sets kern.boottrace.enabled=1 in loader.conf (FreeBSD's default is off), " +
        "unknown oid before 14.0",
    },
    {
      id: "tslog",
      command: "sysctl -n debug.tslog_user 2>&1",
      source: "FreeBSD tslog(4): per-process fork/exec/exit timestamps, in kernels built with options TSLOG",
      whenAbsent: "unknown oid: GENERIC kernels are built without TSLOG",
    },
    {
      id: "sshdStart",
      command: 'ps -o lstart= -p "$(cat /var/run/sshd.pid)"',
      source: "FreeBSD ps(1) lstart of the pid in sshd's pid file: when sshd started, whole seconds",
      whenAbsent: "sshd not started from rc(8) (no pid file)",
      resolutionMs: 1_000,
    },
  ],
};

/** FreeBSD's AMIs are named FreeBSD-…; every other image the catalogue and AWS publish is Linux. */
export function guestFamilyOf(image: Pick<ResolvedImage, "name" | "description">): GuestFamily {
  const text = `${image.name} ${image.description ?? ""}`;
  return /\bFreeBSD\b/i.test(text) ? "freebsd" : "linux";
}

/**
 * The login user each publisher's images create for the instance's key pair (their documentation):
 * Debian `admin`, Ubuntu `ubuntu`, Amazon Linux and FreeBSD `ec2-user`.
 */
export function loginUserOf(image: Pick<ResolvedImage, "name" | "description">): string {
  const text = `${image.name} ${image.description ?? ""}`.toLowerCase();
  if (/\bdebian\b/.test(text)) return "admin";
  if (/\bubuntu\b/.test(text)) return "ubuntu";
  return "ec2-user";
}

/** One command's answer, as the SSH session got it. */
export interface GuestCommandOutput {
  id: GuestCommandId;
  command: string;
  /** Absent when the channel ended without an exit status (a signal, the timeout). */
  exitCode?: number;
  stdout: string;
  stderr: string;
  /** Output beyond GUEST_OUTPUT_LIMIT_BYTES was dropped. */
  truncated?: true;
  timedOut?: true;
  /** How many times it was asked (askAgainWhile); absent: once. */
  asked?: number;
}

/**
 * What the guest said about its boot, each a duration since the kernel started (ms), except
 * `kernelStartedAt`, the kernel's start on the guest's clock (epoch ms). Each is absent when the guest
 * did not say; `sources` names the command each came from.
 */
export interface GuestMilestones {
  kernelStartedAt?: number;
  /** Firmware and loader, before the kernel (systemd on UEFI images only). */
  firmwareMs?: number;
  loaderMs?: number;
  /** The kernel's own initialisation: until init (PID 1) started. */
  userlandStartedMs?: number;
  /** sshd listening. */
  sshdReadyMs?: number;
  /** The init system reached its default target (systemd), or rc(8) finished (boottrace). */
  bootFinishedMs?: number;
  sources: Partial<Record<Exclude<keyof GuestMilestones, "sources">, GuestCommandId>>;
}

const SYSTEMD_PART =
  /(\d+(?:\.\d+)?(?:min|ms|us|s))(?:\s+(\d+(?:\.\d+)?(?:ms|us|s)))?\s+\((firmware|loader|kernel|initrd|userspace)\)/g;

/** systemd's time spans: `1min 2.345s`, `812ms`, `2.1s`, `500us`. */
export function systemdSpanMs(text: string): number | undefined {
  let total = 0;
  let matched = false;
  for (const [, value, unit] of text.matchAll(/(\d+(?:\.\d+)?)(min|ms|us|s)\b/g)) {
    matched = true;
    const n = Number(value);
    total += unit === "min" ? n * 60_000 : unit === "s" ? n * 1000 : unit === "ms" ? n : n / 1000;
  }
  // To the microsecond, systemd's own resolution, so that 1.017s is 1017 ms and not 1016.9999….
  return matched ? Math.round(total * 1000) / 1000 : undefined;
}

/**
 * `Startup finished in 3.2s (firmware) + 1.1s (loader) + 1.084s (kernel) + 2.335s (userspace) = …`:
 * the kernel part ends where userspace starts; kernel + initrd + userspace is the boot's end.
 */
export function parseSystemdAnalyzeTime(
  stdout: string,
): Pick<GuestMilestones, "firmwareMs" | "loaderMs" | "userlandStartedMs" | "bootFinishedMs"> {
  const line = stdout.split("\n").find((l) => l.startsWith("Startup finished in"));
  if (line === undefined) return {};
  const parts: Partial<Record<string, number>> = {};
  for (const match of line.matchAll(SYSTEMD_PART)) {
    const span = systemdSpanMs(`${match[1]} ${match[2] ?? ""}`);
    if (span !== undefined && match[3] !== undefined) parts[match[3]] = span;
  }
  const kernel = parts.kernel;
  if (kernel === undefined) return {};
  const result: ReturnType<typeof parseSystemdAnalyzeTime> = { userlandStartedMs: kernel };
  if (parts.firmware !== undefined) result.firmwareMs = parts.firmware;
  if (parts.loader !== undefined) result.loaderMs = parts.loader;
  if (parts.userspace !== undefined) {
    result.bootFinishedMs = kernel + (parts.initrd ?? 0) + parts.userspace;
  }
  return result;
}

/**
 * `[    4.512345] host sshd[612]: Server listening on 0.0.0.0 port 22.`: the first such line of the
 * boot (short-monotonic stamps are seconds since the kernel started).
 */
export function parseSshdJournal(stdout: string): number | undefined {
  for (const line of stdout.split("\n")) {
    const match = /^\[\s*(\d+\.\d+)\]\s.*\bServer listening on\b/.exec(line);
    if (match?.[1] !== undefined) return Math.round(Number(match[1]) * 1_000_000) / 1000;
  }
  return undefined;
}

/**
 * `12.34 20.01` (uptime and idle seconds) then `1764835212.345678901` (the guest's clock): the kernel
 * started uptime seconds before that clock reading (to 10 ms: /proc/uptime has hundredths).
 */
export function parseLinuxKernelStart(stdout: string): number | undefined {
  const [uptimeLine, dateLine] = stdout.trim().split("\n");
  const uptime = /^\s*(\d+(?:\.\d+)?)\s/.exec(uptimeLine ?? "")?.[1];
  const now = /^\s*(\d+(?:\.\d+)?)\s*$/.exec(dateLine ?? "")?.[1];
  if (uptime === undefined || now === undefined) return undefined;
  return Math.round((Number(now) - Number(uptime)) * 1000);
}

/** `{ sec = 1764835200, usec = 123456 } Thu Dec  4 08:00:00 2025` → epoch ms. */
export function parseFreeBsdBootTime(stdout: string): number | undefined {
  const match = /\{\s*sec\s*=\s*(\d+),\s*usec\s*=\s*(\d+)\s*\}/.exec(stdout);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return Number(match[1]) * 1000 + Number(match[2]) / 1000;
}

/**
 * boottrace(4)'s table (`CPU msecs delta process event PID CPUtime IBlks OBlks`): msecs is since boot.
 * init's start is the first `init` event; rc's end is its last event (`/etc/rc` … done).
 */
export function parseBoottrace(
  stdout: string,
): Pick<GuestMilestones, "userlandStartedMs" | "bootFinishedMs" | "sshdReadyMs"> {
  const rows = stdout
    .split("\n")
    .map((line) => /^\s*\d+\s+(\d+)\s+\d+\s+(\S+)\s+(.*?)\s+\d+\s+[\d.]+\s+\d+\s+\d+\s*$/.exec(line))
    .flatMap((match) =>
      match?.[1] === undefined ? [] : [{ msecs: Number(match[1]), process: match[2], event: match[3] ?? "" }],
    );
  if (rows.length === 0) return {};
  const first = rows[0]?.msecs ?? 0;
  const since = (msecs: number) => msecs - first;
  const result: ReturnType<typeof parseBoottrace> = {};
  const init = rows.find((row) => row.process === "init");
  if (init) result.userlandStartedMs = since(init.msecs);
  const sshd = rows.find((row) => /\bsshd\b/.test(row.event) && /\bdone\b/.test(row.event));
  if (sshd) result.sshdReadyMs = since(sshd.msecs);
  const rc = rows.filter((row) => /\/etc\/rc\b/.test(row.event));
  const rcEnd = rc.at(-1);
  if (rcEnd) result.bootFinishedMs = since(rcEnd.msecs);
  return result;
}

/** `Thu Dec  4 08:00:07 2025` (ps lstart, the guest's time zone: UTC on the published AMIs) → epoch ms. */
export function parseLstart(stdout: string): number | undefined {
  const match = /^\s*\w{3}\s+(\w{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(\d{4})\s*$/.exec(stdout);
  if (match === null) return undefined;
  const [, month, day, h, m, s, year] = match;
  const at = Date.parse(`${day} ${month} ${year} ${h}:${m}:${s} UTC`);
  return Number.isNaN(at) ? undefined : at;
}

/** The milestones a family's answers give; an answer that failed or says nothing gives none. */
export function guestMilestones(
  family: GuestFamily,
  outputs: readonly GuestCommandOutput[],
): GuestMilestones {
  const answer = (id: GuestCommandId): string | undefined => {
    const output = outputs.find((o) => o.id === id);
    return output !== undefined && output.exitCode === 0 && output.timedOut === undefined
      ? output.stdout
      : undefined;
  };
  const milestones: GuestMilestones = { sources: {} };
  const take = (values: Partial<Omit<GuestMilestones, "sources">>, from: GuestCommandId) => {
    for (const [key, value] of Object.entries(values) as [
      Exclude<keyof GuestMilestones, "sources">,
      number,
    ][]) {
      if (value === undefined || milestones[key] !== undefined) continue;
      milestones[key] = value;
      milestones.sources[key] = from;
    }
  };
  if (family === "linux") {
    const time = answer("systemdAnalyzeTime");
    if (time !== undefined) take(parseSystemdAnalyzeTime(time), "systemdAnalyzeTime");
    const uptime = answer("uptime");
    if (uptime !== undefined) take({ kernelStartedAt: parseLinuxKernelStart(uptime) }, "uptime");
    const journal = answer("sshdJournal");
    if (journal !== undefined) take({ sshdReadyMs: parseSshdJournal(journal) }, "sshdJournal");
    return milestones;
  }
  const bootTime = answer("bootTime");
  const kernelStartedAt = bootTime === undefined ? undefined : parseFreeBsdBootTime(bootTime);
  take({ kernelStartedAt }, "bootTime");
  const trace = answer("boottraceLog");
  if (trace !== undefined) take(parseBoottrace(trace), "boottraceLog");
  const sshdStart = answer("sshdStart");
  const sshdStartedAt = sshdStart === undefined ? undefined : parseLstart(sshdStart);
  if (sshdStartedAt !== undefined && kernelStartedAt !== undefined) {
    // Whole seconds against the kernel's microseconds: known only to within a second.
    take({ sshdReadyMs: Math.max(0, sshdStartedAt - kernelStartedAt) }, "sshdStart");
  }
  return milestones;
}

/** What was asked of one command, as the run record keeps it (its output is in the stored document). */
export interface GuestAnswerSummary {
  id: GuestCommandId;
  exitCode?: number;
  truncated?: true;
  timedOut?: true;
  asked?: number;
}

/**
 * The guest timings of one run, as the probe returns them and the run record keeps them. `collected`:
 * every command of the family was asked (each may still have answered nothing); `failed`: the session
 * or the key failed, with `error`, and what had been asked by then. Never a reason to fail the run.
 */
export interface GuestTimings {
  status: "collected" | "failed";
  family: GuestFamily;
  loginUser: string;
  /** On the probe's clock: when it began reading the key, and when it had stored the answers. */
  startedAt: number;
  endedAt: number;
  error?: ErrorInfo;
  /** The instance's host key (SHA256:…, as ssh-keygen -l prints it). */
  hostKeySha256?: string;
  milestones: GuestMilestones;
  answers: GuestAnswerSummary[];
  /** Commands left unasked: the session's budget was spent, it failed, or the guest stopped answering. */
  notAsked?: GuestCommandId[];
  /** Where the answers are, in the console bucket (gzip JSON, GuestOutputDocument). */
  output?: { key: string; bytes: number; storedBytes: number };
  /** Why the answers could not be stored (the milestones above are kept all the same). */
  outputError?: string;
}

/** The stored answers of one run's session, each with where its command comes from. */
export interface GuestOutputDocument {
  benchmarkId: string;
  runIndex: number;
  instanceId: string;
  family: GuestFamily;
  loginUser: string;
  hostKeySha256?: string;
  error?: ErrorInfo;
  commands: (GuestCommandOutput & Pick<GuestCommand, "source" | "whenAbsent">)[];
}

/** A span in seconds after the run's observed running (negative: before it was seen). */
export type GuestSpan = [start: number, end: number];

/**
 * Where the guest's milestones fall inside a run's observed running-to-open span (`total`, seconds).
 * The guest's durations count from its kernel's start on its own clock, which no observer timestamp
 * shares, so one anchor places them: sshd ready at the port's first SYN/ACK (the probe sees the
 * listening socket within a probe interval and a round trip). The kernel's start then falls `sshdReady`
 * before open, which may be before running was seen (EC2 reports running once the VM is going). The
 * one rule for placing them: the report draws these spans, and says so in its legend.
 */
export interface GuestBootSpans {
  /**
   * The coarsest resolution of the milestones the spans come from (ms; 1 for systemd's and the
   * journal's microseconds, 1000 for FreeBSD's `ps lstart`): the spans' edges are that uncertain.
   */
  resolutionMs: number;
  /** The kernel, from its start until init (PID 1) started. */
  kernel?: GuestSpan;
  /** Userland until sshd listened. */
  userland?: GuestSpan;
  /** Kernel and userland together, when the guest did not say when userland started. */
  kernelAndUserland?: GuestSpan;
}

export function guestBootSpans(total: number, milestones: GuestMilestones): GuestBootSpans | undefined {
  const sshd = milestones.sshdReadyMs;
  if (sshd === undefined) return undefined;
  const kernelAt = total - sshd / 1000;
  const userland = milestones.userlandStartedMs;
  if (userland === undefined || userland > sshd) {
    return { resolutionMs: resolutionOf(milestones, ["sshdReadyMs"]), kernelAndUserland: [kernelAt, total] };
  }
  const userlandAt = kernelAt + userland / 1000;
  return {
    resolutionMs: resolutionOf(milestones, ["sshdReadyMs", "userlandStartedMs"]),
    kernel: [kernelAt, userlandAt],
    userland: [userlandAt, total],
  };
}

const COMMAND_RESOLUTION_MS = new Map(
  Object.values(GUEST_COMMANDS)
    .flat()
    .map((command) => [command.id, command.resolutionMs ?? 1]),
);

/** The coarsest resolution of the commands the milestones named came from. */
function resolutionOf(milestones: GuestMilestones, names: (keyof GuestMilestones["sources"])[]): number {
  return Math.max(
    1,
    ...names.map((name) => {
      const source = milestones.sources[name];
      return source === undefined ? 1 : (COMMAND_RESOLUTION_MS.get(source) ?? 1);
    }),
  );
}
