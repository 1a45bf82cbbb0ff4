/**
 * Every function as Lambda gets it: the stack synthesised with its real esbuild bundling, each bundle
 * copied where no node_modules can help it, and loaded in a fresh Node process with the stack's own
 * environment variables. A bundle that cannot load (a CommonJS dependency reading `__dirname` in the
 * ESM output, a dependency left out) fails here instead of at its first invocation in AWS.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { App } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { BootBenchStack } from "../../infra/boot-bench-stack.js";

const outdir = mkdtempSync(join(tmpdir(), "boot-bench-bundles-"));
const loadDir = mkdtempSync(join(tmpdir(), "boot-bench-load-"));
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  rmSync(loadDir, { recursive: true, force: true });
});

interface BundledFunction {
  name: string;
  bundle: string;
  environment: Record<string, string>;
}

function synthesisedFunctions(): BundledFunction[] {
  const app = new App({ outdir });
  const stack = new BootBenchStack(app, "BootBench");
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as {
    Resources: Record<
      string,
      { Type: string; Metadata?: Record<string, unknown>; Properties: Record<string, unknown> }
    >;
  };
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === "AWS::Lambda::Function")
    .map(([logicalId, resource]) => {
      const variables = (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      // Values CloudFormation resolves at deploy time (table names, ARNs) get stand-ins of the same kind.
      const environment = Object.fromEntries(
        Object.entries(variables).map(([name, value]) => [
          name,
          typeof value === "string" ? value : `deployed-${name}`,
        ]),
      );
      const copy = join(loadDir, `${logicalId}.mjs`);
      // The asset's S3 key is its hash, which names its folder in the cloud assembly.
      const { S3Key } = resource.Properties.Code as { S3Key: string };
      copyFileSync(join(outdir, `asset.${S3Key.replace(/\.zip$/, "")}`, "index.mjs"), copy);
      return { name: logicalId, bundle: copy, environment };
    });
}

describe("the deployed bundles", () => {
  const functions = synthesisedFunctions();

  it("are one per function of the stack", () => {
    expect(functions).toHaveLength(17);
  });

  it.each(functions.map((fn) => [fn.name, fn]))(
    "%s loads outside the project and exports its handler",
    async (_, fn) => {
      const script = `const m = await import(${JSON.stringify(fn.bundle)}); console.log(typeof m.handler);`;
      const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
        cwd: loadDir,
        env: {
          PATH: process.env.PATH,
          ...fn.environment,
          AWS_REGION: "us-east-1",
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
          POWERTOOLS_LOG_LEVEL: "SILENT",
        },
      });
      expect(stdout.trim()).toBe("function");
    },
  );
});
