import type { Tag } from "@aws-sdk/client-ec2";
import type { RunState } from "../domain/contract.js";
import { TAG_BENCHMARK, TAG_RUN, TAG_STACK } from "../domain/instance-tags.js";

/** The keys live in the domain (the sweeper and infra need them too); re-exported for existing imports. */
export { TAG_BENCHMARK, TAG_RUN, TAG_STACK };

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
