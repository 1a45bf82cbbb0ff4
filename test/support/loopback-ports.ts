/**
 * Helpers for tests that use emulated ports on loopback. Other test files (in other processes) use
 * 127.0.1.x too, so ports are picked at random and a port that is taken is simply skipped.
 */
import net from "node:net";
import { createEmulatedPort, type EmulatedPort } from "../../local-cloud/emulated-port.js";

const randomPort = (): number => 20_000 + Math.floor(Math.random() * 30_000);

const inUse = (error: unknown): boolean => /already in use/.test((error as Error).message);

/** An emulated port (phase refusing) on `host`, on some free port number. */
export async function openEmulatedPort(host: string): Promise<EmulatedPort> {
  for (let i = 0; ; i++) {
    try {
      return await createEmulatedPort(host, randomPort());
    } catch (error) {
      if (!inUse(error) || i >= 20) throw error;
    }
  }
}

/** Emulated ports on each of `hosts`, all on the same port number (like instances' SSH ports). */
export async function openEmulatedPorts(hosts: readonly string[]): Promise<EmulatedPort[]> {
  for (let i = 0; ; i++) {
    const port = randomPort();
    const opened = await Promise.allSettled(hosts.map((host) => createEmulatedPort(host, port)));
    const ports = opened.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
    const failure = opened.find((result) => result.status === "rejected");
    if (failure === undefined) return ports;
    await Promise.all(ports.map((p) => p.close()));
    if (!inUse(failure.reason) || i >= 20) throw failure.reason;
  }
}

export type ClientView =
  | { kind: "connect"; banner: string }
  | { kind: "error"; code: string }
  | { kind: "no answer" };

/** What one client connect() sees within `ms`: connection (with what the server sent), error, or nothing. */
export function observe(host: string, port: number, ms: number): Promise<ClientView> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let connected = false;
    let received = "";
    const done = (view: ClientView): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(view);
    };
    const timer = setTimeout(
      () => done(connected ? { kind: "connect", banner: received } : { kind: "no answer" }),
      ms,
    );
    socket.on("connect", () => {
      connected = true;
    });
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    socket.on("end", () => done({ kind: "connect", banner: received }));
    socket.on("error", (error: NodeJS.ErrnoException) =>
      done(connected ? { kind: "connect", banner: received } : { kind: "error", code: error.code ?? "?" }),
    );
  });
}

/** The loop's TCP handles: what a leak would leave behind. */
export const tcpHandles = (): string[] =>
  process.getActiveResourcesInfo().filter((type) => type.startsWith("TCP") || type === "ConnectWrap");

/** Lets pending handle closes complete. */
export const settleHandles = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));
