import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { BootBenchStack } from "./boot-bench-stack.js";

const app = new App();
const stackName = (app.node.tryGetContext("stackName") as string | undefined) ?? "BootBench";
new BootBenchStack(app, stackName, {
  description: "boot-bench: EC2 boot-time benchmark (RunInstances to port open) on Step Functions",
});
// Any unacknowledged finding fails synthesis.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
app.synth();
