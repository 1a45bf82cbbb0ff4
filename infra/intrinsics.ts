/**
 * Flattens a CloudFormation intrinsic into the readable string cdk-nag shows in finding ids:
 * `Ref` → `<Id>`, `Fn::GetAtt` → `<Id.Attr>`, `Fn::Join` → the joined parts. Enough for ARNs and the
 * state machine definition.
 */
export function flattenIntrinsic(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (value !== null && typeof value === "object") {
    const v = value as Record<string, unknown>;
    const join = v["Fn::Join"] as [string, unknown[]] | undefined;
    if (join) return join[1].map(flattenIntrinsic).join(join[0]);
    if (typeof v.Ref === "string") return `<${v.Ref}>`;
    const getAtt = v["Fn::GetAtt"] as [string, string] | undefined;
    if (getAtt) return `<${getAtt[0]}.${getAtt[1]}>`;
  }
  throw new Error(`Cannot flatten ${JSON.stringify(value)}`);
}
