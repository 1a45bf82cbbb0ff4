/**
 * aws-local-stepfunctions 3.0.0 lets a failed inline Map go on: its queue of iterations is never
 * cleared, and an aborted iteration frees its concurrency slot while its Task is still running. With
 * MaxConcurrency 1 and the first iteration failing, the other three started at once (4 in flight), and
 * the runs they launched were never terminated. Step Functions starts no iteration after the Map failed.
 * patches/aws-local-stepfunctions+3.0.0.patch clears the queue on the first failure; these tests run the
 * patched library itself, as the local runner does.
 */
import "../../local-cloud/runner/promise-with-resolvers.js";
import { StateMachine } from "aws-local-stepfunctions";
import { describe, expect, it } from "vitest";

const ITERATION_MS = 40;

function mapOf(maxConcurrency: number): StateMachine {
  return new StateMachine(
    {
      StartAt: "Runs",
      States: {
        Runs: {
          Type: "Map",
          MaxConcurrency: maxConcurrency,
          End: true,
          ItemProcessor: {
            StartAt: "Run",
            States: {
              Run: {
                Type: "Task",
                Resource: "arn:aws:lambda:us-east-1:000000000000:function:run",
                End: true,
              },
            },
          },
        },
      },
    } as never,
    { validationOptions: { checkArn: false } },
  );
}

/** Runs the Map over `items`; the iteration of `failing` throws halfway through the others' time. */
async function runMap(maxConcurrency: number, items: number[], failing?: number) {
  const started: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const execution = mapOf(maxConcurrency).run(items as never, {
    overrides: {
      taskResourceLocalHandlers: {
        Run: async (item: number) => {
          started.push(item);
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((resolve) =>
            setTimeout(resolve, item === failing ? ITERATION_MS / 2 : ITERATION_MS),
          );
          inFlight--;
          if (item === failing) throw Object.assign(new Error("injected"), { name: "Injected" });
          return item;
        },
      } as never,
    },
  });
  const outcome = await execution.result.then(
    (output: unknown) => ({ output }),
    (error: unknown) => ({ error }),
  );
  // Anything the Map would still start after its end would start within a few iterations' time.
  await new Promise((resolve) => setTimeout(resolve, ITERATION_MS * 6));
  return { outcome, started, maxInFlight, inFlightAtEnd: inFlight };
}

describe("the local runner's inline Map (patched aws-local-stepfunctions)", () => {
  it("starts no iteration after one failed, with MaxConcurrency 1", async () => {
    const { outcome, started, maxInFlight } = await runMap(1, [0, 1, 2, 3], 0);
    expect(outcome).toHaveProperty("error");
    expect(started).toEqual([0]);
    expect(maxInFlight).toBe(1);
  });

  it("lets the iterations in flight end but starts no queued one, with MaxConcurrency 2", async () => {
    const { started, maxInFlight, inFlightAtEnd } = await runMap(2, [0, 1, 2, 3, 4, 5], 1);
    expect(started).toEqual([0, 1]);
    expect(maxInFlight).toBe(2);
    expect(inFlightAtEnd).toBe(0);
  });

  it("never has more iterations in flight than MaxConcurrency when none fails", async () => {
    const { outcome, started, maxInFlight } = await runMap(2, [0, 1, 2, 3, 4]);
    expect(outcome).toEqual({ output: [0, 1, 2, 3, 4] });
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(maxInFlight).toBe(2);
  });
});
