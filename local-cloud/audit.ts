/**
 * Accounting for the fault matrix and the load run: after a benchmark on the local cloud, what was
 * launched, what is still running, and whether every run left exactly one record. Everything is
 * counted from the two sources of truth, the local EC2's instances and the DynamoDB table, never from
 * what the state machine reported.
 */
import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { unmarshallItem } from "../functions/aws/benchmark-table.js";
import { TAG_BENCHMARK, TAG_RUN } from "../functions/domain/instance-tags.js";
import {
  benchmarkPk,
  RUN_SK_PREFIX,
  type RunRecord,
  SUMMARY_SK,
  type SummaryRecord,
  type UnrecordedRunRecord,
  unrecordedSk,
} from "../functions/domain/run-record.js";
import { SWEEP_PK_PREFIX, type SweepRecord } from "../functions/domain/sweep-record.js";
import type { InstanceSnapshot } from "./cloud.js";
import type { LocalPipeline } from "./local-pipeline.js";

/** States in which an instance still runs (or could): a leak if the benchmark is over. */
const ALIVE = new Set(["pending", "running", "stopping", "stopped"]);

export interface RunAccount {
  runIndex: number;
  /** Run items stored for it (by key this is 0 or 1; counted, not assumed). */
  items: number;
  /** It could not be recorded and was kept whole as an unrecorded-run item instead. */
  keptUnrecorded: boolean;
  status?: RunRecord["status"];
  errorName?: string;
  /** Instances launched for it (a retried launch must reuse the first through its client token). */
  instances: number;
  /** A sweep record names one of its instances. */
  swept: boolean;
}

export interface BenchmarkAudit {
  benchmarkId: string;
  runs: RunAccount[];
  runItems: RunRecord[];
  unrecordedItems: UnrecordedRunRecord[];
  summary?: SummaryRecord;
  instancesLaunched: number;
  /** Instance ids still pending, running, stopping or stopped. */
  instancesLeftRunning: string[];
  /** Runs with neither a run item, an unrecorded-run item nor a sweep record naming them. */
  runsLost: number;
  /** Run items beyond one per run, plus instances beyond one per run. */
  runsDuplicated: number;
}

export const isAlive = (instance: InstanceSnapshot): boolean => ALIVE.has(instance.state);

const tag = (instance: InstanceSnapshot, key: string): string | undefined =>
  instance.tags.find((t) => t.key === key)?.value;

/** Every item of one partition, all pages. */
export async function partitionItems(
  pipeline: LocalPipeline,
  pk: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: QueryCommand["input"]["ExclusiveStartKey"];
  do {
    const page = await pipeline.dynamoDb.send(
      new QueryCommand({
        TableName: pipeline.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: pk } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []).map(unmarshallItem));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** The sweep records of today and yesterday (UTC), oldest first. */
export async function sweepRecords(pipeline: LocalPipeline, now = new Date()): Promise<SweepRecord[]> {
  const days = [new Date(now.getTime() - 86_400_000), now].map((d) => d.toISOString().slice(0, 10));
  const records: SweepRecord[] = [];
  for (const day of days) {
    records.push(
      ...((await partitionItems(pipeline, `${SWEEP_PK_PREFIX}${day}`)) as unknown as SweepRecord[]),
    );
  }
  return records;
}

export async function auditBenchmark(
  pipeline: LocalPipeline,
  benchmarkId: string,
  runs: number,
  sweeps: readonly SweepRecord[] = [],
): Promise<BenchmarkAudit> {
  const items = await partitionItems(pipeline, benchmarkPk(benchmarkId));
  const runItems = items.filter((item) =>
    String(item.sk).startsWith(RUN_SK_PREFIX),
  ) as unknown as RunRecord[];
  const unrecordedItems = items.filter(
    (item) => item.itemType === "unrecordedRun",
  ) as unknown as UnrecordedRunRecord[];
  const instances = (pipeline.localAws?.cloud.instances() ?? []).filter(
    (instance) => tag(instance, TAG_BENCHMARK) === benchmarkId,
  );
  const swept = new Set(
    sweeps.flatMap((sweep) =>
      sweep.terminated.filter((i) => i.benchmarkId === benchmarkId).map((i) => i.runIndex),
    ),
  );
  const accounts: RunAccount[] = Array.from({ length: runs }, (_, runIndex) => {
    const recorded = runItems.filter((item) => item.runIndex === runIndex);
    const account: RunAccount = {
      runIndex,
      items: recorded.length,
      keptUnrecorded: unrecordedItems.some((item) => item.sk === unrecordedSk(runIndex)),
      instances: instances.filter((instance) => tag(instance, TAG_RUN) === String(runIndex)).length,
      swept: swept.has(runIndex),
    };
    if (recorded[0]) {
      account.status = recorded[0].status;
      if (recorded[0].error) account.errorName = recorded[0].error.name;
    }
    return account;
  });
  const summary = items.find((item) => item.sk === SUMMARY_SK) as unknown as SummaryRecord | undefined;
  return {
    benchmarkId,
    runs: accounts,
    runItems,
    unrecordedItems,
    ...(summary && { summary }),
    instancesLaunched: instances.length,
    instancesLeftRunning: instances.filter(isAlive).map((i) => i.instanceId),
    runsLost: accounts.filter((a) => a.items === 0 && !a.keptUnrecorded && !a.swept).length,
    runsDuplicated: accounts.reduce((n, a) => n + Math.max(0, a.items - 1) + Math.max(0, a.instances - 1), 0),
  };
}
