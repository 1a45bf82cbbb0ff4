/**
 * Turns the CloudFormation template that `cdk synth` produces into what the local runner needs: the
 * very same state machine definition, the Lambda step behind every Task, the environment the handlers
 * are deployed with, and the table to create. A Task whose resource is not one of the stack's
 * step functions is refused here, so a local run can never fall through to a real AWS call. The one
 * exception is `states:startExecution.sync:2` of this very state machine (a suite's benchmarks), which
 * the runner executes as a nested local execution; any other state machine is refused.
 */
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import type { AslDefinition, AslState } from "../../infra/asl.js";

export const LOCAL_ACCOUNT = "000000000000";
export const STEP_METADATA_KEY = "BootBench:Step";
/** The only non-Lambda Task resource the local runner accepts, and only for this same state machine. */
export const START_EXECUTION_SYNC = "arn:aws:states:::states:startExecution.sync:2";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface CfnResource {
  Type: string;
  Properties?: Record<string, Json>;
  Metadata?: Record<string, Json>;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
}

export interface LocalTask {
  stateName: string;
  /** Folder under functions/ holding the handler. */
  step: string;
  functionLogicalId: string;
  timeoutSeconds: number;
}

/** A Task that starts a child execution of this state machine and waits for it. */
export interface LocalNestedExecutionTask {
  stateName: string;
}

export interface LocalDefinition {
  /** Amazon States Language, with function ARNs resolved to local placeholders. */
  definition: AslDefinition;
  stateMachineLogicalId: string;
  /** The template's StateMachineName, when it sets one (needed for nested executions). */
  stateMachineName?: string;
  tasks: LocalTask[];
  nestedExecutionTasks: LocalNestedExecutionTask[];
  /** Union of the step functions' environment variables, resolved to local values. */
  environment: Record<string, string>;
  table: CreateTableCommandInput;
  /** The local names of the template's S3 buckets, to create in the local S3. */
  buckets: string[];
}

export interface LocalNames {
  region: string;
  tableName: string;
}

export function functionArn(region: string, logicalId: string): string {
  return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${logicalId}`;
}

export function stateMachineArn(region: string, name: string): string {
  return `arn:aws:states:${region}:${LOCAL_ACCOUNT}:stateMachine:${name}`;
}

export function localDefinitionFrom(template: CfnTemplate, names: LocalNames): LocalDefinition {
  const resources = template.Resources;
  const stateMachines = Object.entries(resources).filter(
    ([, r]) => r.Type === "AWS::StepFunctions::StateMachine",
  );
  if (stateMachines.length !== 1) {
    throw new Error(`Expected exactly one state machine in the template, found ${stateMachines.length}`);
  }
  const [stateMachineLogicalId, stateMachine] = stateMachines[0] as [string, CfnResource];
  const tables = Object.entries(resources).filter(
    ([, r]) => r.Type === "AWS::DynamoDB::Table" || r.Type === "AWS::DynamoDB::GlobalTable",
  );
  if (tables.length !== 1) throw new Error(`Expected exactly one DynamoDB table, found ${tables.length}`);
  const [tableLogicalId, table] = tables[0] as [string, CfnResource];

  const resolve = (value: Json, where: string): string =>
    resolveToString(value, where, resources, names, tableLogicalId);
  const rawDefinition = stateMachine.Properties?.DefinitionString;
  if (rawDefinition === undefined)
    throw new Error(`State machine ${stateMachineLogicalId} has no DefinitionString`);
  const definition = JSON.parse(resolve(rawDefinition, "DefinitionString")) as AslDefinition;
  const nameProperty = stateMachine.Properties?.StateMachineName;
  const stateMachineName = nameProperty === undefined ? undefined : resolve(nameProperty, "StateMachineName");

  const tasks: LocalTask[] = [];
  const nestedExecutionTasks: LocalNestedExecutionTask[] = [];
  const environment: Record<string, string> = {};
  for (const [stateName, state] of allStates(definition)) {
    if (state.Type !== "Task") continue;
    if (state.Resource === START_EXECUTION_SYNC) {
      checkNestedExecution(stateName, state, stateMachineName, names.region);
      nestedExecutionTasks.push({ stateName });
      continue;
    }
    const logicalId = functionLogicalIdOf(state.Resource, names.region);
    const fn = logicalId === undefined ? undefined : resources[logicalId];
    if (logicalId === undefined || fn?.Type !== "AWS::Lambda::Function") {
      throw new Error(
        `Task ${stateName} calls ${String(state.Resource)}, which is not a Lambda function of this stack; ` +
          "the local runner refuses to run it (it would call real AWS)",
      );
    }
    const step = fn.Metadata?.[STEP_METADATA_KEY];
    if (typeof step !== "string") {
      throw new Error(`Function ${logicalId} behind Task ${stateName} has no ${STEP_METADATA_KEY} metadata`);
    }
    tasks.push({
      stateName,
      step,
      functionLogicalId: logicalId,
      timeoutSeconds: Number(fn.Properties?.Timeout ?? 3),
    });
    const variables =
      (fn.Properties?.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {};
    for (const [name, value] of Object.entries(variables)) {
      const resolved = resolve(value, `${logicalId} environment ${name}`);
      if (environment[name] !== undefined && environment[name] !== resolved) {
        throw new Error(
          `Environment variable ${name} differs between step functions; handlers share one process locally`,
        );
      }
      environment[name] = resolved;
    }
  }
  return {
    definition,
    stateMachineLogicalId,
    ...(stateMachineName !== undefined && { stateMachineName }),
    tasks,
    nestedExecutionTasks,
    environment,
    table: createTableInput(table, names.tableName),
    buckets: Object.entries(resources)
      .filter(([, resource]) => resource.Type === "AWS::S3::Bucket")
      .map(([logicalId]) => localBucketName(logicalId)),
  };
}

/** A nested execution runs locally only when it is of this very state machine, named statically. */
function checkNestedExecution(
  stateName: string,
  state: AslState,
  stateMachineName: string | undefined,
  region: string,
): void {
  const parameters = (state.Parameters ?? {}) as Record<string, unknown>;
  const target = parameters.StateMachineArn;
  const self = stateMachineName === undefined ? undefined : stateMachineArn(region, stateMachineName);
  if (typeof target !== "string" || self === undefined || target !== self) {
    throw new Error(
      `Task ${stateName} starts an execution of ${String(target ?? parameters["StateMachineArn.$"])}, which is not ` +
        `this stack's state machine${self === undefined ? " (the template gives it no StateMachineName)" : ` (${self})`}; ` +
        "the local runner only runs nested executions of the same state machine and refuses anything else " +
        "(it would call real AWS)",
    );
  }
}

/** Every state, including those inside Map and Parallel, with its name (names are unique in ASL). */
export function* allStates(definition: AslDefinition): Generator<[string, AslState]> {
  for (const [name, state] of Object.entries(definition.States)) {
    yield [name, state];
    for (const branch of state.Branches ?? []) yield* allStates(branch);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) yield* allStates(processor);
  }
}

function functionLogicalIdOf(resource: string | undefined, region: string): string | undefined {
  const prefix = functionArn(region, "");
  return resource?.startsWith(prefix) ? resource.slice(prefix.length) : undefined;
}

function resolveToString(
  value: Json,
  where: string,
  resources: Record<string, CfnResource>,
  names: LocalNames,
  tableLogicalId: string,
): string {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const join = value["Fn::Join"];
    if (Array.isArray(join) && typeof join[0] === "string" && Array.isArray(join[1])) {
      return join[1]
        .map((part) => resolveToString(part, where, resources, names, tableLogicalId))
        .join(join[0]);
    }
    const ref = value.Ref;
    if (typeof ref === "string") {
      if (ref === "AWS::Region") return names.region;
      if (ref === "AWS::Partition") return "aws";
      if (ref === "AWS::AccountId") return LOCAL_ACCOUNT;
      if (ref === "AWS::URLSuffix") return "amazonaws.com";
      if (ref === tableLogicalId) return names.tableName;
      // A topic's Ref is its ARN; the local SNS stub accepts any topic of the local account.
      if (resources[ref]?.Type === "AWS::SNS::Topic") return topicArn(names.region, ref);
      if (resources[ref]?.Type === "AWS::S3::Bucket") return localBucketName(ref);
      if (resources[ref]) return `local-${ref}`;
    }
    const getAtt = value["Fn::GetAtt"];
    if (Array.isArray(getAtt) && typeof getAtt[0] === "string") {
      const [logicalId, attribute] = getAtt as [string, string];
      const target = resources[logicalId];
      if (target?.Type === "AWS::Lambda::Function" && attribute === "Arn")
        return functionArn(names.region, logicalId);
      if (target?.Type === "AWS::SNS::Topic" && attribute === "TopicArn")
        return topicArn(names.region, logicalId);
      if (logicalId === tableLogicalId && attribute === "Arn") {
        return `arn:aws:dynamodb:${names.region}:${LOCAL_ACCOUNT}:table/${names.tableName}`;
      }
      if (target) return `local-${logicalId}-${attribute}`;
    }
  }
  throw new Error(`Cannot resolve ${JSON.stringify(value)} in ${where} for the local runner`);
}

/** A valid bucket name (lower case, at most 63 characters) that stays the same between runs. */
export const localBucketName = (logicalId: string): string =>
  `boot-bench-${logicalId.toLowerCase()}`.slice(0, 63);

const topicArn = (region: string, logicalId: string): string =>
  `arn:aws:sns:${region}:${LOCAL_ACCOUNT}:${logicalId}`;

function createTableInput(table: CfnResource, tableName: string): CreateTableCommandInput {
  const p = table.Properties ?? {};
  type KeyElement = { AttributeName: string; KeyType: "HASH" | "RANGE" };
  type Gsi = {
    IndexName: string;
    KeySchema: KeyElement[];
    Projection: { ProjectionType: "ALL" | "KEYS_ONLY" | "INCLUDE"; NonKeyAttributes?: string[] };
  };
  const gsis = (p.GlobalSecondaryIndexes as unknown as Gsi[] | undefined) ?? [];
  return {
    TableName: tableName,
    KeySchema: p.KeySchema as unknown as KeyElement[],
    AttributeDefinitions:
      p.AttributeDefinitions as unknown as CreateTableCommandInput["AttributeDefinitions"],
    BillingMode: "PAY_PER_REQUEST",
    ...(gsis.length > 0 && {
      GlobalSecondaryIndexes: gsis.map((gsi) => ({
        IndexName: gsi.IndexName,
        KeySchema: gsi.KeySchema,
        Projection: gsi.Projection,
      })),
    }),
  };
}
