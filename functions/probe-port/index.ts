import middy from "@middy/core";
import { markProbeEnded, readGuestPrivateKey, readRunEnded } from "../aws/benchmark-table.js";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import { putGzipped, s3Client } from "../aws/s3-client.js";
import type { ProbePortEvent, ProbePortResult } from "../domain/contract.js";
import { GUEST_STORE_TIMEOUT_MS, guestKeyNameOf } from "../domain/guest-timings.js";
import { withWallClock } from "../shared/clock.js";
import { requireEnv } from "../shared/env.js";
import { eventKeys, observed } from "../shared/observability.js";
import { collectGuestOutput } from "./guest-session.js";
import { collectGuestTimings } from "./guest-timings.js";
import { probePort } from "./probe.js";

const tableName = requireEnv("TABLE_NAME");
/** Where the guest timings' answers go (under guest/), beside the runs' console output. */
const consoleBucket = requireEnv("CONSOLE_BUCKET");

/** A read that gets no answer (no route to DynamoDB) is abandoned and asked again, never waited on. */
const LEDGER_REQUEST_TIMEOUT_MS = 2_000;
/** What the guest session leaves of the Lambda's time: the key's read, the store, and returning. */
const AFTER_SESSION_RESERVE_MS = 2 * GUEST_STORE_TIMEOUT_MS + 3_000;

/**
 * VPC Lambda: probes the instance's port with TCP. Its AWS calls go to the run's launch ledger (through
 * the VPC's DynamoDB gateway endpoint): it reads the run-ended mark that terminate writes, so that a
 * probe the state machine could not stop ends within about a second of the run, and writes its own end
 * mark, which ends the run's filmstrip. With the benchmark's key pair and the port open it then logs
 * in for the guest timings: the key from the table, the answers to the console bucket (through the
 * VPC's S3 gateway endpoint).
 */
export const handler = middy<ProbePortEvent, ProbePortResult>()
  .use(observed<ProbePortEvent, ProbePortResult>(eventKeys))
  .handler((event, context) => {
    const ledger = { benchmarkId: event.benchmarkId, runIndex: event.runIndex };
    return withWallClock(async (clock) => {
      const result = await probePort(event, {
        clock,
        runEnded: () =>
          readRunEnded(dynamoDbClient, tableName, ledger, AbortSignal.timeout(LEDGER_REQUEST_TIMEOUT_MS)),
        markProbeEnded: (probeEndedAt) =>
          markProbeEnded(
            dynamoDbClient,
            tableName,
            ledger,
            probeEndedAt,
            AbortSignal.timeout(LEDGER_REQUEST_TIMEOUT_MS),
          ),
      });
      if (result.status !== "open" || guestKeyNameOf(event.guestKey) === undefined) return result;
      const guest = await collectGuestTimings(event, {
        clock,
        sessionBudgetMs: context.getRemainingTimeInMillis() - AFTER_SESSION_RESERVE_MS,
        readPrivateKey: () =>
          readGuestPrivateKey(
            dynamoDbClient,
            tableName,
            event.benchmarkId,
            AbortSignal.timeout(GUEST_STORE_TIMEOUT_MS),
          ),
        session: collectGuestOutput,
        store: (key, gzipped) =>
          putGzipped(
            s3Client,
            consoleBucket,
            key,
            gzipped,
            "application/json",
            AbortSignal.timeout(GUEST_STORE_TIMEOUT_MS),
          ),
      });
      return { ...result, guest };
    });
  });
