/**
 * How a benchmark names its image: an AMI id, an SSM parameter path, or RunInstances' own
 * `resolve:ssm:` form of a parameter. One definition, for validation, resolution and the allow-list.
 */
export const AMI_ID = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export const RESOLVE_SSM_PREFIX = "resolve:ssm:";

/** Where the AMI id comes from: the id itself, or the SSM parameter that holds it. */
export type ImageReference = { amiId: string } | { parameter: string };

/** The reference an image string makes; undefined when it is none of the three forms. */
export function imageReferenceOf(image: string): ImageReference | undefined {
  if (image.startsWith(RESOLVE_SSM_PREFIX)) return { parameter: image.slice(RESOLVE_SSM_PREFIX.length) };
  if (image.startsWith("/")) return { parameter: image };
  if (AMI_ID.test(image)) return { amiId: image };
  return undefined;
}
