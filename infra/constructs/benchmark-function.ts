import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import {
  type BundlingOptions,
  NodejsFunction,
  OutputFormat,
  SourceMapMode,
} from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/domain/boot-metrics.js";

/** The step folders under `functions/`; each holds `index.ts` exporting `handler`. */
export type StepName =
  | "validate-input"
  | "resolve-image"
  | "acquire-run-slot"
  | "launch-instance"
  | "poll-state"
  | "probe-port"
  | "capture-screenshots"
  | "capture-console"
  | "terminate-instance"
  | "release-run-slot"
  | "record-run"
  | "summarise"
  | "prepare-guest-key"
  | "delete-guest-key"
  | "discover-targets"
  | "summarise-suite";

/** The local runner maps each Task's function to its handler code through this metadata key. */
export const STEP_METADATA_KEY = "BootBench:Step";

export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Newest Node.js runtime this aws-cdk-lib offers. Pinned rather than NODEJS_LATEST, which lags
 * behind and would change the deployed runtime silently on a CDK upgrade.
 */
export const BENCHMARK_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** esbuild settings of every boot-bench Lambda: the steps and the sweeper bundle the same way. */
export const BUNDLING: BundlingOptions = {
  forceDockerBundling: false,
  // @middy/core 7 is ESM-only; the banner gives bundled CommonJS dependencies what CommonJS has and
  // ESM has not: `require`, and `__dirname`/`__filename` (ssh2 reads __dirname when it loads).
  format: OutputFormat.ESM,
  mainFields: ["module", "main"],
  banner:
    "import { createRequire as __bootBenchCreateRequire } from 'node:module'; " +
    "import { fileURLToPath as __bootBenchFileURLToPath } from 'node:url'; " +
    "import { dirname as __bootBenchDirname } from 'node:path'; " +
    "const require = __bootBenchCreateRequire(import.meta.url); " +
    "const __filename = __bootBenchFileURLToPath(import.meta.url); " +
    "const __dirname = __bootBenchDirname(__filename);",
  minify: true,
  sourceMap: true,
  sourceMapMode: SourceMapMode.DEFAULT,
  // The SDK is bundled so that the deployed code runs the client versions the tests ran with,
  // not whatever the runtime ships that month.
  bundleAwsSDK: true,
  // ssh2's optional native helpers (built here by npm, never for Lambda's arm64): left out, their
  // require() fails in the bundle and ssh2 uses its JavaScript code, as it does wherever they are absent.
  externalModules: ["cpu-features", "*.node"],
};

/**
 * What Powertools for AWS Lambda (functions/shared/observability.ts) reads in every function: the
 * `service` of each log line and metric, and the metrics' namespace, which the dashboard and alarms
 * read (infra/constructs/observability.ts). The log level is Powertools' default, INFO.
 */
export const POWERTOOLS_ENVIRONMENT: Readonly<Record<string, string>> = {
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
};

export interface BenchmarkFunctionProps {
  step: StepName;
  timeout: Duration;
  /** @default 256 */
  memorySize?: number;
  environment?: Record<string, string>;
  logRetention: logs.RetentionDays;
  /** Only the probe is VPC-attached. */
  vpc?: ec2.IVpc;
  vpcSubnets?: ec2.SubnetSelection;
  securityGroups?: ec2.ISecurityGroup[];
}

/**
 * One Lambda step: NodejsFunction bundled locally with esbuild (no Docker), on arm64, with X-Ray
 * tracing and Powertools' settings, its own log group and its own role that starts with nothing but writing to that log group.
 * Callers add exactly the permissions the step needs with `addToRolePolicy`.
 */
export class BenchmarkFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly step: StepName;

  constructor(scope: Construct, id: string, props: BenchmarkFunctionProps) {
    super(scope, id);
    this.step = props.step;

    // Explicit log group: retention is set at creation and it is deleted with the stack (the results
    // live in DynamoDB; these logs are diagnostics).
    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // An own role instead of the default one avoids the AWSLambdaBasicExecutionRole managed policy,
    // which may write to every log group in the account.
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `boot-bench ${props.step} step`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, "Resource", {
      entry: join(PROJECT_ROOT, "functions", props.step, "index.ts"),
      handler: "handler",
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, "package-lock.json"),
      runtime: BENCHMARK_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: { NODE_OPTIONS: "--enable-source-maps", ...POWERTOOLS_ENVIRONMENT, ...props.environment },
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      // The probe reaches only the instances and DynamoDB (through the VPC's gateway endpoint), so a
      // public subnet without a public IP serves it.
      allowPublicSubnet: props.vpc !== undefined ? true : undefined,
      bundling: BUNDLING,
    });
    (this.function.node.defaultChild as lambda.CfnFunction).addMetadata(STEP_METADATA_KEY, props.step);
  }

  addToRolePolicy(statement: iam.PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }

  get functionArn(): string {
    return this.function.functionArn;
  }
}
