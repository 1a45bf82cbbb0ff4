import { formatP } from "../functions/domain/regression.js";
/** A plain, aligned text table: the layout of the published ec2-boot-bench results. */
export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
  align?: "left" | "right";
}

export function textTable<Row>(columns: Column<Row>[], rows: Row[]): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((line) => (line[i] ?? "").length)),
  );
  const render = (line: string[]) =>
    line
      .map((cell, i) =>
        columns[i]?.align === "right" ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
      )
      .join("  ")
      .trimEnd();
  return [
    render(columns.map((c) => c.header)),
    render(widths.map((w) => "-".repeat(w))),
    ...cells.map(render),
  ].join("\n");
}

/** Seconds with two decimals, as published; a dash where there is no value. */
export const seconds = (value: number | undefined): string => (value === undefined ? "-" : value.toFixed(2));

/** `+3.00`, `-0.02`, `0.00` (a value that rounds to zero has no sign); empty when there is none. */
export function signedSeconds(value: number | undefined): string {
  if (value === undefined) return "";
  const rounded = Number(value.toFixed(2));
  return rounded === 0 ? seconds(0) : `${rounded > 0 ? "+" : ""}${seconds(value)}`;
}

/** A p-value as a table cell holds it: `0.003`, `< 0.001`; empty when there is none. */
export const pValueCell = (p: number | undefined): string =>
  p === undefined ? "" : formatP(p).replace(/^p (= )?/, "");
