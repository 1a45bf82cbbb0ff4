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

const NOTE_WIDTH = 100;

/** Greedy word wrap: notes are sentences, tables are wide enough already. */
export function wrapText(text: string, width = NOTE_WIDTH): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines.join("\n");
}

export function writeNotes(deps: QueryDeps, format: OutputFormat, notes: string[]): void {
  if (notes.length === 0) return;
  const text = notes.map((note) => wrapText(note)).join("\n");
  if (format === "table") deps.out.write(`\n${text}\n`);
  else deps.err.write(`${text}\n`);
}

/**
 * Resolves once everything written so far has reached the OS. Writes to a pipe are asynchronous and the
 * CLI ends with process.exit, which would cut `results --format json | jq` short mid-document.
 */
export function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => stream.write("", () => resolve()));
}

let quietOnClosedPipe = false;

/** The CLI's collaborators; tests pass their own. */
export function processIo(): Pick<QueryDeps, "clock" | "out" | "err"> {
  // `boot-bench results | head` closes the pipe early: that is the reader being done, not a failure.
  if (!quietOnClosedPipe) {
    quietOnClosedPipe = true;
    process.stdout.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(0);
      throw error;
    });
  }
  return { clock: Date.now, out: process.stdout, err: process.stderr };
}
