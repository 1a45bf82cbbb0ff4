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
