/**
 * The output formats of the query commands. Text tables use the published ec2-boot-bench layout
 * (text-table.ts); Markdown is for pasting into issues and mailing lists; CSV (RFC 4180) for
 * spreadsheets; JSON carries full-precision numbers for people's own code.
 */
import { type Column, textTable } from "./text-table.js";

export const OUTPUT_FORMATS = ["table", "markdown", "csv", "json"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export type TabularFormat = Exclude<OutputFormat, "json">;

/** Where a command writes: process.stdout in the CLI, a string collector in tests. */
export interface TextSink {
  write(text: string): unknown;
}

export function renderTable<Row>(columns: Column<Row>[], rows: Row[], format: TabularFormat): string {
  switch (format) {
    case "table":
      return textTable(columns, rows);
    case "markdown":
      return markdownTable(columns, rows);
    case "csv":
      return csvTable(columns, rows);
  }
}

// A pipe would end the cell; a line break would end the row.
const markdownCell = (text: string): string =>
  text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");

export function markdownTable<Row>(columns: Column<Row>[], rows: Row[]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(columns.map((column) => markdownCell(column.header))),
    line(columns.map((column) => (column.align === "right" ? "---:" : "---"))),
    ...rows.map((row) => line(columns.map((column) => markdownCell(column.value(row))))),
  ].join("\n");
}

const csvCell = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

/** RFC 4180: CRLF line ends, fields with commas, quotes or line breaks quoted. */
export function csvTable<Row>(columns: Column<Row>[], rows: Row[]): string {
  return [
    columns.map((column) => csvCell(column.header)).join(","),
    ...rows.map((row) => columns.map((column) => csvCell(column.value(row))).join(",")),
  ].join("\r\n");
}

export const jsonDocument = (value: unknown): string => JSON.stringify(value, null, 2);
