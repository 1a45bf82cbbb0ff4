/**
 * Where the CLI reads runs' console output: the local cloud's S3 (`--local`: the folder beside its
 * DynamoDB data, or an S3 endpoint already in the environment), or AWS S3 with the standard
 * configuration. The bucket is in each run's record, so no stack lookup is needed.
 */
import { gunzipSync } from "node:zlib";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { assertLoopbackEndpoint } from "../local-cloud/runner/loopback.js";
import { s3DataDirFor, startLocalS3 } from "../local-cloud/s3/s3-server.js";
import { DEFAULT_DATA_DIR, type TableTargetOptions } from "./results-table.js";

export interface ConsoleObjects {
  /** The console text of one stored run (the object is gzip). */
  read(bucket: string, key: string): Promise<string>;
  /** An object's bytes as stored (a filmstrip frame). */
  readBytes(bucket: string, key: string): Promise<Uint8Array>;
  /** A JSON object, parsed (a filmstrip manifest). */
  readJson(bucket: string, key: string): Promise<unknown>;
  close(): Promise<void>;
}

export async function openConsoleObjects(options: TableTargetOptions): Promise<ConsoleObjects> {
  if (!options.local) return objectsThrough(new S3Client({}));
  // The key pair `run --local` signs with (the environment's, else its own), which a local S3 that
  // another process started knows; one started here is told it.
  const credentials = {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "local",
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "local",
  };
  const preset = process.env.AWS_ENDPOINT_URL_S3;
  if (preset !== undefined) assertLoopbackEndpoint("AWS_ENDPOINT_URL_S3", preset);
  const local =
    preset === undefined
      ? await startLocalS3({
          directory: s3DataDirFor(options.dataDir ?? DEFAULT_DATA_DIR),
          credentials,
        })
      : undefined;
  const client = new S3Client({
    endpoint: preset ?? local?.endpoint,
    region: process.env.AWS_REGION ?? "us-east-1",
    credentials,
  });
  return objectsThrough(client, () => local?.close() ?? Promise.resolve());
}

/** The object's bytes as stored (the SDK does not undo a Content-Encoding). */
async function getObjectBytes(client: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (object.Body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
  return object.Body.transformToByteArray();
}

function objectsThrough(client: S3Client, closeServer = () => Promise.resolve()): ConsoleObjects {
  return {
    read: async (bucket, key) => gunzipSync(await getObjectBytes(client, bucket, key)).toString("utf8"),
    readBytes: (bucket, key) => getObjectBytes(client, bucket, key),
    readJson: async (bucket, key) =>
      JSON.parse(Buffer.from(await getObjectBytes(client, bucket, key)).toString("utf8")),
    close: async () => {
      client.destroy();
      await closeServer();
    },
  };
}
