import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { afterAll, describe, expect, it } from "vitest";
import { BootBenchStack } from "../../infra/boot-bench-stack.js";

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function synthWithNag(context: Record<string, unknown> = {}): () => void {
  const outdir = mkdtempSync(join(tmpdir(), "boot-bench-nag-"));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { "aws:cdk:bundling-stacks": [], ...context } });
  new BootBenchStack(app, "BootBench");
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return () => app.synth();
}

describe("cdk-nag (AwsSolutions and Serverless packs)", () => {
  it("leaves no unacknowledged finding on the default stack", () => {
    expect(synthWithNag()).not.toThrow();
  });

  it("leaves no unacknowledged finding with an existing VPC and several probe ports", () => {
    expect(
      synthWithNag({
        vpcId: "vpc-0123456789abcdef0",
        subnetIds: ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        routeTableIds: ["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"],
        probePorts: [22, 2222],
      }),
    ).not.toThrow();
  });
});
