import middy from "@middy/core";
import { readObservationMarks } from "../aws/benchmark-table.js";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import { ec2Client } from "../aws/ec2-client.js";
import { putObject, s3Client } from "../aws/s3-client.js";
import type { CaptureScreenshotsEvent, CaptureScreenshotsResult } from "../domain/contract.js";
import { withWallClock } from "../shared/clock.js";
import { requireEnv } from "../shared/env.js";
import { eventKeys, observed } from "../shared/observability.js";
import { captureScreenshots } from "./capture-screenshots.js";

const bucket = requireEnv("CONSOLE_BUCKET");
const tableName = requireEnv("TABLE_NAME");

/** A marks read that gets no answer is abandoned and asked again, never waited on. */
const MARKS_READ_TIMEOUT_MS = 2_000;

/**
 * The boot filmstrip, beside the poll and the probe. Frame times are compared with the run's other
 * timestamps, so they are taken on the anchored wall clock, as the probe's are.
 */
export const lambdaHandler = (event: CaptureScreenshotsEvent): Promise<CaptureScreenshotsResult> => {
  const ledger = { benchmarkId: event.benchmarkId, runIndex: event.runIndex };
  return withWallClock((clock) =>
    captureScreenshots(event, {
      ec2: ec2Client,
      store: {
        bucket,
        putFrame: (key, jpeg, abortSignal) =>
          putObject(s3Client, bucket, key, jpeg, "image/jpeg", abortSignal),
        putManifest: (key, manifest, abortSignal) =>
          putObject(s3Client, bucket, key, JSON.stringify(manifest), "application/json", abortSignal),
      },
      marks: () =>
        readObservationMarks(dynamoDbClient, tableName, ledger, AbortSignal.timeout(MARKS_READ_TIMEOUT_MS)),
      clock,
    }),
  );
};

export const handler = middy<CaptureScreenshotsEvent, CaptureScreenshotsResult>()
  .use(observed<CaptureScreenshotsEvent, CaptureScreenshotsResult>(eventKeys))
  .handler(lambdaHandler);
