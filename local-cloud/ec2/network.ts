/**
 * The local cloud's network, as EC2 shows it to a new account: one default VPC (172.31.0.0/16), a
 * default subnet in each of the region's first three Availability Zones, and the VPC's default
 * security group. RunInstances checks the subnet and security groups it is given as EC2 does (id
 * format, existence, one VPC), so that a launch EC2 would refuse is refused here too, instead of
 * quietly running with placeholder ids.
 */
import { createHash } from "node:crypto";

export interface LocalVpc {
  vpcId: string;
  cidrBlock: string;
  isDefault: boolean;
}

export interface LocalSubnet {
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  cidrBlock: string;
  defaultForAz: boolean;
}

export interface LocalSecurityGroup {
  groupId: string;
  groupName: string;
  description: string;
  vpcId: string;
}

export interface LocalNetwork {
  vpcs: readonly LocalVpc[];
  subnets: readonly LocalSubnet[];
  securityGroups: readonly LocalSecurityGroup[];
}

/**
 * Each network resource's id as EC2 checks it: the type's prefix and 8 (older) or 17 lowercase hex
 * digits, and EC2's error codes for an id that is malformed or that it does not have.
 */
export const NETWORK_IDS = {
  vpc: {
    pattern: /^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
    prefix: "vpc",
    malformed: "InvalidVpcID.Malformed",
    notFound: "InvalidVpcID.NotFound",
    noun: "vpc ID",
  },
  subnet: {
    pattern: /^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
    prefix: "subnet",
    malformed: "InvalidSubnetID.Malformed",
    notFound: "InvalidSubnetID.NotFound",
    noun: "subnet ID",
  },
  securityGroup: {
    pattern: /^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
    prefix: "sg",
    malformed: "InvalidGroupId.Malformed",
    notFound: "InvalidGroup.NotFound",
    noun: "security group",
  },
} as const;

/** An error EC2 answers a request with. */
export interface Ec2Refusal {
  code: string;
  message: string;
}

/** EC2's answer to ids of one kind that are malformed or not among `known`; undefined when all are fine. */
export function refuseIds(
  kind: keyof typeof NETWORK_IDS,
  ids: readonly string[],
  known: readonly string[],
): Ec2Refusal | undefined {
  const rule = NETWORK_IDS[kind];
  const malformed = ids.find((id) => !rule.pattern.test(id));
  if (malformed !== undefined) {
    return { code: rule.malformed, message: `Invalid id: "${malformed}" (expecting "${rule.prefix}-...")` };
  }
  const missing = ids.filter((id) => !known.includes(id));
  if (missing.length > 0) {
    return { code: rule.notFound, message: `The ${rule.noun} '${missing.join(", ")}' does not exist` };
  }
  return undefined;
}

const hex17 = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 17);

export function defaultNetwork(region: string, accountId: string): LocalNetwork {
  const vpcId = `vpc-${hex17(`${accountId}/${region}/default-vpc`)}`;
  const subnets = ["a", "b", "c"].map((zone, index) => ({
    subnetId: `subnet-${hex17(`${accountId}/${region}/default-subnet/${zone}`)}`,
    vpcId,
    availabilityZone: `${region}${zone}`,
    cidrBlock: `172.31.${index * 16}.0/20`,
    defaultForAz: true,
  }));
  return {
    vpcs: [{ vpcId, cidrBlock: "172.31.0.0/16", isDefault: true }],
    subnets,
    securityGroups: [
      {
        groupId: `sg-${hex17(`${accountId}/${region}/default-security-group`)}`,
        groupName: "default",
        description: "default VPC security group",
        vpcId,
      },
    ],
  };
}

/** Where a launch goes, or the error EC2 answers it with. */
export type LaunchPlacement =
  | { ok: true; subnet: LocalSubnet; securityGroupIds: string[] }
  | ({ ok: false } & Ec2Refusal);

/**
 * RunInstances' SubnetId and SecurityGroupId.N, checked as EC2 checks them. Without a subnet the
 * instance goes to the default VPC's first default subnet; without groups, to the VPC's default group.
 */
export function placeLaunch(
  network: LocalNetwork,
  subnetId: string | undefined,
  securityGroupIds: readonly string[],
): LaunchPlacement {
  const refusal =
    refuseIds(
      "subnet",
      subnetId === undefined ? [] : [subnetId],
      network.subnets.map((s) => s.subnetId),
    ) ??
    refuseIds(
      "securityGroup",
      securityGroupIds,
      network.securityGroups.map((g) => g.groupId),
    );
  if (refusal) return { ok: false, ...refusal };
  const defaultVpc = network.vpcs.find((vpc) => vpc.isDefault);
  const subnet =
    subnetId === undefined
      ? network.subnets.find((s) => s.vpcId === defaultVpc?.vpcId && s.defaultForAz)
      : network.subnets.find((s) => s.subnetId === subnetId);
  if (!subnet) return { ok: false, code: "VPCIdNotSpecified", message: "No default VPC for this user" };
  const foreign = network.securityGroups.find(
    (g) => securityGroupIds.includes(g.groupId) && g.vpcId !== subnet.vpcId,
  );
  if (foreign) {
    return {
      ok: false,
      code: "InvalidParameter",
      message: `Security group ${foreign.groupId} and subnet ${subnet.subnetId} belong to different networks.`,
    };
  }
  const vpcDefaultGroup = network.securityGroups.find(
    (g) => g.vpcId === subnet.vpcId && g.groupName === "default",
  );
  const groups =
    securityGroupIds.length > 0
      ? [...new Set(securityGroupIds)]
      : vpcDefaultGroup
        ? [vpcDefaultGroup.groupId]
        : [];
  return { ok: true, subnet, securityGroupIds: groups };
}
