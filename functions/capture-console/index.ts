import middy from "@middy/core";
import { ec2Client } from "../aws/ec2-client.js";
import { putGzipped, s3Client } from "../aws/s3-client.js";
import type { CaptureConsoleEvent, CaptureConsoleResult } from "../domain/contract.js";
import { requireEnv } from "../shared/env.js";
import { observed, runStateKeys } from "../shared/observability.js";
import { captureConsole } from "./capture-console.js";

const bucket = requireEnv("CONSOLE_BUCKET");

export const lambdaHandler = (event: CaptureConsoleEvent): Promise<CaptureConsoleResult> =>
  captureConsole(event, {
    ec2: ec2Client,
    store: { bucket, put: (key, gzipped) => putGzipped(s3Client, bucket, key, gzipped) },
    // When the fetch began: nothing is measured against it, so the plain wall clock will do.
    clock: Date.now,
  });

export const handler = middy<CaptureConsoleEvent, CaptureConsoleResult>()
  .use(observed<CaptureConsoleEvent, CaptureConsoleResult>(runStateKeys))
  .handler(lambdaHandler);
