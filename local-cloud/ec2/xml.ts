/** Just enough XML writing for EC2 responses: every element is built from escaped text. */

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

export type Scalar = string | number | boolean | Date | undefined | null;

/** A leaf element; nothing at all when the value is absent. */
export function leaf(name: string, value: Scalar): string {
  if (value === undefined || value === null) return "";
  const text = value instanceof Date ? value.toISOString() : String(value);
  return `<${name}>${escapeXml(text)}</${name}>`;
}

/** An element around already-built children. */
export function node(name: string, ...children: string[]): string {
  return `<${name}>${children.join("")}</${name}>`;
}

/**
 * An EC2 list: `<name><item>…</item>…</name>`. When empty: nothing, or `<name/>` with `keepEmpty`
 * (what EC2 sends for a response's main list, which the SDK turns into `[]`).
 */
export function itemSet<T>(
  name: string,
  values: readonly T[],
  render: (value: T) => string,
  keepEmpty = false,
): string {
  if (values.length === 0) return keepEmpty ? `<${name}/>` : "";
  return node(name, ...values.map((v) => node("item", render(v))));
}

/** A list of scalars: `<name><item>a</item>…</name>`. */
export function scalarSet(name: string, values: readonly Scalar[]): string {
  if (values.length === 0) return "";
  return node(name, ...values.map((v) => leaf("item", v)));
}
