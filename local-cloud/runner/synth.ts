/**
 * Synthesises the CDK stack in process, without bundling: the local runner executes the very
 * definition that `cdk deploy` would deploy, with the handlers loaded from source.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { BootBenchStack } from "../../infra/boot-bench-stack.js";
import type { CfnTemplate } from "./local-definition.js";

export const LOCAL_STACK_NAME = "BootBench";

/** `context` is CDK context, as `cdk synth -c key=value` would give it (infra/boot-bench-stack.ts). */
export function synthesizeTemplate(context: Readonly<Record<string, string>> = {}): CfnTemplate {
  const outdir = mkdtempSync(join(tmpdir(), "boot-bench-synth-"));
  try {
    // No CloudFormation schema validation (~10 s): the definition is what is run here, and `cdk synth`
    // and test/infra/nag.test.ts validate the template.
    const app = new App({
      outdir,
      context: { ...context, "aws:cdk:bundling-stacks": [] },
      builtinCloudFormationValidation: false,
    });
    const stack = new BootBenchStack(app, LOCAL_STACK_NAME);
    return app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
