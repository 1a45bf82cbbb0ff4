import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { POWERTOOLS_ENVIRONMENT } from "../../infra/constructs/benchmark-function.js";

type Line = Record<string, unknown>;
let lines: Line[];

const context = {
  functionName: "LaunchInstanceFunction",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:LaunchInstanceFunction",
  memoryLimitInMB: "256",
  awsRequestId: "req-1",
  getRemainingTimeInMillis: () => 30_000,
} as Context;

/** The module as a function loads it: with the stack's Powertools settings in its environment. */
async function loadObservability() {
  for (const [name, value] of Object.entries(POWERTOOLS_ENVIRONMENT)) vi.stubEnv(name, value);
  vi.stubEnv("POWERTOOLS_LOG_LEVEL", "INFO");
  vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
  return import("../../functions/shared/observability.js");
}

beforeEach(() => {
  lines = [];
  const record = (chunk: unknown) => {
    for (const line of String(chunk).split("\n")) if (line.startsWith("{")) lines.push(JSON.parse(line));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(record);
  vi.spyOn(process.stderr, "write").mockImplementation(record);
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe("publishMetricRecord", () => {
  it("writes one EMF document: the namespace and service of the stack, the dimensions, units and metadata", async () => {
    const { publishMetricRecord } = await loadObservability();
    publishMetricRecord({
      dimensions: { Series: "/aws/service/x", InstanceType: "c7i.large" },
      metrics: [
        { name: "total", unit: "Seconds", value: 9.5 },
        { name: "failedRuns", unit: "Count", value: 0 },
        { name: "openBracketWidth", unit: "Milliseconds", value: 10 },
      ],
      metadata: { benchmarkId: "b-1", runIndex: 2 },
    });
    expect(lines).toHaveLength(1);
    const [emf] = lines;
    expect(emf?._aws).toMatchObject({
      CloudWatchMetrics: [
        {
          Namespace: "BootBench",
          Dimensions: [["service", "Series", "InstanceType"]],
          Metrics: [
            { Name: "total", Unit: "Seconds" },
            { Name: "failedRuns", Unit: "Count" },
            { Name: "openBracketWidth", Unit: "Milliseconds" },
          ],
        },
      ],
    });
    expect(emf).toMatchObject({
      service: "boot-bench",
      Series: "/aws/service/x",
      InstanceType: "c7i.large",
      total: 9.5,
      failedRuns: 0,
      openBracketWidth: 10,
      benchmarkId: "b-1",
      runIndex: "2",
    });
  });

  it("keeps records apart: a second record carries none of the first one's dimensions or metrics", async () => {
    const { publishMetricRecord } = await loadObservability();
    publishMetricRecord({
      dimensions: { Series: "a" },
      metrics: [{ name: "runs", unit: "Count", value: 1 }],
      metadata: {},
    });
    publishMetricRecord({
      dimensions: {},
      metrics: [{ name: "regressions", unit: "Count", value: 1 }],
      metadata: {},
    });
    expect(lines[1]).not.toHaveProperty("Series");
    expect(lines[1]).not.toHaveProperty("runs");
    const directive = (lines[1]?._aws as { CloudWatchMetrics: Line[] } | undefined)?.CloudWatchMetrics[0];
    expect(directive?.Dimensions).toEqual([["service"]]);
  });
});

describe("observed", () => {
  interface Event {
    benchmarkId: string;
    runIndex: number;
  }
  interface Result {
    instanceId: string;
  }

  it("puts the Lambda context and the run's keys, from the event and then the result, on the step's line", async () => {
    const { observed, handlerLogger } = await loadObservability();
    const logger = handlerLogger();
    const handler = middy<Event, Result>()
      .use(
        observed<Event, Result>((event, result) => ({ ...event, instanceId: result?.instanceId }), {
          logger,
        }),
      )
      .handler(async () => {
        logger.info("launching");
        return { instanceId: "i-0abc" };
      });
    await handler({ benchmarkId: "b-1", runIndex: 3 }, context);
    expect(lines).toEqual([
      expect.objectContaining({ message: "launching", benchmarkId: "b-1", runIndex: 3 }),
      expect.objectContaining({
        level: "INFO",
        message: "step succeeded",
        service: "boot-bench",
        function_name: "LaunchInstanceFunction",
        function_request_id: "req-1",
        benchmarkId: "b-1",
        runIndex: 3,
        instanceId: "i-0abc",
      }),
    ]);
    expect(lines[0]).not.toHaveProperty("instanceId");

    // The next invocation starts without the last one's keys.
    lines = [];
    await middy<Event, Result>()
      .use(observed<Event, Result>(undefined, { logger }))
      .handler(async () => {
        logger.info("another");
        return { instanceId: "i-0def" };
      })({ benchmarkId: "b-2", runIndex: 0 }, context);
    expect(lines[0]).not.toHaveProperty("benchmarkId");
  });

  it("logs a failure at ERROR with the error, and an error the state machine retries by design at INFO", async () => {
    const { observed } = await loadObservability();
    const failing = (name: string) =>
      middy<Event, Result>()
        .use(observed<Event, Result>((event) => event, { expectedErrors: ["BootBench.RunSlotsBusy"] }))
        .handler(async () => {
          throw Object.assign(new Error(`${name} happened`), { name });
        });
    await expect(
      failing("InsufficientInstanceCapacity")({ benchmarkId: "b-1", runIndex: 1 }, context),
    ).rejects.toThrow();
    await expect(
      failing("BootBench.RunSlotsBusy")({ benchmarkId: "b-1", runIndex: 2 }, context),
    ).rejects.toThrow();
    expect(lines).toEqual([
      expect.objectContaining({
        level: "ERROR",
        message: "step failed",
        runIndex: 1,
        error: expect.objectContaining({ name: "InsufficientInstanceCapacity" }),
      }),
      expect.objectContaining({
        level: "INFO",
        message: "step ended with an expected error",
        runIndex: 2,
        error: { name: "BootBench.RunSlotsBusy", message: "BootBench.RunSlotsBusy happened" },
      }),
    ]);
  });
});
