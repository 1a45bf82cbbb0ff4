/**
 * The local cloud as a tool of its own (`boot-bench local-cloud`): every service the stack uses, on
 * loopback, with the stack's results table and buckets created, for the AWS CLI, an SDK script, or
 * `boot-bench run --local` in another terminal, which finds them in AWS_ENDPOINT_URL_* and starts
 * none of its own.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { type LocalAws, startLocalAws } from "./local-aws.js";
import { LOCAL_CLOUD_CONTEXT } from "./local-pipeline.js";
import { localDefinitionFrom } from "./runner/local-definition.js";
import { ensureTable, LOCAL_TABLE_NAME, startLocalDynamoDb } from "./runner/local-dynamodb.js";
import { synthesizeTemplate } from "./runner/synth.js";
import { ensureBuckets, s3DataDirFor, startLocalS3 } from "./s3/s3-server.js";
import { startLocalSns } from "./sns/sns-server.js";

export interface StandaloneCloudOptions {
  /** EC2 and SSM on this port, DynamoDB, S3 and SNS on the next three; 0: every one ephemeral. */
  port: number;
  /** Where DynamoDB and S3 keep their data (kept after close); absent: in memory only. */
  dataDir?: string;
  timeScale: number;
  /** The key pair S3 checks request signatures against: what its callers will sign with. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
}

/** The services by the name of their AWS_ENDPOINT_URL_<NAME> variable. */
export type StandaloneEndpoints = Record<"EC2" | "SSM" | "DYNAMODB" | "S3" | "SNS", string>;

export interface StandaloneCloud {
  endpoints: StandaloneEndpoints;
  /** The port every instance's sshd listens on, at the instance's private address. */
  sshPort: number;
  tableName: string;
  buckets: string[];
  close(): Promise<void>;
}

export async function startStandaloneCloud(options: StandaloneCloudOptions): Promise<StandaloneCloud> {
  const portAfter = (offset: number) => (options.port === 0 ? 0 : options.port + offset);
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closeOne of closers.reverse()) await closeOne();
  };
  try {
    const aws: LocalAws = await startLocalAws({
      port: options.port,
      timeScale: options.timeScale,
      region: options.region,
    });
    closers.push(() => aws.close());
    const dynamoDb = await startLocalDynamoDb({
      ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
      port: portAfter(1),
    });
    closers.push(() => dynamoDb.close());
    const s3 = await startLocalS3({
      ...(options.dataDir !== undefined && { directory: s3DataDirFor(options.dataDir) }),
      credentials: options.credentials,
      port: portAfter(2),
    });
    closers.push(() => s3.close());
    const sns = await startLocalSns({ port: portAfter(3) });
    closers.push(() => sns.close());

    // The stack's own table and buckets, as the local pipeline creates them.
    const local = localDefinitionFrom(synthesizeTemplate(LOCAL_CLOUD_CONTEXT), {
      region: options.region,
      tableName: LOCAL_TABLE_NAME,
    });
    const clientOptions = { region: options.region, credentials: options.credentials };
    const dynamoDbClient = new DynamoDBClient({ ...clientOptions, endpoint: dynamoDb.endpoint });
    const s3Client = new S3Client({ ...clientOptions, endpoint: s3.endpoint });
    try {
      await ensureTable(dynamoDbClient, local.table);
      await ensureBuckets(s3Client, local.buckets);
    } finally {
      dynamoDbClient.destroy();
      s3Client.destroy();
    }
    return {
      endpoints: {
        EC2: aws.ec2Endpoint,
        SSM: aws.ssmEndpoint,
        DYNAMODB: dynamoDb.endpoint,
        S3: s3.endpoint,
        SNS: sns.endpoint,
      },
      sshPort: aws.cloud.sshPort,
      tableName: LOCAL_TABLE_NAME,
      buckets: local.buckets,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
