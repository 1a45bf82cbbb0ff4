/**
 * Step Functions cannot stop a Lambda invocation it has started: when the poll fails, the Parallel is
 * cancelled, yet the ProbePort invocation runs on. This measures, on the local cloud, how long that
 * orphaned probe keeps connecting to the run's address after the poll failed: the probe must stop
 * within a few seconds once terminate has marked the run ended.
 *
 * The probe's connect attempts are seen where they are made: every net.Socket connect() of this process
 * to the run's address and port is timestamped (the probe is the only one connecting there).
 */

import { randomUUID } from "node:crypto";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { benchmarkIdFor } from "../../functions/domain/benchmark-identity.js";
import type { ProbePortEvent } from "../../functions/domain/contract.js";
import { auditBenchmark } from "../../local-cloud/audit.js";
import type { LocalCloud } from "../../local-cloud/cloud.js";
import type { LocalPipeline } from "../../local-cloud/local-pipeline.js";
import { startTestPipeline } from "./local-pipeline-harness.js";

let pipeline: LocalPipeline;
let cloud: LocalCloud;

/** Start time (performance.now()) of the latest connect() to each "host:port". */
const lastConnectAt = new Map<string, number>();
const realConnect = net.Socket.prototype.connect;

beforeAll(async () => {
  pipeline = await startTestPipeline({ timeScale: 0.05 });
  cloud = pipeline.localAws?.cloud as LocalCloud;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const [options] = args as [{ host?: string; port?: number } | undefined];
    if (typeof options === "object" && options !== null && options.host !== undefined) {
      lastConnectAt.set(`${options.host}:${options.port}`, performance.now());
    }
    return (realConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
}, 60_000);

afterAll(async () => {
  net.Socket.prototype.connect = realConnect;
  await pipeline?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until nothing has connected to `target` for `quietMs`, or `limitMs` have passed. */
async function probeQuiet(target: string, quietMs: number, limitMs: number): Promise<void> {
  const limit = performance.now() + limitMs;
  while (performance.now() < limit) {
    const last = lastConnectAt.get(target) ?? 0;
    if (performance.now() - last >= quietMs) return;
    await sleep(100);
  }
}

describe("a poll that fails while the probe is still probing", () => {
  it("ends the probe within 5 s of the poll's failure (instance terminated while pending)", async () => {
    // The probe's own deadline: launch + 30 s. Without the run-ended flag it would connect that long.
    const benchmark = {
      image: "/aws/service/debian/release/bookworm/latest/amd64",
      instanceType: "c7i.large",
      runs: 1,
      discardFirst: false,
      port: cloud.sshPort,
      runningTimeoutSeconds: 20,
      openTimeoutSeconds: 10,
    };
    let probeEvent: ProbePortEvent | undefined;
    let terminateStartedAt: number | undefined;
    let probeResolvedAt: number | undefined;
    cloud.faults.set({ internalErrorOnLaunch: { count: 1 } });
    try {
      const execution = await pipeline.stateMachine.startExecution(benchmark, `probe-stop-${randomUUID()}`, {
        taskFaults: {
          ProbePort: {
            before: (_, event) => {
              probeEvent = event as ProbePortEvent;
              return undefined;
            },
            after: () => {
              probeResolvedAt = performance.now();
              return undefined;
            },
          },
          // Observe's Catch goes straight to terminate: its start is when the poll's failure ended the run.
          TerminateInstance: {
            before: () => {
              terminateStartedAt ??= performance.now();
              return undefined;
            },
          },
        },
      }).result;
      expect(execution.status).toBe("FAILED");
      const target = `${probeEvent?.privateIp}:${probeEvent?.port}`;
      await probeQuiet(target, 3_000, 40_000);

      const audit = await auditBenchmark(pipeline, benchmarkIdFor(execution.executionArn), 1);
      expect(audit.runs.map((r) => [r.status, r.errorName])).toEqual([
        ["failed", "BootBench.InstanceTerminated"],
      ]);
      expect(audit.instancesLeftRunning).toEqual([]);

      const probeRanAfterPollFailureMs = (lastConnectAt.get(target) ?? 0) - (terminateStartedAt ?? 0);
      console.log(
        `probe after poll failure: last connect ${Math.round(probeRanAfterPollFailureMs)} ms after the poll failed` +
          (probeResolvedAt === undefined
            ? " (the handler did not resolve: it ended with an error)"
            : `, handler resolved ${Math.round(probeResolvedAt - (terminateStartedAt ?? 0))} ms after`),
      );
      expect(terminateStartedAt).toBeDefined();
      expect(probeRanAfterPollFailureMs).toBeLessThan(5_000);
    } finally {
      cloud.faults.clear();
    }
  }, 90_000);
});
