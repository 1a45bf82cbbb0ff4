/**
 * The EC2 Query protocol (API version 2016-11-15) for the actions boot-bench uses: form-encoded
 * requests in, XML out in the `http://ec2.amazonaws.com/doc/2016-11-15/` namespace, errors as
 * `<Response><Errors><Error>…` with EC2's codes and HTTP statuses. Element names follow the AWS SDK v3
 * deserialisers (`xmlName` traits of the EC2 model), so the unchanged SDK parses every field.
 */
import type { CatalogueImage } from "../catalogue.js";
import type { LocalCloud } from "../cloud.js";
import type { ServerErrorAnswer } from "../faults.js";
import { bufferedPostAt, type ConsoleSource, consoleOutputAt } from "./console-output.js";
import { admitScreenshot, screenAt, screenshotJpeg } from "./console-screenshot.js";
import { INSTANCE_TYPES, type InstanceTypeInfo } from "./instance-types.js";
import {
  type Instance,
  type InstanceStateName,
  type LaunchSpec,
  newReservationId,
  STATE_CODES,
  type Tag,
} from "./instances.js";
import { KEY_PAIR_FILTERS, keyPairFilterValues, type LocalKeyPair } from "./key-pairs.js";
import {
  type LocalSecurityGroup,
  type LocalSubnet,
  type LocalVpc,
  type NETWORK_IDS,
  placeLaunch,
  refuseIds,
} from "./network.js";
import { type Filter, matchesFilters, parseFilters, type QueryParams } from "./query.js";
import { itemSet, leaf, node, scalarSet } from "./xml.js";

export const EC2_API_VERSION = "2016-11-15";
const XMLNS = `http://ec2.amazonaws.com/doc/${EC2_API_VERSION}/`;

export class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

export interface HttpReply {
  status: number;
  contentType: string;
  body: string;
  /** Runs just before the response is written (RunInstances starts its instances' boot clock here). */
  beforeSend?: () => void;
}

/** The request is to be left unanswered, its connection held open (the `stalledRequests` fault). */
export const NO_ANSWER: unique symbol = Symbol("no answer");

export function ec2ErrorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${node(
    "Response",
    node("Errors", node("Error", leaf("Code", code), leaf("Message", message))),
    leaf("RequestID", requestId),
  )}`;
}

function responseXml(action: string, requestId: string, ...children: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${XMLNS}">${leaf("requestId", requestId)}${children.join("")}</${action}Response>`;
}

interface ActionContext {
  cloud: LocalCloud;
  q: QueryParams;
  requestId: string;
  requestedAt: number;
}
type ActionResult = { body: string; beforeSend?: () => void };
type Action = (ctx: ActionContext) => ActionResult | Promise<ActionResult>;

const ACTIONS: Readonly<Record<string, Action>> = {
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  TerminateInstances: terminateInstances,
  DescribeImages: describeImages,
  DescribeInstanceTypes: describeInstanceTypes,
  GetConsoleOutput: getConsoleOutput,
  GetConsoleScreenshot: getConsoleScreenshot,
  DescribeVpcs: describeVpcs,
  DescribeSubnets: describeSubnets,
  DescribeSecurityGroups: describeSecurityGroups,
  ImportKeyPair: importKeyPair,
  DescribeKeyPairs: describeKeyPairs,
  DeleteKeyPair: deleteKeyPair,
};

/** The one answer to a throttled call, whichever limit refused it. */
function requestLimitExceeded(cloud: LocalCloud, actionName: string): Ec2Error {
  return new Ec2Error(
    "RequestLimitExceeded",
    `Request limit exceeded. Account ${cloud.accountId} has been throttled on ec2:${actionName} because it exceeded its request rate limit.`,
    503,
  );
}

/** Handles one EC2 request (the form already parsed); never throws. */
export async function handleEc2Request(
  cloud: LocalCloud,
  q: QueryParams,
  requestId: string,
  requestedAt: number,
): Promise<HttpReply | typeof NO_ANSWER> {
  const actionName = q.string("Action") ?? "";
  const recordAs = ACTIONS[actionName] ? actionName : `ec2:${actionName || "(none)"}`;
  try {
    const action = ACTIONS[actionName];
    if (!action) {
      throw actionName
        ? new Ec2Error("InvalidAction", `The action ${actionName} is not valid for this web service.`)
        : new Ec2Error("MissingAction", "The request must contain the parameter Action.");
    }
    if (cloud.faults.stalls(actionName)) {
      cloud.record(recordAs);
      return NO_ANSWER;
    }
    if (!cloud.faults.admit(actionName)) throw requestLimitExceeded(cloud, actionName);
    if (q.string("DryRun") === "true") {
      throw new Ec2Error("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412);
    }
    const serverError = cloud.faults.serverError(actionName);
    if (serverError !== undefined && !serverError.carriedOut) throw serverErrorOf(serverError);
    const result = await action({ cloud, q, requestId, requestedAt });
    if (serverError !== undefined) throw serverErrorOf(serverError);
    cloud.record(recordAs);
    return { status: 200, contentType: "text/xml;charset=UTF-8", ...result };
  } catch (error) {
    const e =
      error instanceof Ec2Error
        ? error
        : new Ec2Error("InternalError", `An internal error has occurred: ${(error as Error).message}`, 500);
    cloud.record(recordAs, e.code);
    return {
      status: e.status,
      contentType: "text/xml;charset=UTF-8",
      body: ec2ErrorXml(e.code, e.message, requestId),
    };
  }
}

// ---- shared ------------------------------------------------------------------------------------

/** EC2's wording for its two server errors (the EC2 API Reference's error code list). */
const serverErrorOf = ({ code, status }: ServerErrorAnswer): Ec2Error =>
  code === "InternalError"
    ? new Ec2Error(code, "An internal error has occurred. Retry your request.", status)
    : new Ec2Error(code, "The server is overloaded and can't handle the request.", status);

const INSTANCE_ID = /^i-[0-9a-f]{8}([0-9a-f]{9})?$/;
const IMAGE_ID = /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/;

function integer(q: QueryParams, key: string): number | undefined {
  const raw = q.string(key);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) {
    throw new Ec2Error("InvalidParameterValue", `Invalid value '${raw}' for ${key}. It must be an integer.`);
  }
  return value;
}

function acceptMaxResults(q: QueryParams, min: number, max: number): void {
  const maxResults = integer(q, "MaxResults");
  if (maxResults !== undefined && (maxResults < min || maxResults > max)) {
    throw new Ec2Error(
      "InvalidParameterValue",
      `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`,
    );
  }
}

function checkFilterNames(filters: readonly Filter[], known: ReadonlySet<string>, tagFilters: boolean): void {
  for (const f of filters) {
    if (known.has(f.name) || (tagFilters && f.name.startsWith("tag:"))) continue;
    throw new Ec2Error("InvalidParameterValue", `The filter '${f.name}' is invalid`);
  }
}

const quoted = (ids: readonly string[]) => ids.join(", ");

/** Whether the instance is visible yet (the NotFound window fault emulates eventual consistency). */
function visible(cloud: LocalCloud, instance: Instance): boolean {
  const window = cloud.faults.notFoundWindowMs;
  if (window <= 0) return true;
  const since = instance.truth.launchedAt;
  return !Number.isNaN(since) && cloud.fleet.now() - since >= window;
}

function lookUpInstances(cloud: LocalCloud, ids: readonly string[]): Instance[] {
  const malformed = ids.filter((id) => !INSTANCE_ID.test(id));
  if (malformed.length > 0)
    throw new Ec2Error("InvalidInstanceID.Malformed", `Invalid id: "${malformed[0]}"`);
  const found: Instance[] = [];
  const missing: string[] = [];
  for (const id of new Set(ids)) {
    const instance = cloud.fleet.get(id);
    if (instance && visible(cloud, instance)) found.push(instance);
    else missing.push(id);
  }
  if (missing.length === 1) {
    throw new Ec2Error("InvalidInstanceID.NotFound", `The instance ID '${missing[0]}' does not exist`);
  }
  if (missing.length > 1) {
    throw new Ec2Error("InvalidInstanceID.NotFound", `The instance IDs '${quoted(missing)}' do not exist`);
  }
  return found;
}

function stateXml(name: string, state: InstanceStateName): string {
  return node(name, leaf("code", STATE_CODES[state]), leaf("name", state));
}

function tagSet(tags: readonly Tag[]): string {
  return itemSet("tagSet", tags, (t) => leaf("key", t.key) + leaf("value", t.value));
}

/**
 * Instances that `launchWithoutPrivateIp` hit: ms after the launch response during which
 * DescribeInstances hides the address too (absent: only the launch response lacks it).
 */
const addressHiddenMs = new WeakMap<Instance, number>();

/** The private IP a RunInstances response (also a replay) shows. */
function launchResponseAddress(i: Instance): string | undefined {
  return i.truth.faults.includes("launchWithoutPrivateIp") ? undefined : i.privateIp;
}

/** The private IP DescribeInstances shows. */
function describedAddress(cloud: LocalCloud, i: Instance): string | undefined {
  const hiddenMs = addressHiddenMs.get(i);
  if (hiddenMs === undefined) return i.privateIp;
  const since = i.truth.launchedAt;
  return Number.isNaN(since) || cloud.fleet.now() - since < hiddenMs ? undefined : i.privateIp;
}

function instanceXml(i: Instance, ip: string | undefined): string {
  const { spec } = i;
  return [
    leaf("instanceId", i.id),
    leaf("imageId", spec.image.imageId),
    stateXml("instanceState", i.state),
    leaf("privateDnsName", ip && `ip-${ip.replaceAll(".", "-")}.ec2.internal`),
    leaf("reason", i.stateTransitionReason || undefined),
    leaf("keyName", spec.keyPair?.name),
    leaf("amiLaunchIndex", spec.amiLaunchIndex),
    leaf("instanceType", spec.instanceType.instanceType),
    leaf("launchTime", i.launchTime),
    node(
      "placement",
      leaf("availabilityZone", spec.availabilityZone),
      leaf("groupName", ""),
      leaf("tenancy", "default"),
    ),
    node("monitoring", leaf("state", "disabled")),
    i.state === "terminated" ? "" : leaf("subnetId", spec.subnetId) + leaf("vpcId", spec.vpcId),
    leaf("privateIpAddress", ip),
    leaf("sourceDestCheck", true),
    itemSet("groupSet", spec.securityGroupIds, (g) => leaf("groupId", g)),
    i.stateReason
      ? node("stateReason", leaf("code", i.stateReason.code), leaf("message", i.stateReason.message))
      : "",
    leaf("architecture", spec.image.architecture),
    leaf("rootDeviceType", "ebs"),
    leaf("rootDeviceName", spec.image.rootDeviceName),
    leaf("virtualizationType", "hvm"),
    leaf("clientToken", spec.clientToken ?? ""),
    tagSet(spec.tags),
    leaf("hypervisor", "xen"),
    leaf("ebsOptimized", false),
    leaf("enaSupport", true),
    node(
      "metadataOptions",
      leaf("state", i.state === "pending" ? "pending" : "applied"),
      leaf("httpTokens", spec.metadataOptions.httpTokens),
      leaf("httpPutResponseHopLimit", spec.metadataOptions.httpPutResponseHopLimit),
      leaf("httpEndpoint", spec.metadataOptions.httpEndpoint),
    ),
    leaf("bootMode", spec.image.bootMode),
    leaf("currentInstanceBootMode", i.bootMode),
    leaf("platformDetails", spec.image.platformDetails),
    leaf("usageOperation", "RunInstances"),
  ].join("");
}

function reservationXml(
  cloud: LocalCloud,
  reservationId: string,
  instances: readonly Instance[],
  addressOf: (i: Instance) => string | undefined,
): string {
  return [
    leaf("reservationId", reservationId),
    leaf("ownerId", cloud.accountId),
    "<groupSet/>",
    itemSet("instancesSet", instances, (i) => instanceXml(i, addressOf(i))),
  ].join("");
}

// ---- RunInstances ------------------------------------------------------------------------------

const SHUTDOWN_BEHAVIOURS = new Set(["stop", "terminate"]);
const TAGGABLE_AT_LAUNCH = new Set([
  "instance",
  "volume",
  "network-interface",
  "spot-instances-request",
  "elastic-gpu",
]);
const MAX_INSTANCES_PER_CALL = 20;
/** Parameters that do not take part in the idempotency comparison. */
const NOT_FINGERPRINTED = new Set(["Action", "Version", "ClientToken", "DryRun"]);

function resolveImageId(cloud: LocalCloud, raw: string | undefined): CatalogueImage {
  if (raw === undefined || raw === "") {
    throw new Ec2Error("MissingParameter", "The request must contain the parameter ImageId");
  }
  let imageId = raw;
  if (raw.startsWith("resolve:ssm:")) {
    const [name = "", version] = raw.slice("resolve:ssm:".length).split(":");
    const parameter = cloud.catalogue.parameter(name);
    const value = version
      ? parameter?.versions.find((v) => String(v.version) === version)?.value
      : parameter?.versions.at(-1)?.value;
    if (value === undefined) {
      throw new Ec2Error(
        "InvalidParameterValue",
        `Unable to resolve the SSM parameter ${raw}: parameter not found.`,
      );
    }
    imageId = value;
  }
  if (!IMAGE_ID.test(imageId)) {
    throw new Ec2Error("InvalidAMIID.Malformed", `Invalid id: "${imageId}" (expecting "ami-...")`);
  }
  const image = cloud.catalogue.image(imageId);
  if (!image) throw new Ec2Error("InvalidAMIID.NotFound", `The image id '[${imageId}]' does not exist`);
  return image;
}

/** `TagSpecification.N`: the tags for resources of type `kept`; any type not in `taggable` is refused. */
function parseTags(q: QueryParams, taggable: ReadonlySet<string>, kept: string): Tag[] {
  const tags: Tag[] = [];
  for (const spec of q.structs("TagSpecification")) {
    const resourceType = spec.string("ResourceType") ?? "";
    if (!taggable.has(resourceType)) {
      throw new Ec2Error(
        "InvalidParameterValue",
        `'${resourceType}' is not a valid taggable resource type for this operation.`,
      );
    }
    const specTags = spec
      .structs("Tag")
      .map((t) => ({ key: t.string("Key") ?? "", value: t.string("Value") ?? "" }));
    for (const t of specTags) {
      if (t.key === "" || t.key.length > 128 || t.value.length > 256) {
        throw new Ec2Error("InvalidParameterValue", `Tag key or value of '${t.key}' is empty or too long.`);
      }
      if (t.key.toLowerCase().startsWith("aws:")) {
        throw new Ec2Error(
          "InvalidParameterValue",
          "Tag keys starting with 'aws:' are reserved for internal use",
        );
      }
    }
    if (new Set(specTags.map((t) => t.key)).size !== specTags.length) {
      throw new Ec2Error("InvalidParameterValue", "Duplicate tag key in TagSpecification");
    }
    if (resourceType === kept) tags.push(...specTags);
  }
  return tags;
}

/**
 * BlockDeviceMappings: only one for the image's root device is understood, to change whether the root
 * volume is encrypted (the emulated volumes have no other properties worth modelling).
 */
function rootVolumeEncryption(q: QueryParams, image: CatalogueImage): boolean {
  let encrypted = false;
  for (const mapping of q.structs("BlockDeviceMapping")) {
    const device = mapping.string("DeviceName");
    if (device === undefined || device === "") {
      throw new Ec2Error(
        "MissingParameter",
        "The request must contain the parameter BlockDeviceMapping.DeviceName",
      );
    }
    if (device !== image.rootDeviceName) {
      throw new Ec2Error(
        "InvalidBlockDeviceMapping",
        `The local cloud maps only the root device (${image.rootDeviceName}) of ${image.imageId}, not ${device}.`,
      );
    }
    const value = mapping.struct("Ebs").string("Encrypted");
    if (value !== undefined && value !== "true" && value !== "false") {
      throw new Ec2Error("InvalidParameterValue", `Invalid value '${value}' for Ebs.Encrypted.`);
    }
    encrypted = value === "true";
  }
  return encrypted;
}

interface RunRequest {
  image: CatalogueImage;
  instanceType: InstanceTypeInfo;
  count: number;
  launch: Omit<LaunchSpec, "image" | "instanceType" | "reservationId" | "amiLaunchIndex">;
}

function parseRunRequest(ctx: ActionContext): RunRequest {
  const { cloud, q } = ctx;
  const minCount = integer(q, "MinCount");
  const maxCount = integer(q, "MaxCount");
  if (minCount === undefined)
    throw new Ec2Error("MissingParameter", "The request must contain the parameter MinCount");
  if (maxCount === undefined)
    throw new Ec2Error("MissingParameter", "The request must contain the parameter MaxCount");
  if (minCount < 1 || maxCount < minCount) {
    throw new Ec2Error("InvalidParameterValue", `Invalid MinCount/MaxCount: ${minCount}/${maxCount}`);
  }
  const image = resolveImageId(cloud, q.string("ImageId"));
  const typeName = q.string("InstanceType");
  if (typeName === undefined)
    throw new Ec2Error("MissingParameter", "The request must contain the parameter InstanceType");
  const instanceType = INSTANCE_TYPES.get(typeName);
  if (!instanceType)
    throw new Ec2Error("InvalidParameterValue", `Invalid value '${typeName}' for InstanceType.`);
  if (instanceType.architecture !== image.architecture) {
    throw new Ec2Error(
      "InvalidParameterValue",
      `The architecture '${instanceType.architecture}' of the specified instance type does not match the architecture '${image.architecture}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again. You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.`,
    );
  }
  if (image.bootMode === "uefi" && !instanceType.supportedBootModes.includes("uefi")) {
    throw new Ec2Error(
      "UnsupportedOperation",
      `The instance type '${typeName}' does not support the boot mode 'uefi' of the specified AMI.`,
    );
  }
  if (minCount > MAX_INSTANCES_PER_CALL) {
    throw new Ec2Error(
      "InstanceLimitExceeded",
      `You have requested more instances (${minCount}) than your current instance limit of ${MAX_INSTANCES_PER_CALL} allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`,
    );
  }
  const clientToken = q.string("ClientToken");
  if (clientToken !== undefined && (clientToken.length > 64 || !/^[\x20-\x7e]*$/.test(clientToken))) {
    throw new Ec2Error(
      "InvalidParameterValue",
      `Value (${clientToken}) for parameter clientToken is invalid. It must be at most 64 ASCII characters.`,
    );
  }
  const shutdownBehavior = q.string("InstanceInitiatedShutdownBehavior") ?? "stop";
  if (!SHUTDOWN_BEHAVIOURS.has(shutdownBehavior)) {
    throw new Ec2Error(
      "InvalidParameterValue",
      `Value (${shutdownBehavior}) for parameter instanceInitiatedShutdownBehavior is invalid.`,
    );
  }
  const userData = q.string("UserData");
  if (userData !== undefined && Buffer.from(userData, "base64").length > 16384) {
    throw new Ec2Error("InvalidParameterValue", "User data is limited to 16384 bytes");
  }
  const metadata = q.struct("MetadataOptions");
  const httpTokens = metadata.string("HttpTokens") ?? "optional";
  const httpEndpoint = metadata.string("HttpEndpoint") ?? "enabled";
  const hopLimit = integer(metadata, "HttpPutResponseHopLimit") ?? 1;
  if (!["optional", "required"].includes(httpTokens)) {
    throw new Ec2Error("InvalidParameterValue", `The HttpTokens value '${httpTokens}' is not valid.`);
  }
  if (!["enabled", "disabled"].includes(httpEndpoint)) {
    throw new Ec2Error("InvalidParameterValue", `The HttpEndpoint value '${httpEndpoint}' is not valid.`);
  }
  if (hopLimit < 1 || hopLimit > 64) {
    throw new Ec2Error("InvalidParameterValue", "The HttpPutResponseHopLimit must be between 1 and 64.");
  }
  const placement = placeLaunch(cloud.network, q.string("SubnetId"), q.list("SecurityGroupId"));
  if (!placement.ok) throw new Ec2Error(placement.code, placement.message);
  const keyName = q.string("KeyName");
  const key =
    keyName === undefined || keyName === ""
      ? undefined
      : cloud.keyPairs.forLaunch(keyName, cloud.fleet.now(), cloud.faults.notFoundWindowMs);
  if (key && !key.ok) throw new Ec2Error(key.code, key.message);
  return {
    image,
    instanceType,
    count: Math.min(maxCount, MAX_INSTANCES_PER_CALL),
    launch: {
      ownerId: cloud.accountId,
      ...(clientToken !== undefined && { clientToken }),
      subnetId: placement.subnet.subnetId,
      vpcId: placement.subnet.vpcId,
      securityGroupIds: placement.securityGroupIds,
      ...(userData !== undefined && { userData }),
      ...(key && { keyPair: key.keyPair }),
      shutdownBehavior: shutdownBehavior as "stop" | "terminate",
      metadataOptions: { httpTokens, httpEndpoint, httpPutResponseHopLimit: hopLimit },
      rootVolumeEncrypted: rootVolumeEncryption(q, image),
      tags: parseTags(q, TAGGABLE_AT_LAUNCH, "instance"),
      availabilityZone: placement.subnet.availabilityZone,
      requestedAt: ctx.requestedAt,
    },
  };
}

function fingerprintOf(q: QueryParams): string {
  const entries = q
    .keys()
    .filter((k) => !NOT_FINGERPRINTED.has(k))
    .map((k) => [k, q.string(k)])
    .sort(([a = ""], [b = ""]) => a.localeCompare(b));
  return JSON.stringify(entries);
}

/** Never keeps the process alive on its own (close() awaits launches in progress anyway). */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

async function launch(ctx: ActionContext, request: RunRequest): Promise<Instance[]> {
  const { cloud } = ctx;
  const apiLatency = sleep(cloud.runInstancesMs);
  const { image, instanceType } = request;
  if (
    cloud.faults.hits("insufficientCapacity", {
      instanceType: instanceType.instanceType,
      imageId: image.imageId,
    })
  ) {
    await apiLatency;
    const zone = `${cloud.region}a`;
    throw new Ec2Error(
      "InsufficientInstanceCapacity",
      `We currently do not have sufficient ${instanceType.instanceType} capacity in the Availability Zone you requested (${zone}). Our system will be working on provisioning additional capacity. You can currently get ${instanceType.instanceType} capacity by not specifying an Availability Zone in your request or choosing ${cloud.region}b, ${cloud.region}c.`,
      500,
    );
  }
  const reservationId = newReservationId();
  const created: Instance[] = [];
  try {
    for (let amiLaunchIndex = 0; amiLaunchIndex < request.count; amiLaunchIndex++) {
      const instance = await cloud.fleet.create({
        ...request.launch,
        image,
        instanceType,
        reservationId,
        amiLaunchIndex,
      });
      created.push(instance);
      const hiddenSeconds = cloud.faults.hidesPrivateIp({
        instanceType: instanceType.instanceType,
        imageId: image.imageId,
      });
      if (hiddenSeconds !== undefined) {
        instance.truth.faults.push("launchWithoutPrivateIp");
        if (hiddenSeconds > 0) addressHiddenMs.set(instance, hiddenSeconds * 1000 * cloud.timeScale);
      }
    }
  } catch (error) {
    await Promise.all(created.map((i) => cloud.fleet.discard(i)));
    throw error;
  }
  await apiLatency;
  return created;
}

/** EC2's 500 for a request whose outcome it does not tell: the `runInstancesInternalError` fault. */
const internalErrorOnRunInstances = (): Ec2Error =>
  new Ec2Error("InternalError", "An internal error has occurred", 500);

async function runInstances(ctx: ActionContext): Promise<ActionResult> {
  const { cloud, q, requestId } = ctx;
  if (cloud.closed) throw new Ec2Error("Unavailable", "The local cloud is shutting down.", 503);
  const clientToken = q.string("ClientToken");
  const fingerprint = fingerprintOf(q);
  const previous = clientToken === undefined ? undefined : cloud.launchesByToken.get(clientToken);
  let result: Promise<Instance[]>;
  let answerLost = false;
  if (previous) {
    if (previous.fingerprint !== fingerprint) {
      throw new Ec2Error(
        "IdempotentParameterMismatch",
        "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).",
      );
    }
    result = previous.result;
  } else {
    const request = parseRunRequest(ctx);
    const internalError = cloud.faults.internalErrorAnswer({
      instanceType: request.instanceType.instanceType,
      imageId: request.image.imageId,
    });
    if (internalError === "nothingLaunched") {
      await sleep(cloud.runInstancesMs);
      throw internalErrorOnRunInstances();
    }
    answerLost = internalError === "launched";
    result = launch(ctx, request);
    cloud.inFlight.add(result);
    void result.then(
      () => cloud.inFlight.delete(result),
      () => cloud.inFlight.delete(result),
    );
    if (clientToken !== undefined) {
      cloud.launchesByToken.set(clientToken, { fingerprint, result });
      // A failed launch leaves nothing behind: the same token may try again.
      result.catch(() => cloud.launchesByToken.delete(clientToken));
    }
  }
  const instances = await result;
  const first = instances[0];
  if (!first) throw new Ec2Error("InternalError", "no instance was launched", 500);
  if (answerLost) {
    // Launched, booting and findable by its client token; only the answer says otherwise.
    for (const i of instances) {
      i.truth.faults.push("runInstancesInternalError");
      i.start();
    }
    throw internalErrorOnRunInstances();
  }
  return {
    body: responseXml(
      "RunInstances",
      requestId,
      reservationXml(cloud, first.spec.reservationId, instances, launchResponseAddress),
    ),
    beforeSend: () => {
      for (const i of instances) i.start();
    },
  };
}

// ---- DescribeInstances -------------------------------------------------------------------------

const INSTANCE_FILTERS = new Set([
  "instance-id",
  "client-token",
  "instance-state-name",
  "instance-state-code",
  "image-id",
  "instance-type",
  "private-ip-address",
  "reservation-id",
  "subnet-id",
  "vpc-id",
  "availability-zone",
  "architecture",
  "owner-id",
  "key-name",
  "tag-key",
  "tag-value",
]);

function instanceFilterValues(cloud: LocalCloud, i: Instance, name: string): string[] {
  const { spec } = i;
  switch (name) {
    case "instance-id":
      return [i.id];
    case "client-token":
      return spec.clientToken === undefined ? [] : [spec.clientToken];
    case "instance-state-name":
      return [i.state];
    case "instance-state-code":
      return [String(STATE_CODES[i.state])];
    case "image-id":
      return [spec.image.imageId];
    case "instance-type":
      return [spec.instanceType.instanceType];
    case "private-ip-address": {
      const ip = describedAddress(cloud, i);
      return ip === undefined ? [] : [ip];
    }
    case "reservation-id":
      return [spec.reservationId];
    case "subnet-id":
      return [spec.subnetId];
    case "vpc-id":
      return [spec.vpcId];
    case "availability-zone":
      return [spec.availabilityZone];
    case "architecture":
      return [spec.image.architecture];
    case "owner-id":
      return [cloud.accountId];
    case "key-name":
      return spec.keyPair ? [spec.keyPair.name] : [];
    case "tag-key":
      return spec.tags.map((t) => t.key);
    case "tag-value":
      return spec.tags.map((t) => t.value);
    default:
      return name.startsWith("tag:")
        ? spec.tags.filter((t) => t.key === name.slice(4)).map((t) => t.value)
        : [];
  }
}

function describeInstances({ cloud, q, requestId }: ActionContext): ActionResult {
  const ids = q.list("InstanceId");
  const filters = parseFilters(q);
  checkFilterNames(filters, INSTANCE_FILTERS, true);
  if (ids.length > 0 && q.string("MaxResults") !== undefined) {
    throw new Ec2Error(
      "InvalidParameterCombination",
      "The parameter instancesSet cannot be used with the parameter maxResults",
    );
  }
  acceptMaxResults(q, 5, 1000);
  const selected =
    ids.length > 0 ? lookUpInstances(cloud, ids) : cloud.fleet.all().filter((i) => visible(cloud, i));
  const matching = selected.filter((i) =>
    matchesFilters(filters, (name) => instanceFilterValues(cloud, i, name)),
  );
  const reservations = new Map<string, Instance[]>();
  for (const i of matching) {
    const list = reservations.get(i.spec.reservationId) ?? [];
    list.push(i);
    reservations.set(i.spec.reservationId, list);
  }
  const reservationSet = [...reservations].map(([id, instances]) =>
    reservationXml(cloud, id, instances, (i) => describedAddress(cloud, i)),
  );
  return {
    body: responseXml(
      "DescribeInstances",
      requestId,
      itemSet("reservationSet", reservationSet, (r) => r, true),
    ),
  };
}

// ---- TerminateInstances ------------------------------------------------------------------------

function terminateInstances({ cloud, q, requestId }: ActionContext): ActionResult {
  const ids = q.list("InstanceId");
  if (ids.length === 0)
    throw new Ec2Error("MissingParameter", "The request must contain the parameter InstanceId");
  const instances = lookUpInstances(cloud, ids);
  const changes = instances.map((i) => {
    const previous = i.terminate(cloud.shutdownMs);
    return node(
      "item",
      leaf("instanceId", i.id),
      stateXml("currentState", i.state),
      stateXml("previousState", previous),
    );
  });
  return { body: responseXml("TerminateInstances", requestId, node("instancesSet", ...changes)) };
}

// ---- GetConsoleOutput --------------------------------------------------------------------------

/**
 * With `Latest`, the serial output as of now (Nitro instance types only); without, what EC2 posted at
 * the most recent state transition. A terminated instance still answers, with its final output.
 */
function getConsoleOutput({ cloud, q, requestId }: ActionContext): ActionResult {
  const id = q.string("InstanceId");
  if (id === undefined || id === "")
    throw new Ec2Error("MissingParameter", "The request must contain the parameter InstanceId");
  const [instance] = lookUpInstances(cloud, [id]);
  if (!instance) throw new Ec2Error("InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`);
  if (instance.truth.faults.includes("consoleOutputUnavailable")) {
    throw new Ec2Error("InternalError", "An internal error has occurred", 500);
  }
  const latest = q.string("Latest") === "true";
  const { instanceType } = instance.spec;
  if (latest && instanceType.hypervisor !== "nitro") {
    // EC2 documents Latest as Nitro-only; the error code it answers otherwise is not confirmed.
    throw new Ec2Error(
      "UnsupportedOperation",
      `The instance type ${instanceType.instanceType} does not support retrieving the latest console output.`,
    );
  }
  const now = cloud.fleet.now();
  const source = consoleSourceOf(instance);
  const postedAt = latest ? now : bufferedPostAt(instance.truth, now);
  const snapshot = postedAt === undefined ? undefined : consoleOutputAt(source, postedAt);
  const updatedAt = (latest ? snapshot?.updatedAt : postedAt) ?? now;
  const text = snapshot?.text ?? "";
  return {
    body: responseXml(
      "GetConsoleOutput",
      requestId,
      leaf("instanceId", instance.id),
      leaf("timestamp", new Date(updatedAt)),
      // No output element at all while there is nothing to show, as EC2 does.
      leaf("output", text === "" ? undefined : Buffer.from(text, "utf8").toString("base64")),
    ),
  };
}

const consoleSourceOf = (instance: Instance): ConsoleSource => ({
  image: instance.spec.image,
  instanceType: instance.spec.instanceType,
  bootMode: instance.bootMode,
  truth: instance.truth,
});

// ---- GetConsoleScreenshot ----------------------------------------------------------------------

/**
 * A JPEG of the instance's screen now (console-screenshot.ts: the console as of the latest milestone),
 * about one call a second per instance. A terminated instance still answers, as GetConsoleOutput does:
 * with its last screen. `WakeUp` is accepted and has nothing to wake: no emulated instance sleeps.
 */
async function getConsoleScreenshot({
  cloud,
  q,
  requestId,
  requestedAt,
}: ActionContext): Promise<ActionResult> {
  const id = q.string("InstanceId");
  if (id === undefined || id === "")
    throw new Ec2Error("MissingParameter", "The request must contain the parameter InstanceId");
  const [instance] = lookUpInstances(cloud, [id]);
  if (!instance) throw new Ec2Error("InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`);
  // Always on, unlike the account's buckets (the throttling fault); requestedAt is real time.
  if (!admitScreenshot(instance, requestedAt)) throw requestLimitExceeded(cloud, "GetConsoleScreenshot");
  if (instance.truth.faults.includes("consoleScreenshotUnavailable")) {
    throw new Ec2Error("InternalError", "An internal error has occurred", 500);
  }
  if (instance.state === "pending") {
    // EC2 documents a screenshot "of a running instance" and no error code for GetConsoleScreenshot;
    // what it answers for a pending instance is not confirmed. IncorrectInstanceState (400) is its
    // common code for an instance in the wrong state for the action.
    throw new Ec2Error(
      "IncorrectInstanceState",
      `The instance '${instance.id}' is not in a state from which a console screenshot can be taken.`,
    );
  }
  const screen = screenAt(consoleSourceOf(instance), cloud.fleet.now());
  const jpeg = await screenshotJpeg(instance, instance.id, screen);
  return {
    body: responseXml(
      "GetConsoleScreenshot",
      requestId,
      // In the order of EC2's sample response.
      leaf("imageData", jpeg.toString("base64")),
      leaf("instanceId", instance.id),
    ),
  };
}

// ---- DescribeVpcs, DescribeSubnets, DescribeSecurityGroups (the network of network.ts) ------------

/** The resources a Describe call names by id (all without ids); EC2's errors for a bad or unknown id. */
function lookUpIds<T>(
  kind: keyof typeof NETWORK_IDS,
  ids: readonly string[],
  all: readonly T[],
  idOf: (resource: T) => string,
): T[] {
  const refusal = refuseIds(kind, ids, all.map(idOf));
  if (refusal) throw new Ec2Error(refusal.code, refusal.message);
  return ids.length === 0 ? [...all] : all.filter((resource) => ids.includes(idOf(resource)));
}

const VPC_FILTERS = new Set(["vpc-id", "is-default", "cidr", "cidr-block", "state", "owner-id"]);

function describeVpcs({ cloud, q, requestId }: ActionContext): ActionResult {
  const filters = parseFilters(q);
  checkFilterNames(filters, VPC_FILTERS, true);
  const vpcs = lookUpIds("vpc", q.list("VpcId"), cloud.network.vpcs, (vpc) => vpc.vpcId).filter((vpc) =>
    matchesFilters(filters, (name) => {
      if (name === "vpc-id") return [vpc.vpcId];
      if (name === "is-default") return [String(vpc.isDefault)];
      if (name === "cidr" || name === "cidr-block") return [vpc.cidrBlock];
      if (name === "state") return ["available"];
      if (name === "owner-id") return [cloud.accountId];
      return [];
    }),
  );
  const render = (vpc: LocalVpc) =>
    leaf("vpcId", vpc.vpcId) +
    leaf("ownerId", cloud.accountId) +
    leaf("state", "available") +
    leaf("cidrBlock", vpc.cidrBlock) +
    leaf("instanceTenancy", "default") +
    leaf("isDefault", vpc.isDefault);
  return { body: responseXml("DescribeVpcs", requestId, itemSet("vpcSet", vpcs, render, true)) };
}

const SUBNET_FILTERS = new Set([
  "subnet-id",
  "vpc-id",
  "availability-zone",
  "default-for-az",
  "defaultForAz",
  "cidr-block",
  "state",
  "owner-id",
]);

function describeSubnets({ cloud, q, requestId }: ActionContext): ActionResult {
  const filters = parseFilters(q);
  checkFilterNames(filters, SUBNET_FILTERS, true);
  const subnets = lookUpIds(
    "subnet",
    q.list("SubnetId"),
    cloud.network.subnets,
    (subnet) => subnet.subnetId,
  ).filter((subnet) =>
    matchesFilters(filters, (name) => {
      if (name === "subnet-id") return [subnet.subnetId];
      if (name === "vpc-id") return [subnet.vpcId];
      if (name === "availability-zone") return [subnet.availabilityZone];
      if (name === "default-for-az" || name === "defaultForAz") return [String(subnet.defaultForAz)];
      if (name === "cidr-block") return [subnet.cidrBlock];
      if (name === "state") return ["available"];
      if (name === "owner-id") return [cloud.accountId];
      return [];
    }),
  );
  const render = (subnet: LocalSubnet) =>
    leaf("subnetId", subnet.subnetId) +
    leaf("subnetArn", `arn:aws:ec2:${cloud.region}:${cloud.accountId}:subnet/${subnet.subnetId}`) +
    leaf("state", "available") +
    leaf("ownerId", cloud.accountId) +
    leaf("vpcId", subnet.vpcId) +
    leaf("cidrBlock", subnet.cidrBlock) +
    leaf("availableIpAddressCount", 4091) +
    leaf("availabilityZone", subnet.availabilityZone) +
    leaf("defaultForAz", subnet.defaultForAz) +
    leaf("mapPublicIpOnLaunch", subnet.defaultForAz);
  return { body: responseXml("DescribeSubnets", requestId, itemSet("subnetSet", subnets, render, true)) };
}

const SECURITY_GROUP_FILTERS = new Set(["group-id", "group-name", "vpc-id", "description", "owner-id"]);

function describeSecurityGroups({ cloud, q, requestId }: ActionContext): ActionResult {
  const filters = parseFilters(q);
  checkFilterNames(filters, SECURITY_GROUP_FILTERS, true);
  const names = q.list("GroupName");
  const groups = lookUpIds(
    "securityGroup",
    q.list("GroupId"),
    cloud.network.securityGroups,
    (group) => group.groupId,
  )
    .filter((group) => names.length === 0 || names.includes(group.groupName))
    .filter((group) =>
      matchesFilters(filters, (name) => {
        if (name === "group-id") return [group.groupId];
        if (name === "group-name") return [group.groupName];
        if (name === "vpc-id") return [group.vpcId];
        if (name === "description") return [group.description];
        if (name === "owner-id") return [cloud.accountId];
        return [];
      }),
    );
  const render = (group: LocalSecurityGroup) =>
    leaf("ownerId", cloud.accountId) +
    leaf("groupId", group.groupId) +
    leaf("groupName", group.groupName) +
    leaf("groupDescription", group.description) +
    leaf("vpcId", group.vpcId);
  return {
    body: responseXml(
      "DescribeSecurityGroups",
      requestId,
      itemSet("securityGroupInfo", groups, render, true),
    ),
  };
}

// ---- ImportKeyPair, DescribeKeyPairs, DeleteKeyPair (the key pairs of key-pairs.ts) ----------------

const TAGGABLE_KEY_PAIR = new Set(["key-pair"]);

function importKeyPair({ cloud, q, requestId }: ActionContext): ActionResult {
  const tags = parseTags(q, TAGGABLE_KEY_PAIR, "key-pair");
  const imported = cloud.keyPairs.import(
    q.string("KeyName"),
    q.string("PublicKeyMaterial"),
    tags,
    cloud.fleet.now(),
  );
  if (!imported.ok) throw new Ec2Error(imported.code, imported.message);
  const { keyPair } = imported;
  return {
    body: responseXml(
      "ImportKeyPair",
      requestId,
      leaf("keyFingerprint", keyPair.keyFingerprint),
      leaf("keyName", keyPair.keyName),
      leaf("keyPairId", keyPair.keyPairId),
      tagSet(keyPair.tags),
    ),
  };
}

function describeKeyPairs({ cloud, q, requestId }: ActionContext): ActionResult {
  const filters = parseFilters(q);
  checkFilterNames(filters, KEY_PAIR_FILTERS, true);
  const includePublicKey = q.string("IncludePublicKey") === "true";
  const found = cloud.keyPairs.lookUp(
    q.list("KeyName"),
    q.list("KeyPairId"),
    cloud.fleet.now(),
    cloud.faults.notFoundWindowMs,
  );
  if (!found.ok) throw new Ec2Error(found.code, found.message);
  const keyPairs = found.keyPairs.filter((k) =>
    matchesFilters(filters, (name) => keyPairFilterValues(k, name)),
  );
  const render = (k: LocalKeyPair) =>
    leaf("keyPairId", k.keyPairId) +
    leaf("keyType", k.keyType) +
    // EC2 lists a key pair without tags with an empty tag set (the CLI shows "Tags": []).
    itemSet("tagSet", k.tags, (t) => leaf("key", t.key) + leaf("value", t.value), true) +
    leaf("publicKey", includePublicKey ? k.publicKey : undefined) +
    leaf("createTime", k.createTime) +
    leaf("keyName", k.keyName) +
    leaf("keyFingerprint", k.keyFingerprint);
  return { body: responseXml("DescribeKeyPairs", requestId, itemSet("keySet", keyPairs, render, true)) };
}

function deleteKeyPair({ cloud, q, requestId }: ActionContext): ActionResult {
  const result = cloud.keyPairs.delete(q.string("KeyName"), q.string("KeyPairId"));
  if (!result.ok) throw new Ec2Error(result.code, result.message);
  return {
    body: responseXml("DeleteKeyPair", requestId, leaf("return", true), leaf("keyPairId", result.deleted)),
  };
}

// ---- DescribeImages ----------------------------------------------------------------------------

const IMAGE_FILTERS = new Set([
  "image-id",
  "name",
  "description",
  "architecture",
  "owner-id",
  "owner-alias",
  "state",
  "is-public",
  "image-type",
  "root-device-type",
  "root-device-name",
  "virtualization-type",
  "hypervisor",
  "platform-details",
  "boot-mode",
  "tag-key",
  "tag-value",
]);

function imageFilterValues(image: CatalogueImage, name: string): string[] {
  switch (name) {
    case "image-id":
      return [image.imageId];
    case "name":
      return [image.name];
    case "description":
      return [image.description];
    case "architecture":
      return [image.architecture];
    case "owner-id":
      return [image.ownerId];
    case "owner-alias":
      return image.ownerAlias ? [image.ownerAlias] : [];
    case "state":
      return ["available"];
    case "is-public":
      return ["true"];
    case "image-type":
      return ["machine"];
    case "root-device-type":
      return ["ebs"];
    case "root-device-name":
      return [image.rootDeviceName];
    case "virtualization-type":
      return ["hvm"];
    case "hypervisor":
      return ["xen"];
    case "platform-details":
      return [image.platformDetails];
    case "boot-mode":
      return image.bootMode ? [image.bootMode] : [];
    default:
      return [];
  }
}

function imageXml(image: CatalogueImage): string {
  return [
    leaf("imageId", image.imageId),
    leaf("imageLocation", `${image.ownerAlias ?? image.ownerId}/${image.name}`),
    leaf("imageState", "available"),
    leaf("imageOwnerId", image.ownerId),
    leaf("creationDate", image.creationDate),
    leaf("isPublic", true),
    leaf("architecture", image.architecture),
    leaf("imageType", "machine"),
    leaf("name", image.name),
    leaf("description", image.description),
    leaf("imageOwnerAlias", image.ownerAlias),
    leaf("rootDeviceType", "ebs"),
    leaf("rootDeviceName", image.rootDeviceName),
    node(
      "blockDeviceMapping",
      node(
        "item",
        leaf("deviceName", image.rootDeviceName),
        node(
          "ebs",
          leaf("snapshotId", `snap-${image.imageId.slice(4)}`),
          leaf("volumeSize", image.name.startsWith("FreeBSD") ? 6 : 8),
          leaf("deleteOnTermination", true),
          leaf("volumeType", "gp3"),
          leaf("encrypted", false),
        ),
      ),
    ),
    leaf("virtualizationType", "hvm"),
    leaf("hypervisor", "xen"),
    leaf("enaSupport", true),
    leaf("sriovNetSupport", "simple"),
    leaf("bootMode", image.bootMode),
    leaf("platformDetails", image.platformDetails),
    leaf("usageOperation", "RunInstances"),
  ].join("");
}

function describeImages({ cloud, q, requestId }: ActionContext): ActionResult {
  const ids = q.list("ImageId");
  const owners = q.list("Owner");
  const filters = parseFilters(q);
  checkFilterNames(filters, IMAGE_FILTERS, true);
  acceptMaxResults(q, 5, 1000);
  const malformed = ids.find((id) => !IMAGE_ID.test(id));
  if (malformed !== undefined)
    throw new Ec2Error("InvalidAMIID.Malformed", `Invalid id: "${malformed}" (expecting "ami-...")`);
  const missing = ids.filter((id) => !cloud.catalogue.image(id));
  if (missing.length === 1)
    throw new Ec2Error("InvalidAMIID.NotFound", `The image id '[${missing[0]}]' does not exist`);
  if (missing.length > 1)
    throw new Ec2Error("InvalidAMIID.NotFound", `The image ids '[${quoted(missing)}]' do not exist`);
  const ownedBy = (image: CatalogueImage, owner: string) =>
    owner === "self"
      ? image.ownerId === cloud.accountId
      : owner === image.ownerId || owner === image.ownerAlias;
  const images = (
    ids.length > 0 ? ids.flatMap((id) => cloud.catalogue.image(id) ?? []) : cloud.catalogue.images()
  )
    .filter((image) => owners.length === 0 || owners.some((owner) => ownedBy(image, owner)))
    .filter((image) => matchesFilters(filters, (name) => imageFilterValues(image, name)));
  return { body: responseXml("DescribeImages", requestId, itemSet("imagesSet", images, imageXml, true)) };
}

// ---- DescribeInstanceTypes ---------------------------------------------------------------------

const INSTANCE_TYPE_FILTERS = new Set([
  "instance-type",
  "processor-info.supported-architecture",
  "supported-boot-mode",
  "current-generation",
  "burstable-performance-supported",
  "hypervisor",
  "vcpu-info.default-vcpus",
  "memory-info.size-in-mib",
]);

function instanceTypeFilterValues(t: InstanceTypeInfo, name: string): string[] {
  switch (name) {
    case "instance-type":
      return [t.instanceType];
    case "processor-info.supported-architecture":
      return [t.architecture];
    case "supported-boot-mode":
      return [...t.supportedBootModes];
    case "current-generation":
      return ["true"];
    case "burstable-performance-supported":
      return [String(t.burstable)];
    case "hypervisor":
      return [t.hypervisor];
    case "vcpu-info.default-vcpus":
      return [String(t.vcpus)];
    case "memory-info.size-in-mib":
      return [String(t.memoryMiB)];
    default:
      return [];
  }
}

function instanceTypeXml(t: InstanceTypeInfo): string {
  const threads = t.vcpus > 1 && t.architecture === "x86_64" ? 2 : 1;
  return [
    leaf("instanceType", t.instanceType),
    leaf("currentGeneration", true),
    leaf("freeTierEligible", t.instanceType === "t2.micro" || t.instanceType === "t3.micro"),
    scalarSet("supportedUsageClasses", ["on-demand", "spot"]),
    scalarSet("supportedRootDeviceTypes", ["ebs"]),
    scalarSet("supportedVirtualizationTypes", ["hvm"]),
    leaf("bareMetal", false),
    leaf("hypervisor", t.hypervisor),
    node(
      "processorInfo",
      scalarSet("supportedArchitectures", [t.architecture]),
      leaf("manufacturer", t.manufacturer),
    ),
    node(
      "vCpuInfo",
      leaf("defaultVCpus", t.vcpus),
      leaf("defaultCores", t.vcpus / threads),
      leaf("defaultThreadsPerCore", threads),
    ),
    node("memoryInfo", leaf("sizeInMiB", t.memoryMiB)),
    leaf("instanceStorageSupported", false),
    leaf("hibernationSupported", t.architecture === "x86_64"),
    leaf("burstablePerformanceSupported", t.burstable),
    leaf("dedicatedHostsSupported", !t.burstable),
    leaf("autoRecoverySupported", true),
    scalarSet("supportedBootModes", t.supportedBootModes),
  ].join("");
}

function describeInstanceTypes({ q, requestId }: ActionContext): ActionResult {
  const names = q.list("InstanceType");
  const filters = parseFilters(q);
  checkFilterNames(filters, INSTANCE_TYPE_FILTERS, false);
  acceptMaxResults(q, 5, 100);
  const unknown = names.filter((n) => !INSTANCE_TYPES.has(n));
  if (unknown.length > 0) {
    throw new Ec2Error(
      "InvalidInstanceType",
      `The following supplied instance types do not exist: [${quoted(unknown)}]`,
    );
  }
  const types = (
    names.length > 0 ? names.flatMap((n) => INSTANCE_TYPES.get(n) ?? []) : [...INSTANCE_TYPES.values()]
  ).filter((t) => matchesFilters(filters, (name) => instanceTypeFilterValues(t, name)));
  return {
    body: responseXml(
      "DescribeInstanceTypes",
      requestId,
      itemSet("instanceTypeSet", types, instanceTypeXml, true),
    ),
  };
}
