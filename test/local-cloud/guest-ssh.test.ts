/**
 * The guest side of guest timings, both ends for real on loopback: the probe's SSH session
 * (functions/probe-port/guest-session.ts, the ssh2 client) against the local guest's sshd
 * (local-cloud/ec2/guest-ssh.ts, the ssh2 server), and the milestones the answers give against the
 * ground truth the guest answered from.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUEST_COMMANDS, guestMilestones } from "../../functions/domain/guest-timings.js";
import { collectGuestOutput } from "../../functions/probe-port/guest-session.js";
import { generateEd25519KeyPair } from "../../functions/shared/ssh-key.js";
import { type GuestIdentity, serveGuestSsh } from "../../local-cloud/ec2/guest-ssh.js";

const keys = generateEd25519KeyPair();
const otherKeys = generateEd25519KeyPair();
const KERNEL_AT = Date.UTC(2026, 11, 4, 8, 0, 0, 250);
const truth = {
  kernelAt: KERNEL_AT,
  userlandAt: KERNEL_AT + 1_234.5,
  sshReadyAt: KERNEL_AT + 4_512.25,
  bootFinishedAt: KERNEL_AT + 6_000,
};

let guest: GuestIdentity;
let server: net.Server;
let port: number;
/** A guest gone dark never closes its end: the test closes it, as terminating the instance would. */
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveGuestSsh(socket, guest);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(
  () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
);

const linuxGuest = (overrides: Partial<GuestIdentity> = {}): GuestIdentity => ({
  family: "linux",
  user: "admin",
  authorizedKey: keys.publicKey,
  hostname: "ip-172-31-1-2",
  truth: () => truth,
  now: () => KERNEL_AT + 9_000,
  ...overrides,
});

const login = (username = "admin", privateKey = keys.privateKey) => ({
  host: "127.0.0.1",
  port,
  username,
  privateKey,
});

describe("a guest timing session against the local guest's sshd", () => {
  it("logs in with the key pair and reads a Linux guest's milestones as the truth has them", async () => {
    guest = linuxGuest();
    const session = await collectGuestOutput(login(), GUEST_COMMANDS.linux, { readyTimeoutMs: 5_000 });
    expect(session.status).toBe("collected");
    expect(session.hostKeySha256).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(session.outputs.map((o) => [o.id, o.exitCode])).toEqual(
      GUEST_COMMANDS.linux.map((c) => [c.id, 0]),
    );
    const milestones = guestMilestones("linux", session.outputs);
    expect(milestones.kernelStartedAt).toBe(KERNEL_AT);
    // systemd gives milliseconds, the journal microseconds.
    expect(Math.abs((milestones.userlandStartedMs ?? 0) - 1_234.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs((milestones.bootFinishedMs ?? 0) - 6_000)).toBeLessThanOrEqual(0.5);
    expect(milestones.sshdReadyMs).toBe(4_512.25);
  });

  it("reads a stock FreeBSD guest's kernel start and sshd's start (to the second)", async () => {
    guest = linuxGuest({ family: "freebsd", user: "ec2-user" });
    const session = await collectGuestOutput(login("ec2-user"), GUEST_COMMANDS.freebsd, {
      readyTimeoutMs: 5_000,
    });
    expect(session.status).toBe("collected");
    const byId = Object.fromEntries(session.outputs.map((o) => [o.id, o]));
    expect(byId.tslog).toMatchObject({ exitCode: 1, stdout: expect.stringContaining("unknown oid") });
    const milestones = guestMilestones("freebsd", session.outputs);
    expect(milestones.kernelStartedAt).toBe(KERNEL_AT);
    // ps lstart has whole seconds: 08:00:04 for an sshd that started at 08:00:04.762.
    expect(milestones.sshdReadyMs).toBe(Math.floor((KERNEL_AT + 4_512.25) / 1000) * 1000 - KERNEL_AT);
    expect(Math.abs((milestones.sshdReadyMs ?? 0) - 4_512.25)).toBeLessThan(1000);
  });

  /** A clock the session's sleeps move on, and a boot that finishes when the clock says so. */
  const bootGoingOn = (finishesAfterMs: number) => {
    let now = KERNEL_AT + 5_000;
    const startedAt = now;
    guest = linuxGuest({
      now: () => now,
      truth: () => ({
        kernelAt: KERNEL_AT,
        userlandAt: KERNEL_AT + 1_234.5,
        sshReadyAt: KERNEL_AT + 4_512.25,
        ...(now - startedAt >= finishesAfterMs && { bootFinishedAt: KERNEL_AT + 6_000 }),
      }),
    });
    return {
      clock: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
    };
  };

  it("asks systemd again each second while 'Bootup is not yet finished', and keeps the answer once it is", async () => {
    const time = bootGoingOn(2_500);
    const session = await collectGuestOutput(login(), GUEST_COMMANDS.linux, {
      readyTimeoutMs: 5_000,
      ...time,
    });
    // Asked at +0, +1 and +2 s (not finished), then at +3 s: finished.
    expect(session.outputs.find((o) => o.id === "systemdAnalyzeTime")).toMatchObject({
      exitCode: 0,
      asked: 4,
    });
    // Asked once: by then the boot had finished.
    expect(session.outputs.find((o) => o.id === "systemdCriticalChain")).toMatchObject({ exitCode: 0 });
    expect(session.outputs.find((o) => o.id === "systemdCriticalChain")).not.toHaveProperty("asked");
    const milestones = guestMilestones("linux", session.outputs);
    expect(Math.abs((milestones.bootFinishedMs ?? 0) - 6_000)).toBeLessThanOrEqual(0.5);
  });

  it("gives up asking after 10 s of 'Bootup is not yet finished', and takes no milestone from it", async () => {
    const time = bootGoingOn(Number.POSITIVE_INFINITY);
    const session = await collectGuestOutput(login(), GUEST_COMMANDS.linux, {
      readyTimeoutMs: 5_000,
      ...time,
    });
    const systemdTime = session.outputs.find((o) => o.id === "systemdAnalyzeTime");
    // At +0 … +10 s: eleven asks, every one of them "not yet".
    expect(systemdTime).toMatchObject({
      exitCode: 1,
      asked: 11,
      stderr: expect.stringContaining("Bootup is not yet finished"),
    });
    const milestones = guestMilestones("linux", session.outputs);
    expect(milestones.userlandStartedMs).toBeUndefined();
    expect(milestones.bootFinishedMs).toBeUndefined();
    expect(milestones.sshdReadyMs).toBe(4_512.25);
  });

  it("starts no command once the session's budget is spent, and abandons the one that outlasts it", async () => {
    guest = linuxGuest({ hangs: ["systemdAnalyzeTime"] });
    const started = performance.now();
    const session = await collectGuestOutput(login(), GUEST_COMMANDS.linux, {
      readyTimeoutMs: 5_000,
      budgetMs: 1_500,
    });
    expect(performance.now() - started).toBeLessThan(3_500);
    expect(session.status).toBe("collected");
    expect(session.outputs.map((o) => [o.id, o.timedOut])).toEqual([["systemdAnalyzeTime", true]]);
    expect(session.notAsked).toEqual(GUEST_COMMANDS.linux.slice(1).map((c) => c.id));
  });

  it("refuses another user and another key, and says so instead of failing", async () => {
    guest = linuxGuest();
    for (const attempt of [login("root"), login("admin", otherKeys.privateKey)]) {
      const session = await collectGuestOutput(attempt, GUEST_COMMANDS.linux, { readyTimeoutMs: 5_000 });
      expect(session).toMatchObject({
        status: "failed",
        error: { name: "SSH.client-authentication" },
        outputs: [],
      });
    }
  });

  it("abandons a command that never answers after its bound, and goes on with the next", async () => {
    guest = linuxGuest({ hangs: ["sshdJournal"] });
    const started = performance.now();
    const session = await collectGuestOutput(login(), GUEST_COMMANDS.linux, {
      readyTimeoutMs: 5_000,
      commandTimeoutMs: 300,
    });
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(session.status).toBe("collected");
    const journal = session.outputs.find((o) => o.id === "sshdJournal");
    expect(journal).toMatchObject({ timedOut: true });
    expect(journal).not.toHaveProperty("exitCode");
    expect(session.outputs.at(-1)).toMatchObject({ id: "kernelLog", exitCode: 0 });
    expect(guestMilestones("linux", session.outputs).sshdReadyMs).toBeUndefined();
  });

  for (const when of ["asked", "answering"] as const) {
    it(`stops asking a guest that goes dark (${when === "asked" ? "its channel never opened" : "its close never answered"}), and keeps what it had`, async () => {
      guest = linuxGuest({ goesDark: { command: "uptime", when } });
      const started = performance.now();
      const session = await collectGuestOutput(login(), GUEST_COMMANDS.linux, {
        readyTimeoutMs: 5_000,
        commandTimeoutMs: 300,
        budgetMs: 30_000,
      });
      // One command's bound, and for an open channel the 1 s given to its close: not the budget.
      expect(performance.now() - started).toBeLessThan(when === "asked" ? 1_500 : 2_500);
      expect(session).toMatchObject({
        status: "failed",
        error: { name: "BootBench.GuestStoppedAnswering", message: expect.stringContaining("at uptime") },
        notAsked: ["sshdJournal", "kernelLog"],
      });
      expect(session.outputs.map((o) => [o.id, o.exitCode, o.timedOut])).toEqual([
        ["systemdAnalyzeTime", 0, undefined],
        ["systemdCriticalChain", 0, undefined],
        ["uptime", undefined, true],
      ]);
      expect(guestMilestones("linux", session.outputs).userlandStartedMs).toBeDefined();
    });
  }

  it("answers a command outside the documented list as not found", async () => {
    guest = linuxGuest();
    const session = await collectGuestOutput(
      login(),
      [{ id: "uptime", command: "cat /etc/shadow", source: "a test", whenAbsent: "always" }],
      { readyTimeoutMs: 5_000 },
    );
    expect(session.outputs[0]).toMatchObject({ exitCode: 127, stderr: "sh: cat: not found\n" });
  });

  it("fails within its bound when nothing speaks SSH on the port", async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const started = performance.now();
      const session = await collectGuestOutput(
        { ...login(), port: (silent.address() as net.AddressInfo).port },
        GUEST_COMMANDS.linux,
        { readyTimeoutMs: 400 },
      );
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(session).toMatchObject({ status: "failed", error: { name: "SSH.client-timeout" } });
    } finally {
      silent.close();
    }
  });
});
