import middy from "@middy/core";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import { readRunSlots, takeRunSlot, takeRunStart } from "../aws/run-slot-table.js";
import { type AcquireRunSlotEvent, type AcquireRunSlotResult, ErrorNames } from "../domain/contract.js";
import {
  RUN_SLOT_LEASE_SECONDS_ENV,
  RUN_SLOTS_ENV,
  RUN_START_SPACING_MS_ENV,
  runSlotSettingsFromEnvironment,
} from "../domain/run-slots.js";
import { requireEnv } from "../shared/env.js";
import { observed, runStateKeys } from "../shared/observability.js";
import { acquireRunSlot, type RunSlotStore } from "./acquire-run-slot.js";

const tableName = requireEnv("TABLE_NAME");
const settings = runSlotSettingsFromEnvironment(
  requireEnv(RUN_SLOTS_ENV),
  requireEnv(RUN_SLOT_LEASE_SECONDS_ENV),
  requireEnv(RUN_START_SPACING_MS_ENV),
);

const store: RunSlotStore = {
  read: () => readRunSlots(dynamoDbClient, tableName),
  take: (slot, holder, now) =>
    takeRunSlot(dynamoDbClient, tableName, { slot, holder, now, leaseSeconds: settings.leaseSeconds }),
  takeStart: (now) => takeRunStart(dynamoDbClient, tableName, { now, spacingMs: settings.startSpacingMs }),
};

export const lambdaHandler = (event: AcquireRunSlotEvent): Promise<AcquireRunSlotResult> =>
  acquireRunSlot(event, { store, settings, now: Date.now });

export const handler = middy<AcquireRunSlotEvent, AcquireRunSlotResult>()
  .use(
    observed<AcquireRunSlotEvent, AcquireRunSlotResult>(runStateKeys, {
      expectedErrors: [ErrorNames.runSlotsBusy],
    }),
  )
  .handler(lambdaHandler);
