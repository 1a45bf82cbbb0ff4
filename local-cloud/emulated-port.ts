/**
 * A TCP port on a loopback address that shows the three phases a booting instance's SSH port goes
 * through, for real, to a real connect():
 *
 * - silent: SYNs go unanswered. A listening socket whose accept queue is full drops incoming SYNs
 *   (Linux tcp_conn_request: `sk_acceptq_is_full` → drop, syncookies or not), so the port is a listener
 *   with a tiny backlog whose queue is filled by our own "filler" connections and never drained. Node's
 *   net.Server accepts whenever its event loop runs, so these listeners live in one shared worker thread
 *   whose event loop never runs: it blocks in `Atomics.wait` on a SharedArrayBuffer command channel and
 *   runs commands synchronously (see WORKER_SOURCE).
 * - refusing: nothing is bound; the kernel answers SYNs with RST.
 * - accepting: a net.Server on the main thread accepts, sends an SSH banner and closes.
 *
 * silent → accepting does not close the silent listener: the main thread adopts its file descriptor
 * (`server.listen({ fd })`, which also raises the backlog), so the port is never unbound in between and
 * a probe can never see an RST on that path (an image whose network comes up with sshd already
 * listening goes from no answer straight to open). The other way round, accepting → silent closes the
 * accepting server before the worker binds again, so a connect() in that sub-millisecond gap can see an
 * RST; no boot goes that way.
 *
 * Loopback only (127.0.0.0/8): filler connections go to the port's own address. Linux only (the
 * silent phase relies on Linux's listen-queue overflow behaviour).
 *
 * Nothing here keeps the process alive: the worker, the servers and all sockets are unref'd. close()
 * releases everything a port holds; the worker then idles (blocked, no CPU) for the next port.
 */
import { readFile } from "node:fs/promises";
import net from "node:net";
import { constants } from "node:os";
import { Worker } from "node:worker_threads";

export type PortPhase = "silent" | "refusing" | "accepting";

/** Takes over an accepted connection (it is unref'd and its errors ignored already). */
export type ConnectionServer = (socket: net.Socket) => void;

export interface EmulatedPort {
  readonly host: string;
  readonly port: number;
  readonly phase: PortPhase;
  /** SYNs go unanswered, as for an instance whose network is not up. */
  silent(): Promise<void>;
  /** SYNs answered by RST: nothing listens. */
  refuse(): Promise<void>;
  /**
   * Connections accepted: each is handed to `serve` (the guest's sshd, for an instance with a key
   * pair), or without it sent an SSH banner "SSH-2.0-OpenSSH_9.9 boot-bench-local\r\n" and closed.
   */
  accept(serve?: ConnectionServer): Promise<void>;
  /** Releases everything (idempotent). */
  close(): Promise<void>;
}

const SSH_BANNER = "SSH-2.0-OpenSSH_9.9 boot-bench-local\r\n";

/**
 * Backlog of a silent listener. Node turns a backlog of 0 into 511, so 1 is the smallest; Linux then
 * queues two connections (full means queued > backlog).
 */
const SILENT_BACKLOG = 1;
/** Enough fillers for any small backlog; more means the kernel is not dropping SYNs as expected. */
const MAX_FILLERS = 16;
/** A loopback handshake completes within the connect() call itself; a filler whose 'connect' has not
 * arrived after this long was (most likely) dropped; the kernel then confirms it. */
const FILLER_SETTLE_MS = 5;
const { ENOTCONN } = constants.errno;
/** Accepted connections that the client leaves open are dropped after this long. */
const CONNECTION_IDLE_MS = 10_000;
/**
 * A guest's sshd keeps a quiet session open (OpenSSH's ClientAliveInterval is off by default): one waiting
 * on a silent command is not dropped at CONNECTION_IDLE_MS, only after LoginGraceTime's 120 s.
 */
const SERVED_CONNECTION_IDLE_MS = 120_000;
/** How long a command to the silent-listener worker may take, worker start-up included. */
const WORKER_REPLY_TIMEOUT_MS = 15_000;

// ---- the silent-listener worker ------------------------------------------------------------------

/** Command channel layout (Int32 slots, then UTF-8 text from byte TEXT_OFFSET). */
const SLOT = { state: 0, op: 1, port: 2, backlog: 3, status: 4, value: 5, textLength: 6 } as const;
const STATE = { idle: 0, request: 1, done: 2 } as const;
const OP = { listen: 1, close: 2, release: 3 } as const;
/** Reply status: 0 = ok, 1 = error reported by the worker, 2 = worker gone. */
const STATUS = { ok: 0, error: 1, gone: 2 } as const;
const TEXT_OFFSET = 64;
const CHANNEL_BYTES = 512;

/**
 * Plain JavaScript (evaluated, so it runs the same under node, tsx and vitest). The worker's event
 * loop must never run, or it would accept on its listeners: everything happens inside the initial
 * script or inside the nextTick queue, which Node drains before it ever returns to the event loop.
 *
 * `server.listen({ host })` is not synchronous in Node 20 even for an IP literal (it goes through
 * dns.lookup, which answers an IP literal on the nextTick queue), so a listen command hops through
 * nextTicks until the server is listening or has failed, then goes back to waiting.
 *
 * Released listeners (adopted by the main thread through their fd) are kept here and never closed:
 * closing them would close the main thread's socket. The cost is that if this worker's environment is
 * ever torn down (only at process exit), Node closes those stale fd numbers.
 */
const WORKER_SOURCE = `"use strict";
const { workerData } = require("node:worker_threads");
const net = require("node:net");
const ctrl = new Int32Array(workerData, 0, 8);
const text = new Uint8Array(workerData, ${TEXT_OFFSET});
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const listeners = new Map();
const released = [];
function reply(status, value, message) {
  const bytes = encoder.encode(message || "");
  const length = Math.min(bytes.length, text.length);
  text.set(bytes.subarray(0, length));
  ctrl[${SLOT.textLength}] = length;
  ctrl[${SLOT.status}] = status;
  ctrl[${SLOT.value}] = value;
  Atomics.store(ctrl, ${SLOT.state}, ${STATE.done});
  Atomics.notify(ctrl, ${SLOT.state});
}
function describe(error) {
  return error ? String(error.code || error.message || error) : "unknown error";
}
function serve() {
  for (;;) {
    let state;
    while ((state = Atomics.load(ctrl, ${SLOT.state})) !== ${STATE.request}) Atomics.wait(ctrl, ${SLOT.state}, state);
    try {
      const op = ctrl[${SLOT.op}];
      const port = ctrl[${SLOT.port}];
      const host = decoder.decode(text.slice(0, ctrl[${SLOT.textLength}]));
      const key = host + " " + port;
      if (op === ${OP.listen}) {
        if (listeners.has(key)) { reply(${STATUS.error}, 0, "EADDRINUSE"); continue; }
        const pending = { key, server: net.createServer(), error: undefined };
        pending.server.on("error", (error) => { pending.error = error; });
        pending.server.listen({ host, port, backlog: ctrl[${SLOT.backlog}] });
        process.nextTick(awaitListening, pending, 0);
        return;
      }
      const server = listeners.get(key);
      if (server === undefined) { reply(${STATUS.error}, 0, "no silent listener on " + key); continue; }
      listeners.delete(key);
      if (op === ${OP.close}) {
        server.close();
        reply(${STATUS.ok}, 0);
      } else if (op === ${OP.release}) {
        released.push(server);
        reply(${STATUS.ok}, server._handle.fd);
      } else {
        reply(${STATUS.error}, 0, "unknown command " + op);
      }
    } catch (error) {
      reply(${STATUS.error}, 0, describe(error));
    }
  }
}
function awaitListening(pending, hops) {
  try {
    if (pending.server.listening) {
      listeners.set(pending.key, pending.server);
      reply(${STATUS.ok}, pending.server._handle.fd);
    } else if (pending.error !== undefined || hops >= 100) {
      pending.server.close();
      reply(${STATUS.error}, 0, pending.error ? describe(pending.error) : "listen did not complete");
    } else {
      process.nextTick(awaitListening, pending, hops + 1);
      return;
    }
  } catch (error) {
    reply(${STATUS.error}, 0, describe(error));
  }
  serve();
}
serve();
`;

type AtomicsWithWaitAsync = typeof Atomics & {
  waitAsync(
    array: Int32Array,
    index: number,
    value: number,
    timeout?: number,
  ): { async: false; value: "not-equal" | "timed-out" } | { async: true; value: Promise<"ok" | "timed-out"> };
};

class WorkerCommandError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "WorkerCommandError";
  }
}

/** The main thread's side of the silent-listener worker: one command at a time, never blocking. */
class SilentListenerHost {
  #worker: Worker | undefined;
  #ctrl!: Int32Array;
  #text!: Uint8Array;
  #queue: Promise<unknown> = Promise.resolve();
  #failure: Error | undefined;

  /** Binds and listens; resolves once the listener exists (its queue is still empty). */
  listen(host: string, port: number, backlog: number): Promise<number> {
    return this.#command(OP.listen, host, port, backlog);
  }

  /** Closes a silent listener. */
  close(host: string, port: number): Promise<number> {
    return this.#command(OP.close, host, port, 0);
  }

  /** Hands a silent listener over: returns its fd, which the worker will never touch again. */
  release(host: string, port: number): Promise<number> {
    return this.#command(OP.release, host, port, 0);
  }

  #command(op: number, host: string, port: number, backlog: number): Promise<number> {
    const run = this.#queue.then(() => this.#send(op, host, port, backlog));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #start(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#worker !== undefined) return;
    const channel = new SharedArrayBuffer(CHANNEL_BYTES);
    this.#ctrl = new Int32Array(channel, 0, 8);
    this.#text = new Uint8Array(channel, TEXT_OFFSET);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: channel,
      name: "silent-listeners",
      // Not the parent's flags: --input-type=module would make this CommonJS source an ES module, and
      // loaders (tsx, vitest) have nothing to do here.
      execArgv: [],
    });
    worker.unref();
    const gone = (reason: string): void => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      // Listeners die with the worker; wake a command in flight instead of letting it time out.
      const ctrl = this.#ctrl;
      if (Atomics.load(ctrl, SLOT.state) === STATE.request) {
        ctrl[SLOT.status] = STATUS.gone;
        ctrl[SLOT.textLength] = 0;
        Atomics.store(ctrl, SLOT.state, STATE.done);
        Atomics.notify(ctrl, SLOT.state);
      }
      this.#failure = new Error(`The silent-listener worker stopped (${reason})`);
    };
    worker.on("error", (error) => gone(error.message));
    worker.on("exit", (code) => gone(`exit code ${code}`));
    this.#worker = worker;
  }

  async #send(op: number, host: string, port: number, backlog: number): Promise<number> {
    this.#start();
    const ctrl = this.#ctrl;
    const encoded = new TextEncoder().encode(host);
    this.#text.set(encoded);
    ctrl[SLOT.textLength] = encoded.length;
    ctrl[SLOT.op] = op;
    ctrl[SLOT.port] = port;
    ctrl[SLOT.backlog] = backlog;
    Atomics.store(ctrl, SLOT.state, STATE.request);
    Atomics.notify(ctrl, SLOT.state);
    // A pending Atomics.waitAsync does not keep the event loop alive on its own.
    const keepAlive = setInterval(() => {}, WORKER_REPLY_TIMEOUT_MS);
    try {
      const waited = (Atomics as AtomicsWithWaitAsync).waitAsync(
        ctrl,
        SLOT.state,
        STATE.request,
        WORKER_REPLY_TIMEOUT_MS,
      );
      if (waited.async) await waited.value;
    } finally {
      clearInterval(keepAlive);
    }
    if (Atomics.load(ctrl, SLOT.state) !== STATE.done) {
      this.#failure = new Error(
        `The silent-listener worker did not answer within ${WORKER_REPLY_TIMEOUT_MS} ms`,
      );
      throw this.#failure;
    }
    const status = ctrl[SLOT.status];
    const value = ctrl[SLOT.value] as number;
    const message = new TextDecoder().decode(this.#text.slice(0, ctrl[SLOT.textLength]));
    Atomics.store(ctrl, SLOT.state, STATE.idle);
    if (status === STATUS.gone) throw this.#failure ?? new Error("The silent-listener worker stopped");
    if (status !== STATUS.ok) throw new WorkerCommandError(message, message);
    return value;
  }
}

let silentListeners: SilentListenerHost | undefined;
const silentListenerHost = (): SilentListenerHost => {
  silentListeners ??= new SilentListenerHost();
  return silentListeners;
};

// ---- filling the accept queue --------------------------------------------------------------------

const noop = (): void => {};

/** `/proc/net/tcp`'s spelling of an IPv4 address and port: little-endian hex, then big-endian port. */
const procLocalAddress = (host: string, port: number): string =>
  `${host
    .split(".")
    .reverse()
    .map((octet) => Number(octet).toString(16).padStart(2, "0"))
    .join("")}:${port.toString(16).padStart(4, "0")}`.toUpperCase();

/**
 * Whether the kernel's accept queue of the listener on host:port is full (queued > backlog), read
 * from /proc/net/tcp, where a listening socket's rx_queue is its accept-queue length. Undefined when
 * the table or the listener cannot be found. Read asynchronously: generating the table walks the
 * whole TCP hash and takes milliseconds, which must not stall probes running on this event loop.
 */
async function acceptQueueFull(host: string, port: number, backlog: number): Promise<boolean | undefined> {
  let table: string;
  try {
    table = await readFile("/proc/net/tcp", "utf8");
  } catch {
    return undefined;
  }
  const local = procLocalAddress(host, port);
  for (const line of table.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] !== local || fields[3] !== "0A") continue;
    const queued = Number.parseInt(fields[4]?.split(":")[1] ?? "", 16);
    return Number.isNaN(queued) ? undefined : queued > backlog;
  }
  return undefined;
}

interface Filler {
  socket: net.Socket;
  answered: Promise<"connected" | Error>;
}

function connectFiller(host: string, port: number): Filler {
  const socket = net.connect({ host, port });
  socket.unref();
  socket.on("error", noop);
  // Whatever an accepting port later sends is of no interest.
  socket.on("data", noop);
  const answered = new Promise<"connected" | Error>((resolve) => {
    socket.once("connect", () => resolve("connected"));
    socket.once("error", resolve);
  });
  return { socket, answered };
}

async function answerWithin(filler: Filler, ms: number): Promise<"connected" | Error | "pending"> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<"pending">((resolve) => {
    timer = setTimeout(() => resolve("pending"), ms);
  });
  try {
    return await Promise.race([filler.answered, pending]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The kernel's view of a filler whose 'connect' has not been delivered: getpeername() fails with
 * ENOTCONN while the socket is still in SYN_SENT (its SYN was dropped) and succeeds once established
 * (queued; only the event loop is late). Undefined when the handle cannot tell.
 */
function handshakeDone(socket: net.Socket): boolean | undefined {
  const handle = (socket as unknown as { _handle?: { getpeername?(out: object): number } })._handle;
  if (typeof handle?.getpeername !== "function") return undefined;
  const err = handle.getpeername({});
  if (err === 0) return true;
  return err === -ENOTCONN ? false : undefined;
}

/**
 * Connects fillers to the (never accepting) listener until its accept queue is full, so that the
 * very first SYN of a probe is dropped. Returns the queued fillers, to be destroyed when the port
 * leaves the silent phase. The empirical rule: a filler that does not complete within a few ms was
 * dropped, and then the queue is full. The kernel confirms it (the socket is still in SYN_SENT), so a
 * merely slow event loop is never mistaken for a full queue.
 */
async function fillAcceptQueue(host: string, port: number, backlog: number): Promise<net.Socket[]> {
  const fillers: net.Socket[] = [];
  try {
    for (let i = 0; i < MAX_FILLERS; i++) {
      const filler = connectFiller(host, port);
      fillers.push(filler.socket);
      const answer = await answerWithin(filler, FILLER_SETTLE_MS);
      if (answer instanceof Error) {
        throw new Error(`a filler connection to ${host}:${port} failed: ${answer.message}`);
      }
      if (answer === "connected") continue;
      let dropped = handshakeDone(filler.socket);
      if (dropped === undefined) dropped = await acceptQueueFull(host, port, backlog);
      else dropped = !dropped;
      // Established after all (or the queue is not full by the kernel's count): the loop was slow.
      if (dropped === false) continue;
      // Its SYN was dropped (and would be retransmitted in 1 s): it is not part of the queue.
      fillers.pop();
      filler.socket.destroy();
      return fillers;
    }
    throw new Error(`the accept queue of ${host}:${port} did not fill after ${MAX_FILLERS} connections`);
  } catch (error) {
    for (const socket of fillers) socket.destroy();
    throw new Error(`Could not make ${host}:${port} silent: ${(error as Error).message}`, { cause: error });
  }
}

// ---- the accepting phase --------------------------------------------------------------------------

function bindError(host: string, port: number, error: unknown): Error {
  const code = (error as { code?: unknown }).code;
  if (code === "EACCES") {
    return new Error(
      `Binding ${host}:${port} needs root (ports below 1024 are privileged): use a port >= 1024 or run as root`,
      { cause: error },
    );
  }
  if (code === "EADDRINUSE") {
    return new Error(
      `${host}:${port} is already in use (another emulated port, a local server, or a socket of this process)`,
      { cause: error },
    );
  }
  if (code === "EADDRNOTAVAIL") {
    return new Error(`${host} is not an address of this machine`, { cause: error });
  }
  return new Error(`Could not bind ${host}:${port}: ${(error as Error).message ?? String(error)}`, {
    cause: error,
  });
}

function acceptingServer(connections: Set<net.Socket>, serve: ConnectionServer | undefined): net.Server {
  const server = net.createServer({ noDelay: true }, (socket) => {
    connections.add(socket);
    socket.unref();
    socket.on("error", noop);
    socket.on("close", () => connections.delete(socket));
    socket.setTimeout(serve ? SERVED_CONNECTION_IDLE_MS : CONNECTION_IDLE_MS, () => socket.destroy());
    if (serve) serve(socket);
    else socket.end(SSH_BANNER);
  });
  // Accept errors (EMFILE, …) must not crash the process: the connection is simply not served.
  server.on("error", noop);
  return server;
}

function listenOnce(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off("listening", onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(options);
  });
}

// ---- the port -------------------------------------------------------------------------------------

const livePorts = new Map<string, LoopbackPort>();

class LoopbackPort implements EmulatedPort {
  #phase: PortPhase = "refusing";
  #fillers: net.Socket[] = [];
  #server: net.Server | undefined;
  readonly #connections = new Set<net.Socket>();
  #ops: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  readonly key: string;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    this.key = `${host}:${port}`;
  }

  get phase(): PortPhase {
    return this.#phase;
  }

  silent(): Promise<void> {
    return this.#transition(() => this.#toSilent());
  }

  refuse(): Promise<void> {
    return this.#transition(() => this.#toRefusing());
  }

  accept(serve?: ConnectionServer): Promise<void> {
    return this.#transition(() => this.#toAccepting(serve));
  }

  close(): Promise<void> {
    this.#closing ??= this.#enqueue(async () => {
      livePorts.delete(this.key);
      await this.#toRefusing();
    });
    return this.#closing;
  }

  #transition(op: () => Promise<void>): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new Error(`Emulated port ${this.key} is closed`));
    return this.#enqueue(op);
  }

  /** Phase changes run one after another, in call order; a failed one does not block the next. */
  #enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.#ops.then(op);
    this.#ops = run.catch(noop);
    return run;
  }

  async #toSilent(): Promise<void> {
    if (this.#phase === "silent") return;
    if (this.#phase === "accepting") this.#stopAccepting();
    try {
      await silentListenerHost().listen(this.host, this.port, SILENT_BACKLOG);
    } catch (error) {
      throw bindError(this.host, this.port, error);
    }
    try {
      this.#fillers = await fillAcceptQueue(this.host, this.port, SILENT_BACKLOG);
    } catch (error) {
      await silentListenerHost().close(this.host, this.port).catch(noop);
      throw error;
    }
    this.#phase = "silent";
  }

  async #toRefusing(): Promise<void> {
    if (this.#phase === "silent") {
      // Closing the listener resets the queued fillers.
      try {
        await silentListenerHost().close(this.host, this.port);
      } finally {
        this.#destroyFillers();
        this.#phase = "refusing";
      }
    } else if (this.#phase === "accepting") {
      this.#stopAccepting();
    }
  }

  async #toAccepting(serve: ConnectionServer | undefined): Promise<void> {
    if (this.#phase === "accepting") return;
    const server = acceptingServer(this.#connections, serve);
    if (this.#phase === "silent") {
      // Take the silent listener over instead of closing it: the port never stops listening.
      const fd = await silentListenerHost().release(this.host, this.port);
      server.listen({ fd });
      this.#destroyFillers();
      if (!server.listening) {
        this.#phase = "refusing";
        throw new Error(`Could not take over the silent listener on ${this.key} (fd ${fd})`);
      }
    } else {
      try {
        await listenOnce(server, { host: this.host, port: this.port, backlog: 511 });
      } catch (error) {
        throw bindError(this.host, this.port, error);
      }
    }
    server.unref();
    this.#server = server;
    this.#phase = "accepting";
  }

  #stopAccepting(): void {
    for (const socket of this.#connections) socket.destroy();
    this.#connections.clear();
    // Closes the listening fd synchronously: from here on, SYNs get RST.
    this.#server?.close();
    this.#server = undefined;
    this.#phase = "refusing";
  }

  #destroyFillers(): void {
    for (const socket of this.#fillers) socket.destroy();
    this.#fillers = [];
  }
}

function validate(host: string, port: number): void {
  const octets = host.split(".");
  if (net.isIPv4(host) === false || octets[0] !== "127") {
    throw new Error(`Emulated ports live on IPv4 loopback addresses (127.0.0.0/8), not ${host}`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`Emulated port number must be an integer from 1 to 65535, got ${port}`);
  }
}

/**
 * Creates an emulated port in the "refusing" phase. Fails at once, with a clear message, when the
 * address cannot be bound (in use, privileged port without root, address not local).
 */
export async function createEmulatedPort(host: string, port: number): Promise<EmulatedPort> {
  validate(host, port);
  const emulated = new LoopbackPort(host, port);
  if (livePorts.has(emulated.key)) throw new Error(`${emulated.key} is already an emulated port`);
  livePorts.set(emulated.key, emulated);
  const probe = net.createServer();
  try {
    await listenOnce(probe, { host, port });
  } catch (error) {
    livePorts.delete(emulated.key);
    throw bindError(host, port, error);
  } finally {
    probe.close();
  }
  return emulated;
}
