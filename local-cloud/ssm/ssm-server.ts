/**
 * SSM over the AWS JSON 1.1 protocol (`X-Amz-Target: AmazonSSM.<Action>`), for the public parameters
 * that publish AMI ids: GetParameter, GetParameters and GetParametersByPath.
 */
import type { PublicParameter } from "../catalogue.js";
import type { LocalCloud } from "../cloud.js";
import type { HttpReply } from "../ec2/ec2-server.js";

const CONTENT_TYPE = "application/x-amz-json-1.1";
export const SSM_TARGET_PREFIX = "AmazonSSM.";

class SsmError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

interface ParameterJson {
  Name: string;
  Type: "String";
  Value: string;
  Version: number;
  Selector?: string;
  LastModifiedDate: number;
  ARN: string;
  DataType: "aws:ec2:image";
}

type Body = Record<string, unknown>;
type SsmAction = (cloud: LocalCloud, body: Body) => unknown;

const ACTIONS: Readonly<Record<string, SsmAction>> = {
  GetParameter: getParameter,
  GetParameters: getParameters,
  GetParametersByPath: getParametersByPath,
};

export function handleSsmRequest(cloud: LocalCloud, target: string, rawBody: string): HttpReply {
  const actionName = target.startsWith(SSM_TARGET_PREFIX) ? target.slice(SSM_TARGET_PREFIX.length) : "";
  const recordAs = ACTIONS[actionName] ? actionName : `ssm:${actionName || target}`;
  try {
    const action = ACTIONS[actionName];
    if (!action) throw new SsmError("UnknownOperationException", `Unknown operation ${target}`);
    let body: unknown;
    try {
      body = rawBody === "" ? {} : JSON.parse(rawBody);
    } catch {
      throw new SsmError("SerializationException", "Request body is not valid JSON");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new SsmError("SerializationException", "Request body must be a JSON object");
    }
    const result = action(cloud, body as Body);
    cloud.record(recordAs);
    return { status: 200, contentType: CONTENT_TYPE, body: JSON.stringify(result) };
  } catch (error) {
    const e =
      error instanceof SsmError ? error : new SsmError("InternalServerError", (error as Error).message, 500);
    cloud.record(recordAs, e.type);
    return {
      status: e.status,
      contentType: CONTENT_TYPE,
      body: JSON.stringify({ __type: e.type, message: e.message }),
    };
  }
}

function stringField(body: Body, field: string, required: true): string;
function stringField(body: Body, field: string, required: false): string | undefined;
function stringField(body: Body, field: string, required: boolean): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) {
    if (required) {
      throw new SsmError(
        "ValidationException",
        `1 validation error detected: Value null at '${field.charAt(0).toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return undefined;
  }
  if (typeof value !== "string") throw new SsmError("SerializationException", `${field} must be a string`);
  return value;
}

function toJson(cloud: LocalCloud, parameter: PublicParameter, version?: number): ParameterJson {
  const v = version === undefined ? parameter.versions.at(-1) : parameter.versions[version - 1];
  if (!v)
    throw new SsmError(
      "ParameterVersionNotFound",
      `Systems Manager could not find version ${version} of ${parameter.name}.`,
    );
  return {
    Name: parameter.name,
    Type: "String",
    Value: v.value,
    Version: v.version,
    ...(version !== undefined && { Selector: `:${version}` }),
    LastModifiedDate: v.lastModified / 1000,
    ARN: `arn:aws:ssm:${cloud.region}::parameter${parameter.name}`,
    DataType: "aws:ec2:image",
  };
}

/** `name`, `name:version` or the parameter's ARN. */
function lookUp(cloud: LocalCloud, raw: string): ParameterJson | undefined {
  let name = raw;
  const arnPrefix = `arn:aws:ssm:${cloud.region}::parameter`;
  if (name.startsWith("arn:")) {
    if (!name.startsWith(arnPrefix)) return undefined;
    name = name.slice(arnPrefix.length);
  }
  const selector = /^(.*):(\d+)$/.exec(name);
  const parameter = cloud.catalogue.parameter(selector?.[1] ?? name);
  if (!parameter) return undefined;
  return toJson(cloud, parameter, selector ? Number(selector[2]) : undefined);
}

function getParameter(cloud: LocalCloud, body: Body): unknown {
  const name = stringField(body, "Name", true);
  const parameter = lookUp(cloud, name);
  if (!parameter) throw new SsmError("ParameterNotFound", `Parameter ${name} not found.`);
  return { Parameter: parameter };
}

function getParameters(cloud: LocalCloud, body: Body): unknown {
  const names = body.Names;
  if (
    !Array.isArray(names) ||
    names.length === 0 ||
    names.length > 10 ||
    names.some((n) => typeof n !== "string")
  ) {
    throw new SsmError(
      "ValidationException",
      "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10",
    );
  }
  const found: ParameterJson[] = [];
  const invalid: string[] = [];
  for (const name of new Set(names as string[])) {
    const parameter = lookUp(cloud, name);
    if (parameter) found.push(parameter);
    else invalid.push(name);
  }
  return { Parameters: found, InvalidParameters: invalid };
}

function decodeToken(token: string): string {
  try {
    const decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { after?: unknown };
    if (typeof decoded.after === "string") return decoded.after;
  } catch {
    // falls through to the error below
  }
  throw new SsmError("InvalidNextToken", "The specified token is not valid.");
}

const encodeToken = (after: string) => Buffer.from(JSON.stringify({ after }), "utf8").toString("base64url");

function getParametersByPath(cloud: LocalCloud, body: Body): unknown {
  const rawPath = stringField(body, "Path", true);
  if (!rawPath.startsWith("/")) {
    throw new SsmError(
      "ValidationException",
      `The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash "/".`,
    );
  }
  const maxResults = body.MaxResults ?? 10;
  if (typeof maxResults !== "number" || !Number.isInteger(maxResults) || maxResults < 1 || maxResults > 10) {
    throw new SsmError(
      "ValidationException",
      `1 validation error detected: Value '${String(maxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10`,
    );
  }
  const recursive = body.Recursive === true;
  const nextToken = stringField(body, "NextToken", false);
  const after = nextToken === undefined ? undefined : decodeToken(nextToken);
  const prefix = rawPath === "/" ? "/" : `${rawPath.replace(/\/+$/, "")}/`;
  const matching = cloud.catalogue
    .parameters()
    .filter((p) => p.name.startsWith(prefix) && (recursive || !p.name.slice(prefix.length).includes("/")))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .filter((p) => after === undefined || p.name > after);
  const page = matching.slice(0, maxResults);
  const last = page.at(-1);
  return {
    Parameters: page.map((p) => toJson(cloud, p)),
    ...(matching.length > page.length && last && { NextToken: encodeToken(last.name) }),
  };
}
