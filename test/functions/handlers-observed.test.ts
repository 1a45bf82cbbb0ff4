/**
 * Every function's handler goes through Powertools (functions/shared/observability.ts): the source of
 * each entry file is read, since the deployed bundle is what CloudWatch sees and no test invokes all
 * fifteen handlers with their collaborators.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../infra/constructs/benchmark-function.js";
import { STEPS, SUITE_STEPS } from "../infra/synth.js";

const functionsDir = join(PROJECT_ROOT, "functions");
const entryFiles = readdirSync(functionsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => join(functionsDir, entry.name, "index.ts"))
  .filter((file) => existsSync(file));

const sourcesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });

describe("Powertools on every function", () => {
  it("finds an entry file for every function of the stack: the steps, the suite steps and the sweeper", () => {
    expect(entryFiles).toHaveLength(STEPS.length + SUITE_STEPS.length + 1);
  });

  it.each(entryFiles.map((file) => [file.slice(functionsDir.length + 1)]))(
    "%s: its handler uses the observed() middlewares",
    (relative) => {
      const source = readFileSync(join(functionsDir, relative), "utf8");
      expect(source).toMatch(/export const handler = middy<[^>]+>\(\)\s*\.use\(\s*observed</);
    },
  );

  it("writes no line of its own to the console: Powertools' logger is the only way out", () => {
    const offenders = sourcesUnder(functionsDir).filter((file) =>
      /\bconsole\.(log|info|warn|error|debug)\(/.test(readFileSync(file, "utf8")),
    );
    expect(offenders).toEqual([]);
  });
});
