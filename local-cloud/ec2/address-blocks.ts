/**
 * Machine-wide ownership of loopback address blocks, so that two local clouds on one machine (two
 * users, two CI jobs, a test beside `npm start`) never put instances on the same addresses. Without
 * it, an instance of one cloud in its RST phase has nothing bound, the other cloud binds the same
 * address and port, and one cloud's listener answers the other cloud's probe.
 *
 * A block is a /24 "row" of the instance address space: row r is 127.(r >> 8).(r & 255).0/24, r ≥ 1
 * (row 0, 127.0.0.x, is where the APIs listen). It is held by listening on a Linux abstract-namespace
 * Unix socket named after the row. The kernel guarantees that only one socket can listen on a name,
 * and frees the name when the socket closes, including when its process dies however it dies
 * (kill -9, OOM), so there is no lock file to go stale. Abstract names belong to the network
 * namespace, as loopback addresses do: a container with its own network has its own 127.0.0.0/8 and
 * its own claims.
 */
import net from "node:net";

/** The highest row: 127.255.255.0/24. */
export const LAST_ROW = 256 * 256 - 1;

export interface AddressBlockClaim {
  /** 1 … LAST_ROW. */
  readonly row: number;
  /** e.g. `127.0.5.0/24`. */
  readonly cidr: string;
  /** Gives the block up (idempotent). */
  release(): Promise<void>;
}

/** Claims one row; undefined when someone else (another local cloud, on this machine) holds it. */
export type AddressBlockClaimer = (row: number) => Promise<AddressBlockClaim | undefined>;

const prefix = (row: number): string => `127.${row >> 8}.${row & 255}`;

export const blockCidr = (row: number): string => `${prefix(row)}.0/24`;

/** The abstract socket name that holds a row; `ss -xlp | grep boot-bench-loopback` lists the owners. */
export const claimName = (row: number): string => `\0boot-bench-loopback-${prefix(row)}`;

function checkRow(row: number): void {
  if (!Number.isInteger(row) || row < 1 || row > LAST_ROW) {
    throw new Error(`an address block row is an integer from 1 to ${LAST_ROW}, got ${row}`);
  }
}

function listenOn(name: string): Promise<net.Server | undefined> {
  // Nobody is meant to connect; a stray client is dropped rather than left to pile up.
  const server = net.createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") resolve(undefined);
      else reject(new Error(`Could not claim a loopback address block: ${error.message}`, { cause: error }));
    });
    server.listen({ path: name, backlog: 1 }, () => {
      // A claim lives as long as its cloud, and must not keep the process alive on its own.
      server.unref();
      resolve(server);
    });
  });
}

/**
 * Rows claimed by this process where abstract sockets do not exist (anything but Linux). There the
 * claim is per process only, which is enough: instances' emulated ports need Linux anyway, so a
 * cloud elsewhere runs on fake ports that bind nothing (and two processes cannot clash).
 */
const heldInProcess = new Set<number>();

/** The real claim: an abstract Unix socket on Linux. */
export const claimAddressBlock: AddressBlockClaimer = async (row) => {
  checkRow(row);
  const cidr = blockCidr(row);
  if (process.platform !== "linux") {
    if (heldInProcess.has(row)) return undefined;
    heldInProcess.add(row);
    return {
      row,
      cidr,
      release: async () => {
        heldInProcess.delete(row);
      },
    };
  }
  const server = await listenOn(claimName(row));
  if (server === undefined) return undefined;
  let released: Promise<void> | undefined;
  return {
    row,
    cidr,
    release: () => {
      released ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return released;
    },
  };
};
