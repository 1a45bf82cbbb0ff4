/**
 * One SSH session to a booted instance (issue 12, point 3): log in with the benchmark's key and run the
 * family's documented commands (functions/domain/guest-timings.ts) one after the other, keeping each
 * answer as it came. The probe opens it only after the port is open, so nothing here can move the
 * intervals; a failure is an answer too (why there are no guest timings), never a failed run.
 *
 * The instance's host key is not known in advance (EC2 prints its fingerprints on the console, which
 * the run captures only later): any host key is accepted and its SHA-256 fingerprint kept with the
 * answers. The instance is reachable only from the probe's security group, and nothing secret is sent
 * to it: the client authenticates with a key pair made for this benchmark alone.
 */
import { createHash } from "node:crypto";
// ssh2 is CommonJS whose exports Node's ESM loader cannot name: the default import is the module.
import ssh2, { type Client, type ClientChannel } from "ssh2";
import { BootBenchError } from "../domain/errors.js";
import {
  GUEST_COMMAND_TIMEOUT_MS,
  GUEST_OUTPUT_LIMIT_BYTES,
  type GuestCommand,
  type GuestCommandId,
  type GuestCommandOutput,
} from "../domain/guest-timings.js";
import type { ErrorInfo } from "../domain/run-record.js";
import { type Clock, sleep as realSleep, type Sleep } from "../shared/clock.js";

export interface GuestLogin {
  host: string;
  port: number;
  username: string;
  /** OpenSSH or PEM private key. */
  privateKey: string;
}

export interface GuestSessionOptions {
  /** Until the SSH handshake and authentication are done. */
  readyTimeoutMs: number;
  /** Each command's bound. @default GUEST_COMMAND_TIMEOUT_MS */
  commandTimeoutMs?: number;
  /**
   * The whole session's bound from its start, login included: a command is not started after it, and
   * one still running then is abandoned. @default no bound but the commands' own
   */
  budgetMs?: number;
  /** What the budget and askAgainWhile are timed with. @default Date.now and a timer */
  clock?: Clock;
  sleep?: Sleep;
}

/**
 * After a command's bound its channel is closed; a guest that does not even answer the close (a frozen
 * sshd, a hung or dead guest) is given this long, then taken to have stopped answering.
 */
const CLOSE_GRACE_MS = 1_000;

interface SessionAnswers {
  outputs: GuestCommandOutput[];
  /** Commands not asked: the budget was spent, or the guest had stopped answering. */
  notAsked: GuestCommandId[];
}

export type GuestSession =
  | ({ status: "collected"; hostKeySha256: string } & SessionAnswers)
  | ({ status: "failed"; error: ErrorInfo; hostKeySha256?: string } & SessionAnswers);

function errorInfo(error: unknown): ErrorInfo {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  // ssh2 says where a failure happened in `level`: client-socket, client-timeout, client-authentication.
  const level = (error as { level?: unknown }).level;
  return { name: typeof level === "string" ? `SSH.${level}` : error.name, message: error.message };
}

/** Appends to a bounded buffer; true once something was dropped. */
function bounded() {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  return {
    add(chunk: Buffer) {
      const room = GUEST_OUTPUT_LIMIT_BYTES - size;
      if (chunk.length > room) truncated = true;
      const kept = chunk.subarray(0, Math.max(0, room));
      chunks.push(kept);
      size += kept.length;
    },
    text: () => Buffer.concat(chunks).toString("utf8"),
    get truncated() {
      return truncated;
    },
  };
}

/**
 * A command's answer, and whether the guest has stopped answering altogether: it never opened the
 * command's channel, or never answered its close. Nothing more is asked of such a guest.
 */
interface CommandAnswer {
  output: GuestCommandOutput;
  guestSilent: boolean;
}

function runOne(client: Client, command: GuestCommand, timeoutMs: number): Promise<CommandAnswer> {
  return new Promise((resolve, reject) => {
    const stdout = bounded();
    const stderr = bounded();
    let channel: ClientChannel | undefined;
    let timedOut = false;
    let grace: NodeJS.Timeout | undefined;
    const finish = (code: number | null | undefined, guestSilent: boolean) => {
      clearTimeout(timer);
      clearTimeout(grace);
      resolve({
        output: {
          id: command.id,
          command: command.command,
          ...(typeof code === "number" && !timedOut && { exitCode: code }),
          stdout: stdout.text(),
          stderr: stderr.text(),
          ...((stdout.truncated || stderr.truncated) && { truncated: true as const }),
          ...(timedOut && { timedOut: true as const }),
        },
        guestSilent,
      });
    };
    // From the request on: a guest that has stopped answering never opens the channel at all.
    const timer = setTimeout(() => {
      timedOut = true;
      if (channel === undefined) {
        finish(undefined, true);
        return;
      }
      channel.close();
      grace = setTimeout(() => finish(undefined, true), CLOSE_GRACE_MS);
    }, timeoutMs);
    client.exec(command.command, (error, opened: ClientChannel) => {
      if (timedOut) {
        // Opened after the command was given up: nothing more is read from it.
        opened?.close();
        return;
      }
      if (error) {
        clearTimeout(timer);
        reject(error);
        return;
      }
      channel = opened;
      opened.on("data", (chunk: Buffer) => stdout.add(chunk));
      opened.stderr.on("data", (chunk: Buffer) => stderr.add(chunk));
      opened.once("close", (code: number | null | undefined) => finish(code, false));
    });
  });
}

/**
 * Runs one command, and again while its answer says "not yet" (askAgainWhile) and time is left; the
 * last answer is kept, with how many times it was asked.
 */
async function ask(
  client: Client,
  command: GuestCommand,
  timeoutMs: number,
  time: { clock: Clock; sleep: Sleep; remainingMs: () => number },
): Promise<CommandAnswer> {
  const { clock, remainingMs } = time;
  const askedAt = clock();
  let answer = await runOne(client, command, Math.min(timeoutMs, remainingMs()));
  const again = command.askAgainWhile;
  if (again === undefined) return answer;
  let asked = 1;
  while (
    !answer.guestSilent &&
    again.pattern.test(`${answer.output.stdout}\n${answer.output.stderr}`) &&
    clock() + again.everyMs - askedAt <= again.forMs &&
    remainingMs() > again.everyMs
  ) {
    await time.sleep(again.everyMs);
    answer = await runOne(client, command, Math.min(timeoutMs, remainingMs()));
    asked++;
  }
  return asked > 1 ? { ...answer, output: { ...answer.output, asked } } : answer;
}

/** Logs in, runs `commands` in order, logs out. Never throws: a failure is returned with what was had. */
export async function collectGuestOutput(
  login: GuestLogin,
  commands: readonly GuestCommand[],
  options: GuestSessionOptions,
): Promise<GuestSession> {
  const client = new ssh2.Client();
  const clock = options.clock ?? Date.now;
  const startedAt = clock();
  const remainingMs = () =>
    options.budgetMs === undefined ? Number.POSITIVE_INFINITY : startedAt + options.budgetMs - clock();
  const time = { clock, sleep: options.sleep ?? realSleep, remainingMs };
  let hostKeySha256: string | undefined;
  const outputs: GuestCommandOutput[] = [];
  const notAsked: GuestCommandId[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      client.once("ready", () => resolve());
      // Before ready, an error ends the attempt; after it, a command's exec fails with it instead.
      client.on("error", reject);
      client.connect({
        host: login.host,
        port: login.port,
        username: login.username,
        privateKey: login.privateKey,
        // At least 1 ms: ssh2 takes 0 for no bound at all.
        readyTimeout: Math.max(1, Math.min(options.readyTimeoutMs, remainingMs())),
        hostVerifier: (key: Buffer) => {
          hostKeySha256 = `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
          return true;
        },
      });
    });
    for (const command of commands) {
      if (remainingMs() <= 0) {
        notAsked.push(command.id);
        continue;
      }
      const answer = await ask(client, command, options.commandTimeoutMs ?? GUEST_COMMAND_TIMEOUT_MS, time);
      outputs.push(answer.output);
      // Ends the session like any failure: what was answered before is kept, the rest is not asked.
      if (answer.guestSilent) {
        throw new BootBenchError(
          "BootBench.GuestStoppedAnswering",
          `the guest stopped answering at ${command.id}: it did not open the command's channel, or did ` +
            `not answer its close within ${CLOSE_GRACE_MS} ms; nothing more was asked`,
        );
      }
    }
    return { status: "collected", hostKeySha256: hostKeySha256 ?? "", outputs, notAsked };
  } catch (error) {
    const asked = new Set(outputs.map((output) => output.id));
    return {
      status: "failed",
      error: errorInfo(error),
      ...(hostKeySha256 !== undefined && { hostKeySha256 }),
      outputs,
      notAsked: commands.map((command) => command.id).filter((id) => !asked.has(id)),
    };
  } finally {
    client.end();
  }
}
