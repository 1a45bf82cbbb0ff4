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

/** EC2's resource ids: the type's prefix and 8 (older) or 17 lowercase hex digits. */
export const SUBNET_ID = /^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export const SECURITY_GROUP_ID = /^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export const VPC_ID = /^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

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
  | { ok: false; code: string; message: string };

/**
 * RunInstances' SubnetId and SecurityGroupId.N, checked as EC2 checks them. Without a subnet the
 * instance goes to the default VPC's first default subnet; without groups, to the VPC's default group.
 */
export function placeLaunch(
  network: LocalNetwork,
  subnetId: string | undefined,
  securityGroupIds: readonly string[],
): LaunchPlacement {
  if (subnetId !== undefined && !SUBNET_ID.test(subnetId)) {
    return {
      ok: false,
      code: "InvalidSubnetID.Malformed",
      message: `Invalid id: "${subnetId}" (expecting "subnet-...")`,
    };
  }
  const malformedGroup = securityGroupIds.find((id) => !SECURITY_GROUP_ID.test(id));
  if (malformedGroup !== undefined) {
    return {
      ok: false,
      code: "InvalidGroupId.Malformed",
      message: `Invalid id: "${malformedGroup}" (expecting "sg-...")`,
    };
  }
  const defaultVpc = network.vpcs.find((vpc) => vpc.isDefault);
  const subnet =
    subnetId === undefined
      ? network.subnets.find((s) => s.vpcId === defaultVpc?.vpcId && s.defaultForAz)
      : network.subnets.find((s) => s.subnetId === subnetId);
  if (!subnet) {
    return subnetId === undefined
      ? { ok: false, code: "VPCIdNotSpecified", message: "No default VPC for this user" }
      : {
          ok: false,
          code: "InvalidSubnetID.NotFound",
          message: `The subnet ID '${subnetId}' does not exist`,
        };
  }
  for (const groupId of securityGroupIds) {
    const group = network.securityGroups.find((g) => g.groupId === groupId);
    if (!group) {
      return {
        ok: false,
        code: "InvalidGroup.NotFound",
        message: `The security group '${groupId}' does not exist`,
      };
    }
    if (group.vpcId !== subnet.vpcId) {
      return {
        ok: false,
        code: "InvalidParameter",
        message: `Security group ${groupId} and subnet ${subnet.subnetId} belong to different networks.`,
      };
    }
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
