/**
 * Where the CLI reads and writes results: the local cloud's on-disk DynamoDB (`--local`), or a deployed
 * stack's table, named with `--table` or found from the stack's `TableName` output (`--stack`), with the
 * standard AWS credentials, region and endpoint configuration.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LOCAL_TABLE_NAME, startLocalDynamoDb } from "../local-cloud/runner/local-dynamodb.js";
import { assertLoopbackEndpoint } from "../local-cloud/runner/loopback.js";

export const DEFAULT_DATA_DIR = ".boot-bench/dynamodb";
export const DEFAULT_STACK_NAME = "BootBench";

export interface TableTargetOptions {
  local?: boolean;
  dataDir?: string;
  table?: string;
  stack?: string;
}

export interface ResultsTable {
  client: DynamoDBClient;
  tableName: string;
  close(): Promise<void>;
}

export async function openResultsTable(options: TableTargetOptions): Promise<ResultsTable> {
  if (options.local) {
    // An endpoint already in the environment (a running local cloud) wins, as in `run --local`.
    const preset = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    if (preset !== undefined) assertLoopbackEndpoint("AWS_ENDPOINT_URL_DYNAMODB", preset);
    const local =
      preset === undefined
        ? await startLocalDynamoDb({ dataDir: options.dataDir ?? DEFAULT_DATA_DIR })
        : undefined;
    const client = new DynamoDBClient({
      endpoint: preset ?? local?.endpoint,
      region: process.env.AWS_REGION ?? "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    return {
      client,
      tableName: options.table ?? LOCAL_TABLE_NAME,
      close: async () => {
        client.destroy();
        await local?.close();
      },
    };
  }
  const client = new DynamoDBClient({});
  const tableName = options.table ?? (await tableNameFromStack(options.stack ?? DEFAULT_STACK_NAME));
  return { client, tableName, close: async () => client.destroy() };
}

async function tableNameFromStack(stackName: string): Promise<string> {
  // Loaded only for --stack: every other target would pay for it at startup.
  const { CloudFormationClient, DescribeStacksCommand } = await import("@aws-sdk/client-cloudformation");
  const cloudFormation = new CloudFormationClient({});
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const output = Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === "TableName")?.OutputValue;
    if (!output) throw new Error(`Stack ${stackName} has no TableName output; pass --table`);
    return output;
  } finally {
    cloudFormation.destroy();
  }
}
