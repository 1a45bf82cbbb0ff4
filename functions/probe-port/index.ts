import middy from "@middy/core";
import { markProbeEnded, readRunEnded } from "../aws/benchmark-table.js";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import type { ProbePortEvent, ProbePortResult } from "../domain/contract.js";
import { withWallClock } from "../shared/clock.js";
import { requireEnv } from "../shared/env.js";
import { eventKeys, observed } from "../shared/observability.js";
import { probePort } from "./probe.js";

const tableName = requireEnv("TABLE_NAME");

/** A read that gets no answer (no route to DynamoDB) is abandoned and asked again, never waited on. */
const LEDGER_REQUEST_TIMEOUT_MS = 2_000;

/**
 * VPC Lambda: probes the instance's port with TCP. Its AWS calls go to the run's launch ledger (through
 * the VPC's DynamoDB gateway endpoint): it reads the run-ended mark that terminate writes, so that a
 * probe the state machine could not stop ends within about a second of the run, and writes its own end
 * mark, which ends the run's filmstrip.
 */
export const handler = middy<ProbePortEvent, ProbePortResult>()
  .use(observed<ProbePortEvent, ProbePortResult>(eventKeys))
  .handler((event) => {
    const ledger = { benchmarkId: event.benchmarkId, runIndex: event.runIndex };
    return withWallClock((clock) =>
      probePort(event, {
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
      }),
    );
  });
