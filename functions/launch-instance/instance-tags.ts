import type { Tag } from "@aws-sdk/client-ec2";
import type { RunState } from "../domain/contract.js";

/** IAM conditions, the sweeper and terminate-by-client-token all key on these; keep them in step with infra. */
export const TAG_STACK = "boot-bench:stack";
export const TAG_BENCHMARK = "boot-bench:benchmark";
export const TAG_RUN = "boot-bench:run";

export function instanceTags(event: Pick<RunState, "benchmark" | "run">, stackTag: string): Tag[] {
  const { benchmarkId } = event.benchmark;
  const { runIndex } = event.run;
  return [
    { Key: TAG_STACK, Value: stackTag },
    { Key: TAG_BENCHMARK, Value: benchmarkId },
    { Key: TAG_RUN, Value: String(runIndex) },
    { Key: "Name", Value: `boot-bench ${benchmarkId} #${runIndex}` },
  ];
}
