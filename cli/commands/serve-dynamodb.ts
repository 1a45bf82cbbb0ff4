/**
 * `boot-bench serve-dynamodb`: serves the local cloud's on-disk results over the DynamoDB API on
 * loopback, so that the AWS CLI and people's own code can query them exactly as they would query a
 * deployed stack's table.
 */
import type { Command } from "commander";
import { LOCAL_TABLE_NAME, startLocalDynamoDb } from "../../local-cloud/runner/local-dynamodb.js";
import { DEFAULT_DATA_DIR } from "../results-table.js";

export function registerServeDynamoDbCommand(program: Command): void {
  program
    .command("serve-dynamodb")
    .description("serve the local results over the DynamoDB API on 127.0.0.1 until interrupted")
    .option("--port <port>", "TCP port on 127.0.0.1", "8000")
    .option("--data-dir <dir>", "where the local cloud keeps its results", DEFAULT_DATA_DIR)
    .action(async (options: { port: string; dataDir: string }) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(`--port must be an integer from 1 to 65535, got ${JSON.stringify(options.port)}`);
      }
      const dynamoDb = await startLocalDynamoDb({ dataDir: options.dataDir, port });
      console.log(
        `DynamoDB API on ${dynamoDb.endpoint}, table ${LOCAL_TABLE_NAME} (data in ${options.dataDir}).`,
      );
      console.log(
        `e.g. aws dynamodb query --endpoint-url ${dynamoDb.endpoint} --table-name ${LOCAL_TABLE_NAME} …`,
      );
      console.log("Ctrl-C to stop.");
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await dynamoDb.close();
    });
}
