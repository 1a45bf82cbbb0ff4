import { gzipSync } from "node:zlib";
import {
  type EC2Client,
  GetConsoleOutputCommand,
  type GetConsoleOutputCommandOutput,
} from "@aws-sdk/client-ec2";
import type { CaptureConsoleEvent, CaptureConsoleResult } from "../domain/contract.js";
import { consoleOutputKey } from "../domain/run-record.js";
import type { Clock } from "../shared/clock.js";

/** Where the gzip-compressed output goes: the stack's console bucket. */
export interface ConsoleStore {
  bucket: string;
  put(key: string, gzipped: Uint8Array): Promise<void>;
}

export interface CaptureConsoleDeps {
  ec2: EC2Client;
  store: ConsoleStore;
  clock: Clock;
}

/**
 * Keeps the instance's console output once the run is over (port open, timed out, or failed), before
 * terminate: the run whose sshd never started is the one whose console matters most.
 *
 * `Latest` first: on Nitro instance types EC2 then gives the serial output as of now. Other types
 * refuse it, and get the buffered output, which EC2 posts only shortly after a state transition (so
 * it may show little of the boot, or nothing yet: "empty", with nothing stored). A refusal is any
 * client error other than throttling or an instance not visible yet, so that the fallback does not
 * hang on one error code; the refusal is kept in the result. Throttling, `InvalidInstanceID.NotFound`,
 * server errors and lost connections propagate by their AWS names: the state machine retries them and
 * then records the failure with the run, which is never failed for its console.
 *
 * The key is the run's own, so a retried invocation overwrites the same object.
 */
export async function captureConsole(
  event: CaptureConsoleEvent,
  deps: CaptureConsoleDeps,
): Promise<CaptureConsoleResult> {
  const instanceId = event.launch?.instanceId;
  if (instanceId === undefined) return { status: "no-instance" };
  const capturedAt = deps.clock();
  const fetched = await fetchConsoleOutput(deps.ec2, instanceId);
  const fetch = {
    latest: fetched.latest,
    ...(fetched.latestRefused !== undefined && { latestRefused: fetched.latestRefused }),
    ...(fetched.output.Timestamp !== undefined && {
      outputUpdatedAt: fetched.output.Timestamp.toISOString(),
    }),
    capturedAt,
  };
  const text = Buffer.from(fetched.output.Output ?? "", "base64");
  if (text.length === 0) return { status: "empty", ...fetch };
  const gzipped = gzipSync(text);
  const key = consoleOutputKey(event.benchmark.benchmarkId, event.run.runIndex);
  await deps.store.put(key, gzipped);
  return {
    status: "stored",
    bucket: deps.store.bucket,
    key,
    bytes: text.length,
    storedBytes: gzipped.length,
    ...fetch,
  };
}

interface FetchedOutput {
  output: GetConsoleOutputCommandOutput;
  latest: boolean;
  latestRefused?: string;
}

async function fetchConsoleOutput(ec2: EC2Client, instanceId: string): Promise<FetchedOutput> {
  try {
    const output = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }));
    return { output, latest: true };
  } catch (error) {
    if (!refusesLatest(error)) throw error;
    const output = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId }));
    return { output, latest: false, latestRefused: `${error.name}: ${error.message}` };
  }
}

const RETRIED_CLIENT_ERRORS = new Set(["RequestLimitExceeded", "InvalidInstanceID.NotFound"]);

function refusesLatest(error: unknown): error is Error {
  return (
    error instanceof Error &&
    (error as { $fault?: string }).$fault === "client" &&
    !RETRIED_CLIENT_ERRORS.has(error.name)
  );
}
