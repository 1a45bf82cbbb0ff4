import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { RunEndedError } from "../domain/errors.js";
import type { ObservationMarks } from "../domain/filmstrip.js";
import { type ActiveGuestKey, GUEST_KEY_SK, type NewGuestKey } from "../domain/guest-timings.js";
import {
  benchmarkPk,
  launchSk,
  RUN_SK_PREFIX,
  type RunRecord,
  type SummaryRecord,
  type UnrecordedRunRecord,
} from "../domain/run-record.js";

/**
 * Access to the benchmark table: the only module that knows DynamoDB's attribute-value encoding.
 * Records are plain objects in the domain; absent optional fields are left out of items.
 */

export type Item = Record<string, AttributeValue>;
export interface ItemKey {
  pk: string;
  sk: string;
}

export const marshallItem = (record: object): Item =>
  marshall(record, { removeUndefinedValues: true, convertClassInstanceToMap: false });
export const unmarshallItem = (item: Item): Record<string, unknown> => unmarshall(item);

const keyOf = ({ pk, sk }: ItemKey): Item => ({ pk: { S: pk }, sk: { S: sk } });

// A run item read back decides a step's result, so a foreign or half-written item must not pass as one.
function asRunRecord(record: Record<string, unknown>): RunRecord {
  const { pk, sk, runIndex, status, counted } = record;
  const valid =
    typeof pk === "string" &&
    typeof sk === "string" &&
    sk.startsWith(RUN_SK_PREFIX) &&
    typeof runIndex === "number" &&
    Number.isInteger(runIndex) &&
    typeof counted === "boolean" &&
    (status === "succeeded" || status === "failed" || status === "timeout");
  if (!valid) throw new Error(`item ${String(pk)} / ${String(sk)} is not a run item`);
  return record as unknown as RunRecord;
}

/** True when the conditional write went through, false when its condition failed; other errors throw. */
export const unlessConditionFails = (write: Promise<unknown>): Promise<boolean> =>
  write.then(
    () => true,
    (error: unknown) => {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    },
  );

export const isConditionalCheckFailed = (error: unknown): boolean =>
  error instanceof Error && error.name === "ConditionalCheckFailedException";

// ---- operations ------------------------------------------------------------------------------
export async function getItem(
  client: DynamoDBClient,
  tableName: string,
  key: ItemKey,
): Promise<Record<string, unknown> | undefined> {
  const output = await client.send(
    new GetItemCommand({ TableName: tableName, Key: keyOf(key), ConsistentRead: true }),
  );
  return output.Item ? unmarshallItem(output.Item) : undefined;
}

export interface PutRunOnceResult {
  /** False when an item for the run already existed (a retried step): `stored` is that item. */
  written: boolean;
  stored: RunRecord;
}

/**
 * Writes a run item unless one exists. A retried or redriven RecordRun must not overwrite the first
 * record with what a later, different state would say, so the first write wins and a repeat returns it.
 */
export async function putRunOnce(
  client: DynamoDBClient,
  tableName: string,
  record: RunRecord,
): Promise<PutRunOnceResult> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshallItem(record),
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return { written: true, stored: record };
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  const existing = await getItem(client, tableName, record);
  // The condition failed, so the item existed a moment ago; items are never deleted by this service.
  if (!existing) throw new Error(`run item ${record.pk} / ${record.sk} exists but could not be read`);
  return { written: false, stored: asRunRecord(existing) };
}

/** Every run item of a benchmark, in run order, following pagination to the end. */
export async function queryRuns(
  client: DynamoDBClient,
  tableName: string,
  benchmarkId: string,
): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  let exclusiveStartKey: Item | undefined;
  do {
    const output = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :runPrefix)",
        ExpressionAttributeValues: {
          ":pk": { S: benchmarkPk(benchmarkId) },
          ":runPrefix": { S: RUN_SK_PREFIX },
        },
        ConsistentRead: true,
        ExclusiveStartKey: exclusiveStartKey,
      }),
    );
    for (const item of output.Items ?? []) runs.push(asRunRecord(unmarshallItem(item)));
    const lastKey = output.LastEvaluatedKey;
    exclusiveStartKey = lastKey && Object.keys(lastKey).length > 0 ? lastKey : undefined;
  } while (exclusiveStartKey !== undefined);
  return runs;
}

/** Writes the summary item, replacing any earlier one (it is computed deterministically from the runs). */
export async function putSummary(
  client: DynamoDBClient,
  tableName: string,
  record: SummaryRecord,
): Promise<void> {
  await client.send(new PutItemCommand({ TableName: tableName, Item: marshallItem(record) }));
}

/**
 * Keeps a run that could not be recorded, replacing an earlier copy: a retried Summarise builds the same
 * item from the same state.
 */
export async function putUnrecordedRun(
  client: DynamoDBClient,
  tableName: string,
  record: UnrecordedRunRecord,
): Promise<void> {
  await client.send(new PutItemCommand({ TableName: tableName, Item: marshallItem(record) }));
}

/** The run whose RunInstances sends a launch ledger counts. */
export interface LaunchLedgerKey {
  benchmarkId: string;
  runIndex: number;
  clientToken: string;
}

const launchLedgerKeyOf = (key: Pick<LaunchLedgerKey, "benchmarkId" | "runIndex">): Item =>
  keyOf({ pk: benchmarkPk(key.benchmarkId), sk: launchSk(key.runIndex) });

/**
 * Counts, before it goes out, every RunInstances request of a run whose outcome is not known to have
 * launched nothing, and returns the count including this one. More than 1 means an earlier request with
 * the same ClientToken (an earlier invocation whose response was lost, that crashed, or was answered by a
 * 5xx) may have launched the instance, so this request may be a replay that only returns it. Strongly
 * consistent (a single item's atomic counter), which the instance's whole-second LaunchTime is not.
 * Throws RunEndedError, counting nothing, once closeLaunchLedger has closed the item.
 */
export async function countLaunchSend(
  client: DynamoDBClient,
  tableName: string,
  key: LaunchLedgerKey,
  at: number,
): Promise<number> {
  const output = await client
    .send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: launchLedgerKeyOf(key),
        UpdateExpression:
          "ADD unsettledSends :one, sends :one SET itemType = :type, clientToken = :token, lastSendAt = :at",
        // The fence: once terminate has closed the ledger, no request of this run may go out any more.
        ConditionExpression: "attribute_not_exists(endedAt)",
        ExpressionAttributeValues: {
          ":one": { N: "1" },
          ":type": { S: "launchLedger" },
          ":token": { S: key.clientToken },
          ":at": { N: String(at) },
        },
        ReturnValues: "UPDATED_NEW",
      }),
    )
    .catch((error: unknown) => {
      if (!isConditionalCheckFailed(error)) throw error;
      throw new RunEndedError(
        `run ${key.runIndex} has ended (terminate closed its launch ledger): RunInstances with client token ` +
          `${key.clientToken} is not sent`,
      );
    });
  const unsettled = output.Attributes?.unsettledSends?.N;
  if (unsettled === undefined) throw new Error(`launch ledger of run ${key.runIndex} returned no count`);
  return Number(unsettled);
}

/** Takes back the count of a request that EC2 answered with an error that launches nothing (4xx). */
export async function settleLaunchSend(
  client: DynamoDBClient,
  tableName: string,
  key: LaunchLedgerKey,
): Promise<void> {
  await client.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: launchLedgerKeyOf(key),
      UpdateExpression: "ADD unsettledSends :minusOne",
      ConditionExpression: "unsettledSends > :zero",
      ExpressionAttributeValues: { ":minusOne": { N: "-1" }, ":zero": { N: "0" } },
    }),
  );
}

/** What terminate learns when it closes a run's launch ledger. */
export interface ClosedLaunchLedger {
  /** When the run was first marked ended (a retried terminate keeps the first mark). */
  endedAt: number;
  /** RunInstances requests of the run that may have launched an instance; 0 when none was ever sent. */
  unsettledSends: number;
}

/**
 * Marks the run ended and closes its launch ledger in one atomic write, creating the item when no
 * request was ever counted: from then on countLaunchSend sends nothing, and the probe stops. The
 * answer is strongly consistent, so no RunInstances request of the run can be counted after it unseen.
 * `ADD unsettledSends 0` puts the count among the updated attributes that UPDATED_NEW returns.
 */
export async function closeLaunchLedger(
  client: DynamoDBClient,
  tableName: string,
  key: LaunchLedgerKey,
  at: number,
): Promise<ClosedLaunchLedger> {
  const output = await client.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: launchLedgerKeyOf(key),
      UpdateExpression:
        "SET itemType = :type, clientToken = :token, endedAt = if_not_exists(endedAt, :at) ADD unsettledSends :zero",
      ExpressionAttributeValues: {
        ":type": { S: "launchLedger" },
        ":token": { S: key.clientToken },
        ":at": { N: String(at) },
        ":zero": { N: "0" },
      },
      ReturnValues: "UPDATED_NEW",
    }),
  );
  const endedAt = output.Attributes?.endedAt?.N;
  const unsettled = output.Attributes?.unsettledSends?.N;
  if (endedAt === undefined || unsettled === undefined) {
    throw new Error(`launch ledger of run ${key.runIndex} returned no end mark or count`);
  }
  return { endedAt: Number(endedAt), unsettledSends: Number(unsettled) };
}

/**
 * Whether terminate has marked the run ended. A consistent read of the mark alone (IAM lets the probe
 * read nothing else); `abortSignal` bounds a read that gets no answer.
 */
export async function readRunEnded(
  client: DynamoDBClient,
  tableName: string,
  key: Omit<LaunchLedgerKey, "clientToken">,
  abortSignal?: AbortSignal,
): Promise<boolean> {
  const output = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: launchLedgerKeyOf(key),
      ConsistentRead: true,
      ProjectionExpression: "endedAt",
    }),
    abortSignal === undefined ? {} : { abortSignal },
  );
  return output.Item?.endedAt !== undefined;
}

/**
 * The probe's end mark (`probeEndedAt`, when it saw the port open or reached its deadline), which
 * tells the filmstrip stream that the observation is over. The first mark stays; IAM lets the probe
 * write this one attribute and nothing else.
 */
export async function markProbeEnded(
  client: DynamoDBClient,
  tableName: string,
  key: Omit<LaunchLedgerKey, "clientToken">,
  at: number,
  abortSignal?: AbortSignal,
): Promise<void> {
  await client.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: launchLedgerKeyOf(key),
      UpdateExpression: "SET probeEndedAt = if_not_exists(probeEndedAt, :at)",
      ExpressionAttributeValues: { ":at": { N: String(at) } },
    }),
    abortSignal === undefined ? {} : { abortSignal },
  );
}

/** A consistent read of the two marks alone (IAM lets the screenshot step read nothing else). */
export async function readObservationMarks(
  client: DynamoDBClient,
  tableName: string,
  key: Omit<LaunchLedgerKey, "clientToken">,
  abortSignal?: AbortSignal,
): Promise<ObservationMarks> {
  const output = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: launchLedgerKeyOf(key),
      ConsistentRead: true,
      ProjectionExpression: "probeEndedAt, endedAt",
    }),
    abortSignal === undefined ? {} : { abortSignal },
  );
  const probeEndedAt = output.Item?.probeEndedAt?.N;
  const runEndedAt = output.Item?.endedAt?.N;
  return {
    ...(probeEndedAt !== undefined && { probeEndedAt: Number(probeEndedAt) }),
    ...(runEndedAt !== undefined && { runEndedAt: Number(runEndedAt) }),
  };
}

// ---- the guest key (functions/prepare-guest-key, delete-guest-key) ------------------------------
const guestKeyItemKey = (benchmarkId: string): ItemKey => ({
  pk: benchmarkPk(benchmarkId),
  sk: GUEST_KEY_SK,
});

/**
 * Stores the benchmark's key once: a retried PrepareGuestKey gets the key the first attempt stored,
 * so that the key pair EC2 has and the private key the probe reads are always one pair.
 */
export async function putGuestKeyOnce(
  client: DynamoDBClient,
  tableName: string,
  record: NewGuestKey,
): Promise<ActiveGuestKey> {
  const item: ActiveGuestKey = {
    pk: benchmarkPk(record.benchmarkId),
    sk: GUEST_KEY_SK,
    itemType: "guestKey",
    ...record,
  };
  const written = await unlessConditionFails(
    client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: marshallItem(item),
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    ),
  );
  if (written) return item;
  const stored = await getItem(client, tableName, item);
  if (stored?.itemType !== "guestKey" || typeof stored.privateKey !== "string") {
    // Retired already (its benchmark's runs are over), or not a guest key item at all.
    throw new Error(`guest key item of benchmark ${record.benchmarkId} exists without a private key`);
  }
  return stored as unknown as ActiveGuestKey;
}

/**
 * The private half of the benchmark's key, for the probe's guest session: a consistent read of that
 * one attribute (IAM lets the probe read nothing else of the item). Undefined once it is retired.
 */
export async function readGuestPrivateKey(
  client: DynamoDBClient,
  tableName: string,
  benchmarkId: string,
  abortSignal?: AbortSignal,
): Promise<string | undefined> {
  const output = await client.send(
    new GetItemCommand({
      TableName: tableName,
      Key: keyOf(guestKeyItemKey(benchmarkId)),
      ConsistentRead: true,
      ProjectionExpression: "privateKey",
    }),
    abortSignal === undefined ? {} : { abortSignal },
  );
  return output.Item?.privateKey?.S;
}

/**
 * Removes the private half of the benchmark's key once its runs are over (idempotent: a retired key
 * stays retired). The item is updated, not deleted: no step may delete items of this table.
 */
export async function retireGuestKey(
  client: DynamoDBClient,
  tableName: string,
  benchmarkId: string,
  at: Date,
): Promise<void> {
  await unlessConditionFails(
    client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: keyOf(guestKeyItemKey(benchmarkId)),
        UpdateExpression: "SET retiredAt = :at REMOVE privateKey",
        ConditionExpression: "attribute_exists(privateKey)",
        ExpressionAttributeValues: { ":at": { S: at.toISOString() } },
      }),
    ),
  );
}
