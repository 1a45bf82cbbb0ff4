import middy from "@middy/core";
import { readRunEnded } from "../aws/benchmark-table.js";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import type { ProbePortEvent, ProbePortResult } from "../domain/contract.js";
import { withWallClock } from "../shared/clock.js";
import { requireEnv } from "../shared/env.js";
import { probePort } from "./probe.js";

const tableName = requireEnv("TABLE_NAME");

/** A read that gets no answer (no route to DynamoDB) is abandoned and asked again, never waited on. */
const RUN_ENDED_READ_TIMEOUT_MS = 2_000;

/**
 * VPC Lambda: probes the instance's port with TCP. Its one AWS call reads the run-ended mark that
 * terminate writes (through the VPC's DynamoDB gateway endpoint), so that a probe the state machine
 * could not stop ends within about a second of the run.
 */
export const handler = middy<ProbePortEvent, ProbePortResult>().handler((event) =>
  withWallClock((clock) =>
    probePort(event, {
      clock,
      runEnded: () =>
        readRunEnded(
          dynamoDbClient,
          tableName,
          { benchmarkId: event.benchmarkId, runIndex: event.runIndex },
          AbortSignal.timeout(RUN_ENDED_READ_TIMEOUT_MS),
        ),
    }),
  ),
);
