/**
 * The security model as CDK assertions over the whole template: least-privilege IAM for every role
 * (DESIGN section 4), no public ingress, and the logging and tracing that make an incident traceable.
 * Properties are checked across every policy in the stack, so a role added later is held to them too.
 */
import { App, Stack } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { GUEST_KEY_ATTRIBUTES } from "../../functions/domain/guest-timings.js";
import { POWERTOOLS_ENVIRONMENT } from "../../infra/constructs/benchmark-function.js";
import {
  DEFAULT_SWEEP_INTERVAL_MINUTES,
  sweepAgeBounds,
  sweeperSettingsFromContext,
} from "../../infra/constructs/sweeper.js";
import { longestRunLife, RUN_LIFE_LIMITS } from "../../infra/run-lifetime.js";
import {
  actionsOf,
  type CfnResource,
  definitionOf,
  flatten,
  type PolicyStatement,
  resourcesOf,
  resourcesOfType,
  STACK_NAME,
  statementsOfFunctionRole,
  statementsOfRole,
  synthesize,
} from "./synth.js";

const { template } = synthesize();

const onlyLogicalId = (type: string, prefix = ""): string => {
  const ids = Object.keys(resourcesOfType(template, type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`Expected one ${type} ${prefix}, found ${ids.length}`);
  return ids[0] as string;
};
const TABLE = onlyLogicalId("AWS::DynamoDB::GlobalTable");
const SWEEPER = onlyLogicalId("AWS::Lambda::Function", "SweeperFunction");
const sweeperFunction = resourcesOfType(template, "AWS::Lambda::Function")[SWEEPER] as CfnResource;
const roleOf = (fn: CfnResource) =>
  (fn.Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
const SWEEPER_ROLE = roleOf(sweeperFunction);

/** Every statement of every policy in the stack, with the roles it is attached to. */
const everyStatement = (): { roles: string[]; statement: PolicyStatement }[] =>
  Object.values(resourcesOfType(template, "AWS::IAM::Policy")).flatMap((policy) =>
    (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement.map((statement) => ({
      roles: (policy.Properties.Roles as { Ref: string }[]).map((r) => r.Ref),
      statement,
    })),
  );
const withAction = (action: string) =>
  everyStatement().filter(({ statement }) => actionsOf(statement).includes(action));
const functionRole = (step: string) =>
  roleOf(
    Object.values(resourcesOfType(template, "AWS::Lambda::Function")).find(
      (fn) => fn.Metadata?.["BootBench:Step"] === step,
    ) as CfnResource,
  );

const ARN = "arn:<AWS::Partition>";
const INSTANCES = `${ARN}:ec2:<AWS::Region>:<AWS::AccountId>:instance/*`;
const VOLUMES = `${ARN}:ec2:<AWS::Region>:<AWS::AccountId>:volume/*`;
const NETWORK_INTERFACES = `${ARN}:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*`;
const KEY_PAIRS = `${ARN}:ec2:<AWS::Region>:<AWS::AccountId>:key-pair/*`;
/** The ARNs of the dedicated VPC's subnets of one group: the instances' (Public) or the probe's. */
const subnetArnsOf = (group: "Public" | "Probe"): string[] =>
  Object.keys(resourcesOfType(template, "AWS::EC2::Subnet"))
    .filter((id) => id.startsWith(`Vpc${group}Subnet`))
    .map((id) => `${ARN}:ec2:<AWS::Region>:<AWS::AccountId>:subnet/<${id}>`);
const INSTANCE_SUBNET_ARNS = subnetArnsOf("Public");
const PROBE_SUBNET_ARNS = subnetArnsOf("Probe");
/** The subnets an `ArnEquals ec2:Subnet` condition allows, flattened; undefined without one. */
const subnetCondition = (statement: PolicyStatement): string[] | undefined => {
  const condition = statement.Condition as { ArnEquals?: { "ec2:Subnet": unknown[] } } | undefined;
  return condition?.ArnEquals?.["ec2:Subnet"].map((arn) => flatten(arn));
};
const STACK_TAG_CONDITION = (kind: "RequestTag" | "ResourceTag") => ({
  StringEquals: { [`aws:${kind}/boot-bench:stack`]: STACK_NAME },
});

/** Actions that support no resource-level permissions. */
const ACTIONS_WITHOUT_RESOURCES = new Set([
  "xray:PutTraceSegments",
  "xray:PutTelemetryRecords",
  "xray:GetSamplingRules",
  "xray:GetSamplingTargets",
  "ec2:DescribeInstances",
  "ec2:DescribeKeyPairs",
  "ec2:DescribeImages",
  "ec2:DescribeInstanceTypes",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSubnets",
  "logs:CreateLogDelivery",
  "logs:GetLogDelivery",
  "logs:UpdateLogDelivery",
  "logs:DeleteLogDelivery",
  "logs:ListLogDeliveries",
  "logs:PutResourcePolicy",
  "logs:DescribeResourcePolicies",
  "logs:DescribeLogGroups",
]);

describe("least privilege, across every role in the stack", () => {
  it("allows only named actions: no wildcards, no NotAction or NotResource, no iam:PassRole", () => {
    const statements = everyStatement().map(({ statement }) => statement);
    expect(statements.length).toBeGreaterThan(20);
    for (const statement of statements) {
      expect(statement.Effect).toBe("Allow");
      expect(statement).not.toHaveProperty("NotAction");
      expect(statement).not.toHaveProperty("NotResource");
      for (const action of actionsOf(statement)) expect(action).not.toContain("*");
    }
    // Without PassRole no instance can be launched with an instance profile.
    expect(statements.flatMap(actionsOf).filter((action) => action.startsWith("iam:"))).toEqual([]);
  });

  it('uses Resource "*" only for actions that support no resource-level permissions', () => {
    const wildcard = everyStatement()
      .map(({ statement }) => statement)
      .filter((statement) => statement.Resource === "*");
    for (const statement of wildcard) {
      for (const action of actionsOf(statement)) expect(ACTIONS_WITHOUT_RESOURCES, action).toContain(action);
    }
  });

  it("lets only launch-instance call RunInstances: allowed types only, instances and volumes only tagged", () => {
    const runInstances = withAction("ec2:RunInstances");
    expect(new Set(runInstances.flatMap(({ roles }) => roles))).toEqual(
      new Set([functionRole("launch-instance")]),
    );
    const naming = (pattern: RegExp) =>
      runInstances.filter(({ statement }) =>
        resourcesOf(statement).some((resource) => pattern.test(resource)),
      );
    // The default allow-list: the suites' types and the documented ones (infra/allow-lists.ts).
    expect(
      naming(/:instance\//).map(({ statement }) => [resourcesOf(statement), statement.Condition]),
    ).toEqual([
      [
        [INSTANCES],
        {
          StringEquals: {
            ...STACK_TAG_CONDITION("RequestTag").StringEquals,
            "ec2:InstanceType": ["c7g.large", "c7i.large"],
          },
        },
      ],
    ]);
    expect(naming(/:volume\//).map(({ statement }) => [resourcesOf(statement), statement.Condition])).toEqual(
      [[[VOLUMES], STACK_TAG_CONDITION("RequestTag")]],
    );
    for (const { statement } of runInstances) expect(resourcesOf(statement)).not.toContain("*");
  });

  it("with -c instanceTypes=* drops the type condition, and with a list uses exactly that list", () => {
    const instanceStatement = (context: Record<string, unknown>) =>
      Object.values(resourcesOfType(synthesize(context).template, "AWS::IAM::Policy"))
        .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement)
        .find(
          (statement) =>
            actionsOf(statement).includes("ec2:RunInstances") && resourcesOf(statement).includes(INSTANCES),
        );
    expect(instanceStatement({ instanceTypes: "*" })?.Condition).toEqual(STACK_TAG_CONDITION("RequestTag"));
    expect(instanceStatement({ instanceTypes: "c7g.large,c7i.large,m7i.large" })?.Condition).toEqual({
      StringEquals: {
        ...STACK_TAG_CONDITION("RequestTag").StringEquals,
        "ec2:InstanceType": ["c7g.large", "c7i.large", "m7i.large"],
      },
    });
  });

  it("confines RunInstances to the stack's subnets, instance security group and key pairs", () => {
    const [untagged, ...others] = withAction("ec2:RunInstances").filter(
      ({ statement }) => statement.Condition === undefined,
    );
    expect(others).toEqual([]);
    const instanceGroup = onlyLogicalId("AWS::EC2::SecurityGroup", "InstanceSecurityGroup");
    expect(resourcesOf(untagged?.statement)).toEqual([
      `${ARN}:ec2:<AWS::Region>::image/*`,
      ...INSTANCE_SUBNET_ARNS,
      `${ARN}:ec2:<AWS::Region>:<AWS::AccountId>:security-group/<${instanceGroup}.GroupId>`,
    ]);
    // The instance's network interface: any id, but only in the instances' subnets.
    const interfaces = withAction("ec2:RunInstances").filter(({ statement }) =>
      resourcesOf(statement).includes(NETWORK_INTERFACES),
    );
    expect(interfaces.map(({ statement }) => [resourcesOf(statement), subnetCondition(statement)])).toEqual([
      [[NETWORK_INTERFACES], INSTANCE_SUBNET_ARNS],
    ]);
    // A launch template or an instance profile: nothing grants them.
    const all = everyStatement().flatMap(({ statement }) => resourcesOf(statement));
    expect(all.filter((resource) => /:(launch-template|instance-profile)\//.test(resource))).toEqual([]);
    // Key pairs (guest timings): only the stack's own, made on import with its tag, to be used, imported
    // or deleted. Every grant on them is conditioned on the tag (CreateTags on the import itself).
    const keyPairGrants = everyStatement().filter(({ statement }) =>
      resourcesOf(statement).some((resource) => resource.includes(":key-pair/")),
    );
    const stackTag = (kind: "Request" | "Resource") => ({
      StringEquals: { [`aws:${kind}Tag/boot-bench:stack`]: "BootBench" },
    });
    expect(
      keyPairGrants
        .filter(({ roles }) => !roles.includes(SWEEPER_ROLE))
        .map(({ roles, statement }) => [
          roles,
          actionsOf(statement),
          resourcesOf(statement),
          statement.Condition,
        ]),
    ).toEqual([
      [[functionRole("launch-instance")], ["ec2:RunInstances"], [KEY_PAIRS], stackTag("Resource")],
      [[functionRole("prepare-guest-key")], ["ec2:ImportKeyPair"], [KEY_PAIRS], stackTag("Request")],
      [
        [functionRole("prepare-guest-key")],
        ["ec2:CreateTags"],
        [KEY_PAIRS],
        { StringEquals: { "ec2:CreateAction": "ImportKeyPair" } },
      ],
      [[functionRole("delete-guest-key")], ["ec2:DeleteKeyPair"], [KEY_PAIRS], stackTag("Resource")],
    ]);
  });

  it("allows CreateTags only as part of RunInstances, and of ImportKeyPair for the guest key", () => {
    const createTags = withAction("ec2:CreateTags");
    expect(
      createTags.map(({ roles, statement }) => [roles, statement.Condition, resourcesOf(statement)]),
    ).toEqual([
      [
        [functionRole("launch-instance")],
        { StringEquals: { "ec2:CreateAction": "RunInstances" } },
        [INSTANCES, VOLUMES],
      ],
      [
        [functionRole("prepare-guest-key")],
        { StringEquals: { "ec2:CreateAction": "ImportKeyPair" } },
        [KEY_PAIRS],
      ],
    ]);
  });

  it("allows TerminateInstances only on instances tagged with the stack, to terminate-instance and the sweeper", () => {
    const terminate = withAction("ec2:TerminateInstances");
    expect(terminate.flatMap(({ roles }) => roles).sort()).toEqual(
      [functionRole("terminate-instance"), SWEEPER_ROLE].sort(),
    );
    for (const { statement } of terminate) {
      expect(actionsOf(statement)).toEqual(["ec2:TerminateInstances"]);
      expect(statement.Condition).toEqual(STACK_TAG_CONDITION("ResourceTag"));
      expect(resourcesOf(statement)).toEqual([INSTANCES]);
    }
  });

  it("allows DeleteKeyPair only on key pairs tagged with the stack, the sweeper's included", () => {
    const deletes = withAction("ec2:DeleteKeyPair");
    expect(deletes.flatMap(({ roles }) => roles)).toContain(SWEEPER_ROLE);
    for (const { statement } of deletes) {
      expect(actionsOf(statement)).toEqual(["ec2:DeleteKeyPair"]);
      expect(statement.Condition).toEqual(STACK_TAG_CONDITION("ResourceTag"));
      expect(resourcesOf(statement)).toEqual([KEY_PAIRS]);
    }
  });

  it("allows GetConsoleOutput only on instances tagged with the stack, to capture-console alone", () => {
    const read = withAction("ec2:GetConsoleOutput");
    expect(read.map(({ roles }) => roles)).toEqual([[functionRole("capture-console")]]);
    const statement = read[0]?.statement as PolicyStatement;
    expect(actionsOf(statement)).toEqual(["ec2:GetConsoleOutput"]);
    expect(statement.Condition).toEqual(STACK_TAG_CONDITION("ResourceTag"));
    expect(resourcesOf(statement)).toEqual([INSTANCES]);
  });

  it("allows GetConsoleScreenshot only on instances tagged with the stack, to capture-screenshots alone", () => {
    const shots = withAction("ec2:GetConsoleScreenshot");
    expect(shots.map(({ roles }) => roles)).toEqual([[functionRole("capture-screenshots")]]);
    const statement = shots[0]?.statement as PolicyStatement;
    expect(actionsOf(statement)).toEqual(["ec2:GetConsoleScreenshot"]);
    expect(statement.Condition).toEqual(STACK_TAG_CONDITION("ResourceTag"));
    expect(resourcesOf(statement)).toEqual([INSTANCES]);
  });

  it("lets capture-console write only under console/, capture-screenshots only under filmstrip/ and the probe only under guest/, PutObject alone", () => {
    const bucket = onlyLogicalId("AWS::S3::Bucket", "ConsoleOutput");
    const s3 = everyStatement().filter(({ statement }) =>
      actionsOf(statement).some((a) => a.startsWith("s3:")),
    );
    expect(
      s3.map(({ roles, statement }) => [
        roles,
        actionsOf(statement),
        resourcesOf(statement),
        statement.Condition,
      ]),
    ).toEqual([
      [[functionRole("probe-port")], ["s3:PutObject"], [`<${bucket}.Arn>/guest/*`], undefined],
      [[functionRole("capture-screenshots")], ["s3:PutObject"], [`<${bucket}.Arn>/filmstrip/*`], undefined],
      [[functionRole("capture-console")], ["s3:PutObject"], [`<${bucket}.Arn>/console/*`], undefined],
    ]);
  });

  it("grants no other mutating EC2 action than Lambda's own network interfaces for the probe", () => {
    const mutating = everyStatement()
      .flatMap(({ roles, statement }) => actionsOf(statement).map((action) => ({ roles, action })))
      .filter(
        ({ action }) =>
          action.startsWith("ec2:") &&
          !/^ec2:Describe/.test(action) &&
          action !== "ec2:GetConsoleOutput" &&
          action !== "ec2:GetConsoleScreenshot",
      )
      .map(({ action }) => action);
    expect([...new Set(mutating)].sort()).toEqual([
      "ec2:AssignPrivateIpAddresses",
      "ec2:CreateNetworkInterface",
      "ec2:CreateTags",
      "ec2:DeleteKeyPair",
      "ec2:DeleteNetworkInterface",
      "ec2:ImportKeyPair",
      "ec2:RunInstances",
      "ec2:TerminateInstances",
      "ec2:UnassignPrivateIpAddresses",
    ]);
    for (const action of ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"]) {
      expect([...new Set(withAction(action).flatMap(({ roles }) => roles))]).toEqual([
        functionRole("probe-port"),
      ]);
    }
  });

  it("lets Lambda create the probe's interfaces only in the probe's subnets, with the probe's security group", () => {
    const create = withAction("ec2:CreateNetworkInterface").map(({ statement }) => statement);
    const probeGroup = onlyLogicalId("AWS::EC2::SecurityGroup", "ProbeSecurityGroup");
    expect(create.map((statement) => [resourcesOf(statement), subnetCondition(statement)])).toEqual([
      [[NETWORK_INTERFACES], PROBE_SUBNET_ARNS],
      [
        [
          ...PROBE_SUBNET_ARNS,
          `${ARN}:ec2:<AWS::Region>:<AWS::AccountId>:security-group/<${probeGroup}.GroupId>`,
        ],
        undefined,
      ],
    ]);
    for (const statement of create) expect(actionsOf(statement)).toEqual(["ec2:CreateNetworkInterface"]);
    // Interfaces Lambda made: this account and region's, never "*".
    for (const action of [
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]) {
      expect(
        withAction(action).flatMap(({ statement }) => resourcesOf(statement)),
        action,
      ).toEqual([NETWORK_INTERFACES]);
    }
  });

  it("touches DynamoDB only on the results table and its indexes, with item-level actions only", () => {
    const dynamodb = everyStatement().filter(({ statement }) =>
      actionsOf(statement).some((action) => action.startsWith("dynamodb:")),
    );
    expect(dynamodb.length).toBeGreaterThan(0);
    for (const { statement } of dynamodb) {
      for (const resource of resourcesOf(statement))
        expect(resource).toMatch(new RegExp(`^<${TABLE}\\.Arn>(/index/\\w+)?$`));
      for (const action of actionsOf(statement)) {
        // No Scan, no deletes, no table management: items are only ever read, added or updated.
        expect(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]).toContain(
          action,
        );
      }
    }
    const actions = (role: string) =>
      statementsOfRole(template, role)
        .flatMap(actionsOf)
        .filter((a) => a.startsWith("dynamodb:"))
        .sort();
    expect(actions(functionRole("record-run"))).toEqual(["dynamodb:GetItem", "dynamodb:PutItem"]);
    expect(actions(functionRole("summarise"))).toEqual([
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
    ]);
    expect(actions(SWEEPER_ROLE)).toEqual(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]);
  });

  it("uses KMS only to publish alerts: summarise-suite alone, the alert topic's key, only through SNS", () => {
    const kms = everyStatement().filter(({ statement }) =>
      actionsOf(statement).some((action) => action.startsWith("kms:")),
    );
    const key = onlyLogicalId("AWS::KMS::Key");
    const viaService = (statement: PolicyStatement) => {
      const condition = statement.Condition as { StringEquals?: Record<string, unknown> } | undefined;
      return Object.entries(condition?.StringEquals ?? {}).map(([name, value]) => [name, flatten(value)]);
    };
    expect(
      kms.map(({ roles, statement }) => [
        roles,
        actionsOf(statement),
        resourcesOf(statement),
        viaService(statement),
        Object.keys(statement.Condition ?? {}),
      ]),
    ).toEqual([
      [
        [functionRole("summarise-suite")],
        ["kms:GenerateDataKey", "kms:Decrypt"],
        [`<${key}.Arn>`],
        [["kms:ViaService", "sns.<AWS::Region>.<AWS::URLSuffix>"]],
        ["StringEquals"],
      ],
    ]);
  });

  it("reads SSM parameters and nothing else of SSM", () => {
    const ssm = everyStatement().filter(({ statement }) =>
      actionsOf(statement).some((action) => action.startsWith("ssm:")),
    );
    expect(ssm.flatMap(({ roles }) => roles)).toContain(functionRole("resolve-image"));
    // ResolveImage reads single parameters; walking trees is for target discovery only.
    expect(
      statementsOfRole(template, functionRole("resolve-image"))
        .flatMap(actionsOf)
        .filter((a) => a.startsWith("ssm:")),
    ).toEqual(["ssm:GetParameter"]);
    for (const { statement } of ssm) {
      for (const action of actionsOf(statement)) expect(action).toMatch(/^ssm:GetParameters?(ByPath)?$/);
      for (const resource of resourcesOf(statement)) {
        expect(resource).toMatch(/^arn:<AWS::Partition>:ssm:<AWS::Region>:(<AWS::AccountId>)?:parameter\//);
      }
    }
  });

  it("reads parameters only under /aws/service/ and the allow-listed prefixes, never parameter/*", () => {
    const parameterResources = (t: typeof template) =>
      Object.values(resourcesOfType(t, "AWS::IAM::Policy"))
        .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement)
        .filter((statement) => actionsOf(statement).some((action) => action.startsWith("ssm:")))
        .map(resourcesOf);
    const PUBLIC = [
      `${ARN}:ssm:<AWS::Region>::parameter/aws/service`,
      `${ARN}:ssm:<AWS::Region>::parameter/aws/service/*`,
    ];
    // ResolveImage and DiscoverTargets.
    expect(parameterResources(template)).toEqual([PUBLIC, PUBLIC]);
    const own = `${ARN}:ssm:<AWS::Region>:<AWS::AccountId>:parameter/team/amis`;
    expect(parameterResources(synthesize({ imageParameterPrefixes: "/team/amis/" }).template)).toEqual([
      [...PUBLIC, own, `${own}/*`],
      [...PUBLIC, own, `${own}/*`],
    ]);
  });
});

describe("the sweeper", () => {
  // Its figures are written out in test/infra/run-lifetime.test.ts.
  const runLife = longestRunLife(definitionOf(template), RUN_LIFE_LIMITS);
  const { defaultMinutes, minimumMinutes } = sweepAgeBounds(runLife);

  it("may describe instances and key pairs, end tagged ones, record sweeps, write its own logs, and nothing else", () => {
    const logGroup = (sweeperFunction.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    const statements = statementsOfRole(template, SWEEPER_ROLE);
    expect(statements.map((s) => [actionsOf(s).join(","), flatten(s.Resource), s.Condition ?? null])).toEqual(
      [
        ["logs:CreateLogStream,logs:PutLogEvents", `<${logGroup}.Arn>`, null],
        ["xray:PutTraceSegments,xray:PutTelemetryRecords", "*", null],
        ["ec2:DescribeInstances", "*", null],
        ["ec2:TerminateInstances", INSTANCES, STACK_TAG_CONDITION("ResourceTag")],
        ["ec2:DescribeKeyPairs", "*", null],
        ["ec2:DeleteKeyPair", KEY_PAIRS, STACK_TAG_CONDITION("ResourceTag")],
        ["dynamodb:PutItem", `<${TABLE}.Arn>`, null],
        // Guest keys: whether a key pair's benchmark still runs, and the private half of one it deleted.
        ["dynamodb:GetItem", `<${TABLE}.Arn>`, null],
        [
          "dynamodb:UpdateItem",
          `<${TABLE}.Arn>`,
          {
            "ForAllValues:StringEquals": { "dynamodb:Attributes": [...GUEST_KEY_ATTRIBUTES] },
            StringEqualsIfExists: { "dynamodb:ReturnValues": ["NONE"] },
          },
        ],
        [
          "states:DescribeExecution",
          `${ARN}:states:<AWS::Region>:<AWS::AccountId>:execution:BootBench-Benchmark:*`,
          null,
        ],
      ],
    );
    const role = resourcesOfType(template, "AWS::IAM::Role")[SWEEPER_ROLE];
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it("runs on a schedule, every 10 minutes, with the derived bound, and only the schedule may invoke it", () => {
    const rules = Object.entries(resourcesOfType(template, "AWS::Events::Rule")).filter(([id]) =>
      id.startsWith("SweeperSchedule"),
    );
    expect(rules).toHaveLength(1);
    const [ruleId, rule] = rules[0] as [string, CfnResource];
    expect(rule.Properties).toMatchObject({
      ScheduleExpression: `rate(${DEFAULT_SWEEP_INTERVAL_MINUTES} minutes)`,
      State: "ENABLED",
      Targets: [
        {
          Arn: { "Fn::GetAtt": [SWEEPER, "Arn"] },
          RetryPolicy: { MaximumEventAgeInSeconds: DEFAULT_SWEEP_INTERVAL_MINUTES * 60 },
        },
      ],
    });
    expect(sweeperFunction.Properties.Environment).toEqual({
      Variables: {
        NODE_OPTIONS: "--enable-source-maps",
        ...POWERTOOLS_ENVIRONMENT,
        STACK_TAG: STACK_NAME,
        TABLE_NAME: { Ref: TABLE },
        MAX_AGE_MINUTES: String(defaultMinutes),
      },
    });
    const permissions = Object.values(resourcesOfType(template, "AWS::Lambda::Permission")).filter(
      (p) => JSON.stringify(p.Properties.FunctionName) === JSON.stringify({ "Fn::GetAtt": [SWEEPER, "Arn"] }),
    );
    expect(permissions.map((p) => p.Properties)).toEqual([
      {
        Action: "lambda:InvokeFunction",
        FunctionName: { "Fn::GetAtt": [SWEEPER, "Arn"] },
        Principal: "events.amazonaws.com",
        SourceArn: { "Fn::GetAtt": [ruleId, "Arn"] },
      },
    ]);
  });

  it("is no step of the state machine and runs like the steps: Node.js 24, arm64, traced", () => {
    expect(sweeperFunction.Metadata?.["BootBench:Step"]).toBeUndefined();
    expect(sweeperFunction.Properties).toMatchObject({
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      TracingConfig: { Mode: "Active" },
    });
    expect(sweeperFunction.Properties.VpcConfig).toBeUndefined();
  });

  it("takes its bound and interval from context, refusing a bound that would end benchmarks in progress", () => {
    const settings = (context: Record<string, unknown>) =>
      sweeperSettingsFromContext(new Stack(new App({ context }), "Context"), runLife);
    expect(settings({})).toEqual({ maxAgeMinutes: defaultMinutes, intervalMinutes: 10 });
    expect(settings({ sweeperMaxAgeMinutes: "120", sweeperIntervalMinutes: 5 })).toEqual({
      maxAgeMinutes: 120,
      intervalMinutes: 5,
    });
    expect(settings({ sweeperMaxAgeMinutes: minimumMinutes })).toMatchObject({
      maxAgeMinutes: minimumMinutes,
    });
    expect(() => settings({ sweeperMaxAgeMinutes: minimumMinutes - 1 })).toThrow(
      new RegExp(`sweeperMaxAgeMinutes=${minimumMinutes - 1} could end runs in progress`),
    );
    expect(() => settings({ sweeperMaxAgeMinutes: "soon" })).toThrow(/sweeperMaxAgeMinutes .* got soon/);
    expect(() => settings({ sweeperIntervalMinutes: "often" })).toThrow(/sweeperIntervalMinutes/);
  });
});

describe("network exposure", () => {
  it("opens no security group to any address range: instances are reachable only from the probe", () => {
    const inline = Object.values(resourcesOfType(template, "AWS::EC2::SecurityGroup")).flatMap(
      (group) => (group.Properties.SecurityGroupIngress as Record<string, unknown>[] | undefined) ?? [],
    );
    const separate = Object.values(resourcesOfType(template, "AWS::EC2::SecurityGroupIngress")).map(
      (rule) => rule.Properties,
    );
    expect(inline).toEqual([]);
    expect(separate.length).toBeGreaterThan(0);
    for (const rule of separate) {
      expect(Object.keys(rule).filter((key) => /Cidr|PrefixList/.test(key))).toEqual([]);
      expect(rule.SourceSecurityGroupId).toEqual({
        "Fn::GetAtt": [onlyLogicalId("AWS::EC2::SecurityGroup", "ProbeSecurityGroup"), "GroupId"],
      });
    }
  });

  it("puts only the probe into the VPC; every other function, the sweeper included, stays outside", () => {
    const inVpc = Object.values(resourcesOfType(template, "AWS::Lambda::Function")).filter(
      (fn) => fn.Properties.VpcConfig !== undefined,
    );
    expect(inVpc.map((fn) => fn.Metadata?.["BootBench:Step"])).toEqual(["probe-port"]);
  });
});

describe("observability", () => {
  it("logs every state machine execution to its own log group and traces it with X-Ray", () => {
    const machine = Object.values(
      resourcesOfType(template, "AWS::StepFunctions::StateMachine"),
    )[0] as CfnResource;
    expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
    const logging = machine.Properties.LoggingConfiguration as {
      Level: string;
      Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { "Fn::GetAtt": [string, string] } } }[];
    };
    expect(logging.Level).toBe("ALL");
    const [destination] = logging.Destinations;
    const logGroup = resourcesOfType(template, "AWS::Logs::LogGroup")[
      destination?.CloudWatchLogsLogGroup.LogGroupArn["Fn::GetAtt"][0] ?? ""
    ];
    expect(logGroup?.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it("traces every Lambda function and logs each to its own log group", () => {
    const functions = Object.values(resourcesOfType(template, "AWS::Lambda::Function"));
    const logGroups = functions.map((fn) => {
      expect(fn.Properties.TracingConfig).toEqual({ Mode: "Active" });
      return (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    });
    expect(new Set(logGroups).size).toBe(functions.length);
  });

  it("sets a retention on every log group, and no function relies on an implicit one", () => {
    const logGroups = Object.values(resourcesOfType(template, "AWS::Logs::LogGroup"));
    expect(logGroups.length).toBeGreaterThanOrEqual(11);
    for (const group of logGroups) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    // A function without LoggingConfig would write to /aws/lambda/<name>, created without retention.
    for (const fn of Object.values(resourcesOfType(template, "AWS::Lambda::Function"))) {
      expect(fn.Properties.LoggingConfig).toBeDefined();
    }
  });
});

describe("statements per step (unchanged by the sweeper)", () => {
  it("keeps terminate-instance's own grant to tagged instances", () => {
    const terminate = statementsOfFunctionRole(template, "terminate-instance").filter((s) =>
      actionsOf(s).includes("ec2:TerminateInstances"),
    );
    expect(terminate.map((s) => s.Condition)).toEqual([STACK_TAG_CONDITION("ResourceTag")]);
  });
});
