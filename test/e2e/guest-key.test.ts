/**
 * Guest timings' key pair on the local pipeline: made before a benchmark's runs (its instances launch
 * with it), deleted after them with its private half; none without guest timings. A PrepareGuestKey
 * whose answer was lost is retried onto the same key; a DeleteGuestKey that keeps failing leaves the
 * key pair to the sweeper, and the benchmark's numbers stand.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { benchmarkIdFor } from "../../functions/domain/benchmark-identity.js";
import { GUEST_KEY_SK, guestKeyName } from "../../functions/domain/guest-timings.js";
import type { LocalCloud } from "../../local-cloud/cloud.js";
import type { LocalPipeline } from "../../local-cloud/local-pipeline.js";
import { invokeLocalSweeper } from "../../local-cloud/local-sweeper.js";
import type { TaskFaults } from "../../local-cloud/runner/local-state-machine.js";
import { benchmarkItems, startTestPipeline } from "./local-pipeline-harness.js";

let pipeline: LocalPipeline;
let cloud: LocalCloud;

beforeAll(async () => {
  pipeline = await startTestPipeline({ timeScale: 0.05 });
  cloud = pipeline.localAws?.cloud as LocalCloud;
}, 60_000);
afterAll(() => pipeline?.close());

const input = (guestTimings?: boolean) => ({
  image: "/aws/service/debian/release/bookworm/latest/amd64",
  instanceType: "c7i.large",
  runs: 2,
  discardFirst: false,
  port: cloud.sshPort,
  ...(guestTimings !== undefined && { guestTimings }),
});

async function run(guestTimings: boolean | undefined, taskFaults: TaskFaults = {}) {
  const execution = await pipeline.stateMachine.startExecution(
    input(guestTimings),
    `guest-key-${randomUUID()}`,
    {
      taskFaults,
    },
  ).result;
  const benchmarkId = benchmarkIdFor(execution.executionArn);
  const items = await benchmarkItems(pipeline, benchmarkId);
  const instances = cloud
    .instances()
    .filter((i) => i.tags.some((t) => t.key === "boot-bench:benchmark" && t.value === benchmarkId));
  return {
    execution,
    benchmarkId,
    items,
    instances,
    guestKey: items.find((item) => item.sk === GUEST_KEY_SK),
  };
}

describe("the guest key", () => {
  it("is made for a benchmark with guest timings, launched with, and deleted with its private half after", async () => {
    const { execution, benchmarkId, instances, guestKey } = await run(true);
    expect(execution.status).toBe("SUCCEEDED");
    expect(instances).toHaveLength(2);
    for (const instance of instances) expect(instance.keyPair?.name).toBe(guestKeyName(benchmarkId));
    // The instances got exactly the key whose private half the probe would read.
    expect(instances[0]?.keyPair?.publicKey.split(" ")[1]).toBe(String(guestKey?.publicKey).split(" ")[1]);
    expect(cloud.keyPairs.get(guestKeyName(benchmarkId))).toBeUndefined();
    expect(guestKey).toMatchObject({
      itemType: "guestKey",
      keyName: guestKeyName(benchmarkId),
      retiredAt: expect.any(String),
    });
    expect(guestKey).not.toHaveProperty("privateKey");
  }, 120_000);

  it("is never made without guest timings: the instances get no key pair", async () => {
    const { execution, instances, guestKey } = await run(undefined);
    expect(execution.status).toBe("SUCCEEDED");
    expect(instances.map((i) => i.keyPair)).toEqual([undefined, undefined]);
    expect(guestKey).toBeUndefined();
    expect(cloud.keyPairs.all()).toEqual([]);
  }, 120_000);

  it("survives a PrepareGuestKey whose answer was lost: the retry finds its own key pair and goes on", async () => {
    let prepares = 0;
    const { execution, benchmarkId, instances, guestKey } = await run(true, {
      PrepareGuestKey: {
        after: (invocation) => {
          prepares = invocation;
          return invocation === 1
            ? Object.assign(new Error("socket hang up"), { name: "Lambda.SdkClientException" })
            : undefined;
        },
      },
    });
    expect(prepares).toBe(2);
    expect(execution.status).toBe("SUCCEEDED");
    for (const instance of instances) {
      expect(instance.keyPair?.publicKey.split(" ")[1]).toBe(String(guestKey?.publicKey).split(" ")[1]);
    }
    expect(cloud.keyPairs.get(guestKeyName(benchmarkId))).toBeUndefined();
  }, 120_000);

  it("is left alone by the sweeper while its benchmark runs, however old: the later runs still launch with it", async () => {
    const name = `guest-key-sweep-${randomUUID()}`;
    const started = pipeline.stateMachine.startExecution({ ...input(true), runs: 3 }, name);
    const benchmarkId = benchmarkIdFor(started.executionArn);
    const keyName = guestKeyName(benchmarkId);
    const tagged = () =>
      cloud
        .instances()
        .filter((i) => i.tags.some((t) => t.key === "boot-bench:benchmark" && t.value === benchmarkId));
    while (tagged().length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    // Bound 0: every key pair of the stack is past it, as a long benchmark's is past the real one.
    const sweep = await invokeLocalSweeper({ maxAgeMinutes: 0 });
    expect(sweep.keyPairsInUse.map((k) => k.keyName)).toEqual([keyName]);
    expect(cloud.keyPairs.get(keyName)).toBeDefined();
    await started.result;
    const runs = (await benchmarkItems(pipeline, benchmarkId)).filter((item) =>
      String(item.sk).startsWith("RUN#"),
    );
    expect(runs).toHaveLength(3);
    for (const runItem of runs)
      expect((runItem.error as { name?: string } | undefined)?.name).not.toBe("InvalidKeyPair.NotFound");
    expect(tagged().map((i) => i.keyPair?.name)).toEqual([keyName, keyName, keyName]);
    expect(cloud.keyPairs.get(keyName)).toBeUndefined();
  }, 120_000);

  it("left behind by a DeleteGuestKey that keeps failing is the sweeper's; the benchmark still succeeds", async () => {
    const { execution, benchmarkId, items } = await run(true, {
      DeleteGuestKey: { before: () => Object.assign(new Error("injected"), { name: "InternalError" }) },
    });
    expect(execution.status).toBe("SUCCEEDED");
    expect(items.filter((item) => String(item.sk).startsWith("RUN#"))).toHaveLength(2);
    expect(cloud.keyPairs.get(guestKeyName(benchmarkId))).toBeDefined();
    await invokeLocalSweeper({ maxAgeMinutes: 0 });
    expect(cloud.keyPairs.get(guestKeyName(benchmarkId))).toBeUndefined();
  }, 120_000);
});
