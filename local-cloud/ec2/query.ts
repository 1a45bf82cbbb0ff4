/**
 * The EC2 Query protocol's request side: a form-encoded body whose keys flatten structures and lists,
 * e.g. `Filter.1.Name=tag:Name&Filter.1.Value.1=x`. A view over those keys with a prefix gives
 * structures, numbered suffixes give lists (in index order, as the client numbered them).
 */
export class QueryParams {
  readonly #entries: ReadonlyMap<string, string>;
  readonly #prefix: string;

  constructor(entries: URLSearchParams | ReadonlyMap<string, string>, prefix = "") {
    this.#entries = entries instanceof URLSearchParams ? new Map(entries) : entries;
    this.#prefix = prefix;
  }

  string(key: string): string | undefined {
    return this.#entries.get(this.#prefix + key);
  }

  /** True when any key starts with `key` (a structure or list was sent). */
  has(key: string): boolean {
    const full = this.#prefix + key;
    for (const k of this.#entries.keys()) if (k === full || k.startsWith(`${full}.`)) return true;
    return false;
  }

  /** `Key.1`, `Key.2`, … in index order. */
  list(key: string): string[] {
    return this.#indices(key, false).map((i) => this.#entries.get(`${this.#prefix}${key}.${i}`) ?? "");
  }

  /** `Key.1.*`, `Key.2.*`, … as structure views, in index order. */
  structs(key: string): QueryParams[] {
    return this.#indices(key, true).map((i) => new QueryParams(this.#entries, `${this.#prefix}${key}.${i}.`));
  }

  struct(key: string): QueryParams {
    return new QueryParams(this.#entries, `${this.#prefix}${key}.`);
  }

  /** Every key of this view, without the prefix. */
  keys(): string[] {
    return [...this.#entries.keys()]
      .filter((k) => k.startsWith(this.#prefix))
      .map((k) => k.slice(this.#prefix.length));
  }

  #indices(key: string, nested: boolean): number[] {
    const full = `${this.#prefix}${key}.`;
    const found = new Set<number>();
    for (const k of this.#entries.keys()) {
      if (!k.startsWith(full)) continue;
      const rest = k.slice(full.length);
      const m = nested ? /^(\d+)\./.exec(rest) : /^(\d+)$/.exec(rest);
      if (m) found.add(Number(m[1]));
    }
    return [...found].sort((a, b) => a - b);
  }
}

/** An EC2 filter value pattern: `*` and `?` are wildcards, `\` escapes them. */
export function filterPattern(value: string): RegExp {
  let source = "";
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    if (c === "\\" && i + 1 < value.length) {
      source += value.charAt(++i).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    } else if (c === "*") source += "[\\s\\S]*";
    else if (c === "?") source += "[\\s\\S]";
    else source += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

export interface Filter {
  name: string;
  values: string[];
}

export function parseFilters(params: QueryParams): Filter[] {
  return params.structs("Filter").map((f) => ({ name: f.string("Name") ?? "", values: f.list("Value") }));
}

/**
 * Whether a resource passes every filter: values of one filter are alternatives, filters all apply.
 * `attribute` gives the resource's values for a filter name, `undefined` for an unknown filter name.
 */
export function matchesFilters(
  filters: readonly Filter[],
  attribute: (name: string) => readonly string[] | undefined,
): boolean {
  return filters.every((filter) => {
    const actual = attribute(filter.name) ?? [];
    const patterns = filter.values.map(filterPattern);
    return actual.some((value) => patterns.some((p) => p.test(value)));
  });
}
