/**
 * The guest timings of one run (issue 12, point 3): once the probe has seen the port open and written
 * its end mark, it reads the benchmark's private key, logs in as the image's user, asks the family's
 * documented commands (functions/domain/guest-timings.ts) within GUEST_SESSION_BUDGET_MS, and stores
 * the answers gzip-compressed beside the run's console output. Nothing here can move the intervals,
 * which were measured before it began, and nothing fails the run: a key that cannot be read, a login
 * refused, a hung command or a store that fails is an answer, kept with the run.
 */
import { gzipSync } from "node:zlib";
import type { ProbePortEvent } from "../domain/contract.js";
import {
  GUEST_COMMANDS,
  GUEST_LOGIN_TIMEOUT_MS,
  GUEST_SESSION_BUDGET_MS,
  GUEST_STORE_TIMEOUT_MS,
  type GuestOutputDocument,
  type GuestTimings,
  guestFamilyOf,
  guestMilestones,
  loginUserOf,
} from "../domain/guest-timings.js";
import { type ErrorInfo, errorInfoOf, guestOutputKey } from "../domain/run-record.js";
import type { Clock } from "../shared/clock.js";
import type { collectGuestOutput } from "./guest-session.js";

export interface GuestTimingsDeps {
  clock: Clock;
  /**
   * The session's budget: GUEST_SESSION_BUDGET_MS, or less when the Lambda has less time left, so
   * that the probe's result always gets back. The whole collection is abandoned once the budget and
   * both store bounds have passed, whatever still hangs.
   */
  sessionBudgetMs?: number;
  /** The benchmark's private key (OpenSSH); undefined when its item holds none (retired, or never made). */
  readPrivateKey(): Promise<string | undefined>;
  /** The SSH session: collectGuestOutput, or a stand-in in tests. */
  session: typeof collectGuestOutput;
  /** Stores the gzip JSON answers under the key given. */
  store(key: string, gzipped: Uint8Array): Promise<void>;
}

type GuestTarget = Pick<
  ProbePortEvent,
  "benchmarkId" | "runIndex" | "instanceId" | "privateIp" | "port" | "image"
>;

/** Slack past the session's budget and the two store bounds before the collection is abandoned. */
const ABANDON_SLACK_MS = 1_000;
/** Less than this is no time for a login: the session is not tried. */
const MIN_SESSION_BUDGET_MS = 1_000;

export async function collectGuestTimings(event: GuestTarget, deps: GuestTimingsDeps): Promise<GuestTimings> {
  const startedAt = deps.clock();
  const budgetMs = Math.min(GUEST_SESSION_BUDGET_MS, deps.sessionBudgetMs ?? GUEST_SESSION_BUDGET_MS);
  const abandonAfterMs = Math.max(0, budgetMs) + 2 * GUEST_STORE_TIMEOUT_MS + ABANDON_SLACK_MS;
  let timer: NodeJS.Timeout | undefined;
  const abandoned = new Promise<GuestTimings>((resolve) => {
    timer = setTimeout(
      () =>
        resolve(
          failedTimings(event, startedAt, deps.clock(), {
            name: "BootBench.GuestTimingsAbandoned",
            message: `the guest timings were not done ${abandonAfterMs} ms after they began; abandoned so that the probe's result gets back`,
          }),
        ),
      abandonAfterMs,
    );
  });
  try {
    return await Promise.race([collect(event, deps, startedAt, budgetMs), abandoned]);
  } finally {
    clearTimeout(timer);
  }
}

function failedTimings(
  event: GuestTarget,
  startedAt: number,
  endedAt: number,
  error: ErrorInfo,
): GuestTimings {
  const family = guestFamilyOf(event.image);
  return {
    status: "failed",
    family,
    loginUser: loginUserOf(event.image),
    startedAt,
    endedAt,
    error,
    milestones: { sources: {} },
    answers: [],
    notAsked: GUEST_COMMANDS[family].map((command) => command.id),
  };
}

async function collect(
  event: GuestTarget,
  deps: GuestTimingsDeps,
  startedAt: number,
  budgetMs: number,
): Promise<GuestTimings> {
  const family = guestFamilyOf(event.image);
  const loginUser = loginUserOf(event.image);
  const commands = GUEST_COMMANDS[family];
  if (budgetMs < MIN_SESSION_BUDGET_MS) {
    return failedTimings(event, startedAt, deps.clock(), {
      name: "BootBench.GuestTimingsNoTime",
      message: `the probe's Lambda had no time left for a guest session (a budget of ${budgetMs} ms)`,
    });
  }
  const failed = (error: ErrorInfo): GuestTimings => failedTimings(event, startedAt, deps.clock(), error);

  let privateKey: string | undefined;
  try {
    privateKey = await deps.readPrivateKey();
  } catch (error) {
    return failed(errorInfoOf(error));
  }
  if (privateKey === undefined) {
    return failed({
      name: "BootBench.GuestKeyMissing",
      message: `the guest key item of benchmark ${event.benchmarkId} holds no private key (retired or never made)`,
    });
  }

  const session = await deps.session(
    { host: event.privateIp, port: event.port, username: loginUser, privateKey },
    commands,
    { readyTimeoutMs: GUEST_LOGIN_TIMEOUT_MS, budgetMs, clock: deps.clock },
  );
  const byId = new Map(commands.map((command) => [command.id, command]));
  const document: GuestOutputDocument = {
    benchmarkId: event.benchmarkId,
    runIndex: event.runIndex,
    instanceId: event.instanceId,
    family,
    loginUser,
    ...(session.hostKeySha256 !== undefined && { hostKeySha256: session.hostKeySha256 }),
    ...(session.status === "failed" && { error: session.error }),
    commands: session.outputs.map((output) => {
      const command = byId.get(output.id);
      return { ...output, source: command?.source ?? "", whenAbsent: command?.whenAbsent ?? "" };
    }),
  };
  const stored = await storeDocument(event, document, deps);
  return {
    status: session.status,
    family,
    loginUser,
    startedAt,
    endedAt: deps.clock(),
    ...(session.status === "failed" && { error: session.error }),
    ...(session.hostKeySha256 !== undefined && { hostKeySha256: session.hostKeySha256 }),
    milestones: guestMilestones(family, session.outputs),
    answers: session.outputs.map(({ id, exitCode, truncated, timedOut, asked }) => ({
      id,
      ...(exitCode !== undefined && { exitCode }),
      ...(truncated && { truncated }),
      ...(timedOut && { timedOut }),
      ...(asked !== undefined && { asked }),
    })),
    ...(session.notAsked.length > 0 && { notAsked: session.notAsked }),
    ...stored,
  };
}

async function storeDocument(
  event: Pick<ProbePortEvent, "benchmarkId" | "runIndex">,
  document: GuestOutputDocument,
  deps: GuestTimingsDeps,
): Promise<Pick<GuestTimings, "output" | "outputError">> {
  if (document.commands.length === 0) return {};
  const text = Buffer.from(JSON.stringify(document, null, 2), "utf8");
  const gzipped = gzipSync(text);
  const key = guestOutputKey(event.benchmarkId, event.runIndex);
  try {
    await deps.store(key, gzipped);
    return { output: { key, bytes: text.length, storedBytes: gzipped.length } };
  } catch (error) {
    const { name, message } = errorInfoOf(error);
    return { outputError: `${name}: ${message}` };
  }
}
