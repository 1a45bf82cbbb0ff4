import { type DynamoDBClient, QueryCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import type { AcquireRunSlotResult } from "../domain/contract.js";
import {
  RUN_PACE_SK,
  RUN_SLOT_SK_PREFIX,
  RUN_SLOTS_PK,
  type RunSlotLease,
  runSlotSk,
} from "../domain/run-slots.js";
import { isConditionalCheckFailed, unlessConditionFails } from "./benchmark-table.js";

/**
 * The run-slot items of the benchmark table (functions/domain/run-slots.ts): one partition,
 * `RUNSLOTS`, one item per slot ever taken. Reads are strongly consistent and every write is
 * conditional, so two runs can never hold the same slot.
 */

/** Every slot item, held or not. */
export async function readRunSlots(client: DynamoDBClient, tableName: string): Promise<RunSlotLease[]> {
  const leases: RunSlotLease[] = [];
  let startKey: QueryCommand["input"]["ExclusiveStartKey"];
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :slots)",
        ExpressionAttributeValues: { ":pk": { S: RUN_SLOTS_PK }, ":slots": { S: RUN_SLOT_SK_PREFIX } },
        ProjectionExpression: "slot, holder, expiresAt",
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const slot = Number(item.slot?.N);
      if (!Number.isInteger(slot)) continue;
      leases.push({
        slot,
        ...(item.holder?.S !== undefined && { holder: item.holder.S }),
        ...(item.expiresAt?.N !== undefined && { expiresAt: Number(item.expiresAt.N) }),
      });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return leases;
}

/**
 * Takes one slot for `holder` if it is free, its lease has expired, or `holder` already has it (then
 * the lease is renewed). Undefined when another run got there first.
 */
export async function takeRunSlot(
  client: DynamoDBClient,
  tableName: string,
  request: { slot: number; holder: string; now: number; leaseSeconds: number },
): Promise<AcquireRunSlotResult | undefined> {
  const expiresAt = request.now + request.leaseSeconds * 1000;
  const output = await client
    .send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: RUN_SLOTS_PK }, sk: { S: runSlotSk(request.slot) } },
        UpdateExpression:
          "SET itemType = :type, slot = :slot, holder = :holder, acquiredAt = :now, expiresAt = :expiresAt",
        ConditionExpression: "attribute_not_exists(holder) OR holder = :holder OR expiresAt <= :now",
        ExpressionAttributeValues: {
          ":type": { S: "runSlot" },
          ":slot": { N: String(request.slot) },
          ":holder": { S: request.holder },
          ":now": { N: String(request.now) },
          ":expiresAt": { N: String(expiresAt) },
        },
        ReturnValues: "UPDATED_OLD",
      }),
    )
    .catch((error: unknown) => {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    });
  if (output === undefined) return undefined;
  const previous = output.Attributes?.holder?.S;
  return {
    slot: request.slot,
    acquiredAt: request.now,
    expiresAt,
    ...(previous !== undefined && previous !== request.holder && { expiredHolder: previous }),
  };
}

/**
 * Claims the account's next run start: true when the last start was at least `spacingMs` ago (or
 * there was none), and then `now` is the last start. Taken before the slot, so a start claimed by a
 * run that then loses every slot to others is only a start left unused, never two starts too close.
 */
export async function takeRunStart(
  client: DynamoDBClient,
  tableName: string,
  request: { now: number; spacingMs: number },
): Promise<boolean> {
  return unlessConditionFails(
    client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: RUN_SLOTS_PK }, sk: { S: RUN_PACE_SK } },
        UpdateExpression: "SET itemType = :type, lastStartAt = :now",
        ConditionExpression: "attribute_not_exists(lastStartAt) OR lastStartAt <= :earliest",
        ExpressionAttributeValues: {
          ":type": { S: "runPace" },
          ":now": { N: String(request.now) },
          ":earliest": { N: String(request.now - request.spacingMs) },
        },
      }),
    ),
  );
}

/**
 * Gives a slot back. False when `holder` no longer holds it: already given back (a retried step), or
 * its lease expired and another run took the slot, which must keep it.
 */
export async function releaseRunSlot(
  client: DynamoDBClient,
  tableName: string,
  request: { slot: number; holder: string },
): Promise<boolean> {
  return unlessConditionFails(
    client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: RUN_SLOTS_PK }, sk: { S: runSlotSk(request.slot) } },
        UpdateExpression: "REMOVE holder, acquiredAt, expiresAt",
        ConditionExpression: "holder = :holder",
        ExpressionAttributeValues: { ":holder": { S: request.holder } },
      }),
    ),
  );
}
