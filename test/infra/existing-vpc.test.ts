import { App } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { networkSettingsFromContext } from "../../infra/boot-bench-stack.js";
import {
  actionsOf,
  flatten,
  resourcesOf,
  resourcesOfType,
  statementsOfFunctionRole,
  stepFunction,
  synthesize,
} from "./synth.js";

const VPC_ID = "vpc-0123456789abcdef0";
const SUBNET_IDS = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"];

describe("existing VPC from context, several probe ports", () => {
  const { template } = synthesize({
    vpcId: VPC_ID,
    subnetIds: SUBNET_IDS,
    availabilityZones: ["eu-west-1a", "eu-west-1b"],
    probePorts: [22, 2222],
  });
  const groupId = (prefix: string) =>
    Object.keys(resourcesOfType(template, "AWS::EC2::SecurityGroup")).find((id) =>
      id.startsWith(prefix),
    ) as string;

  it("creates no VPC, subnets, gateway or flow log of its own", () => {
    for (const type of [
      "AWS::EC2::VPC",
      "AWS::EC2::Subnet",
      "AWS::EC2::InternetGateway",
      "AWS::EC2::FlowLog",
    ]) {
      template.resourceCountIs(type, 0);
    }
  });

  it("puts both security groups into the given VPC", () => {
    for (const group of Object.values(resourcesOfType(template, "AWS::EC2::SecurityGroup"))) {
      expect(group.Properties.VpcId).toBe(VPC_ID);
    }
  });

  it("attaches the probe to the given subnets and launches instances into them", () => {
    expect(stepFunction(template, "probe-port").resource.Properties.VpcConfig).toMatchObject({
      SubnetIds: SUBNET_IDS,
    });
    const env = stepFunction(template, "launch-instance").resource.Properties.Environment as {
      Variables: Record<string, unknown>;
    };
    expect(env.Variables.SUBNET_IDS).toBe(SUBNET_IDS.join(","));
    const network = statementsOfFunctionRole(template, "launch-instance").find(
      (s) => actionsOf(s).includes("ec2:RunInstances") && s.Condition === undefined,
    );
    const resources = resourcesOf(network);
    for (const subnet of SUBNET_IDS) {
      expect(resources).toContain(`arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:subnet/${subnet}`);
    }
  });

  it("opens each probe port from the probe security group only", () => {
    const ingress = Object.values(resourcesOfType(template, "AWS::EC2::SecurityGroupIngress")).map(
      (r) => r.Properties,
    );
    expect(ingress).toHaveLength(2);
    expect(ingress.map((rule) => [rule?.FromPort, rule?.ToPort]).sort()).toEqual([
      [22, 22],
      [2222, 2222],
    ]);
    for (const rule of ingress) {
      expect(rule?.SourceSecurityGroupId).toEqual({
        "Fn::GetAtt": [groupId("ProbeSecurityGroup"), "GroupId"],
      });
      expect(rule).not.toHaveProperty("CidrIp");
    }
  });
});

describe("existing VPC without availability zones", () => {
  const { template } = synthesize({ vpcId: VPC_ID, subnetIds: SUBNET_IDS.join(",") });

  it("still needs no lookup and attaches the probe to the given subnets", () => {
    expect(stepFunction(template, "probe-port").resource.Properties.VpcConfig).toMatchObject({
      SubnetIds: SUBNET_IDS,
    });
  });

  it("adds no gateway endpoint when no route tables are named (the subnets may reach DynamoDB and S3 already)", () => {
    template.resourceCountIs("AWS::EC2::VPCEndpoint", 0);
  });
});

describe("existing VPC with the route tables of its subnets", () => {
  // Both subnets share one route table, as public subnets often do.
  const { template } = synthesize({
    vpcId: VPC_ID,
    subnetIds: SUBNET_IDS,
    routeTableIds: "rtb-0aaaaaaaaaaaaaaaa,rtb-0aaaaaaaaaaaaaaaa",
  });

  it("adds DynamoDB and S3 gateway endpoints on those route tables, once each, with the default policy", () => {
    const endpoints = Object.values(resourcesOfType(template, "AWS::EC2::VPCEndpoint"));
    expect(endpoints.map((endpoint) => flatten(endpoint.Properties.ServiceName))).toEqual([
      "com.amazonaws.<AWS::Region>.dynamodb",
      "com.amazonaws.<AWS::Region>.s3",
    ]);
    for (const endpoint of endpoints) {
      expect(endpoint.Properties).toMatchObject({
        VpcEndpointType: "Gateway",
        VpcId: VPC_ID,
        RouteTableIds: ["rtb-0aaaaaaaaaaaaaaaa"],
      });
      // Other workloads' traffic in these subnets takes the same route: no policy narrows it.
      expect(endpoint.Properties.PolicyDocument).toBeUndefined();
    }
  });
});

describe("network context parsing", () => {
  const settings = (context: Record<string, unknown>) => networkSettingsFromContext(new App({ context }));

  it("defaults to the dedicated VPC and port 22", () => {
    expect(settings({})).toEqual({ probePorts: [22] });
  });

  it("accepts lists as JSON arrays, JSON strings or comma-separated strings (as -c passes them)", () => {
    expect(settings({ probePorts: "22, 2222" }).probePorts).toEqual([22, 2222]);
    expect(settings({ probePorts: "[22,2222]" }).probePorts).toEqual([22, 2222]);
    expect(settings({ probePorts: 2222 }).probePorts).toEqual([2222]);
    expect(settings({ vpcId: VPC_ID, subnetIds: "subnet-a,subnet-b" }).existingVpc).toEqual({
      vpcId: VPC_ID,
      subnetIds: ["subnet-a", "subnet-b"],
    });
  });

  it("rejects ports outside 1-65535 and half-given VPCs", () => {
    expect(() => settings({ probePorts: [0] })).toThrow(/probePorts/);
    expect(() => settings({ probePorts: "ssh" })).toThrow(/probePorts/);
    expect(() => settings({ vpcId: VPC_ID })).toThrow(/vpcId and subnetIds/);
    expect(() => settings({ subnetIds: SUBNET_IDS })).toThrow(/vpcId and subnetIds/);
    expect(() =>
      settings({ vpcId: VPC_ID, subnetIds: SUBNET_IDS, availabilityZones: ["eu-west-1a"] }),
    ).toThrow(/availabilityZones/);
    expect(() => settings({ vpcId: VPC_ID, subnetIds: SUBNET_IDS, routeTableIds: ["rtb-1"] })).toThrow(
      /routeTableIds/,
    );
    expect(() => settings({ routeTableIds: ["rtb-1"] })).toThrow(/routeTableIds/);
  });
});
