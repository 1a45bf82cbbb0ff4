import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/domain/boot-metrics.js";
import { FILMSTRIP_SECONDS_AFTER_LAUNCH } from "../../functions/domain/filmstrip.js";
import {
  MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS,
  PROBE_LAMBDA_TIMEOUT_SECONDS,
} from "../../functions/domain/input-schema.js";
import {
  actionsOf,
  type CfnResource,
  flatten,
  functionsByStep,
  type PolicyStatement,
  resourcesOf,
  resourcesOfType,
  STACK_NAME,
  STEPS,
  SUITE_STEPS,
  statementsOfFunctionRole,
  statementsOfRole,
  stepFunction,
  synthesize,
} from "./synth.js";

const { template } = synthesize();

const logicalIdOfType = (type: string): string => {
  const ids = Object.keys(resourcesOfType(template, type));
  if (ids.length !== 1) throw new Error(`Expected one ${type}, found ${ids.length}`);
  return ids[0] as string;
};
const securityGroupId = (constructId: string): string => {
  const id = Object.keys(resourcesOfType(template, "AWS::EC2::SecurityGroup")).find((logicalId) =>
    logicalId.startsWith(constructId),
  );
  if (!id) throw new Error(`No security group ${constructId}`);
  return id;
};
/** The dedicated VPC's subnets of one group, by CDK's logical ids (VpcPublicSubnet1Subnet…, VpcProbeSubnet1Subnet…). */
const subnetsOf = (group: "Public" | "Probe"): string[] =>
  Object.keys(resourcesOfType(template, "AWS::EC2::Subnet")).filter((id) =>
    id.startsWith(`Vpc${group}Subnet`),
  );
const getAtt = (logicalId: string, attribute: string) => ({ "Fn::GetAtt": [logicalId, attribute] });
const statementsWithAction = (statements: PolicyStatement[], action: string) =>
  statements.filter((statement) => actionsOf(statement).includes(action));
const allFunctionStatements = () => STEPS.flatMap((step) => statementsOfFunctionRole(template, step));

describe("step functions", () => {
  it("deploys exactly the eleven steps, each tagged with BootBench:Step metadata", () => {
    // Plus the two suite steps (test/infra/suite-stack.test.ts) and the sweeper (test/infra/iam.test.ts),
    // which is no step of the state machine.
    const functions = Object.values(resourcesOfType(template, "AWS::Lambda::Function"));
    const steps = functions.filter((fn) => fn.Metadata?.["BootBench:Step"] !== undefined);
    expect(functions).toHaveLength(STEPS.length + SUITE_STEPS.length + 1);
    expect(steps.map((fn) => fn.Metadata?.["BootBench:Step"]).sort()).toEqual(
      [...STEPS, ...SUITE_STEPS].sort(),
    );
  });

  it("runs every step on Node.js 24 on arm64 with active tracing, handler index.handler", () => {
    template.allResourcesProperties("AWS::Lambda::Function", {
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
      TracingConfig: { Mode: "Active" },
    });
  });

  it("gives every function Powertools' service name and the metrics' namespace the dashboard reads", () => {
    template.allResourcesProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        }),
      },
    });
    // The log level is Powertools' default (INFO): a variable set here would also reach the local
    // runner, which silences the handlers' output on the CLI's stdout.
    for (const fn of Object.values(resourcesOfType(template, "AWS::Lambda::Function"))) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables).not.toHaveProperty("POWERTOOLS_LOG_LEVEL");
    }
  });

  it("gives every function its own log group with a retention", () => {
    const logGroups = resourcesOfType(template, "AWS::Logs::LogGroup");
    for (const step of STEPS) {
      const loggingConfig = stepFunction(template, step).resource.Properties.LoggingConfig as {
        LogGroup: { Ref: string };
      };
      const logGroup = logGroups[loggingConfig.LogGroup.Ref];
      expect(logGroup?.Properties.RetentionInDays, step).toBeGreaterThan(0);
    }
    const referenced = STEPS.map(
      (step) =>
        (stepFunction(template, step).resource.Properties.LoggingConfig as { LogGroup: { Ref: string } })
          .LogGroup.Ref,
    );
    expect(new Set(referenced).size).toBe(STEPS.length);
  });

  it("attaches only the probe to the VPC, in its own subnets with the probe security group", () => {
    const functions = Object.values(functionsByStep(template));
    const withVpc = functions.filter(({ resource }) => resource.Properties.VpcConfig !== undefined);
    const withoutVpc = functions.filter(({ resource }) => resource.Properties.VpcConfig === undefined);
    expect(withVpc.map(({ resource }) => resource.Metadata?.["BootBench:Step"])).toEqual(["probe-port"]);
    expect(withoutVpc).toHaveLength(STEPS.length + SUITE_STEPS.length - 1);

    expect(withVpc[0]?.resource.Properties.VpcConfig).toEqual({
      SubnetIds: subnetsOf("Probe").map((id) => ({ Ref: id })),
      SecurityGroupIds: [getAtt(securityGroupId("ProbeSecurityGroup"), "GroupId")],
    });
  });

  it("sizes timeouts and memory to what each step waits for", () => {
    const props = (step: string) => stepFunction(template, step).resource.Properties;
    // Both wait for as long as the validated input allows, with time to spare for returning.
    expect(props("probe-port")).toMatchObject({ Timeout: PROBE_LAMBDA_TIMEOUT_SECONDS, MemorySize: 512 });
    expect(props("probe-port").Timeout).toBeGreaterThanOrEqual(MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS + 30);
    expect(props("poll-state").MemorySize).toBe(256);
    expect(props("poll-state").Timeout).toBeGreaterThanOrEqual(MAX_RUNNING_PLUS_OPEN_TIMEOUT_SECONDS + 30);
    // Each of its attempts holds the instance and counts in the sweeper's age bound: brief.
    expect(props("capture-console")).toMatchObject({ Timeout: 15, MemorySize: 256 });
    // The filmstrip stops by the probe's deadline plus its tail and finish: inside the probe's timeout.
    expect(props("capture-screenshots")).toMatchObject({
      Timeout: PROBE_LAMBDA_TIMEOUT_SECONDS,
      MemorySize: 256,
    });
    expect(props("capture-screenshots").Timeout).toBeGreaterThanOrEqual(FILMSTRIP_SECONDS_AFTER_LAUNCH + 30);
    const waiting = ["probe-port", "poll-state", "capture-console", "capture-screenshots"];
    for (const step of STEPS.filter((s) => !waiting.includes(s))) {
      expect(props(step).Timeout, step).toBeGreaterThanOrEqual(30);
      expect(props(step).Timeout, step).toBeLessThanOrEqual(60);
      expect(props(step).MemorySize, step).toBe(256);
    }
  });

  it("passes each step exactly the environment docs/architecture.md lists", () => {
    const variables = (step: string) => {
      const env = stepFunction(template, step).resource.Properties.Environment as
        | { Variables: Record<string, unknown> }
        | undefined;
      const { NODE_OPTIONS, POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, ...rest } =
        env?.Variables ?? {};
      expect(NODE_OPTIONS).toBe("--enable-source-maps");
      expect([POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE]).toEqual([
        SERVICE_NAME,
        METRICS_NAMESPACE,
      ]);
      return rest;
    };
    const table = logicalIdOfType("AWS::DynamoDB::GlobalTable");
    expect(variables("launch-instance")).toEqual({
      SUBNET_IDS: expect.anything(),
      INSTANCE_SECURITY_GROUP_ID: getAtt(securityGroupId("InstanceSecurityGroup"), "GroupId"),
      STACK_TAG: STACK_NAME,
      TABLE_NAME: { Ref: table },
    });
    expect(flatten(variables("launch-instance").SUBNET_IDS)).toBe(
      subnetsOf("Public")
        .map((id) => `<${id}>`)
        .join(","),
    );
    expect(variables("terminate-instance")).toEqual({ STACK_TAG: STACK_NAME, TABLE_NAME: { Ref: table } });
    expect(variables("record-run")).toEqual({ TABLE_NAME: { Ref: table } });
    expect(variables("capture-console")).toEqual({
      CONSOLE_BUCKET: { Ref: logicalIdOfType("AWS::S3::Bucket") },
    });
    expect(variables("capture-screenshots")).toEqual({
      CONSOLE_BUCKET: { Ref: logicalIdOfType("AWS::S3::Bucket") },
      TABLE_NAME: { Ref: table },
    });
    // The cap and the lease, which the run's longest hold of a slot bounds (infra/run-lifetime.ts).
    const slotSteps = {
      TABLE_NAME: { Ref: table },
      RUN_SLOTS: "4",
      RUN_SLOT_LEASE_SECONDS: "6080",
      RUN_START_SPACING_MS: "1000",
    };
    expect(variables("acquire-run-slot")).toEqual(slotSteps);
    expect(variables("release-run-slot")).toEqual(slotSteps);
    expect(variables("summarise")).toEqual({ TABLE_NAME: { Ref: table } });
    expect(variables("poll-state")).toEqual({ TABLE_NAME: { Ref: table } });
    expect(variables("probe-port")).toEqual({
      CONSOLE_BUCKET: { Ref: logicalIdOfType("AWS::S3::Bucket") },
      TABLE_NAME: { Ref: table },
    });
    // The allow-lists IAM enforces, so that ValidateInput can refuse first and name the field.
    expect(variables("validate-input")).toEqual({
      ALLOWED_INSTANCE_TYPES: "c7g.large,c7i.large",
      IMAGE_PARAMETER_PREFIXES: "/aws/service/",
    });
    expect(variables("resolve-image")).toEqual({});
  });
});

describe("network", () => {
  const routeTablesOf = (group: "Public" | "Probe"): string[] =>
    Object.keys(resourcesOfType(template, "AWS::EC2::RouteTable")).filter((id) =>
      id.startsWith(`Vpc${group}Subnet`),
    );
  const endpointFor = (service: "dynamodb" | "s3") => {
    const endpoint = Object.values(resourcesOfType(template, "AWS::EC2::VPCEndpoint")).find(
      (candidate) => flatten(candidate.Properties.ServiceName) === `com.amazonaws.<AWS::Region>.${service}`,
    );
    if (endpoint === undefined) throw new Error(`no ${service} endpoint`);
    return endpoint.Properties as {
      RouteTableIds: unknown[];
      PolicyDocument: { Statement: PolicyStatement[] };
    };
  };

  it("gives the probe's subnets, and only theirs, DynamoDB and S3 gateway endpoints", () => {
    template.resourceCountIs("AWS::EC2::VPCEndpoint", 2);
    expect(routeTablesOf("Probe")).toHaveLength(2);
    for (const service of ["dynamodb", "s3"] as const) {
      expect(endpointFor(service)).toMatchObject({
        VpcEndpointType: "Gateway",
        VpcId: { Ref: logicalIdOfType("AWS::EC2::VPC") },
        // Not the instances' route tables: their way to AWS services stays the internet's, as for users.
        RouteTableIds: routeTablesOf("Probe").map((id) => ({ Ref: id })),
      });
    }
    expect(endpointFor("s3").PolicyDocument.Statement).toEqual([
      {
        Sid: "StoreGuestTimings",
        Action: "s3:PutObject",
        Effect: "Allow",
        Principal: { AWS: "*" },
        Resource: { "Fn::Join": ["", [getAtt(logicalIdOfType("AWS::S3::Bucket"), "Arn"), "/guest/*"]] },
      },
    ]);
  });

  it("lets through the endpoints exactly the DynamoDB and S3 actions the VPC functions' roles have, on the same resources", () => {
    // The probe has no other way to AWS: an action its role allows that its endpoint refuses fails
    // on AWS only (the local cloud has no endpoint policies), as UpdateItem of the end mark once did.
    const vpcSteps = Object.values(functionsByStep(template))
      .filter(({ resource }) => resource.Properties.VpcConfig !== undefined)
      .map(({ resource }) => resource.Metadata?.["BootBench:Step"] as string);
    expect(vpcSteps).toEqual(["probe-port"]);
    const vpcStatements = vpcSteps.flatMap((step) => statementsOfFunctionRole(template, step));
    for (const service of ["dynamodb", "s3"] as const) {
      const granted = vpcStatements.flatMap((statement) =>
        actionsOf(statement)
          .filter((action) => action.startsWith(`${service}:`))
          .flatMap((action) => resourcesOf(statement).map((resource) => `${action} ${resource}`)),
      );
      const allowed = endpointFor(service).PolicyDocument.Statement.flatMap((statement) =>
        actionsOf(statement).flatMap((action) =>
          resourcesOf(statement).map((resource) => `${action} ${resource}`),
        ),
      );
      expect(granted.length).toBeGreaterThan(0);
      expect(new Set(allowed)).toEqual(new Set(granted));
    }
  });

  it("builds a VPC of public subnets for the instances and isolated ones for the probe, without NAT gateways, logging rejected flows", () => {
    const subnets = resourcesOfType(template, "AWS::EC2::Subnet");
    const cidrs = (group: "Public" | "Probe") =>
      subnetsOf(group).map((id) => [
        subnets[id]?.Properties.CidrBlock,
        subnets[id]?.Properties.MapPublicIpOnLaunch,
      ]);
    // The instances' subnets kept their blocks when the probe's were added after them.
    expect(cidrs("Public")).toEqual([
      ["10.0.0.0/24", true],
      ["10.0.1.0/24", true],
    ]);
    expect(cidrs("Probe")).toEqual([
      ["10.0.2.0/24", false],
      ["10.0.3.0/24", false],
    ]);
    expect(Object.keys(subnets)).toHaveLength(4);
    // Only the public route tables lead to the internet.
    const defaultRoutes = Object.values(resourcesOfType(template, "AWS::EC2::Route")).map(
      (route) => route.Properties.RouteTableId,
    );
    expect(defaultRoutes).toEqual(routeTablesOf("Public").map((id) => ({ Ref: id })));
    template.resourceCountIs("AWS::EC2::NatGateway", 0);
    template.resourceCountIs("AWS::EC2::InternetGateway", 1);
    template.hasResourceProperties("AWS::EC2::FlowLog", {
      ResourceId: { Ref: logicalIdOfType("AWS::EC2::VPC") },
      TrafficType: "REJECT",
    });
  });

  it("lets only the probe's security group reach instances, on TCP 22", () => {
    const ingress = Object.values(resourcesOfType(template, "AWS::EC2::SecurityGroupIngress"));
    expect(ingress.map((rule) => rule.Properties)).toEqual([
      {
        GroupId: getAtt(securityGroupId("InstanceSecurityGroup"), "GroupId"),
        SourceSecurityGroupId: getAtt(securityGroupId("ProbeSecurityGroup"), "GroupId"),
        IpProtocol: "tcp",
        FromPort: 22,
        ToPort: 22,
        Description: expect.any(String),
      },
    ]);
  });

  it("has no CIDR ingress anywhere", () => {
    const inline = Object.values(resourcesOfType(template, "AWS::EC2::SecurityGroup")).flatMap(
      (group) => (group.Properties.SecurityGroupIngress as Record<string, unknown>[] | undefined) ?? [],
    );
    const separate = Object.values(resourcesOfType(template, "AWS::EC2::SecurityGroupIngress")).map(
      (rule) => rule.Properties,
    );
    for (const rule of [...inline, ...separate]) {
      expect(rule).not.toHaveProperty("CidrIp");
      expect(rule).not.toHaveProperty("CidrIpv6");
      expect(rule).not.toHaveProperty("SourcePrefixListId");
    }
  });

  it("lets the probe send only to the instance security group on the probe port; instances send anywhere", () => {
    const probe = securityGroupId("ProbeSecurityGroup");
    const instance = securityGroupId("InstanceSecurityGroup");
    const groups = resourcesOfType(template, "AWS::EC2::SecurityGroup");
    // CloudFormation drops the default allow-all egress rule once the separate egress rule exists.
    expect(groups[probe]?.Properties.SecurityGroupEgress).toBeUndefined();
    const egress = Object.values(resourcesOfType(template, "AWS::EC2::SecurityGroupEgress")).map(
      (r) => r.Properties,
    );
    expect(egress).toEqual([
      {
        GroupId: getAtt(probe, "GroupId"),
        DestinationSecurityGroupId: getAtt(instance, "GroupId"),
        IpProtocol: "tcp",
        FromPort: 22,
        ToPort: 22,
        Description: expect.any(String),
      },
    ]);
    expect(groups[instance]?.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: "0.0.0.0/0", IpProtocol: "-1" }),
    ]);
  });
});

describe("results table", () => {
  const tableId = logicalIdOfType("AWS::DynamoDB::GlobalTable");
  const table = resourcesOfType(template, "AWS::DynamoDB::GlobalTable")[tableId] as CfnResource;

  it("is on-demand with string keys pk/sk, retained, deletion-protected, with point-in-time recovery", () => {
    expect(table.DeletionPolicy).toBe("Retain");
    expect(table.UpdateReplacePolicy).toBe("Retain");
    template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ]),
      Replicas: [
        Match.objectLike({
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ],
    });
  });

  it("has the four query indexes, each sorted by startedAt and projecting all attributes", () => {
    const indexes = table.Properties.GlobalSecondaryIndexes as {
      IndexName: string;
      KeySchema: { AttributeName: string; KeyType: string }[];
      Projection: { ProjectionType: string };
    }[];
    expect(
      Object.fromEntries(
        indexes.map((index) => [
          index.IndexName,
          [index.KeySchema.map((k) => `${k.KeyType}:${k.AttributeName}`), index.Projection.ProjectionType],
        ]),
      ),
    ).toEqual({
      ByAmi: [["HASH:amiId", "RANGE:startedAt"], "ALL"],
      BySource: [["HASH:sourceParameter", "RANGE:startedAt"], "ALL"],
      Recent: [["HASH:recentPk", "RANGE:startedAt"], "ALL"],
      FailedRuns: [["HASH:failedPk", "RANGE:startedAt"], "ALL"],
    });
    const stringAttributes = (
      table.Properties.AttributeDefinitions as { AttributeName: string; AttributeType: string }[]
    )
      .filter((a) => a.AttributeType === "S")
      .map((a) => a.AttributeName);
    expect(stringAttributes).toEqual(
      expect.arrayContaining(["amiId", "sourceParameter", "recentPk", "failedPk", "startedAt"]),
    );
  });
});

describe("IAM", () => {
  it("gives every function its own role, without managed policies", () => {
    const roles = STEPS.map(
      (step) =>
        (stepFunction(template, step).resource.Properties.Role as { "Fn::GetAtt": [string, string] })[
          "Fn::GetAtt"
        ][0],
    );
    expect(new Set(roles).size).toBe(STEPS.length);
    for (const role of Object.values(resourcesOfType(template, "AWS::IAM::Role"))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it("lets launch-instance create instances (of allowed types) and volumes only with the stack tag", () => {
    const runInstances = statementsWithAction(
      statementsOfFunctionRole(template, "launch-instance"),
      "ec2:RunInstances",
    );
    const tagged = runInstances.filter((statement) =>
      JSON.stringify(statement.Condition ?? {}).includes("RequestTag"),
    );
    expect(tagged.map((statement) => [resourcesOf(statement), statement.Condition])).toEqual([
      [
        ["arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*"],
        {
          StringEquals: {
            "aws:RequestTag/boot-bench:stack": STACK_NAME,
            "ec2:InstanceType": ["c7g.large", "c7i.large"],
          },
        },
      ],
      [
        ["arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:volume/*"],
        { StringEquals: { "aws:RequestTag/boot-bench:stack": STACK_NAME } },
      ],
    ]);
  });

  it("confines RunInstances to any image but the stack's subnets and instance security group", () => {
    const runInstances = statementsWithAction(
      statementsOfFunctionRole(template, "launch-instance"),
      "ec2:RunInstances",
    );
    const untagged = runInstances.filter((statement) => statement.Condition === undefined);
    expect(untagged).toHaveLength(1);
    // The instances' subnets, not the probe's.
    const subnetArns = subnetsOf("Public").map(
      (id) => `arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:subnet/<${id}>`,
    );
    expect(resourcesOf(untagged[0])).toEqual([
      "arn:<AWS::Partition>:ec2:<AWS::Region>::image/*",
      ...subnetArns,
      `arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:security-group/<${securityGroupId("InstanceSecurityGroup")}.GroupId>`,
    ]);
    const interfaces = runInstances.filter((statement) =>
      JSON.stringify(statement.Condition ?? {}).includes("ec2:Subnet"),
    );
    expect(interfaces).toHaveLength(1);
    expect(resourcesOf(interfaces[0])).toEqual([
      "arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*",
    ]);
    const condition = interfaces[0]?.Condition as unknown as { ArnEquals: { "ec2:Subnet": unknown[] } };
    expect(condition.ArnEquals["ec2:Subnet"].map(flatten)).toEqual(subnetArns);
  });

  it("allows CreateTags only as part of RunInstances, and of ImportKeyPair for the guest key", () => {
    const createTags = statementsWithAction(allFunctionStatements(), "ec2:CreateTags");
    expect(createTags.map((statement) => statement.Condition)).toEqual([
      { StringEquals: { "ec2:CreateAction": "RunInstances" } },
      { StringEquals: { "ec2:CreateAction": "ImportKeyPair" } },
    ]);
    expect(
      statementsWithAction(statementsOfFunctionRole(template, "launch-instance"), "ec2:CreateTags"),
    ).toHaveLength(1);
    expect(
      statementsWithAction(statementsOfFunctionRole(template, "prepare-guest-key"), "ec2:CreateTags"),
    ).toHaveLength(1);
  });

  it("lets only terminate-instance terminate, and only instances tagged with the stack", () => {
    const terminate = statementsWithAction(allFunctionStatements(), "ec2:TerminateInstances");
    expect(terminate).toHaveLength(1);
    expect(terminate[0]?.Condition).toEqual({
      StringEquals: { "aws:ResourceTag/boot-bench:stack": STACK_NAME },
    });
    expect(flatten(terminate[0]?.Resource)).toBe(
      "arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*",
    );
    expect(
      statementsWithAction(
        statementsOfFunctionRole(template, "terminate-instance"),
        "ec2:TerminateInstances",
      ),
    ).toHaveLength(1);
  });

  it("grants EC2 and SSM actions only to the steps that call them", () => {
    const serviceActions = (step: string) =>
      statementsOfFunctionRole(template, step)
        .flatMap(actionsOf)
        .filter((action) => !action.startsWith("logs:") && !action.startsWith("xray:"))
        .sort();
    expect(serviceActions("validate-input")).toEqual([]);
    expect(serviceActions("resolve-image")).toEqual([
      "ec2:DescribeImages",
      "ec2:DescribeInstanceTypes",
      "ssm:GetParameter",
    ]);
    expect(serviceActions("launch-instance")).toEqual([
      "dynamodb:UpdateItem",
      "ec2:CreateTags",
      "ec2:DescribeInstances",
      "ec2:RunInstances",
      "ec2:RunInstances",
      "ec2:RunInstances",
      "ec2:RunInstances",
      "ec2:RunInstances",
    ]);
    expect(serviceActions("prepare-guest-key")).toEqual([
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "ec2:CreateTags",
      "ec2:DescribeKeyPairs",
      "ec2:ImportKeyPair",
    ]);
    expect(serviceActions("delete-guest-key")).toEqual(["dynamodb:UpdateItem", "ec2:DeleteKeyPair"]);
    expect(serviceActions("poll-state")).toEqual(["dynamodb:Query", "ec2:DescribeInstances"]);
    expect(serviceActions("probe-port")).toEqual([
      "dynamodb:GetItem",
      "dynamodb:GetItem",
      "dynamodb:UpdateItem",
      "ec2:AssignPrivateIpAddresses",
      "ec2:CreateNetworkInterface",
      "ec2:CreateNetworkInterface",
      "ec2:DeleteNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ec2:UnassignPrivateIpAddresses",
      "s3:PutObject",
    ]);
    expect(serviceActions("terminate-instance")).toEqual([
      "dynamodb:UpdateItem",
      "ec2:DescribeInstances",
      "ec2:TerminateInstances",
    ]);
    expect(serviceActions("capture-screenshots")).toEqual([
      "dynamodb:GetItem",
      "ec2:GetConsoleScreenshot",
      "s3:PutObject",
    ]);
    expect(serviceActions("record-run")).toEqual(["dynamodb:GetItem", "dynamodb:PutItem"]);
    expect(serviceActions("summarise")).toEqual(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]);
  });

  it("reads SSM parameters only from the public /aws/service/ tree by default", () => {
    const ssm = statementsWithAction(statementsOfFunctionRole(template, "resolve-image"), "ssm:GetParameter");
    expect(ssm).toHaveLength(1);
    expect(resourcesOf(ssm[0])).toEqual([
      "arn:<AWS::Partition>:ssm:<AWS::Region>::parameter/aws/service",
      "arn:<AWS::Partition>:ssm:<AWS::Region>::parameter/aws/service/*",
    ]);
  });

  it("scopes DynamoDB access to the results table", () => {
    const table = logicalIdOfType("AWS::DynamoDB::GlobalTable");
    const dynamodb = allFunctionStatements().filter((s) =>
      actionsOf(s).some((a) => a.startsWith("dynamodb:")),
    );
    expect(dynamodb).toHaveLength(14);
    for (const statement of dynamodb) expect(statement.Resource).toEqual(getAtt(table, "Arn"));
  });

  it("lets the slot steps read and update only the run-slot items' lease attributes", () => {
    for (const step of ["acquire-run-slot", "release-run-slot"]) {
      expect(
        statementsOfFunctionRole(template, step).filter((s) =>
          actionsOf(s).some((a) => a.startsWith("dynamodb:")),
        ),
        step,
      ).toEqual([
        expect.objectContaining({
          Action: ["dynamodb:Query", "dynamodb:UpdateItem"],
          Resource: getAtt(logicalIdOfType("AWS::DynamoDB::GlobalTable"), "Arn"),
          Condition: {
            "ForAllValues:StringEquals": {
              "dynamodb:LeadingKeys": ["RUNSLOTS"],
              "dynamodb:Attributes": [
                "pk",
                "sk",
                "itemType",
                "slot",
                "holder",
                "acquiredAt",
                "expiresAt",
                "lastStartAt",
              ],
            },
            StringEqualsIfExists: {
              "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"],
              "dynamodb:Select": ["SPECIFIC_ATTRIBUTES"],
            },
          },
        }),
      ]);
    }
  });

  it("lets the launch and terminate steps update only the launch ledger's attributes", () => {
    for (const step of ["launch-instance", "terminate-instance"]) {
      const ledger = statementsWithAction(statementsOfFunctionRole(template, step), "dynamodb:UpdateItem");
      expect(ledger, step).toEqual([
        expect.objectContaining({
          Action: "dynamodb:UpdateItem",
          Condition: {
            "ForAllValues:StringEquals": {
              "dynamodb:Attributes": [
                "pk",
                "sk",
                "itemType",
                "clientToken",
                "sends",
                "unsettledSends",
                "lastSendAt",
                "endedAt",
              ],
            },
            // ALL_OLD and ALL_NEW would return attributes beyond those named.
            StringEqualsIfExists: { "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"] },
          },
        }),
      ]);
    }
  });

  it("lets the probe read only the run-ended mark and the guest key of benchmark items, and write only its own end mark", () => {
    const ledger = statementsOfFunctionRole(template, "probe-port").filter((s) =>
      actionsOf(s).some((a) => a.startsWith("dynamodb:")),
    );
    expect(ledger).toEqual([
      expect.objectContaining({
        Action: "dynamodb:GetItem",
        Condition: {
          "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["BENCHMARK#*"] },
          "ForAllValues:StringEquals": { "dynamodb:Attributes": ["pk", "sk", "endedAt"] },
        },
      }),
      expect.objectContaining({
        Action: "dynamodb:GetItem",
        Condition: {
          "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["BENCHMARK#*"] },
          "ForAllValues:StringEquals": { "dynamodb:Attributes": ["pk", "sk", "privateKey"] },
        },
      }),
      expect.objectContaining({
        Action: "dynamodb:UpdateItem",
        Condition: {
          "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["BENCHMARK#*"] },
          "ForAllValues:StringEquals": { "dynamodb:Attributes": ["pk", "sk", "probeEndedAt"] },
          StringEqualsIfExists: { "dynamodb:ReturnValues": ["NONE"] },
        },
      }),
    ]);
  });

  it("lets the screenshot step read only the two marks of benchmark items", () => {
    const reads = statementsOfFunctionRole(template, "capture-screenshots").filter((s) =>
      actionsOf(s).some((a) => a.startsWith("dynamodb:")),
    );
    expect(reads).toEqual([
      expect.objectContaining({
        Action: "dynamodb:GetItem",
        Resource: getAtt(logicalIdOfType("AWS::DynamoDB::GlobalTable"), "Arn"),
        Condition: {
          "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["BENCHMARK#*"] },
          "ForAllValues:StringEquals": { "dynamodb:Attributes": ["pk", "sk", "endedAt", "probeEndedAt"] },
        },
      }),
    ]);
  });

  it("lets each function write only to its own log group", () => {
    for (const step of STEPS) {
      const { resource } = stepFunction(template, step);
      const logGroup = (resource.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      const logs = statementsOfFunctionRole(template, step).filter((s) =>
        actionsOf(s).some((a) => a.startsWith("logs:")),
      );
      expect(logs, step).toEqual([
        expect.objectContaining({
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: getAtt(logGroup, "Arn"),
        }),
      ]);
    }
  });

  it("lets the state machine invoke exactly the eleven step functions and the two suite steps", () => {
    const machine = Object.values(
      resourcesOfType(template, "AWS::StepFunctions::StateMachine"),
    )[0] as CfnResource;
    const role = (machine.Properties.RoleArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    const invoke = statementsOfRole(template, role).filter((s) =>
      actionsOf(s).some((a) => a.startsWith("lambda:")),
    );
    expect(invoke.flatMap(actionsOf).every((action) => action === "lambda:InvokeFunction")).toBe(true);
    const invoked = new Set(invoke.flatMap((s) => (s.Resource as unknown[]).map(flatten)));
    const expected = [...STEPS, ...SUITE_STEPS].flatMap((step) => {
      const arn = `<${stepFunction(template, step).logicalId}.Arn>`;
      return [arn, `${arn}:*`];
    });
    expect([...invoked].sort()).toEqual(expected.sort());
  });
});

describe("state machine resource", () => {
  it("is a Standard workflow with X-Ray tracing and logging to its own log group", () => {
    const logGroup = Object.entries(resourcesOfType(template, "AWS::Logs::LogGroup")).find(([, r]) =>
      String(r.Properties.LogGroupName ?? "").startsWith("/aws/vendedlogs/states/"),
    );
    expect(logGroup).toBeDefined();
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineType: "STANDARD",
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: "ALL",
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: getAtt(logGroup?.[0] as string, "Arn") } }],
      },
    });
  });

  it("outputs the state machine ARN and name and the table name", () => {
    const machine = logicalIdOfType("AWS::StepFunctions::StateMachine");
    template.hasOutput("StateMachineArn", { Value: { Ref: machine } });
    template.hasOutput("StateMachineName", { Value: getAtt(machine, "Name") });
    template.hasOutput("TableName", { Value: { Ref: logicalIdOfType("AWS::DynamoDB::GlobalTable") } });
  });
});

describe("console bucket", () => {
  const bucket = logicalIdOfType("AWS::S3::Bucket");

  it("is encrypted, private, owner-enforced, retained, and expires console output, filmstrips and guest timings after 90 days", () => {
    expect(template.toJSON().Resources[bucket]).toMatchObject({
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
    });
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
      LifecycleConfiguration: {
        Rules: [
          {
            Id: "ExpireConsoleOutput",
            Prefix: "console/",
            ExpirationInDays: 90,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            Status: "Enabled",
          },
          { Id: "ExpireFilmstrips", Prefix: "filmstrip/", ExpirationInDays: 90, Status: "Enabled" },
          { Id: "ExpireGuestTimings", Prefix: "guest/", ExpirationInDays: 90, Status: "Enabled" },
        ],
      },
    });
  });

  it("refuses requests without TLS 1.2, for everyone", () => {
    const policy = Object.values(resourcesOfType(template, "AWS::S3::BucketPolicy"))[0] as CfnResource;
    expect(policy.Properties.Bucket).toEqual({ Ref: bucket });
    const statements = (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement;
    const deny = (condition: Record<string, unknown>) =>
      statements.find((statement) => JSON.stringify(statement.Condition) === JSON.stringify(condition));
    for (const condition of [
      { Bool: { "aws:SecureTransport": "false" } },
      { NumericLessThan: { "s3:TlsVersion": 1.2 } },
    ]) {
      expect(deny(condition), JSON.stringify(condition)).toMatchObject({
        Effect: "Deny",
        Action: "s3:*",
        Principal: { AWS: "*" },
      });
    }
  });

  it("takes the expiry from context consoleRetentionDays, and refuses a value out of range by name", () => {
    const { template: kept } = synthesize({ consoleRetentionDays: "400" });
    kept.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({ ExpirationInDays: 400 }),
          Match.objectLike({ ExpirationInDays: 400 }),
          Match.objectLike({ ExpirationInDays: 400 }),
        ],
      },
    });
    for (const bad of ["0", "7.5", "forever", "3651"]) {
      expect(() => synthesize({ consoleRetentionDays: bad }), bad).toThrow(
        `Context consoleRetentionDays must be a whole number of days from 1 to 3650, got ${JSON.stringify(bad)}`,
      );
    }
  });

  it("is a stack output, for the CLI's console command", () => {
    template.hasOutput("ConsoleBucketName", { Value: { Ref: bucket } });
  });
});
