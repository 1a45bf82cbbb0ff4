/**
 * `boot-bench local-cloud` as a person uses it: started as the installed command, its printed exports
 * taken into another shell, and every AWS CLI example of the README run there with Debian's `awscli`
 * (installed by .ci/run), each one's output compared with what the README shows. Then Ctrl-C.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const DEBIAN_AWS_CLI = "/usr/bin/aws";
const MARKER = "<!-- local-cloud-aws-cli-examples -->";

interface Example {
  command: string;
  output: string[];
}

/** The README's examples: `$ command` lines, each followed by the output it shows. */
function readmeExamples(): Example[] {
  const readme = readFileSync(resolve("README.md"), "utf8");
  const block = readme.slice(readme.indexOf(MARKER)).split("```console\n")[1]?.split("\n```")[0];
  if (block === undefined) throw new Error(`README.md has no console block after ${MARKER}`);
  const examples: Example[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("$ ")) examples.push({ command: line.slice(2), output: [] });
    else examples.at(-1)?.output.push(line);
  }
  return examples;
}

/** A line the README shows, as a pattern: ids and addresses differ from run to run, the rest may not. */
function shownLine(line: string): RegExp {
  const escaped = line.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return new RegExp(
    `^${escaped.replace(/i-[0-9a-f]{17}/g, "i-[0-9a-f]{17}").replace(/127\\\.\d+\\\.\d+\\\.\d+/g, "127\\.\\d+\\.\\d+\\.\\d+")}$`,
  );
}

describe.skipIf(!existsSync(DEBIAN_AWS_CLI))("boot-bench local-cloud with the AWS CLI", () => {
  let server: ChildProcess;
  let printed: string[] = [];
  let exited: Promise<number | null>;

  beforeAll(async () => {
    const env = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith("AWS_ENDPOINT_URL")) delete env[name];
    server = spawn(
      process.execPath,
      [resolve("cli/bin.js"), "local-cloud", "--port", "0", "--time-scale", "1", "--in-memory"],
      {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    exited = new Promise((done) => server.once("exit", (code) => done(code)));
    let stdout = "";
    let stderr = "";
    server.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await new Promise<void>((ready, failed) => {
      server.stdout?.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes("# Ctrl-C to stop.\n")) ready();
      });
      exited.then((code) => failed(new Error(`local-cloud exited with ${code}: ${stderr}`)));
    });
    printed = stdout.trimEnd().split("\n");
  }, 60_000);
  afterAll(() => {
    if (server.exitCode === null) server.kill("SIGKILL");
  });

  it("prints an export for every service on loopback, the credentials, the table and the ssh port", () => {
    const exports = printed.filter((line) => line.startsWith("export AWS_ENDPOINT_URL_"));
    expect(exports.map((line) => line.split("=")[0])).toEqual(
      ["EC2", "SSM", "DYNAMODB", "S3", "SNS"].map((service) => `export AWS_ENDPOINT_URL_${service}`),
    );
    for (const line of exports) expect(line).toMatch(/=http:\/\/127\.0\.0\.1:\d+$/);
    expect(printed).toContain(
      "export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local",
    );
    expect(printed[0]).toBe("# boot-bench local cloud, time scale 1, in memory only. In another shell:");
    expect(printed).toContainEqual(
      expect.stringMatching(/^# results table boot-bench-local; buckets boot-bench-\S+$/),
    );
    expect(printed).toContainEqual(
      expect.stringMatching(
        /^# instances' sshd listens on port (\d+): boot-bench run --local --port \1 --image …$/,
      ),
    );
  });

  it("answers every AWS CLI example of the README as the README shows, in a shell with those exports", () => {
    const examples = readmeExamples();
    // What the issue asks the README to show, at the least.
    for (const call of ["ec2 run-instances", "ec2 describe-instances", "ssm get-parameters-by-path"]) {
      expect(
        examples.some((example) => example.command.includes(call)),
        call,
      ).toBe(true);
    }
    // One shell, as a person types them: each example's output ends at a line of its own.
    const script = [
      ...printed.filter((line) => line.startsWith("export ")),
      ...examples.flatMap((example, index) => [example.command, `echo "@@example ${index}"`]),
    ].join("\n");
    const out = execFileSync("bash", ["-euo", "pipefail", "-c", script], {
      env: { PATH: `/usr/bin:/bin`, HOME: process.env.HOME ?? "/root" },
      encoding: "utf8",
      timeout: 60_000,
    });
    const outputs = out.split(/^@@example \d+\n/m);
    for (const [index, example] of examples.entries()) {
      const lines = (outputs[index] ?? "").split("\n").filter((line) => line !== "");
      expect(lines, example.command).toHaveLength(example.output.length);
      for (const [i, line] of lines.entries()) {
        expect(line, example.command).toMatch(shownLine(example.output[i] ?? ""));
      }
    }
  }, 60_000);

  it("stops on Ctrl-C, with exit code 0", async () => {
    server.kill("SIGINT");
    expect(await exited).toBe(0);
  }, 30_000);
});
