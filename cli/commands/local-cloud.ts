/**
 * `boot-bench local-cloud`: serves the local cloud's EC2, SSM, DynamoDB, S3 and SNS on loopback until
 * interrupted, and prints the environment that points the AWS CLI, an SDK or `run --local` at them.
 */
import type { Command } from "commander";
import { DEFAULT_DATA_DIR } from "../results-table.js";

/** Said to the local cloud's S3 and printed: what requests to it must be signed with. */
const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

interface LocalCloudOptions {
  port: string;
  dataDir: string;
  inMemory?: boolean;
  timeScale: string;
}

export function registerLocalCloudCommand(program: Command): void {
  program
    .command("local-cloud")
    .description("serve the local cloud (EC2, SSM, DynamoDB, S3, SNS) on 127.0.0.1 until interrupted")
    .option(
      "--port <port>",
      "EC2 and SSM on this port, DynamoDB, S3 and SNS on the next three (0: any free ports)",
      "4566",
    )
    .option("--data-dir <dir>", "where DynamoDB and S3 keep their data", DEFAULT_DATA_DIR)
    .option("--in-memory", "keep nothing after it stops")
    .option("--time-scale <factor>", "boot durations are multiplied by this", "0.1")
    .action(async (options: LocalCloudOptions) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65532) {
        throw new Error(
          `--port must be an integer from 0 to 65532 (it and the next three are used), got ${JSON.stringify(options.port)}`,
        );
      }
      const timeScale = Number(options.timeScale);
      if (!Number.isFinite(timeScale) || timeScale <= 0) {
        throw new Error(`--time-scale must be a positive number, got ${JSON.stringify(options.timeScale)}`);
      }
      const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
      // Loaded here: it brings in the CDK (to create the stack's table and buckets), which the other
      // commands would pay for at startup.
      const { startStandaloneCloud } = await import("../../local-cloud/standalone-cloud.js");
      const cloud = await startStandaloneCloud({
        port,
        ...(options.inMemory ? {} : { dataDir: options.dataDir }),
        timeScale,
        credentials: LOCAL_CREDENTIALS,
        region,
      }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "EADDRINUSE") throw error;
        throw new Error(
          `${error.message.replace(/^listen EADDRINUSE: /, "")}: another program (another local cloud?) listens there; ` +
            "pass another --port, or --port 0 for any free ports",
        );
      });
      const lines = [
        `# boot-bench local cloud, time scale ${timeScale}, ${options.inMemory ? "in memory only" : `data in ${options.dataDir}`}. In another shell:`,
        ...Object.entries(cloud.endpoints).map(
          ([service, url]) => `export AWS_ENDPOINT_URL_${service}=${url}`,
        ),
        `export AWS_REGION=${region} AWS_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_CREDENTIALS.secretAccessKey}`,
        `# results table ${cloud.tableName}; buckets ${cloud.buckets.join(", ")}`,
        `# instances' sshd listens on port ${cloud.sshPort}: boot-bench run --local --port ${cloud.sshPort} --image …`,
        "# Ctrl-C to stop.",
      ];
      console.log(lines.join("\n"));
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await cloud.close();
    });
}
