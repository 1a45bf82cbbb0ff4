/**
 * What every query command is given: the table to read, a clock for relative `--since`, and where to
 * write. Data goes to `out`; notes for people go to `out` under a text table and to `err` otherwise, so
 * that Markdown, CSV and JSON on stdout stay exactly what was asked for.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Clock } from "../functions/shared/clock.js";
import type { OutputFormat, TextSink } from "./output-format.js";

export interface QueryDeps {
  client: DynamoDBClient;
  tableName: string;
  /** Epoch milliseconds: "now" for `--since 7d`. */
  clock: Clock;
  out: TextSink;
  err: TextSink;
}

export function writeNotes(deps: QueryDeps, format: OutputFormat, notes: string[]): void {
  if (notes.length === 0) return;
  if (format === "table") deps.out.write(`\n${notes.join("\n")}\n`);
  else deps.err.write(`${notes.join("\n")}\n`);
}

/** The CLI's collaborators; tests pass their own. */
export const processIo = (): Pick<QueryDeps, "clock" | "out" | "err"> => ({
  clock: Date.now,
  out: process.stdout,
  err: process.stderr,
});
