/**
 * The stack's allow-lists (functions/domain/allow-lists.ts), from CDK context and the suites:
 *
 * - `instanceTypes`: the instance types benchmarks may launch, a JSON array or a comma-separated list,
 *   or `*` for any. Default: every type the stack's suites name, plus DOCUMENTED_INSTANCE_TYPES.
 * - `imageParameterPrefixes`: SSM path prefixes (each ending in `/`) beyond AWS's public
 *   `/aws/service/` that images may be read from. The stack's suites' own prefixes are always added.
 *
 * IAM enforces both (ec2:InstanceType on RunInstances; parameter ARNs on GetParameter and
 * GetParametersByPath), and ValidateInput checks them first so that a refusal says what to change.
 */
import type { Construct } from "constructs";
import {
  type AllowLists,
  ANY_INSTANCE_TYPE,
  PUBLIC_PARAMETER_PREFIX,
} from "../functions/domain/allow-lists.js";
import { imageReferenceOf } from "../functions/domain/image-reference.js";
import { INSTANCE_TYPE } from "../functions/domain/input-schema.js";
import { literalPrefixOf } from "../functions/domain/suite-schema.js";
import { listFromContext } from "./context.js";
import type { LoadedSuite } from "./suites-schema.js";

/** The instance types the README and events/ use in their examples: they must work as written. */
export const DOCUMENTED_INSTANCE_TYPES: readonly string[] = ["c7g.large", "c7i.large"];

// SSM parameter names: letters, digits and `_ . -`, `/` between levels; a prefix ends with `/`.
const PARAMETER_PREFIX = /^\/(?:[A-Za-z0-9_.-]+\/)+$/;

export function allowListsFromContext(scope: Construct, suites: readonly LoadedSuite[]): AllowLists {
  const suiteTypes = suites.flatMap((suite) =>
    suite.input.suite.targets.flatMap((target) => Object.values(target.instanceTypes).flat()),
  );
  const instanceTypes =
    instanceTypesFromContext(scope) ?? uniqueSorted([...suiteTypes, ...DOCUMENTED_INSTANCE_TYPES]);
  if (instanceTypes !== ANY_INSTANCE_TYPE) {
    const missing = uniqueSorted(suiteTypes).filter((type) => !instanceTypes.includes(type));
    if (missing.length > 0) {
      throw new Error(
        `Context instanceTypes leaves out ${missing.join(", ")}, which the stack's suites benchmark; ` +
          "add them, or change the suites",
      );
    }
  }
  const suitePrefixes = suites.flatMap((suite) => suite.input.suite.targets.flatMap(parameterPrefixOfTarget));
  const prefixes = withoutCovered([
    PUBLIC_PARAMETER_PREFIX,
    ...suitePrefixes,
    ...(parameterPrefixesFromContext(scope) ?? []),
  ]);
  return { instanceTypes, imageParameterPrefixes: prefixes };
}

/** The prefix a suite target reads parameters under: its pattern's literal part, or its image's level. */
function parameterPrefixOfTarget(target: { image?: string; pattern?: string; path?: string }): string[] {
  if (target.pattern !== undefined) return [`${target.path ?? literalPrefixOf(target.pattern)}/`];
  const reference = target.image === undefined ? undefined : imageReferenceOf(target.image);
  if (reference === undefined || !("parameter" in reference)) return [];
  return [reference.parameter.slice(0, reference.parameter.lastIndexOf("/") + 1)];
}

function instanceTypesFromContext(scope: Construct): string[] | typeof ANY_INSTANCE_TYPE | undefined {
  const types = listFromContext(scope, "instanceTypes");
  if (types === undefined) return undefined;
  if (types.length === 1 && types[0] === ANY_INSTANCE_TYPE) return ANY_INSTANCE_TYPE;
  const invalid = types.filter((type) => !INSTANCE_TYPE.test(type));
  if (invalid.length > 0) {
    throw new Error(
      `Context instanceTypes must list EC2 instance types such as c7i.large, or be ${ANY_INSTANCE_TYPE} for any; ` +
        `got ${invalid.map((type) => JSON.stringify(type)).join(", ")}`,
    );
  }
  return uniqueSorted(types);
}

function parameterPrefixesFromContext(scope: Construct): string[] | undefined {
  const prefixes = listFromContext(scope, "imageParameterPrefixes");
  const invalid = (prefixes ?? []).filter((prefix) => !PARAMETER_PREFIX.test(prefix));
  if (invalid.length > 0) {
    throw new Error(
      "Context imageParameterPrefixes must list SSM path prefixes that start and end with /, such as " +
        `/team/amis/; got ${invalid.map((prefix) => JSON.stringify(prefix)).join(", ")}`,
    );
  }
  return prefixes;
}

const uniqueSorted = (values: readonly string[]): string[] => [...new Set(values)].sort();

/** Drops every prefix that another one already covers (`/aws/service/freebsd/` under `/aws/service/`). */
function withoutCovered(prefixes: readonly string[]): string[] {
  const unique = uniqueSorted(prefixes);
  return unique.filter((prefix) => !unique.some((other) => other !== prefix && prefix.startsWith(other)));
}
