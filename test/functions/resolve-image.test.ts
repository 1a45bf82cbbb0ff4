import {
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
  type Image,
  type InstanceTypeInfo,
} from "@aws-sdk/client-ec2";
import { GetParameterCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { BenchmarkSettings, ResolveImageEvent } from "../../functions/domain/contract.js";
import { ErrorNames } from "../../functions/domain/contract.js";
import { resolveImage } from "../../functions/resolve-image/resolve-image.js";
import { ec2Error } from "./ec2-test-helpers.js";

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const deps = { ec2: new EC2Client({}), ssm: new SSMClient({}) };

const PARAMETER = "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT";
const AMI = "ami-0a1b2c3d4e5f60718";

const freebsdImage: Image = {
  ImageId: AMI,
  Name: "FreeBSD 15.0-CURRENT-amd64-20250102 UFS",
  Architecture: "x86_64",
  BootMode: "uefi-preferred",
  Description: "FreeBSD/amd64 15.0-CURRENT 2025-01-02 UFS",
  CreationDate: "2025-01-02T10:11:12.000Z",
  State: "available",
};

const c7iLarge: InstanceTypeInfo = {
  InstanceType: "c7i.large",
  ProcessorInfo: { SupportedArchitectures: ["x86_64"] },
  SupportedBootModes: ["legacy-bios", "uefi"],
};

function event(image: string, instanceType = "c7i.large"): ResolveImageEvent {
  const settings: BenchmarkSettings = {
    image,
    instanceType,
    runs: 10,
    discardFirst: true,
    port: 22,
    probeIntervalMs: 10,
    runningTimeoutSeconds: 120,
    openTimeoutSeconds: 600,
    concurrency: 1,
  };
  return { benchmarkId: "bench-1", settings };
}

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  ssmMock.on(GetParameterCommand, { Name: PARAMETER }).resolves({
    Parameter: { Name: PARAMETER, Type: "String", Value: AMI, Version: 42 },
  });
  ec2Mock.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [freebsdImage] });
  ec2Mock.on(DescribeInstanceTypesCommand).resolves({ InstanceTypes: [c7iLarge] });
});

describe("resolveImage", () => {
  it("resolves an SSM parameter path to the AMI and records its metadata and source", async () => {
    await expect(resolveImage(event(PARAMETER), deps)).resolves.toEqual({
      amiId: AMI,
      name: "FreeBSD 15.0-CURRENT-amd64-20250102 UFS",
      architecture: "x86_64",
      bootMode: "uefi-preferred",
      description: "FreeBSD/amd64 15.0-CURRENT 2025-01-02 UFS",
      creationDate: "2025-01-02T10:11:12.000Z",
      sourceParameter: PARAMETER,
    });
    expect(ssmMock.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({ Name: PARAMETER });
    expect(ec2Mock.commandCalls(DescribeImagesCommand)[0]?.args[0].input).toEqual({ ImageIds: [AMI] });
    expect(ec2Mock.commandCalls(DescribeInstanceTypesCommand)[0]?.args[0].input).toEqual({
      InstanceTypes: ["c7i.large"],
    });
  });

  it("strips resolve:ssm: and reads the parameter itself", async () => {
    const resolved = await resolveImage(event(`resolve:ssm:${PARAMETER}`), deps);
    expect(resolved.amiId).toBe(AMI);
    expect(resolved.sourceParameter).toBe(PARAMETER);
    expect(ssmMock.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({ Name: PARAMETER });
  });

  it("takes an AMI id as is, without SSM and without a source parameter", async () => {
    const resolved = await resolveImage(event(AMI), deps);
    expect(resolved.amiId).toBe(AMI);
    expect(resolved).not.toHaveProperty("sourceParameter");
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(0);
  });

  it("leaves bootMode undefined when AWS reports none", async () => {
    const { BootMode: _, ...legacy } = freebsdImage;
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [legacy] });
    const resolved = await resolveImage(event(AMI), deps);
    expect(resolved).not.toHaveProperty("bootMode");
  });

  it("names the parameter when it does not exist", async () => {
    ssmMock
      .on(GetParameterCommand)
      .rejects(new ParameterNotFound({ $metadata: {}, message: "Parameter not found." }));
    await expect(resolveImage(event(PARAMETER), deps)).rejects.toMatchObject({
      name: ErrorNames.imageNotFound,
      message: expect.stringContaining(PARAMETER),
    });
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it("rejects a parameter whose value is not an AMI id, without echoing the value", async () => {
    const secret = "postgres://admin:hunter2@db.internal/prod";
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: PARAMETER, Value: secret } });
    const error = await resolveImage(event(PARAMETER), deps).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      name: ErrorNames.imageNotFound,
      message: `SSM parameter ${PARAMETER} does not hold an AMI id (ami- and 8 or 17 hex digits); its value is not shown`,
    });
    expect(String((error as Error).message)).not.toContain("hunter2");
  });

  it.each(["InvalidAMIID.NotFound", "InvalidAMIID.Malformed"])(
    "names the AMI when DescribeImages fails with %s",
    async (code) => {
      ec2Mock.on(DescribeImagesCommand).rejects(ec2Error(code));
      await expect(resolveImage(event(PARAMETER), deps)).rejects.toMatchObject({
        name: ErrorNames.imageNotFound,
        message: `image ${AMI} (from ${PARAMETER}) does not exist or is not visible to this account`,
      });
    },
  );

  it("treats an empty DescribeImages result as a missing image", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    await expect(resolveImage(event(AMI), deps)).rejects.toMatchObject({
      name: ErrorNames.imageNotFound,
      message: `image ${AMI} does not exist or is not visible to this account`,
    });
  });

  it("rejects an image that is not available", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ...freebsdImage, State: "pending" }] });
    await expect(resolveImage(event(AMI), deps)).rejects.toMatchObject({
      name: ErrorNames.imageNotFound,
      message: `image ${AMI} is pending, not available`,
    });
  });

  it("rejects an arm64 image on an x86_64 instance type, naming both", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ...freebsdImage, Architecture: "arm64" }] });
    await expect(resolveImage(event(AMI), deps)).rejects.toMatchObject({
      name: ErrorNames.incompatibleInstanceType,
      message: `image ${AMI} is arm64 but instance type c7i.large supports x86_64`,
    });
  });

  it("reports an unknown instance type", async () => {
    ec2Mock.on(DescribeInstanceTypesCommand).rejects(ec2Error("InvalidInstanceType"));
    await expect(resolveImage(event(AMI, "c7x.large"), deps)).rejects.toMatchObject({
      name: ErrorNames.incompatibleInstanceType,
      message: "instanceType c7x.large does not exist in this region",
    });
  });

  it("rejects a UEFI-only image on a type without UEFI", async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ...freebsdImage, BootMode: "uefi" }] });
    ec2Mock.on(DescribeInstanceTypesCommand).resolves({
      InstanceTypes: [{ ...c7iLarge, InstanceType: "c4.large", SupportedBootModes: ["legacy-bios"] }],
    });
    await expect(resolveImage(event(AMI, "c4.large"), deps)).rejects.toMatchObject({
      name: ErrorNames.incompatibleInstanceType,
      message: `image ${AMI} boots with uefi but instance type c4.large supports legacy-bios`,
    });
  });

  it("accepts a uefi-preferred image on a legacy-bios-only type", async () => {
    ec2Mock.on(DescribeInstanceTypesCommand).resolves({
      InstanceTypes: [{ ...c7iLarge, InstanceType: "c4.large", SupportedBootModes: ["legacy-bios"] }],
    });
    await expect(resolveImage(event(AMI, "c4.large"), deps)).resolves.toMatchObject({ amiId: AMI });
  });

  it("records the root device, and accepts an encrypted root for an EBS-backed image", async () => {
    ec2Mock
      .on(DescribeImagesCommand, { ImageIds: [AMI] })
      .resolves({ Images: [{ ...freebsdImage, RootDeviceName: "/dev/sda1", RootDeviceType: "ebs" }] });
    const encrypted = event(PARAMETER);
    encrypted.settings.encryptRootVolume = true;
    await expect(resolveImage(encrypted, deps)).resolves.toMatchObject({
      rootDeviceName: "/dev/sda1",
      rootDeviceType: "ebs",
    });
  });

  it("rejects an encrypted root for an image without an EBS root device, by the input field", async () => {
    const encrypted = event(PARAMETER);
    encrypted.settings.encryptRootVolume = true;
    ec2Mock.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({
      Images: [{ ...freebsdImage, RootDeviceName: "/dev/sda1", RootDeviceType: "instance-store" }],
    });
    await expect(resolveImage(encrypted, deps)).rejects.toMatchObject({
      name: ErrorNames.invalidInput,
      message: `encryptRootVolume: image ${AMI} has an instance-store root volume; only EBS root volumes can be encrypted`,
    });
    ec2Mock.on(DescribeImagesCommand, { ImageIds: [AMI] }).resolves({ Images: [freebsdImage] });
    await expect(resolveImage(encrypted, deps)).rejects.toThrow(/encryptRootVolume: .* no root device name/);
  });

  it("lets other AWS errors through under their own names", async () => {
    ec2Mock.on(DescribeImagesCommand).rejects(ec2Error("RequestLimitExceeded"));
    await expect(resolveImage(event(AMI), deps)).rejects.toMatchObject({ name: "RequestLimitExceeded" });
  });
});
