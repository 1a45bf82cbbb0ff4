import { createHash } from "node:crypto";
import type { RunItem } from "./contract.js";

// A benchmark id ends up in DynamoDB keys, instance tags, Name tags and ClientTokens (64 ASCII chars
// at most, with the run suffix), so a usable execution name has to be short and plain.
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;
const HASHED_ID_LENGTH = 20;
// 40 hex chars + "-run0000" = 48, within RunInstances' 64 ASCII characters.
const CLIENT_TOKEN_HASH_LENGTH = 40;

/** SHA-256 of a UTF-8 string, hex: what every derived id and digest of the domain is cut from. */
export const sha256Hex = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");

/**
 * A short, stable id for the benchmark an execution runs. A Step Functions execution id is an ARN
 * ending in the execution name; a name that is already short and plain (a UUID, `weekly-2025-01`) is
 * used as is, because people type it into the CLI. Anything else becomes 20 hex chars of the SHA-256
 * of the whole execution id.
 *
 * Stable, so a redriven or retried execution finds the items it already wrote. Unique as far as
 * execution names are: Step Functions keeps them unique per state machine for 90 days; a name reused
 * later would land in the older benchmark's partition.
 */
export function benchmarkIdFor(executionId: string): string {
  const name = executionId.slice(executionId.lastIndexOf(":") + 1);
  if (SAFE_ID.test(name)) return name;
  return sha256Hex(executionId).slice(0, HASHED_ID_LENGTH);
}

/**
 * The RunInstances ClientToken of one run: deterministic, so a retried launch step gets the instance
 * the first attempt started instead of a second one, and a failed launch can still be found by it.
 * Client tokens are unique per account and region, so the token hashes the whole execution ARN (state
 * machine included) rather than the benchmark id: two stacks, or a name reused after 90 days, never
 * share a token.
 */
export function clientTokenFor(executionId: string, runIndex: number): string {
  return `${sha256Hex(executionId).slice(0, CLIENT_TOKEN_HASH_LENGTH)}-run${String(runIndex).padStart(4, "0")}`;
}

/** The Map's items: one per run, numbered from 0 (run 0 is the one discardFirst discards). */
export function runItemsFor(executionId: string, runs: number): RunItem[] {
  return Array.from({ length: runs }, (_, runIndex) => ({
    runIndex,
    clientToken: clientTokenFor(executionId, runIndex),
  }));
}
