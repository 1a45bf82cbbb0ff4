import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { tracer } from "../shared/observability.js";

/**
 * S3 clients. Endpoint and region come from the standard configuration (AWS_REGION,
 * AWS_ENDPOINT_URL_S3), which is how the local cloud's S3 is reached. The SDK's own retries stay on:
 * an object put is idempotent, and nothing here is timed.
 */
export const createS3Client = (): S3Client => tracer.captureAWSv3Client(new S3Client({}));

/** The shared client of a Lambda, created at module scope so that connections are reused. */
export const s3Client = createS3Client();

/**
 * Stores a gzip-compressed object (text by default): a browser or `curl --compressed` shows it as what
 * it is. `abortSignal` bounds the put, the SDK's retries included.
 */
export async function putGzipped(
  client: S3Client,
  bucket: string,
  key: string,
  gzipped: Uint8Array,
  contentType = "text/plain; charset=utf-8",
  abortSignal?: AbortSignal,
): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: gzipped,
      ContentType: contentType,
      ContentEncoding: "gzip",
    }),
    abortSignal === undefined ? {} : { abortSignal },
  );
}

/** Stores an object of the given media type; `abortSignal` bounds the put, the SDK's retries included. */
export async function putObject(
  client: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array | string,
  contentType: string,
  abortSignal?: AbortSignal,
): Promise<void> {
  await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
    abortSignal === undefined ? {} : { abortSignal },
  );
}
