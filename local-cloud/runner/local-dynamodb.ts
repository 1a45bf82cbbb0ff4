/**
 * DynamoDB for the local cloud: dynalite, in memory for tests or on disk so that results stay between
 * commands and can be queried afterwards with the CLI or the AWS CLI.
 */
import { createHash } from "node:crypto";
import { mkdirSync, realpathSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import net, { type AddressInfo } from "node:net";
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";

/** The local cloud's table; lives in this light module so that reading results need not load the pipeline. */
export const LOCAL_TABLE_NAME = "boot-bench-local";

export interface LocalDynamoDb {
  endpoint: string;
  /** Set when another process owns the data directory and this one uses its server. */
  sharedFrom?: string;
  /** Faults of a server this process started (absent on a shared one). */
  faults?: LocalDynamoDbFaults;
  close(): Promise<void>;
}

export interface LocalDynamoDbFaults {
  /**
   * Stalled requests: the next `count` requests of `operation` (`UpdateItem`, `PutItem`, …) are read
   * in full and then never answered and not carried out, the connection held open until the client
   * closes it (or the server closes). On AWS a request can hang like this (a response lost on the way,
   * a kept-alive connection that died while the Lambda environment was frozen), and the SDK's own
   * socket timeout for DynamoDB is 5 minutes of silence, past every step's Lambda timeout.
   */
  stall(operation: string, count: number): void;
  /** How many requests of each operation were stalled so far. */
  stalled(): Readonly<Record<string, number>>;
}

/**
 * Starts dynalite on 127.0.0.1 (an ephemeral port unless `port` is given). On disk, one process owns a
 * data directory at a time (its database is locked): a second boot-bench on the same directory (two
 * `npm start`, or `serve-dynamodb` beside `run --local`) uses the owner's server instead of opening the
 * directory again, and the owner keeps serving until every process using it has closed.
 */
export async function startLocalDynamoDb(
  options: { dataDir?: string; port?: number } = {},
): Promise<LocalDynamoDb> {
  if (!options.dataDir) return startDynalite(options);
  mkdirSync(options.dataDir, { recursive: true });
  // Abstract Unix sockets exist on Linux only; elsewhere a second process gets dynalite's own error.
  if (process.platform !== "linux") return startDynalite(options);
  const name = `\0boot-bench-dynamodb-${createHash("sha256").update(realpathSync(options.dataDir)).digest("hex").slice(0, 32)}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    const shared = await joinOwner(name, options.dataDir);
    if (shared) return shared;
    const owned = await own(name, options);
    if (owned) return owned;
    // Someone claimed the directory between our two tries: join them.
  }
  throw new Error(`could not open or share the local DynamoDB in ${options.dataDir}`);
}

/** The owner's server, reached through the directory's rendezvous socket; undefined when it has none. */
function joinOwner(name: string, dataDir: string): Promise<LocalDynamoDb | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path: name });
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
      const line = received.indexOf("\n");
      if (line < 0) return;
      const endpoint = received.slice(0, line);
      // The open connection is what keeps the owner serving; closing it says this process is done.
      resolve({
        endpoint,
        sharedFrom: dataDir,
        close: () =>
          new Promise<void>((done) => {
            socket.once("close", () => done());
            socket.end();
          }),
      });
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED" || error.code === "ENOENT") resolve(undefined);
      else reject(error);
    });
    socket.once("close", () => resolve(undefined));
  });
}

/** Claims the directory and serves it; undefined when another process claimed it first. */
async function own(
  name: string,
  options: { dataDir?: string; port?: number },
): Promise<LocalDynamoDb | undefined> {
  const users = new Set<net.Socket>();
  let endpoint: string | undefined;
  const waiting: net.Socket[] = [];
  const rendezvous = net.createServer((socket) => {
    users.add(socket);
    socket.on("error", () => socket.destroy());
    socket.once("close", () => {
      users.delete(socket);
      if (users.size === 0) noUsersLeft?.();
    });
    if (endpoint === undefined) waiting.push(socket);
    else socket.write(`${endpoint}\n`);
  });
  let noUsersLeft: (() => void) | undefined;
  const claimed = await new Promise<boolean>((resolve, reject) => {
    rendezvous.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") resolve(false);
      else reject(error);
    });
    rendezvous.listen({ path: name }, () => resolve(true));
  });
  if (!claimed) return undefined;
  const db = await startDynalite(options);
  endpoint = db.endpoint;
  for (const socket of waiting.splice(0)) socket.write(`${endpoint}\n`);
  return {
    endpoint,
    ...(db.faults && { faults: db.faults }),
    close: async () => {
      // No new users; the ones there may still be mid-benchmark, so the database stays up for them.
      await new Promise<void>((resolve) => rendezvous.close(() => resolve()));
      if (users.size > 0) {
        console.error(
          `boot-bench: waiting for ${users.size} other boot-bench process(es) using ${options.dataDir} to finish…`,
        );
        await new Promise<void>((resolve) => {
          noUsersLeft = resolve;
        });
      }
      await db.close();
    },
  };
}

async function startDynalite(options: { dataDir?: string; port?: number }): Promise<LocalDynamoDb> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDir && { path: options.dataDir }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const faults = stallRequests(server);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A stalled request keeps its connection open; close() would wait for it for ever.
        faults.release();
      }),
  };
}

/**
 * Puts the stall fault in front of dynalite's request handler: a stalled request's body is read, and
 * then nothing is sent, until `release()` (the server closing) destroys its connection.
 */
function stallRequests(server: Server): LocalDynamoDbFaults & { release(): void } {
  const toStall = new Map<string, number>();
  const stalledSoFar: Record<string, number> = {};
  const held = new Set<IncomingMessage>();
  const answer = server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    // The operation is the X-Amz-Target header's last part: `DynamoDB_20120810.UpdateItem`.
    const operation =
      String(req.headers["x-amz-target"] ?? "")
        .split(".")
        .at(-1) ?? "";
    const left = toStall.get(operation) ?? 0;
    if (left > 0) {
      toStall.set(operation, left - 1);
      stalledSoFar[operation] = (stalledSoFar[operation] ?? 0) + 1;
      // The socket's close, not the request's: a request whose body was read in full emits `close`.
      held.add(req);
      req.socket.once("close", () => held.delete(req));
      req.resume();
      return;
    }
    for (const listener of answer) listener(req, res);
  });
  return {
    stall(operation, count) {
      toStall.set(operation, count);
    },
    stalled: () => ({ ...stalledSoFar }),
    release() {
      for (const req of held) req.socket.destroy();
      held.clear();
    },
  };
}

/** Creates the table as the stack defines it, unless it already exists (a kept on-disk database). */
export async function ensureTable(client: DynamoDBClient, input: CreateTableCommandInput): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: input.TableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await client.send(new CreateTableCommand(input));
  }
}
