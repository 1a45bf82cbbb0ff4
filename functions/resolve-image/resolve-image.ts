import {
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  type EC2Client,
  type Image,
  type InstanceTypeInfo,
} from "@aws-sdk/client-ec2";
import { GetParameterCommand, type SSMClient } from "@aws-sdk/client-ssm";
import type { ResolvedImage, ResolveImageEvent } from "../domain/contract.js";
import { ImageNotFoundError, IncompatibleInstanceTypeError, InvalidInputError } from "../domain/errors.js";
import { AMI_ID, type ImageReference, imageReferenceOf } from "../domain/image-reference.js";

export interface ResolveImageDeps {
  ec2: EC2Client;
  ssm: SSMClient;
}

const PARAMETER_MISSING = new Set(["ParameterNotFound", "ParameterVersionNotFound"]);
const IMAGE_MISSING = new Set([
  "InvalidAMIID.NotFound",
  "InvalidAMIID.Malformed",
  "InvalidAMIID.Unavailable",
]);

const awsErrorName = (error: unknown): string | undefined =>
  error instanceof Error ? error.name : undefined;

export function parseImageReference(image: string): ImageReference {
  const reference = imageReferenceOf(image);
  // ValidateInput already rejects anything else; this guards direct invocations.
  if (reference === undefined) {
    throw new ImageNotFoundError(
      `image ${image} is neither an AMI id, an SSM parameter path nor resolve:ssm:/…`,
    );
  }
  return reference;
}

/**
 * Pins the benchmark to one concrete AMI before any instance starts. RunInstances could resolve an SSM
 * parameter itself, but then the id, name, architecture and boot mode would go unrecorded, and a weekly
 * parameter that changes mid-benchmark would mix two images in one median.
 *
 * Also rejects an instance type that cannot boot the image, so the benchmark fails once with a clear
 * message instead of once per run with RunInstances' `InvalidParameterValue`.
 */
export async function resolveImage(event: ResolveImageEvent, deps: ResolveImageDeps): Promise<ResolvedImage> {
  const { image, instanceType } = event.settings;
  const reference = parseImageReference(image);
  const sourceParameter = "parameter" in reference ? reference.parameter : undefined;
  const amiId = "amiId" in reference ? reference.amiId : await readAmiId(deps.ssm, reference.parameter);

  const described = await describeImage(deps.ec2, amiId, sourceParameter);
  const resolved = toResolvedImage(described, amiId, sourceParameter);
  if (event.settings.encryptRootVolume === true) checkEncryptable(resolved);
  const typeInfo = await describeInstanceType(deps.ec2, instanceType);
  checkCompatible(resolved, instanceType, typeInfo);
  return resolved;
}

async function readAmiId(ssm: SSMClient, parameter: string): Promise<string> {
  let value: string | undefined;
  try {
    const response = await ssm.send(new GetParameterCommand({ Name: parameter }));
    value = response.Parameter?.Value;
  } catch (error) {
    if (PARAMETER_MISSING.has(awsErrorName(error) ?? "")) {
      throw new ImageNotFoundError(`SSM parameter ${parameter} does not exist in this region`);
    }
    throw error;
  }
  const amiId = value?.trim();
  if (amiId === undefined || !AMI_ID.test(amiId)) {
    // Never the value itself: the failure's Cause reaches whoever may start an execution, and the
    // parameter may hold anything (a prefix the stack allows can still hold a secret by mistake).
    throw new ImageNotFoundError(
      `SSM parameter ${parameter} does not hold an AMI id (ami- and 8 or 17 hex digits); its value is not shown`,
    );
  }
  return amiId;
}

const describedFrom = (amiId: string, sourceParameter: string | undefined): string =>
  sourceParameter === undefined ? `image ${amiId}` : `image ${amiId} (from ${sourceParameter})`;

const imageMissing = (amiId: string, sourceParameter: string | undefined): ImageNotFoundError =>
  new ImageNotFoundError(
    `${describedFrom(amiId, sourceParameter)} does not exist or is not visible to this account`,
  );

async function describeImage(
  ec2: EC2Client,
  amiId: string,
  sourceParameter: string | undefined,
): Promise<Image> {
  let images: Image[] | undefined;
  try {
    images = (await ec2.send(new DescribeImagesCommand({ ImageIds: [amiId] }))).Images;
  } catch (error) {
    if (IMAGE_MISSING.has(awsErrorName(error) ?? "")) {
      throw imageMissing(amiId, sourceParameter);
    }
    throw error;
  }
  const described = images?.find((candidate) => candidate.ImageId === amiId);
  if (described === undefined) {
    throw imageMissing(amiId, sourceParameter);
  }
  if (described.State !== "available") {
    throw new ImageNotFoundError(
      `${describedFrom(amiId, sourceParameter)} is ${described.State ?? "in an unknown state"}, not available`,
    );
  }
  return described;
}

function toResolvedImage(image: Image, amiId: string, sourceParameter: string | undefined): ResolvedImage {
  const resolved: ResolvedImage = {
    amiId,
    name: image.Name ?? amiId,
    architecture: image.Architecture ?? "unknown",
  };
  // Recorded as AWS reports it: an absent BootMode means the instance type's default (legacy BIOS on
  // most x86 types), and guessing would hide that the image never declared one.
  if (image.BootMode !== undefined) resolved.bootMode = image.BootMode;
  if (sourceParameter !== undefined) resolved.sourceParameter = sourceParameter;
  if (image.Description !== undefined) resolved.description = image.Description;
  if (image.CreationDate !== undefined) resolved.creationDate = image.CreationDate;
  // Launch maps an encrypted volume onto this device name; recorded with every run either way.
  if (image.RootDeviceName) resolved.rootDeviceName = image.RootDeviceName;
  if (image.RootDeviceType) resolved.rootDeviceType = image.RootDeviceType;
  return resolved;
}

/** An encrypted root needs an EBS root volume whose device name the launch can map. */
function checkEncryptable(image: ResolvedImage): void {
  if (image.rootDeviceType !== undefined && image.rootDeviceType !== "ebs") {
    throw new InvalidInputError([
      `encryptRootVolume: image ${image.amiId} has an ${image.rootDeviceType} root volume; only EBS root volumes can be encrypted`,
    ]);
  }
  if (image.rootDeviceName === undefined) {
    throw new InvalidInputError([
      `encryptRootVolume: image ${image.amiId} reports no root device name to map an encrypted volume to`,
    ]);
  }
}

async function describeInstanceType(ec2: EC2Client, instanceType: string): Promise<InstanceTypeInfo> {
  const doesNotExist = () =>
    new IncompatibleInstanceTypeError(`instanceType ${instanceType} does not exist in this region`);
  let types: InstanceTypeInfo[] | undefined;
  try {
    const response = await ec2.send(
      // The SDK types the list as the enum of types it knows; a newer type is still a valid request.
      new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as never] }),
    );
    types = response.InstanceTypes;
  } catch (error) {
    if (awsErrorName(error) === "InvalidInstanceType") throw doesNotExist();
    throw error;
  }
  const info = types?.find((candidate) => candidate.InstanceType === instanceType);
  if (info === undefined) throw doesNotExist();
  return info;
}

function checkCompatible(image: ResolvedImage, instanceType: string, info: InstanceTypeInfo): void {
  const architectures: string[] = info.ProcessorInfo?.SupportedArchitectures ?? [];
  if (!architectures.includes(image.architecture)) {
    throw new IncompatibleInstanceTypeError(
      `image ${image.amiId} is ${image.architecture} but instance type ${instanceType} supports ` +
        `${architectures.length > 0 ? architectures.join(", ") : "no known architecture"}`,
    );
  }
  // `uefi-preferred` and an absent boot mode boot either way; only a pinned mode can be unsupported.
  // An absent SupportedBootModes says nothing, so it rejects nothing.
  const bootModes: string[] = info.SupportedBootModes ?? [];
  const pinned = image.bootMode === "uefi" || image.bootMode === "legacy-bios" ? image.bootMode : undefined;
  if (pinned !== undefined && bootModes.length > 0 && !bootModes.includes(pinned)) {
    throw new IncompatibleInstanceTypeError(
      `image ${image.amiId} boots with ${pinned} but instance type ${instanceType} supports ${bootModes.join(", ")}`,
    );
  }
}
