/**
 * benchmarkEnd (functions/domain/contract.ts) is the BenchmarkOutcome? Choice of the synthesised state
 * machine, written once more in TypeScript for a suite's child whose end it did not see: the Choice and
 * its Fail and Succeed states, cut out of the definition and run by aws-local-stepfunctions, must end
 * every Summarise result exactly as the function says.
 */
import "../../local-cloud/runner/promise-with-resolvers.js";
import { StateMachine } from "aws-local-stepfunctions";
import { describe, expect, it } from "vitest";
import { type BenchmarkEnd, benchmarkEnd, type SummariseResult } from "../../functions/domain/contract.js";
import type { AslState } from "../../infra/asl.js";
import { definitionOf, stateNamed, synthesize } from "./synth.js";

const { template } = synthesize();
const definition = definitionOf(template);

const choice = stateNamed(definition, "BenchmarkOutcome?") as AslState & {
  Choices: { Next: string }[];
  Default: string;
};
const targets = [...choice.Choices.map((c) => c.Next), choice.Default];
const outcomeMachine = {
  StartAt: "BenchmarkOutcome?",
  States: Object.fromEntries([
    ["BenchmarkOutcome?", choice],
    ...targets.map((name) => [name, stateNamed(definition, name)]),
  ]),
};

async function choiceEnds(summary: SummariseResult): Promise<BenchmarkEnd> {
  const machine = new StateMachine(outcomeMachine as never, { validationOptions: { checkArn: false } });
  try {
    await machine.run({ summary } as never).result;
    return { status: "succeeded" };
  } catch (error) {
    const failure = error instanceof Error && error.cause instanceof Error ? error.cause : (error as Error);
    return { status: "failed", error: failure.name };
  }
}

const summaries: SummariseResult[] = [];
for (const status of ["succeeded", "failed"] as const) {
  for (const terminationFailedRuns of [0, 1, 2]) {
    for (const unrecordedRuns of [0, 1]) {
      summaries.push({
        status,
        runs: 3,
        countedRuns: 3,
        succeededRuns: status === "succeeded" ? 3 : 0,
        failedRuns: status === "succeeded" ? 0 : 3,
        timedOutRuns: 0,
        terminationFailedRuns,
        unrecordedRuns,
      });
    }
  }
}

describe("benchmarkEnd is the BenchmarkOutcome? Choice", () => {
  it("cuts out a Choice whose every branch ends the execution", () => {
    expect(targets.map((name) => stateNamed(definition, name).Type).sort()).toEqual([
      "Fail",
      "Fail",
      "Fail",
      "Succeed",
    ]);
  });

  it.each(summaries)("ends %o as the Choice does", async (summary) => {
    expect(benchmarkEnd(summary)).toEqual(await choiceEnds(summary));
  });
});
