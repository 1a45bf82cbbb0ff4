/** Shared synthesis for the infra tests: no bundling (esbuild is skipped), one synth per test file. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { afterAll } from "vitest";
import type { AslDefinition, AslState } from "../../infra/asl.js";
import { BootBenchStack } from "../../infra/boot-bench-stack.js";
import { flattenIntrinsic } from "../../infra/intrinsics.js";

export const STACK_NAME = "BootBench";

export const STEPS = [
  "validate-input",
  "resolve-image",
  "acquire-run-slot",
  "launch-instance",
  "poll-state",
  "probe-port",
  "capture-screenshots",
  "capture-console",
  "terminate-instance",
  "release-run-slot",
  "record-run",
  "summarise",
  "prepare-guest-key",
  "delete-guest-key",
] as const;

/** The suite steps (infra/suite-flow.ts): Lambda steps of the same state machine, in its suite branch. */
export const SUITE_STEPS = ["discover-targets", "summarise-suite"] as const;

export interface CfnResource {
  Type: string;
  /** Always present: `resourcesOfType` fills in `{}`. */
  Properties: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string[];
}

/** Synthesises the stack (context merged over bundling off) and removes the cloud assembly after the file. */
export function synthesize(context: Record<string, unknown> = {}): {
  stack: BootBenchStack;
  template: Template;
} {
  const outdir = mkdtempSync(join(tmpdir(), "boot-bench-infra-test-"));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));
  // "aws:cdk:bundling-stacks": [] makes NodejsFunction skip esbuild: the Code points at a placeholder asset.
  const app = new App({ outdir, context: { "aws:cdk:bundling-stacks": [], ...context } });
  const stack = new BootBenchStack(app, STACK_NAME);
  // The built-in CloudFormation schema validation takes ~10 s per synth; nag.test.ts keeps it on.
  const validation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = "false";
  try {
    return { stack, template: Template.fromStack(stack) };
  } finally {
    if (validation === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = validation;
  }
}

export function resourcesOfType(template: Template, type: string): Record<string, CfnResource> {
  const found = template.findResources(type) as Record<string, Partial<CfnResource> & { Type: string }>;
  return Object.fromEntries(
    Object.entries(found).map(([id, resource]) => [
      id,
      { ...resource, Properties: resource.Properties ?? {} },
    ]),
  );
}

/** Lambda functions by their BootBench:Step metadata. */
export function functionsByStep(
  template: Template,
): Record<string, { logicalId: string; resource: CfnResource }> {
  const result: Record<string, { logicalId: string; resource: CfnResource }> = {};
  for (const [logicalId, resource] of Object.entries(resourcesOfType(template, "AWS::Lambda::Function"))) {
    const step = resource.Metadata?.["BootBench:Step"];
    if (typeof step === "string") result[step] = { logicalId, resource };
  }
  return result;
}

export function stepFunction(template: Template, step: string): { logicalId: string; resource: CfnResource } {
  const fn = functionsByStep(template)[step];
  if (!fn) throw new Error(`No function with BootBench:Step ${step}`);
  return fn;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string>>;
}

/** The statements of every policy attached to the role that the given function runs with. */
export function statementsOfFunctionRole(template: Template, step: string): PolicyStatement[] {
  const role = stepFunction(template, step).resource.Properties.Role as { "Fn::GetAtt": [string, string] };
  return statementsOfRole(template, role["Fn::GetAtt"][0]);
}

export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatement[] {
  return Object.values(resourcesOfType(template, "AWS::IAM::Policy"))
    .filter((policy) => (policy.Properties.Roles as unknown[]).some((r) => isRef(r, roleLogicalId)))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
}

export function actionsOf(statement: PolicyStatement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** A statement's resources, flattened (see {@link flatten}). */
export function resourcesOf(statement: PolicyStatement | undefined): string[] {
  if (!statement) throw new Error("No such statement");
  const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
  return resources.map(flatten);
}

export function isRef(value: unknown, logicalId: string): boolean {
  return typeof value === "object" && value !== null && (value as { Ref?: unknown }).Ref === logicalId;
}

/** The same flattening the cdk-nag acknowledgements use. */
export const flatten = flattenIntrinsic;

/** The state machine's definition, with function ARNs as `<LogicalId.Arn>` placeholders. */
export function definitionOf(template: Template): AslDefinition {
  const machines = Object.values(resourcesOfType(template, "AWS::StepFunctions::StateMachine"));
  if (machines.length !== 1) throw new Error(`Expected one state machine, found ${machines.length}`);
  const [machine] = machines;
  if (!machine) throw new Error("Expected one state machine, found none");
  return JSON.parse(flatten(machine.Properties.DefinitionString)) as AslDefinition;
}

/** Every state with its name, including those inside Parallel branches and the Map's processor. */
export function allStates(definition: AslDefinition): [string, AslState][] {
  return Object.entries(definition.States).flatMap(([name, state]): [string, AslState][] => [
    [name, state],
    ...(state.Branches ?? []).flatMap(allStates),
    ...(state.ItemProcessor ? allStates(state.ItemProcessor) : []),
  ]);
}

export function stateNamed(definition: AslDefinition, name: string): AslState {
  const found = allStates(definition).find(([stateName]) => stateName === name);
  if (!found) throw new Error(`No state ${name}`);
  return found[1];
}
