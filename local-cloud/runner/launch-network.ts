/**
 * Where the local pipeline's instances launch. The synthesised stack's subnet and security group
 * exist only in a deployed stack (locally they are placeholders such as `local-VpcPublicSubnet1…`,
 * which EC2 refuses as malformed), so the local pipeline takes them from the EC2 endpoint it runs
 * against, as a person would in a new account: its default VPC's default subnets and that VPC's
 * default security group. Or from `--subnet-id` / `--security-group-id`, checked at the endpoint
 * before anything runs.
 */
import {
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type EC2Client,
  type Subnet,
} from "@aws-sdk/client-ec2";

export interface LaunchNetworkChoice {
  /** `--subnet-id` (repeatable); default: the endpoint's default VPC's default subnets. */
  subnetIds?: readonly string[];
  /** `--security-group-id`; default: the default security group of the subnets' VPC. */
  securityGroupId?: string;
}

export interface LaunchNetwork {
  subnetIds: string[];
  securityGroupId: string;
  vpcId: string;
}

/** An EC2 error's message, in a sentence that names the option and the endpoint. */
async function asked<T>(what: string, endpoint: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    const answered = e.$metadata?.httpStatusCode !== undefined;
    throw new Error(
      answered
        ? `${what}: the EC2 endpoint ${endpoint} answered ${e.name}: ${e.message}`
        : `${what}: the EC2 endpoint ${endpoint} could not be reached: ${e.message}`,
    );
  }
}

export async function resolveLaunchNetwork(
  ec2: EC2Client,
  endpoint: string,
  choice: LaunchNetworkChoice,
): Promise<LaunchNetwork> {
  let subnets: Subnet[];
  if (choice.subnetIds !== undefined && choice.subnetIds.length > 0) {
    const named = [...choice.subnetIds];
    subnets = await asked("--subnet-id", endpoint, async () => {
      const out = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: named }));
      return out.Subnets ?? [];
    });
  } else {
    const vpcs = await asked("finding the default VPC", endpoint, async () => {
      const out = await ec2.send(
        new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }),
      );
      return out.Vpcs ?? [];
    });
    const vpcId = vpcs[0]?.VpcId;
    if (vpcId === undefined) {
      throw new Error(
        `The EC2 endpoint ${endpoint} has no default VPC: name where to launch with --subnet-id and --security-group-id`,
      );
    }
    subnets = await asked("finding the default VPC's subnets", endpoint, async () => {
      const out = await ec2.send(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: "vpc-id", Values: [vpcId] },
            { Name: "default-for-az", Values: ["true"] },
          ],
        }),
      );
      return out.Subnets ?? [];
    });
    if (subnets.length === 0) {
      throw new Error(
        `The default VPC ${vpcId} of the EC2 endpoint ${endpoint} has no default subnet: name one with --subnet-id`,
      );
    }
    subnets.sort((a, b) => (a.AvailabilityZone ?? "").localeCompare(b.AvailabilityZone ?? ""));
  }
  const vpcIds = [...new Set(subnets.map((subnet) => subnet.VpcId ?? "?"))];
  const vpcId = vpcIds[0];
  if (vpcId === undefined || vpcIds.length > 1) {
    throw new Error(
      `--subnet-id: the subnets are in different VPCs (${vpcIds.join(", ")}); one security group can serve only one VPC`,
    );
  }
  const subnetIds = subnets.map((subnet) => subnet.SubnetId ?? "");

  const groups = await asked(
    choice.securityGroupId === undefined
      ? `finding the default security group of ${vpcId}`
      : "--security-group-id",
    endpoint,
    async () => {
      const out = await ec2.send(
        choice.securityGroupId === undefined
          ? new DescribeSecurityGroupsCommand({
              Filters: [
                { Name: "vpc-id", Values: [vpcId] },
                { Name: "group-name", Values: ["default"] },
              ],
            })
          : new DescribeSecurityGroupsCommand({ GroupIds: [choice.securityGroupId] }),
      );
      return out.SecurityGroups ?? [];
    },
  );
  const group = groups[0];
  if (group?.GroupId === undefined) {
    throw new Error(
      `The VPC ${vpcId} at the EC2 endpoint ${endpoint} has no default security group: name one with --security-group-id`,
    );
  }
  if (group.VpcId !== vpcId) {
    throw new Error(
      `--security-group-id: ${group.GroupId} is in ${group.VpcId ?? "no VPC"}, the subnets (${subnetIds.join(", ")}) in ${vpcId}`,
    );
  }
  return { subnetIds, securityGroupId: group.GroupId, vpcId };
}
