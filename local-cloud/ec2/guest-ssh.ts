/**
 * The SSH server of an emulated instance launched with a key pair (issue 12, point 5): the `ssh2`
 * package's server side, fed the sockets the instance's open port accepts. It lets in the image's login
 * user with the instance's key pair only, and answers the documented guest-timing commands
 * (functions/domain/guest-timings.ts) from the instance's ground truth, as its console shows it
 * (console-output.ts): the kernel starts when the instance is running (the console's kernel stamps
 * count from there), userland at the root mount, sshd when the port opened, the boot is finished at
 * the login prompt. Any other command is not found, as in a shell without it.
 */
import { timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";
// ssh2 is CommonJS whose exports Node's ESM loader cannot name: the default import is the module.
import ssh2, { type Connection, type ParsedKey } from "ssh2";

import {
  GUEST_COMMANDS,
  type GuestCommand,
  type GuestCommandId,
  type GuestFamily,
} from "../../functions/domain/guest-timings.js";
import { generateEd25519KeyPair } from "../../functions/shared/ssh-key.js";
import type { GuestFaults } from "../faults.js";

/** When the guest's boot reached each step, on the local cloud's clock (epoch ms); absent: not yet. */
export interface GuestBootTruth {
  kernelAt: number;
  userlandAt?: number;
  sshReadyAt?: number;
  bootFinishedAt?: number;
}

export interface GuestIdentity extends GuestFaults {
  family: GuestFamily;
  /** The image's login user (loginUserOf). */
  user: string;
  /** The key pair's public key, an OpenSSH line. */
  authorizedKey: string;
  hostname: string;
  /** Read at each command: the boot goes on while the session is open. */
  truth(): GuestBootTruth;
  now(): number;
  /** A fault: the key never reached authorized_keys, so every login is refused. */
  refusesLogins?: true;
}

export interface ShellAnswer {
  stdout: string;
  stderr?: string;
  exitCode: number;
}

const seconds = (ms: number, digits: number): string => (ms / 1000).toFixed(digits);

/** systemd's span format: `1.234s`, `1min 2.345s`. */
function systemdSpan(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const rest = `${seconds(ms - minutes * 60_000, 3)}s`;
  return minutes > 0 ? `${minutes}min ${rest}` : rest;
}

const lstart = (at: number): string => {
  const d = new Date(Math.floor(at / 1000) * 1000);
  const [weekday, month, day, time, year] = [
    d.toLocaleString("en-US", { weekday: "short", timeZone: "UTC" }),
    d.toLocaleString("en-US", { month: "short", timeZone: "UTC" }),
    String(d.getUTCDate()).padStart(2, " "),
    d.toISOString().slice(11, 19),
    d.getUTCFullYear(),
  ];
  return `${weekday} ${month} ${day} ${time} ${year}`;
};

type Answerer = (guest: GuestIdentity, truth: GuestBootTruth, now: number) => ShellAnswer;

const NOT_FINISHED: ShellAnswer = {
  stdout: "",
  stderr:
    "Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).\n" +
    "Please try again later.\nHint: Use 'systemctl list-jobs' to see active jobs\n",
  exitCode: 1,
};

/** What the local guest answers to each documented command, from the ground truth. */
const ANSWERS: Record<GuestCommandId, Answerer> = {
  systemdAnalyzeTime: (_guest, truth) => {
    const { kernelAt, userlandAt, bootFinishedAt } = truth;
    if (userlandAt === undefined || bootFinishedAt === undefined) return NOT_FINISHED;
    const kernel = userlandAt - kernelAt;
    const userspace = bootFinishedAt - userlandAt;
    return {
      stdout:
        `Startup finished in ${systemdSpan(kernel)} (kernel) + ${systemdSpan(userspace)} (userspace) = ` +
        `${systemdSpan(kernel + userspace)}\nmulti-user.target reached after ${systemdSpan(userspace)} in userspace.\n`,
      exitCode: 0,
    };
  },
  systemdCriticalChain: (_guest, truth) => {
    const { userlandAt, sshReadyAt, bootFinishedAt } = truth;
    if (userlandAt === undefined || bootFinishedAt === undefined || sshReadyAt === undefined)
      return NOT_FINISHED;
    const since = (at: number) => systemdSpan(at - userlandAt);
    return {
      stdout:
        'The time when unit became active or started is printed after the "@" character.\n' +
        'The time the unit took to start is printed after the "+" character.\n\n' +
        `multi-user.target @${since(bootFinishedAt)}\n` +
        `└─ssh.service @${since(sshReadyAt - 50)} +50ms\n` +
        `  └─network.target @${since(sshReadyAt - 60)}\n`,
      exitCode: 0,
    };
  },
  uptime: (_guest, truth, now) => ({
    stdout: `${seconds(now - truth.kernelAt, 2)} ${seconds((now - truth.kernelAt) * 1.9, 2)}\n${seconds(now, 9)}\n`,
    exitCode: 0,
  }),
  sshdJournal: (guest, truth) => {
    if (truth.sshReadyAt === undefined) return { stdout: "-- No entries --\n", exitCode: 0 };
    const stamp = (at: number) => `[${seconds(at - truth.kernelAt, 6).padStart(12, " ")}]`;
    return {
      stdout:
        `${stamp(truth.sshReadyAt - 40)} ${guest.hostname} systemd[1]: Starting ssh.service - OpenBSD Secure Shell server...\n` +
        `${stamp(truth.sshReadyAt)} ${guest.hostname} sshd[612]: Server listening on 0.0.0.0 port 22.\n` +
        `${stamp(truth.sshReadyAt)} ${guest.hostname} sshd[612]: Server listening on :: port 22.\n`,
      exitCode: 0,
    };
  },
  kernelLog: (_guest, truth) => ({
    stdout:
      `[    0.000000] Linux version (boot-bench local guest)\n` +
      (truth.userlandAt === undefined
        ? ""
        : `[${seconds(truth.userlandAt - truth.kernelAt, 6).padStart(12, " ")}] Run /sbin/init as init process\n`),
    exitCode: 0,
  }),
  bootTime: (_guest, truth) => {
    const sec = Math.floor(truth.kernelAt / 1000);
    const usec = Math.round((truth.kernelAt - sec * 1000) * 1000);
    return { stdout: `{ sec = ${sec}, usec = ${usec} } ${lstart(truth.kernelAt)}\n`, exitCode: 0 };
  },
  // FreeBSD's default: boottrace compiled in, disabled (kern.boottrace.enabled=0), so no log.
  boottraceLog: () => ({ stdout: "\n", exitCode: 0 }),
  tslog: () => ({ stdout: "sysctl: unknown oid 'debug.tslog_user'\n", exitCode: 1 }),
  sshdStart: (_guest, truth) =>
    truth.sshReadyAt === undefined
      ? { stdout: "", stderr: "cat: /var/run/sshd.pid: No such file or directory\n", exitCode: 1 }
      : { stdout: `${lstart(truth.sshReadyAt)}\n`, exitCode: 0 },
};

/** The documented command a command line is, for the guest's family; undefined: not one of them. */
const documentedCommand = (guest: GuestIdentity, line: string): GuestCommand | undefined =>
  GUEST_COMMANDS[guest.family].find((c) => c.command === line);

/** The guest's answer to one command line: a documented one of its family, or not found. */
function guestShellAnswer(guest: GuestIdentity, line: string, asked: GuestCommand | undefined): ShellAnswer {
  if (asked === undefined) {
    const name = line.split(/\s/, 1)[0] ?? line;
    return { stdout: "", stderr: `sh: ${name}: not found\n`, exitCode: 127 };
  }
  return ANSWERS[asked.id](guest, guest.truth(), guest.now());
}

/** The local cloud's host key, one for all its guests (their fingerprints are not what is measured). */
let hostKey: string | undefined;
const localHostKey = (): string => {
  hostKey ??= generateEd25519KeyPair().privateKey;
  return hostKey;
};

function parsedPublicKey(line: string): ParsedKey {
  const parsed = ssh2.utils.parseKey(line);
  if (parsed instanceof Error) throw new Error(`The key pair's public key cannot be read: ${parsed.message}`);
  return Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
}

const sameBytes = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

/**
 * Serves one accepted connection as the guest's sshd: public-key authentication of `guest.user` with
 * `guest.authorizedKey` only, then `exec` requests answered by guestShellAnswer; no shell, no PTY.
 */
export function serveGuestSsh(socket: Socket, guest: GuestIdentity): void {
  const authorized = parsedPublicKey(guest.authorizedKey);
  const server = new ssh2.Server(
    { hostKeys: [localHostKey()], ident: "OpenSSH_9.9 boot-bench-local" },
    (client: Connection) => {
      client.on("error", () => client.end());
      client.on("authentication", (ctx) => {
        const offered =
          guest.refusesLogins !== true &&
          ctx.method === "publickey" &&
          ctx.username === guest.user &&
          ctx.key.algo === authorized.type &&
          sameBytes(ctx.key.data, authorized.getPublicSSH());
        if (!offered) {
          ctx.reject(["publickey"]);
          return;
        }
        // Without a signature the client only asks whether this key would do; with one it proves it.
        if (ctx.signature === undefined) {
          ctx.accept();
          return;
        }
        if (authorized.verify(ctx.blob as Buffer, ctx.signature, ctx.hashAlgo) === true) ctx.accept();
        else ctx.reject(["publickey"]);
      });
      client.on("ready", () => {
        client.on("session", (accept) => {
          const session = accept();
          session.on("exec", (acceptExec, _reject, info) => {
            const asked = documentedCommand(guest, info.command);
            const dark =
              asked !== undefined && guest.goesDark?.command === asked.id ? guest.goesDark : undefined;
            // The fault: the link goes dark, reads stopped and writes held back for good.
            const goDark = () => {
              socket.pause();
              socket.cork();
            };
            if (dark?.when === "asked") return goDark();
            const channel = acceptExec();
            if (dark?.when === "answering") return goDark();
            // The fault: the channel stays open and silent until the client gives up on it.
            if (asked !== undefined && guest.hangs?.includes(asked.id)) return;
            const answer = guestShellAnswer(guest, info.command, asked);
            if (answer.stdout !== "") channel.write(answer.stdout);
            if (answer.stderr !== undefined) channel.stderr.write(answer.stderr);
            channel.exit(answer.exitCode);
            channel.end();
          });
        });
      });
    },
  );
  server.injectSocket(socket);
}
