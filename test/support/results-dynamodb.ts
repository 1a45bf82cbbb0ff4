/**
 * An in-memory dynalite holding the results table with the stack's keys and indexes, seeded with
 * records: what the query, CLI and report tests read from.
 */
import {
  BatchWriteItemCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { marshallItem } from "../../functions/aws/benchmark-table.js";
import { ensureTable, startLocalDynamoDb } from "../../local-cloud/runner/local-dynamodb.js";
import type { BenchmarkRecords } from "./benchmark-records.js";

/**
 * The table as infra/boot-bench-stack.ts defines it (test/infra/boot-bench-stack.test.ts pins the
 * synthesised keys and indexes). Written out because synthesising the stack takes seconds per file.
 */
export function resultsTableDefinition(tableName: string): CreateTableCommandInput {
  const index = (IndexName: string, partitionKey: string) => ({
    IndexName,
    KeySchema: [
      { AttributeName: partitionKey, KeyType: "HASH" as const },
      { AttributeName: "startedAt", KeyType: "RANGE" as const },
    ],
    Projection: { ProjectionType: "ALL" as const },
  });
  return {
    TableName: tableName,
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
    AttributeDefinitions: ["pk", "sk", "amiId", "sourceParameter", "recentPk", "failedPk", "startedAt"].map(
      (AttributeName) => ({ AttributeName, AttributeType: "S" as const }),
    ),
    BillingMode: "PAY_PER_REQUEST",
    GlobalSecondaryIndexes: [
      index("ByAmi", "amiId"),
      index("BySource", "sourceParameter"),
      index("Recent", "recentPk"),
      index("FailedRuns", "failedPk"),
    ],
  };
}

/** Writes items 25 at a time (BatchWriteItem's limit), retrying what DynamoDB hands back unprocessed. */
export async function putItems(client: DynamoDBClient, tableName: string, records: object[]): Promise<void> {
  for (let start = 0; start < records.length; start += 25) {
    let requests: WriteRequest[] = records
      .slice(start, start + 25)
      .map((record) => ({ PutRequest: { Item: marshallItem(record) } }));
    while (requests.length > 0) {
      const output = await client.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }),
      );
      requests = output.UnprocessedItems?.[tableName] ?? [];
    }
  }
}

export const recordsOf = (benchmarks: BenchmarkRecords[]): object[] =>
  benchmarks.flatMap((benchmark) => [...benchmark.runs, benchmark.summary]);

export interface SeededTable {
  client: DynamoDBClient;
  tableName: string;
  endpoint: string;
  close(): Promise<void>;
}

export async function startSeededTable(
  benchmarks: BenchmarkRecords[],
  options: { tableName?: string; dataDir?: string } = {},
): Promise<SeededTable> {
  const tableName = options.tableName ?? "boot-bench-test";
  const dynamoDb = await startLocalDynamoDb(options.dataDir ? { dataDir: options.dataDir } : {});
  const client = new DynamoDBClient({
    endpoint: dynamoDb.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  await ensureTable(client, resultsTableDefinition(tableName));
  await putItems(client, tableName, recordsOf(benchmarks));
  return {
    client,
    tableName,
    endpoint: dynamoDb.endpoint,
    close: async () => {
      client.destroy();
      await dynamoDb.close();
    },
  };
}
