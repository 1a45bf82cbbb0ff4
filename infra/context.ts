import type { Construct } from "constructs";

/**
 * A list from CDK context: a JSON array in cdk.json, or what `-c key=a,b` gives (a comma-separated
 * string, or a JSON array as a string); undefined when the key is unset.
 */
export function listFromContext(scope: Construct, key: string): string[] | undefined {
  const value: unknown = scope.node.tryGetContext(key);
  if (value === undefined || value === null || value === "") return undefined;
  let list: unknown = value;
  if (typeof value === "string") {
    list = value.trim().startsWith("[") ? JSON.parse(value) : value.split(",");
  } else if (typeof value === "number") {
    list = [value];
  }
  if (!Array.isArray(list) || list.length === 0) {
    throw new Error(`Context ${key} must be a non-empty list (JSON array or comma-separated)`);
  }
  return list.map((item) => String(item).trim());
}

/**
 * A whole number from CDK context (JSON in cdk.json, a string from `-c key=n`) within a range, or
 * `fallback` when the key is unset; anything else fails synth naming the key, the range and the value.
 */
export function integerFromContext(
  scope: Construct,
  key: string,
  fallback: number,
  range: { min: number; max: number; what: string },
): number {
  const value: unknown = scope.node.tryGetContext(key);
  const number = value === undefined || value === null || value === "" ? fallback : Number(value);
  if (!Number.isInteger(number) || number < range.min || number > range.max) {
    throw new Error(
      `Context ${key} must be a whole number of ${range.what} from ${range.min} to ${range.max}, ` +
        `got ${JSON.stringify(value)}`,
    );
  }
  return number;
}
