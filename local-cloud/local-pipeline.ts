/**
 * The whole benchmark pipeline on one machine: the local EC2 + SSM endpoint, dynalite as DynamoDB,
 * and the stack's state machine run by aws-local-stepfunctions with the real handlers in process.
 * The handlers' SDK clients reach these endpoints only through the standard AWS_ENDPOINT_URL_<SERVICE>
 * variables; endpoints already set in the environment are used instead of starting our own.
 */

import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { S3Client } from "@aws-sdk/client-s3";
import {
  RUN_SLOT_LEASE_SECONDS_ENV,
  RUN_SLOTS_ENV,
  RUN_START_SPACING_MS_ENV,
  type RunSlotSettings,
  runSlotSettingsFromEnvironment,
} from "../functions/domain/run-slots.js";
import { type LocalAwsOptions, startLocalAws } from "./local-aws.js";
import {
  type LaunchNetwork,
  type LaunchNetworkChoice,
  resolveLaunchNetwork,
} from "./runner/launch-network.js";
import { type LocalDefinition, localDefinitionFrom } from "./runner/local-definition.js";
import {
  ensureTable,
  LOCAL_TABLE_NAME,
  type LocalDynamoDb,
  startLocalDynamoDb,
} from "./runner/local-dynamodb.js";
import { LocalStateMachine, type LocalStateMachineOptions } from "./runner/local-state-machine.js";
import { assertLoopbackEndpoint } from "./runner/loopback.js";
import { LOCAL_STACK_NAME, synthesizeTemplate } from "./runner/synth.js";
import { ensureBuckets, type LocalS3, s3DataDirFor, startLocalS3 } from "./s3/s3-server.js";
import { startLocalSfn } from "./sfn/sfn-server.js";
import { type LocalSns, startLocalSns } from "./sns/sns-server.js";

export { LOCAL_TABLE_NAME };

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface LocalPipelineOptions {
  /**
   * Keep DynamoDB data in this folder, and S3 objects in the folder beside it (s3DataDirFor); in memory
   * and a temporary folder when absent.
   */
  dataDir?: string;
  /** Options of our local EC2 + SSM endpoint (time scale, faults, ssh port), when we start it. */
  cloud?: LocalAwsOptions;
  /** Where instances launch; default: the EC2 endpoint's default VPC (launch-network.ts). */
  network?: LaunchNetworkChoice;
  retryIntervalMs?: number;
  onEvent?: LocalStateMachineOptions["onEvent"];
  /**
   * CDK context for the synthesised stack, as a deployment would pass it (`instanceTypes`, …); default
   * LOCAL_CLOUD_CONTEXT. The handlers read their configuration once per process, so one process runs
   * one context.
   */
  context?: Readonly<Record<string, string>>;
}

/**
 * A deployment's instance-type allow-list protects an account's bill; the local cloud's instances cost
 * nothing, so every type it emulates may run (an unknown one still fails, as in EC2).
 */
export const LOCAL_CLOUD_CONTEXT: Readonly<Record<string, string>> = { instanceTypes: "*" };

export interface LocalPipeline {
  stateMachine: LocalStateMachine;
  tableName: string;
  dynamoDb: DynamoDBClient;
  endpoints: { ec2: string; ssm: string; dynamodb: string; s3: string };
  /** The subnets and security group the instances launch into, at the EC2 endpoint. */
  network: LaunchNetwork;
  /** The account-wide cap on runs in flight the stack was synthesised with (context `runSlots`). */
  runSlots: RunSlotSettings;
  /** Where the handlers publish regression alerts (AWS_ENDPOINT_URL_SNS). */
  snsEndpoint: string;
  /** Our own local EC2 + SSM endpoint, when we started it (absent when the environment named one). */
  localAws?: Awaited<ReturnType<typeof startLocalAws>>;
  /** Our own DynamoDB (absent when the environment named one). */
  localDynamoDb?: LocalDynamoDb;
  /** Our own SNS stub, which keeps what the alerts would have said (absent when the environment named one). */
  localSns?: LocalSns;
  /** Our own S3 (absent when the environment named one). */
  localS3?: LocalS3;
  /** The stack's console bucket, by its local name (what the run items' console keys are in). */
  consoleBucket: string;
  close(): Promise<void>;
}

function consoleBucketOf(environment: Record<string, string>): string {
  const bucket = environment.CONSOLE_BUCKET;
  if (bucket === undefined) throw new Error("No step function of the synthesised stack names CONSOLE_BUCKET");
  return bucket;
}

export async function startLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  // The handlers run in this process and configure themselves from its environment, as in Lambda.
  const env = process.env;
  env.AWS_REGION ??= "us-east-1";
  env.AWS_ACCESS_KEY_ID ??= "local";
  env.AWS_SECRET_ACCESS_KEY ??= "local";
  env.AWS_EC2_METADATA_DISABLED = "true";
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  // Powertools writes the handlers' log lines and EMF records to stdout, which Lambda sends to
  // CloudWatch; here stdout carries the CLI's results. Set either variable to have them all the same.
  env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
  env.POWERTOOLS_METRICS_DISABLED ??= "true";
  const region = env.AWS_REGION;

  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closeOne of closers.reverse()) await closeOne();
  };
  try {
    let localAws: LocalPipeline["localAws"];
    let ec2 = env.AWS_ENDPOINT_URL_EC2 ?? env.AWS_ENDPOINT_URL;
    let ssm = env.AWS_ENDPOINT_URL_SSM ?? env.AWS_ENDPOINT_URL;
    if (ec2 === undefined || ssm === undefined) {
      localAws = await startLocalAws(options.cloud ?? {});
      closers.push(() => localAws?.close() ?? Promise.resolve());
      ec2 ??= localAws.ec2Endpoint;
      ssm ??= localAws.ssmEndpoint;
    }
    let dynamodb = env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL;
    let localDynamoDb: LocalDynamoDb | undefined;
    if (dynamodb === undefined) {
      const started = await startLocalDynamoDb(options.dataDir ? { dataDir: options.dataDir } : {});
      closers.push(() => started.close());
      dynamodb = started.endpoint;
      localDynamoDb = started;
    }
    let sns = env.AWS_ENDPOINT_URL_SNS ?? env.AWS_ENDPOINT_URL;
    let localSns: LocalSns | undefined;
    if (sns === undefined) {
      const started = await startLocalSns();
      localSns = started;
      closers.push(() => started.close());
      sns = started.endpoint;
    }
    const synthesised = localDefinitionFrom(synthesizeTemplate(options.context ?? LOCAL_CLOUD_CONTEXT), {
      region,
      tableName: LOCAL_TABLE_NAME,
    });
    let s3 = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
    let localS3: LocalS3 | undefined;
    if (s3 === undefined) {
      const started = await startLocalS3({
        ...(options.dataDir !== undefined && { directory: s3DataDirFor(options.dataDir) }),
        credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
      });
      localS3 = started;
      closers.push(() => started.close());
      s3 = started.endpoint;
    }
    const endpoints = { ec2, ssm, dynamodb, s3 };
    for (const [service, url] of Object.entries({ ...endpoints, sns })) {
      assertLoopbackEndpoint(`AWS_ENDPOINT_URL_${service.toUpperCase()}`, url);
    }
    // Only now, with every endpoint known to be on loopback, is the EC2 endpoint asked anything.
    const ec2Client = new EC2Client({ endpoint: ec2, region });
    const network = await resolveLaunchNetwork(ec2Client, ec2, options.network ?? {}).finally(() =>
      ec2Client.destroy(),
    );
    // The launch step's configuration (functions/launch-instance/index.ts): the endpoint's network in
    // place of the stack's, which exists only when deployed.
    const local: LocalDefinition = {
      ...synthesised,
      environment: {
        ...synthesised.environment,
        SUBNET_IDS: network.subnetIds.join(","),
        INSTANCE_SECURITY_GROUP_ID: network.securityGroupId,
      },
    };
    // Step Functions is always this pipeline's own: only its runner knows its executions (the sweeper
    // asks whether a benchmark still runs). The runner is loaded below; the server asks for it per call.
    let loadedMachine: LocalStateMachine | undefined;
    const localSfn = await startLocalSfn(() => loadedMachine);
    closers.push(() => localSfn.close());
    const endpointVariables = {
      AWS_ENDPOINT_URL_SFN: localSfn.endpoint,
      AWS_ENDPOINT_URL_EC2: ec2,
      AWS_ENDPOINT_URL_SSM: ssm,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb,
      AWS_ENDPOINT_URL_SNS: sns,
      AWS_ENDPOINT_URL_S3: s3,
    };
    // Closed, this pipeline's servers are gone: a later pipeline in the same process must not take
    // their endpoints for preset ones. What was set before is set again.
    const before = Object.fromEntries(Object.keys(endpointVariables).map((name) => [name, env[name]]));
    closers.push(async () => {
      for (const [name, value] of Object.entries(before)) {
        if (value === undefined) delete env[name];
        else env[name] = value;
      }
    });
    Object.assign(env, endpointVariables);
    Object.assign(env, local.environment);
    const dynamoDb = new DynamoDBClient({ endpoint: dynamodb, region });
    closers.push(async () => dynamoDb.destroy());
    await ensureTable(dynamoDb, local.table);
    const s3Client = new S3Client({ endpoint: s3, region });
    try {
      await ensureBuckets(s3Client, local.buckets);
    } finally {
      s3Client.destroy();
    }

    const stateMachine = await LocalStateMachine.load(local, {
      region,
      projectRoot: PROJECT_ROOT,
      // The template's name, so that a suite's nested executions name this very state machine.
      stateMachineName: local.stateMachineName ?? LOCAL_STACK_NAME,
      ...(options.retryIntervalMs !== undefined && { retryIntervalMs: options.retryIntervalMs }),
      ...(options.onEvent && { onEvent: options.onEvent }),
    });
    loadedMachine = stateMachine;
    return {
      stateMachine,
      tableName: LOCAL_TABLE_NAME,
      runSlots: runSlotSettingsFromEnvironment(
        local.environment[RUN_SLOTS_ENV] ?? "",
        local.environment[RUN_SLOT_LEASE_SECONDS_ENV] ?? "",
        local.environment[RUN_START_SPACING_MS_ENV] ?? "",
      ),
      dynamoDb,
      endpoints,
      network,
      snsEndpoint: sns,
      ...(localAws && { localAws }),
      ...(localDynamoDb && { localDynamoDb }),
      ...(localSns && { localSns }),
      ...(localS3 && { localS3 }),
      consoleBucket: consoleBucketOf(local.environment),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
