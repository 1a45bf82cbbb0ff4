/**
 * collectGuestTimings (functions/probe-port/guest-timings.ts) with its collaborators stood in: the key's
 * read, the SSH session and the store. What it returns is what the run record keeps; nothing it meets
 * (a missing key, a failed read, a failed store, a session that never ends, no time left) is thrown.
 */
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ResolvedImage } from "../../functions/domain/contract.js";
import {
  GUEST_COMMANDS,
  GUEST_LOGIN_TIMEOUT_MS,
  GUEST_SESSION_BUDGET_MS,
  GUEST_TIMINGS_MAX_SECONDS,
  type GuestCommandOutput,
  type GuestOutputDocument,
} from "../../functions/domain/guest-timings.js";
import type { GuestSession } from "../../functions/probe-port/guest-session.js";
import { collectGuestTimings, type GuestTimingsDeps } from "../../functions/probe-port/guest-timings.js";

const debian: ResolvedImage = {
  amiId: "ami-0123456789abcdef0",
  name: "debian-13-amd64-20261201",
  architecture: "x86_64",
};
const target = {
  benchmarkId: "bench-1",
  runIndex: 3,
  instanceId: "i-0123456789abcdef0",
  privateIp: "10.0.1.23",
  port: 22,
  image: debian,
};

const answered = (id: GuestCommandOutput["id"], stdout: string): GuestCommandOutput => ({
  id,
  command: GUEST_COMMANDS.linux.find((c) => c.id === id)?.command ?? id,
  exitCode: 0,
  stdout,
  stderr: "",
});
const OUTPUTS = [
  {
    ...answered("systemdAnalyzeTime", "Startup finished in 1.234s (kernel) + 2.345s (userspace) = 3.579s\n"),
    asked: 2,
  },
  answered("uptime", "12.34 20.01\n1764835212.345678901\n"),
  answered("sshdJournal", "[    4.512345] h sshd[612]: Server listening on 0.0.0.0 port 22.\n"),
];
const collected: GuestSession = {
  status: "collected",
  hostKeySha256: "SHA256:abc",
  outputs: OUTPUTS,
  notAsked: ["kernelLog"],
};

function deps(overrides: Partial<GuestTimingsDeps> = {}) {
  let now = 1_764_835_300_000;
  const stored: { key: string; gzipped: Uint8Array }[] = [];
  const session = vi.fn<GuestTimingsDeps["session"]>(async () => collected);
  const all: GuestTimingsDeps = {
    clock: () => (now += 10),
    readPrivateKey: async () => "-----BEGIN OPENSSH PRIVATE KEY-----\n…",
    session,
    store: async (key, gzipped) => {
      stored.push({ key, gzipped });
    },
    ...overrides,
  };
  return { deps: all, stored, session };
}

afterEach(() => vi.useRealTimers());

describe("collectGuestTimings", () => {
  it("logs in as the image's user within the session's budget, keeps the milestones and stores every answer with its source", async () => {
    const { deps: d, stored, session } = deps();
    const guest = await collectGuestTimings(target, d);
    expect(session).toHaveBeenCalledTimes(1);
    const [login, commands, options] = session.mock.calls[0] ?? [];
    expect(login).toEqual({ host: "10.0.1.23", port: 22, username: "admin", privateKey: expect.any(String) });
    expect(commands).toBe(GUEST_COMMANDS.linux);
    expect(options).toMatchObject({
      readyTimeoutMs: GUEST_LOGIN_TIMEOUT_MS,
      budgetMs: GUEST_SESSION_BUDGET_MS,
    });

    expect(stored.map((s) => s.key)).toEqual(["guest/bench-1/run-0003.json.gz"]);
    const text = gunzipSync(stored[0]?.gzipped ?? new Uint8Array());
    const document = JSON.parse(text.toString("utf8")) as GuestOutputDocument;
    expect(document).toMatchObject({
      benchmarkId: "bench-1",
      runIndex: 3,
      family: "linux",
      loginUser: "admin",
    });
    expect(document.commands.map((c) => [c.id, c.source.length > 0, c.stdout])).toEqual(
      OUTPUTS.map((o) => [o.id, true, o.stdout]),
    );

    expect(guest).toEqual({
      status: "collected",
      family: "linux",
      loginUser: "admin",
      startedAt: expect.any(Number),
      endedAt: expect.any(Number),
      hostKeySha256: "SHA256:abc",
      milestones: expect.objectContaining({
        kernelStartedAt: 1_764_835_200_006,
        userlandStartedMs: 1234,
        sshdReadyMs: 4512.345,
      }),
      answers: [
        { id: "systemdAnalyzeTime", exitCode: 0, asked: 2 },
        { id: "uptime", exitCode: 0 },
        { id: "sshdJournal", exitCode: 0 },
      ],
      notAsked: ["kernelLog"],
      output: {
        key: "guest/bench-1/run-0003.json.gz",
        bytes: text.length,
        storedBytes: stored[0]?.gzipped.length,
      },
    });
    expect(guest.endedAt).toBeGreaterThan(guest.startedAt);
  });

  it("says the key is missing, and logs in to nothing, when the item holds no private key", async () => {
    const { deps: d, session, stored } = deps({ readPrivateKey: async () => undefined });
    const guest = await collectGuestTimings(target, d);
    expect(guest).toMatchObject({
      status: "failed",
      error: { name: "BootBench.GuestKeyMissing" },
      notAsked: GUEST_COMMANDS.linux.map((c) => c.id),
    });
    expect(session).not.toHaveBeenCalled();
    expect(stored).toEqual([]);
  });

  it("keeps a failed read of the key as the reason, never throws it", async () => {
    const denied = Object.assign(new Error("not authorized to perform dynamodb:GetItem"), {
      name: "AccessDeniedException",
    });
    const { deps: d } = deps({ readPrivateKey: () => Promise.reject(denied) });
    await expect(collectGuestTimings(target, d)).resolves.toMatchObject({
      status: "failed",
      error: { name: "AccessDeniedException", message: "not authorized to perform dynamodb:GetItem" },
    });
  });

  it("keeps the milestones when the answers cannot be stored, and says why", async () => {
    const { deps: d } = deps({
      store: () => Promise.reject(Object.assign(new Error("Access Denied"), { name: "AccessDenied" })),
    });
    const guest = await collectGuestTimings(target, d);
    expect(guest.status).toBe("collected");
    expect(guest.milestones.sshdReadyMs).toBe(4512.345);
    expect(guest.outputError).toBe("AccessDenied: Access Denied");
    expect(guest).not.toHaveProperty("output");
  });

  it("keeps a refused login with what it says, and stores nothing when nothing was answered", async () => {
    const refused: GuestSession = {
      status: "failed",
      error: { name: "SSH.client-authentication", message: "All configured authentication methods failed" },
      hostKeySha256: "SHA256:abc",
      outputs: [],
      notAsked: GUEST_COMMANDS.linux.map((c) => c.id),
    };
    const { deps: d, stored } = deps({ session: async () => refused });
    const guest = await collectGuestTimings(target, d);
    expect(guest).toMatchObject({
      status: "failed",
      error: refused.error,
      answers: [],
      hostKeySha256: "SHA256:abc",
    });
    expect(stored).toEqual([]);
  });

  it("gives the session only the time the Lambda has left, and tries none with less than a second", async () => {
    const { deps: d, session } = deps({ sessionBudgetMs: 12_345 });
    await collectGuestTimings(target, d);
    expect(session.mock.calls[0]?.[2]).toMatchObject({ budgetMs: 12_345 });

    const { deps: none, session: notTried } = deps({ sessionBudgetMs: 400 });
    await expect(collectGuestTimings(target, none)).resolves.toMatchObject({
      status: "failed",
      error: { name: "BootBench.GuestTimingsNoTime" },
    });
    expect(notTried).not.toHaveBeenCalled();
  });

  it("abandons a collection that hangs past its bound, so that the probe's result still gets back", async () => {
    vi.useFakeTimers();
    const { deps: d } = deps({ session: () => new Promise<GuestSession>(() => {}) });
    let settled: unknown;
    void collectGuestTimings(target, d).then((guest) => {
      settled = guest;
    });
    // The session's 40 s, both store bounds and a second of slack: GUEST_TIMINGS_MAX_SECONDS.
    await vi.advanceTimersByTimeAsync(GUEST_TIMINGS_MAX_SECONDS * 1000 - 1_001);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1_001);
    expect(settled).toMatchObject({ status: "failed", error: { name: "BootBench.GuestTimingsAbandoned" } });
  });
});
