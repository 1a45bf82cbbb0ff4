/**
 * S3 for the local cloud: s3rver, a real implementation of the S3 REST API (SigV4 checked, objects on
 * disk), on loopback. The handlers' unchanged S3Client reaches it through AWS_ENDPOINT_URL_S3; an IP
 * endpoint makes the SDK address buckets by path, so no DNS is involved.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import s3rverAccount from "s3rver/lib/models/account.js";
import { assertLoopbackEndpoint } from "../runner/loopback.js";

/** Where the local S3 keeps its objects (console output) beside a DynamoDB data folder. */
export const s3DataDirFor = (dataDir: string): string => `${dataDir.replace(/[/\\]+$/, "")}-s3`;

export interface LocalS3Options {
  /** Keep the objects in this folder (kept after close); a temporary folder removed on close when absent. */
  directory?: string;
  /**
   * The key pair requests will be signed with: s3rver checks signatures against the keys it knows, and
   * knows only its own until told. The local pipeline's handlers sign with the process's credentials.
   */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Loopback address to listen on; default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
}

export interface LocalS3 {
  /** For AWS_ENDPOINT_URL_S3 or `new S3Client({ endpoint })`. */
  endpoint: string;
  /** Where the objects are kept. */
  directory: string;
  close(): Promise<void>;
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const host = options.host ?? "127.0.0.1";
  assertLoopbackEndpoint("host", `http://${host}/`);
  const temporary = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), "boot-bench-s3-")));
  s3rverAccount.DUMMY_ACCOUNT.createKeyPair(
    options.credentials.accessKeyId,
    options.credentials.secretAccessKey,
  );
  const server = new S3rver({
    address: host,
    port: options.port ?? 0,
    silent: true,
    directory,
    // Buckets by path only: a virtual-host request would need DNS names outside loopback.
    vhostBuckets: false,
  });
  let started: { port: number };
  try {
    started = await server.run();
  } catch (error) {
    if (temporary) await rm(directory, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${started.port}`,
    directory,
    close: () => {
      closing ??= (async () => {
        await server.close();
        if (temporary) await rm(directory, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

/**
 * Creates the buckets a local run writes to, on whichever local S3 it uses (its own, or one named by
 * AWS_ENDPOINT_URL_S3), as the table is created on any local DynamoDB; one that exists is kept.
 */
export async function ensureBuckets(client: S3Client, buckets: readonly string[]): Promise<void> {
  for (const bucket of buckets) {
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      const name = error instanceof Error ? error.name : "";
      if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw error;
    }
  }
}
