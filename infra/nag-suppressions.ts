/**
 * Every cdk-nag finding this stack accepts, each acknowledged on the construct it concerns, by its
 * exact finding id, with the reason it is acceptable here. A new finding fails `cdk synth`.
 */
import { ArnFormat, type CfnElement, Stack, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import type { BootBenchStack } from "./boot-bench-stack.js";
import type { StepName } from "./constructs/benchmark-function.js";
import { flattenIntrinsic } from "./intrinsics.js";

const XRAY =
  "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level permissions";

/** What each step's role does on Resource "*", beyond X-Ray. */
const WILDCARD_RESOURCE_REASONS: Record<StepName, string> = {
  "validate-input": `Only X-Ray: ${XRAY}.`,
  "resolve-image": `ec2:DescribeImages and ec2:DescribeInstanceTypes support no resource-level permissions; ${XRAY}.`,
  "acquire-run-slot": `Only X-Ray: ${XRAY}; DynamoDB access names the table, its run-slot partition and attributes.`,
  "launch-instance": `Only X-Ray: ${XRAY}; RunInstances and CreateTags name their resources and carry conditions.`,
  "poll-state": `ec2:DescribeInstances supports no resource-level permissions; ${XRAY}.`,
  "probe-port": `ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets (Lambda managing the probe's VPC interfaces) support no resource-level permissions; ${XRAY}.`,
  "capture-screenshots": `Only X-Ray: ${XRAY}; GetConsoleScreenshot names instances with the stack tag, PutObject the console bucket's filmstrip/ prefix, GetItem the table's benchmark partitions and two ledger marks.`,
  "capture-console": `Only X-Ray: ${XRAY}; GetConsoleOutput names instances with the stack tag, PutObject the console bucket's console/ prefix.`,
  "terminate-instance": `ec2:DescribeInstances (finding a run's instance by client token) supports no resource-level permissions; ${XRAY}.`,
  "release-run-slot": `Only X-Ray: ${XRAY}; DynamoDB access names the table, its run-slot partition and attributes.`,
  "record-run": `Only X-Ray: ${XRAY}; DynamoDB access names the table.`,
  summarise: `Only X-Ray: ${XRAY}; DynamoDB access names the table.`,
  "prepare-guest-key": `ec2:DescribeKeyPairs (a retried import checking the key pair it finds) supports no resource-level permissions; ${XRAY}.`,
  "delete-guest-key": `Only X-Ray: ${XRAY}; DeleteKeyPair names key pairs with the stack tag, DeleteItem the table.`,
  "discover-targets": `ec2:DescribeImages supports no resource-level permissions; ${XRAY}.`,
  "summarise-suite": `Only X-Ray: ${XRAY}; DynamoDB access names the table and its BySource and ByAmi indexes, SNS the alert topic.`,
};

export function acknowledgeFindings(stack: BootBenchStack): void {
  const ack = (scope: IConstruct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });
  const iam5 = (resource: string) => `AwsSolutions-IAM5[Resource::${resource}]`;

  for (const fn of Object.values(stack.functions)) {
    ack(
      fn.function,
      "Serverless-LambdaDLQ",
      "Step Functions invokes every boot-bench step synchronously and routes failures itself (Catch → " +
        "terminate → record); a dead-letter queue only receives failed asynchronous invocations.",
    );
    ack(fn.role, iam5("*"), WILDCARD_RESOURCE_REASONS[fn.step]);
  }

  const {
    resolveImage,
    launchInstance,
    terminateInstance,
    discoverTargets,
    probePort,
    captureScreenshots,
    captureConsole,
    prepareGuestKey,
    deleteGuestKey,
  } = stack.functions;
  // ResolveImage reads one parameter, DiscoverTargets whole trees of them (GetParametersByPath).
  for (const arn of stack.imageParameterArns().filter((candidate) => candidate.endsWith("*"))) {
    for (const role of [resolveImage.role, discoverTargets.role]) {
      ack(
        role,
        iam5(nagArn(stack, arn)),
        "Images are read from the parameters under the stack's allow-listed prefixes (context " +
          "imageParameterPrefixes and the suites' own; AWS's public /aws/service/ always), never parameter/*; " +
          "read-only, this region only, and no value but an AMI id is ever echoed.",
      );
    }
  }

  const ec2Wildcard = (resource: string, account?: string) =>
    iam5(
      nagArn(
        stack,
        stack.formatArn({
          service: "ec2",
          resource,
          resourceName: "*",
          ...(account !== undefined && { account }),
        }),
      ),
    );
  ack(
    launchInstance.role,
    ec2Wildcard("image", ""),
    "The image is chosen per benchmark and may be owned by anyone (vendors publish AMIs from their own accounts).",
  );
  ack(
    launchInstance.role,
    ec2Wildcard("instance"),
    "Instance ids do not exist before RunInstances; RunInstances requires aws:RequestTag/boot-bench:stack = " +
      "the stack name, and CreateTags is limited to ec2:CreateAction = RunInstances.",
  );
  ack(
    launchInstance.role,
    ec2Wildcard("volume"),
    "Root volume ids do not exist before RunInstances; RunInstances requires aws:RequestTag/boot-bench:stack = " +
      "the stack name, and CreateTags is limited to ec2:CreateAction = RunInstances.",
  );
  ack(
    launchInstance.role,
    ec2Wildcard("network-interface"),
    "RunInstances creates the primary network interface, whose id is not known in advance; ec2:Subnet " +
      "confines it to the stack's subnets, and the instance security group is named.",
  );
  ack(
    launchInstance.role,
    ec2Wildcard("key-pair"),
    "Each benchmark with guest timings has its own key pair, named after it; RunInstances may use only key " +
      "pairs with aws:ResourceTag/boot-bench:stack = the stack name.",
  );
  ack(
    prepareGuestKey.role,
    ec2Wildcard("key-pair"),
    "The key pair is made per benchmark; ImportKeyPair requires aws:RequestTag/boot-bench:stack = the stack " +
      "name, and CreateTags is limited to ec2:CreateAction = ImportKeyPair.",
  );
  ack(
    deleteGuestKey.role,
    ec2Wildcard("key-pair"),
    "Key pair ids differ per benchmark; DeleteKeyPair requires aws:ResourceTag/boot-bench:stack = the stack name.",
  );
  ack(
    probePort.role,
    ec2Wildcard("network-interface"),
    "Lambda creates the probe's network interfaces (only in the stack's subnets: ec2:Subnet) and deletes and " +
      "re-addresses them; their ids are not known in advance.",
  );
  ack(
    terminateInstance.role,
    ec2Wildcard("instance"),
    "Instance ids differ per run; TerminateInstances requires aws:ResourceTag/boot-bench:stack = the stack name.",
  );

  ack(
    captureConsole.role,
    ec2Wildcard("instance"),
    "Instance ids differ per run; GetConsoleOutput requires aws:ResourceTag/boot-bench:stack = the stack name.",
  );
  ack(
    captureConsole.role,
    iam5(`<${stack.getLogicalId(stack.consoleBucket.node.defaultChild as CfnElement)}.Arn>/console/*`),
    "One object per run, keyed by benchmark and run (console/<benchmark>/run-NNNN.txt.gz), not known in " +
      "advance; PutObject only, under the console/ prefix of the stack's own bucket.",
  );
  ack(
    captureScreenshots.role,
    ec2Wildcard("instance"),
    "Instance ids differ per run; GetConsoleScreenshot requires aws:ResourceTag/boot-bench:stack = the stack name.",
  );
  ack(
    captureScreenshots.role,
    iam5(`<${stack.getLogicalId(stack.consoleBucket.node.defaultChild as CfnElement)}.Arn>/filmstrip/*`),
    "Frames keyed by benchmark, run and frame (filmstrip/<benchmark>/run-NNNN/frame-NNNN.jpg) and a manifest " +
      "per run, not known in advance; PutObject only, under the filmstrip/ prefix of the stack's own bucket.",
  );
  ack(
    probePort.role,
    iam5(`<${stack.getLogicalId(stack.consoleBucket.node.defaultChild as CfnElement)}.Arn>/guest/*`),
    "One object per run with guest timings (guest/<benchmark>/run-NNNN.json.gz), not known in advance; " +
      "PutObject only, under the guest/ prefix of the stack's own bucket.",
  );
  ack(
    stack.consoleBucket,
    "AwsSolutions-S1",
    "The bucket holds copies of EC2 console output and screenshots, written only by the stack's CaptureConsole, " +
      "CaptureScreenshots and ProbePort roles (PutObject under console/, filmstrip/ and guest/) and expiring by lifecycle; an access-log bucket would hold more than the data it audits. " +
      "CloudTrail data events are the way to audit its reads where an account needs that.",
  );

  const stateMachineRole = stack.stateMachine.stateMachine.role;
  ack(
    stateMachineRole,
    iam5("*"),
    "Step Functions log delivery (logs:CreateLogDelivery and related) and X-Ray tracing (xray:PutTraceSegments, " +
      "GetSamplingRules, …) support no resource-level permissions.",
  );
  ack(
    stateMachineRole,
    iam5(
      nagArn(
        stack,
        stack.formatArn({
          service: "states",
          resource: "execution",
          resourceName: `${stack.stateMachine.stateMachineName}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ),
    ),
    "A suite waits for its benchmarks, child executions of this same state machine (startExecution.sync:2), " +
      "with DescribeExecution and StopExecution; their names are made at run time, the state machine is fixed.",
  );
  for (const fn of Object.values(stack.functions)) {
    ack(
      stateMachineRole,
      iam5(`${nagArn(stack, fn.functionArn)}:*`),
      `LambdaInvoke also grants the versions and aliases (:*) of the ${fn.step} step function; it is still this one function.`,
    );
  }
}

/** The string cdk-nag shows for an ARN token: pseudo parameters and attributes as `<…>`. */
function nagArn(stack: Stack, arn: string): string {
  return flattenIntrinsic(Stack.of(stack).resolve(arn));
}
