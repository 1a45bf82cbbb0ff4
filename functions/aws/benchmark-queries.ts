/**
 * Read side of the benchmark table: one function per access pattern of docs/architecture.md, each a
 * DynamoDB Query (never a Scan) followed to its last page. The client is a parameter, so the same code
 * reads the local cloud's dynalite and a deployed stack's table.
 */
import { type DynamoDBClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/client-dynamodb";
import { SUMMARY_DIGEST_PATHS, type SummaryDigest } from "../domain/comparison.js";
import {
  benchmarkPk,
  FAILED_RUN_PK,
  RECENT_PK,
  RUN_SK_PREFIX,
  type RunRecord,
  SUMMARY_SK,
  type SummaryRecord,
  type UnrecordedRunRecord,
  unrecordedSk,
} from "../domain/run-record.js";
import { getItem, type Item, unmarshallItem } from "./benchmark-table.js";

export const INDEX_BY_AMI = "ByAmi";
export const INDEX_BY_SOURCE = "BySource";
export const INDEX_RECENT = "Recent";
export const INDEX_FAILED_RUNS = "FailedRuns";

/** Narrows a query; every field is optional and they combine with AND. */
export interface SummaryFilter {
  amiId?: string;
  sourceParameter?: string;
  instanceType?: string;
  label?: string;
  /** Inclusive lower bound on `startedAt` (ISO 8601, UTC, as stored): a key condition on every index. */
  since?: string;
  /** Order by `startedAt`; oldest first unless set. */
  newestFirst?: boolean;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

// Items reach tables, charts and JSON output; a foreign or half-written item must fail with its key
// rather than as a TypeError deep in a formatter.
function asSummaryRecord(record: Record<string, unknown>): SummaryRecord {
  const { pk, sk, benchmarkId, amiId, startedAt, image, instanceType, runs } = record;
  const valid =
    typeof pk === "string" &&
    sk === SUMMARY_SK &&
    typeof benchmarkId === "string" &&
    typeof amiId === "string" &&
    typeof startedAt === "string" &&
    isRecord(image) &&
    typeof instanceType === "string" &&
    typeof runs === "number";
  if (!valid) throw new Error(`item ${String(pk)} / ${String(sk)} is not a benchmark summary item`);
  return record as unknown as SummaryRecord;
}

function asSummaryDigest(record: Record<string, unknown>): SummaryDigest {
  const { benchmarkId, amiId, startedAt, image, instanceType, countedRuns } = record;
  const valid =
    typeof benchmarkId === "string" &&
    typeof amiId === "string" &&
    typeof startedAt === "string" &&
    isRecord(image) &&
    typeof image.name === "string" &&
    typeof instanceType === "string" &&
    typeof countedRuns === "number";
  if (!valid) throw new Error(`item of benchmark ${String(benchmarkId)} is not a benchmark summary item`);
  return record as unknown as SummaryDigest;
}

function asRunItem(record: Record<string, unknown>): RunRecord {
  const { pk, sk, runIndex, status, benchmarkId } = record;
  const valid =
    typeof pk === "string" &&
    typeof sk === "string" &&
    sk.startsWith(RUN_SK_PREFIX) &&
    typeof benchmarkId === "string" &&
    typeof runIndex === "number" &&
    (status === "succeeded" || status === "failed" || status === "timeout");
  if (!valid) throw new Error(`item ${String(pk)} / ${String(sk)} is not a run item`);
  return record as unknown as RunRecord;
}

function asUnrecordedRunItem(record: Record<string, unknown>): UnrecordedRunRecord {
  const { pk, sk, runIndex, state } = record;
  const valid =
    typeof pk === "string" &&
    typeof runIndex === "number" &&
    sk === unrecordedSk(runIndex) &&
    typeof state === "string";
  if (!valid) throw new Error(`item ${String(pk)} / ${String(sk)} is not an unrecorded-run item`);
  return record as unknown as UnrecordedRunRecord;
}

/** Every item a Query matches, page after page (a page stops at 1 MB). */
export async function queryAllItems(
  client: DynamoDBClient,
  input: QueryCommandInput,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let exclusiveStartKey: Item | undefined;
  do {
    const output = await client.send(new QueryCommand({ ...input, ExclusiveStartKey: exclusiveStartKey }));
    for (const item of output.Items ?? []) items.push(unmarshallItem(item));
    const lastKey = output.LastEvaluatedKey;
    exclusiveStartKey = lastKey && Object.keys(lastKey).length > 0 ? lastKey : undefined;
  } while (exclusiveStartKey !== undefined);
  return items;
}

interface IndexQueryParts {
  indexName: string;
  partitionAttribute: string;
  partitionValue: string;
  /** Non-key conditions, as FilterExpression clauses on attributes named by the map key. */
  filters: Record<string, string | undefined>;
  since: string | undefined;
  newestFirst: boolean | undefined;
}

/**
 * One Query on a GSI sorted by `startedAt`. Conditions on non-key attributes become a FilterExpression:
 * DynamoDB still reads (and bills) the filtered-out items, but they do not cross the network.
 */
function indexQuery(tableName: string, parts: IndexQueryParts): QueryCommandInput {
  const names: Record<string, string> = { "#partition": parts.partitionAttribute };
  const values: Item = { ":partition": { S: parts.partitionValue } };
  let keyCondition = "#partition = :partition";
  if (parts.since !== undefined) {
    names["#startedAt"] = "startedAt";
    values[":since"] = { S: parts.since };
    keyCondition += " AND #startedAt >= :since";
  }
  const clauses: string[] = [];
  for (const [attribute, value] of Object.entries(parts.filters)) {
    if (value === undefined) continue;
    const n = clauses.length;
    names[`#f${n}`] = attribute;
    values[`:f${n}`] = { S: value };
    clauses.push(`#f${n} = :f${n}`);
  }
  return {
    TableName: tableName,
    IndexName: parts.indexName,
    KeyConditionExpression: keyCondition,
    ...(clauses.length > 0 && { FilterExpression: clauses.join(" AND ") }),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ScanIndexForward: !parts.newestFirst,
  };
}

/**
 * The Query that serves a summary filter: by AMI (`ByAmi`) when one is named, else by SSM parameter
 * (`BySource`), else everything recent (`Recent`). Exported so that tests can see which access pattern
 * a filter uses.
 */
export function summaryQueryFor(tableName: string, filter: SummaryFilter): QueryCommandInput {
  const common = { since: filter.since, newestFirst: filter.newestFirst };
  const rest = { instanceType: filter.instanceType, label: filter.label };
  if (filter.amiId !== undefined) {
    return indexQuery(tableName, {
      indexName: INDEX_BY_AMI,
      partitionAttribute: "amiId",
      partitionValue: filter.amiId,
      filters: { sourceParameter: filter.sourceParameter, ...rest },
      ...common,
    });
  }
  if (filter.sourceParameter !== undefined) {
    return indexQuery(tableName, {
      indexName: INDEX_BY_SOURCE,
      partitionAttribute: "sourceParameter",
      partitionValue: filter.sourceParameter,
      filters: rest,
      ...common,
    });
  }
  return indexQuery(tableName, {
    indexName: INDEX_RECENT,
    partitionAttribute: "recentPk",
    partitionValue: RECENT_PK,
    filters: rest,
    ...common,
  });
}

/** Benchmark summaries matching a filter, whole, ordered by `startedAt`. */
export async function querySummaries(
  client: DynamoDBClient,
  tableName: string,
  filter: SummaryFilter = {},
): Promise<SummaryRecord[]> {
  const items = await queryAllItems(client, summaryQueryFor(tableName, filter));
  return items.map(asSummaryRecord);
}

/**
 * A ProjectionExpression for attribute paths, every segment through a placeholder: `name`, `status`,
 * `runs` and `label` are DynamoDB reserved words, and a placeholder for each costs nothing.
 */
export function projectionOf(paths: readonly string[]): {
  ProjectionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
} {
  const placeholders = new Map<string, string>();
  const placeholder = (segment: string): string => {
    let name = placeholders.get(segment);
    if (name === undefined) {
      name = `#p${placeholders.size}`;
      placeholders.set(segment, name);
    }
    return name;
  };
  const expression = paths.map((path) => path.split(".").map(placeholder).join(".")).join(", ");
  return {
    ProjectionExpression: expression,
    ExpressionAttributeNames: Object.fromEntries([...placeholders].map(([segment, name]) => [name, segment])),
  };
}

/**
 * The same summaries as querySummaries, read as digests: what the comparison table, the history and the
 * report show, at about half the bytes to transfer and decode.
 */
export async function querySummaryDigests(
  client: DynamoDBClient,
  tableName: string,
  filter: SummaryFilter = {},
): Promise<SummaryDigest[]> {
  const input = summaryQueryFor(tableName, filter);
  const projection = projectionOf(SUMMARY_DIGEST_PATHS);
  const items = await queryAllItems(client, {
    ...input,
    ProjectionExpression: projection.ProjectionExpression,
    ExpressionAttributeNames: { ...input.ExpressionAttributeNames, ...projection.ExpressionAttributeNames },
  });
  return items.map(asSummaryDigest);
}

/** The history of one SSM parameter (the `BySource` access pattern). */
export const querySummariesBySource = (
  client: DynamoDBClient,
  tableName: string,
  sourceParameter: string,
  filter: Omit<SummaryFilter, "sourceParameter" | "amiId"> = {},
): Promise<SummaryRecord[]> => querySummaries(client, tableName, { ...filter, sourceParameter });

/** Every benchmark of one AMI (the `ByAmi` access pattern). */
export const querySummariesByAmi = (
  client: DynamoDBClient,
  tableName: string,
  amiId: string,
  filter: Omit<SummaryFilter, "amiId"> = {},
): Promise<SummaryRecord[]> => querySummaries(client, tableName, { ...filter, amiId });

export interface FailedRunFilter {
  since?: string;
  instanceType?: string;
  label?: string;
}

/** Failed and timed-out runs across all benchmarks, newest first (the `FailedRuns` access pattern). */
export async function queryFailedRuns(
  client: DynamoDBClient,
  tableName: string,
  filter: FailedRunFilter = {},
): Promise<RunRecord[]> {
  const input = indexQuery(tableName, {
    indexName: INDEX_FAILED_RUNS,
    partitionAttribute: "failedPk",
    partitionValue: FAILED_RUN_PK,
    filters: { instanceType: filter.instanceType, label: filter.label },
    since: filter.since,
    newestFirst: true,
  });
  const items = await queryAllItems(client, input);
  return items.map(asRunItem);
}

export interface BenchmarkItems {
  /** Absent while the benchmark is still running (the summary is written last) or when it never ended. */
  summary?: SummaryRecord;
  /** In run order. */
  runs: RunRecord[];
  /** Runs that could not be recorded and are kept whole instead (none has a run item). */
  unrecorded: UnrecordedRunRecord[];
}

/** One benchmark's summary item (GetItem), or undefined while it has none. */
export async function getSummary(
  client: DynamoDBClient,
  tableName: string,
  benchmarkId: string,
): Promise<SummaryRecord | undefined> {
  const item = await getItem(client, tableName, { pk: benchmarkPk(benchmarkId), sk: SUMMARY_SK });
  return item === undefined ? undefined : asSummaryRecord(item);
}

/** The summary and every run of one benchmark: one Query on the base table's partition. */
export async function queryBenchmark(
  client: DynamoDBClient,
  tableName: string,
  benchmarkId: string,
): Promise<BenchmarkItems> {
  const items = await queryAllItems(client, {
    TableName: tableName,
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": { S: benchmarkPk(benchmarkId) } },
  });
  const result: BenchmarkItems = { runs: [], unrecorded: [] };
  const unrecorded: UnrecordedRunRecord[] = [];
  for (const item of items) {
    if (item.sk === SUMMARY_SK) result.summary = asSummaryRecord(item);
    else if (typeof item.sk === "string" && item.sk.startsWith(RUN_SK_PREFIX))
      result.runs.push(asRunItem(item));
    else if (item.itemType === "unrecordedRun") unrecorded.push(asUnrecordedRunItem(item));
  }
  // A retried Summarise may have recorded a run it had kept unrecorded before: the run item wins.
  const recorded = new Set(result.runs.map((run) => run.runIndex));
  result.unrecorded = unrecorded.filter((run) => !recorded.has(run.runIndex));
  return result;
}
