/**
 * `run --local` against an EC2 endpoint boot-bench did not start, one that checks subnet and
 * security group ids the way EC2 does (boot-bench's own local EC2, started apart and named in
 * AWS_ENDPOINT_URL_EC2/SSM): the stack's placeholder ids would be refused there as malformed, so the
 * instances launch where --subnet-id and --security-group-id say, or into the endpoint's default VPC.
 * One pipeline per file: the handlers read their configuration once per process, as in Lambda.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import { type LocalAws, startLocalAws } from "../../local-cloud/local-aws.js";
import { cli } from "../cli/cli-in-process.js";
import { randomSshPort } from "../local-cloud/local-aws-support.js";

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws({ timeScale: 0.1, sshPort: randomSshPort() });
});
afterAll(async () => {
  await aws?.close();
});
afterEach(() => {
  vi.unstubAllEnvs();
  process.exitCode = undefined;
});

const DEBIAN = BUILT_IN_AMI_IDS.debian12Amd64;

function presetEndpoints(): void {
  vi.stubEnv("AWS_ENDPOINT_URL_EC2", aws.ec2Endpoint);
  vi.stubEnv("AWS_ENDPOINT_URL_SSM", aws.ssmEndpoint);
}

describe("run --local on an EC2 endpoint boot-bench did not start", () => {
  it("refuses a malformed --subnet-id or --security-group-id before anything starts, naming the flag", async () => {
    const run = await cli(
      "run",
      "--local",
      "--in-memory",
      "--image",
      DEBIAN,
      "--subnet-id",
      "local-VpcPublicSubnet1",
      "--security-group-id",
      "sg-xyz",
    );
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      "boot-bench: the options do not say where to launch; nothing was started:\n" +
        '  --subnet-id: must be a subnet id, subnet- and 8 or 17 hex digits (got "local-VpcPublicSubnet1")\n' +
        '  --security-group-id: must be a security group id, sg- and 8 or 17 hex digits (got "sg-xyz")',
    );
  });

  it("refuses the network flags for a deployed stack, which launches into its own VPC", async () => {
    const run = await cli("run", "--image", DEBIAN, "--subnet-id", "subnet-0123456789abcdef0");
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      "boot-bench: --subnet-id is only for --local: a deployed stack launches into its own VPC (context vpcId and subnetIds)",
    );
  });

  it("says which subnet the endpoint does not have, and launches nothing", async () => {
    presetEndpoints();
    const run = await cli(
      "run",
      "--local",
      "--in-memory",
      "--image",
      DEBIAN,
      "--port",
      String(aws.cloud.sshPort),
      "--subnet-id",
      "subnet-0123456789abcdef0",
    );
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      `boot-bench: --subnet-id: the EC2 endpoint ${aws.ec2Endpoint} answered InvalidSubnetID.NotFound: ` +
        "The subnet ID 'subnet-0123456789abcdef0' does not exist",
    );
    expect(aws.cloud.instances()).toEqual([]);
  });

  it("launches every run into the --subnet-id and --security-group-id given", async () => {
    presetEndpoints();
    const [, , subnet] = aws.cloud.network.subnets;
    const [group] = aws.cloud.network.securityGroups;
    const run = await cli(
      "run",
      "--local",
      "--in-memory",
      "--runs",
      "2",
      "--image",
      DEBIAN,
      "--port",
      String(aws.cloud.sshPort),
      "--subnet-id",
      subnet?.subnetId ?? "",
      "--security-group-id",
      group?.groupId ?? "",
    );
    expect(run.code, run.err).toBe(0);
    const instances = aws.cloud.instances();
    // Each terminated (the last may still be shutting down when the command returns).
    const ended = expect.stringMatching(/^(shutting-down|terminated)$/);
    expect(instances.map((i) => [i.subnetId, i.securityGroupIds, i.state])).toEqual([
      [subnet?.subnetId, [group?.groupId], ended],
      [subnet?.subnetId, [group?.groupId], ended],
    ]);
    // The time scale and the measurement error are the own cloud's: not claimed for another endpoint.
    expect(run.out).toMatch(/^Medians of the counted runs, seconds\.$/m);
    expect(run.out).not.toContain("time scale");
    expect(run.out).not.toContain("error running ms");
  }, 60_000);
});
