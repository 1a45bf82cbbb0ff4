import middy from "@middy/core";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import { readRunSlots, releaseRunSlot as releaseSlotItem } from "../aws/run-slot-table.js";
import type { ReleaseRunSlotEvent, ReleaseRunSlotResult } from "../domain/contract.js";
import { requireEnv } from "../shared/env.js";
import { observed, runStateKeys } from "../shared/observability.js";
import { type RunSlotReleaser, releaseRunSlot } from "./release-run-slot.js";

const tableName = requireEnv("TABLE_NAME");

const store: RunSlotReleaser = {
  read: () => readRunSlots(dynamoDbClient, tableName),
  release: (slot, holder) => releaseSlotItem(dynamoDbClient, tableName, { slot, holder }),
};

export const lambdaHandler = (event: ReleaseRunSlotEvent): Promise<ReleaseRunSlotResult> =>
  releaseRunSlot(event, { store });

export const handler = middy<ReleaseRunSlotEvent, ReleaseRunSlotResult>()
  .use(observed<ReleaseRunSlotEvent, ReleaseRunSlotResult>(runStateKeys))
  .handler(lambdaHandler);
