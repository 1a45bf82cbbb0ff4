/**
 * What a stack lets a benchmark use, beyond what is valid EC2 input: which instance types it may
 * launch (a mistyped `u7in-32tb.224xlarge` costs hundreds of dollars an hour) and which SSM
 * parameters it may read an AMI id from (a parameter outside them could be any of the account's
 * configuration). IAM enforces the same lists (infra/allow-lists.ts); ValidateInput checks them first so
 * that a refusal names the field and the fix instead of surfacing as an AccessDenied mid-benchmark.
 */
import type { BenchmarkSettings } from "./contract.js";
import { NotAllowedError } from "./errors.js";
import { imageReferenceOf } from "./image-reference.js";

/** The instance-type list that allows every type (context `instanceTypes=*`). */
export const ANY_INSTANCE_TYPE = "*";
/** AWS's public parameters (`/aws/service/…`): always readable, never the account's own data. */
export const PUBLIC_PARAMETER_PREFIX = "/aws/service/";

export interface AllowLists {
  instanceTypes: readonly string[] | typeof ANY_INSTANCE_TYPE;
  /** Path prefixes, each ending in `/`; PUBLIC_PARAMETER_PREFIX among them. */
  imageParameterPrefixes: readonly string[];
}

/** The environment ValidateInput is deployed with: the lists as comma-separated values. */
export const ALLOWED_INSTANCE_TYPES_ENV = "ALLOWED_INSTANCE_TYPES";
export const IMAGE_PARAMETER_PREFIXES_ENV = "IMAGE_PARAMETER_PREFIXES";

export function allowListsToEnvironment(lists: AllowLists): Record<string, string> {
  return {
    [ALLOWED_INSTANCE_TYPES_ENV]:
      lists.instanceTypes === ANY_INSTANCE_TYPE ? ANY_INSTANCE_TYPE : lists.instanceTypes.join(","),
    [IMAGE_PARAMETER_PREFIXES_ENV]: lists.imageParameterPrefixes.join(","),
  };
}

export function allowListsFromEnvironment(instanceTypes: string, imageParameterPrefixes: string): AllowLists {
  const split = (value: string) =>
    value
      .split(",")
      .map((entry) => entry.trim())
      .filter((entry) => entry !== "");
  const prefixes = split(imageParameterPrefixes);
  if (!prefixes.includes(PUBLIC_PARAMETER_PREFIX)) {
    throw new Error(`${IMAGE_PARAMETER_PREFIXES_ENV} must include ${PUBLIC_PARAMETER_PREFIX}`);
  }
  const types = instanceTypes.trim() === ANY_INSTANCE_TYPE ? ANY_INSTANCE_TYPE : split(instanceTypes);
  if (types !== ANY_INSTANCE_TYPE && types.length === 0) {
    throw new Error(
      `${ALLOWED_INSTANCE_TYPES_ENV} lists no instance type (use ${ANY_INSTANCE_TYPE} for any)`,
    );
  }
  return { instanceTypes: types, imageParameterPrefixes: prefixes };
}

export const parameterAllowed = (lists: AllowLists, parameter: string): boolean =>
  lists.imageParameterPrefixes.some((prefix) => parameter.startsWith(prefix));

export const instanceTypeAllowed = (lists: AllowLists, instanceType: string): boolean =>
  lists.instanceTypes === ANY_INSTANCE_TYPE || lists.instanceTypes.includes(instanceType);

/**
 * Refuses a benchmark the stack does not allow, naming each field, what is allowed and how to allow more.
 * @throws NotAllowedError (BootBench.NotAllowed)
 */
export function checkAllowed(
  settings: Pick<BenchmarkSettings, "image" | "instanceType">,
  lists: AllowLists,
): void {
  const problems: string[] = [];
  if (!instanceTypeAllowed(lists, settings.instanceType)) {
    problems.push(
      `instanceType: ${settings.instanceType} is not one this stack may launch ` +
        `(${[...lists.instanceTypes].join(", ")}); deploy with -c instanceTypes=<list> to allow it, or ` +
        `-c instanceTypes=${ANY_INSTANCE_TYPE} for any`,
    );
  }
  const reference = imageReferenceOf(settings.image);
  if (reference !== undefined && "parameter" in reference && !parameterAllowed(lists, reference.parameter)) {
    problems.push(
      `image: SSM parameter ${reference.parameter} is outside the prefixes this stack may read ` +
        `(${lists.imageParameterPrefixes.join(", ")}); deploy with -c imageParameterPrefixes=<list> to allow it`,
    );
  }
  if (problems.length > 0) throw new NotAllowedError(problems);
}
