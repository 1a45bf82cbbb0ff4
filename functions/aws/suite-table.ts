/**
 * The table access suites need beyond benchmark-table.ts: the ByAmi and BySource indexes (Query, never
 * Scan), marking a summary as a regression, the suite item and the marks of the alerts sent.
 */
import {
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { PlatformComparison, SeriesComparison } from "../domain/regression.js";
import { benchmarkPk, SUMMARY_SK, type SummaryRecord } from "../domain/run-record.js";
import { type AlertSentRecord, alertSentKey, type SuiteRecord } from "../domain/suite.js";
import { getItem, type Item, marshallItem, unmarshallItem } from "./benchmark-table.js";

const isSummary = (record: Record<string, unknown>): boolean =>
  record.itemType === "summary" && record.sk === SUMMARY_SK && typeof record.benchmarkId === "string";

/** Which summaries a search reads: only those started at or after `startedSince` (ISO 8601), if given. */
export interface SummarySearch {
  accept: (summary: SummaryRecord) => boolean;
  startedSince?: string;
}

/**
 * Summaries whose `partitionKey` attribute equals `value` in `indexName` (both indexes sort on
 * `startedAt`), newest first, page by page until `accept` takes one. Returns that one, or undefined
 * when the index holds none.
 */
async function findNewest(
  client: DynamoDBClient,
  tableName: string,
  indexName: "ByAmi" | "BySource",
  partitionKey: "amiId" | "sourceParameter",
  value: string,
  { accept, startedSince }: SummarySearch,
): Promise<SummaryRecord | undefined> {
  let exclusiveStartKey: Item | undefined;
  do {
    const output = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: indexName,
        KeyConditionExpression: `#key = :value${startedSince !== undefined ? " AND startedAt >= :since" : ""}`,
        ExpressionAttributeNames: { "#key": partitionKey },
        ExpressionAttributeValues: {
          ":value": { S: value },
          ...(startedSince !== undefined && { ":since": { S: startedSince } }),
        },
        ScanIndexForward: false,
        ExclusiveStartKey: exclusiveStartKey,
      }),
    );
    for (const item of output.Items ?? []) {
      const record = unmarshallItem(item);
      if (isSummary(record) && accept(record as unknown as SummaryRecord))
        return record as unknown as SummaryRecord;
    }
    const lastKey = output.LastEvaluatedKey;
    exclusiveStartKey = lastKey && Object.keys(lastKey).length > 0 ? lastKey : undefined;
  } while (exclusiveStartKey !== undefined);
  return undefined;
}

/** The newest summary of an AMI (ByAmi) that the search takes. */
export const newestBenchmarkOfAmi = (
  client: DynamoDBClient,
  tableName: string,
  amiId: string,
  search: SummarySearch,
) => findNewest(client, tableName, "ByAmi", "amiId", amiId, search);

/** The newest summary of an SSM parameter's history (BySource) that the search takes. */
export const newestBenchmarkOfSeries = (
  client: DynamoDBClient,
  tableName: string,
  sourceParameter: string,
  search: SummarySearch,
) => findNewest(client, tableName, "BySource", "sourceParameter", sourceParameter, search);

/**
 * Records the comparison on the benchmark's summary item (`regression` only when it is one), and the
 * control's change beside it when the suite ran one (`platform`).
 */
export async function markComparison(
  client: DynamoDBClient,
  tableName: string,
  benchmarkId: string,
  comparison: SeriesComparison,
  platform?: PlatformComparison,
): Promise<void> {
  const values = marshallItem({
    ":comparison": comparison,
    ...(comparison.regression && { ":regression": comparison }),
    ...(platform !== undefined && { ":platform": platform }),
  });
  const set = [
    "previousComparison = :comparison",
    ...(comparison.regression ? ["regression = :regression"] : []),
    ...(platform !== undefined ? ["platform = :platform"] : []),
  ];
  const remove = [...(comparison.regression ? [] : ["regression"]), ...(platform ? [] : ["platform"])];
  await client.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { pk: { S: benchmarkPk(benchmarkId) }, sk: { S: SUMMARY_SK } },
      UpdateExpression: `SET ${set.join(", ")}${remove.length > 0 ? ` REMOVE ${remove.join(", ")}` : ""}`,
      // Never create a summary that Summarise did not write.
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeValues: values,
    }),
  );
}

/** Writes the suite item, replacing an earlier one of the same suite run (a retried step). */
export async function putSuiteRecord(
  client: DynamoDBClient,
  tableName: string,
  record: SuiteRecord,
): Promise<void> {
  await client.send(new PutItemCommand({ TableName: tableName, Item: marshallItem(record) }));
}

/** The mark of a regression's alert in this suite run, when one was sent (strongly consistent read). */
export async function getAlertSent(
  client: DynamoDBClient,
  tableName: string,
  suiteRunId: string,
  benchmarkId: string,
): Promise<AlertSentRecord | undefined> {
  const item = await getItem(client, tableName, alertSentKey(suiteRunId, benchmarkId));
  return item?.itemType === "alertSent" ? (item as unknown as AlertSentRecord) : undefined;
}

/** Marks an alert as sent (a repeat overwrites the mark of the same alert). */
export async function putAlertSent(
  client: DynamoDBClient,
  tableName: string,
  record: AlertSentRecord,
): Promise<void> {
  await client.send(new PutItemCommand({ TableName: tableName, Item: marshallItem(record) }));
}
