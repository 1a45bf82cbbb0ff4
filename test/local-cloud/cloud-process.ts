/**
 * A local cloud in a process of its own, driven over the IPC channel of `child_process.fork`: what a
 * second user, CI job or `npm start` on the same machine is to a test. The parent talks EC2 to it over
 * HTTP like any client; the channel is only for starting, stopping and reading the cloud's truth.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { claimAddressBlock } from "../../local-cloud/ec2/address-blocks.js";
import type { InstanceTruth } from "../../local-cloud/ec2/instances.js";
import { type LocalAws, type LocalAwsOptions, startLocalAws } from "../../local-cloud/local-aws.js";

/** LocalAwsOptions that survive structured cloning, plus where to start looking for a block. */
export type CloudProcessOptions = Omit<LocalAwsOptions, "random" | "createPort" | "claimAddressBlock"> & {
  /** Treat every block below this row as taken (keeps the test clear of other test files' clouds). */
  firstRow?: number;
};

type Request =
  | { op: "start"; options: CloudProcessOptions }
  | { op: "waitFor"; instanceId: string; event: "running" | "networkUp" | "sshUp" }
  | { op: "close" };

export interface Started {
  endpoint: string;
  addressBlock: string | undefined;
  sshPort: number;
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

const here = fileURLToPath(import.meta.url);

/** The parent's handle on a cloud process. */
export class CloudProcess {
  readonly #child = fork(here, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  #nextId = 0;
  #output = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor() {
    const collect = (chunk: Buffer): void => {
      this.#output += chunk.toString();
    };
    this.#child.stdout?.on("data", collect);
    this.#child.stderr?.on("data", collect);
    this.#child.on("message", (reply: Reply) => {
      const waiter = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (reply.ok) waiter?.resolve(reply.value);
      else waiter?.reject(new Error(reply.error));
    });
    this.exited = new Promise((resolve) => {
      this.#child.on("exit", (code, signal) => {
        for (const waiter of this.#pending.values()) {
          waiter.reject(new Error(`cloud process exited (${signal ?? code}): ${this.#output}`));
        }
        this.#pending.clear();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  #request(request: Request): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, ...request });
    });
  }

  start(options: CloudProcessOptions): Promise<Started> {
    return this.#request({ op: "start", options }) as Promise<Started>;
  }

  waitFor(instanceId: string, event: "running" | "networkUp" | "sshUp"): Promise<InstanceTruth> {
    return this.#request({ op: "waitFor", instanceId, event }) as Promise<InstanceTruth>;
  }

  /** Closes the cloud and lets the process end; kills it when it does not within 10 s. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
    try {
      await this.#request({ op: "close" }).catch(() => {});
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }
}

// ---- the child's side -------------------------------------------------------------------------------

async function serve(): Promise<void> {
  let aws: LocalAws | undefined;
  const answer = async (request: Request): Promise<unknown> => {
    switch (request.op) {
      case "start": {
        const { firstRow = 1, ...options } = request.options;
        aws = await startLocalAws({
          ...options,
          claimAddressBlock: async (row) => (row < firstRow ? undefined : claimAddressBlock(row)),
        });
        return {
          endpoint: aws.ec2Endpoint,
          addressBlock: aws.cloud.addressBlock,
          sshPort: aws.cloud.sshPort,
        } satisfies Started;
      }
      case "waitFor":
        if (aws === undefined) throw new Error("no cloud started");
        return aws.cloud.waitFor(request.instanceId, request.event);
      case "close":
        await aws?.close();
        return null;
    }
  };
  process.on("message", (message: Request & { id: number }) => {
    answer(message).then(
      (value) => {
        process.send?.({ id: message.id, ok: true, value } satisfies Reply);
        if (message.op === "close") process.disconnect();
      },
      (error: unknown) =>
        process.send?.({
          id: message.id,
          ok: false,
          error: (error as Error).stack ?? String(error),
        } satisfies Reply),
    );
  });
}

if (process.send !== undefined && process.argv[1] === here) void serve();
