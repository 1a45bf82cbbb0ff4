/**
 * A catalogue of bad benchmark inputs, each run through the stack's state machine on the local cloud:
 * every one fails the execution with an error that names the problem (the field, or the image and the
 * instance type, or what the stack's allow-lists refuse), writes nothing to the table and launches no
 * instance.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { benchmarkIdFor } from "../../functions/domain/benchmark-identity.js";
import { ErrorNames } from "../../functions/domain/contract.js";
import { partitionItems } from "../../local-cloud/audit.js";
import { amiIdFor, BUILT_IN_AMI_IDS } from "../../local-cloud/catalogue.js";
import type { LocalCloud } from "../../local-cloud/cloud.js";
import { type LocalPipeline, startLocalPipeline } from "../../local-cloud/local-pipeline.js";
import { randomSshPort } from "../local-cloud/local-aws-support.js";

const DEBIAN_AMD64 = "/aws/service/debian/release/bookworm/latest/amd64";
const DEBIAN_ARM64 = "/aws/service/debian/release/bookworm/latest/arm64";
const UEFI_ONLY_X86 = amiIdFor("local/uefi-only-x86_64");
const ok = { image: DEBIAN_AMD64, instanceType: "c7i.large" };

interface BadInput {
  name: string;
  input: unknown;
  error: string;
  /** Every one of these must appear in the error message. */
  says: (string | RegExp)[];
}

const invalid = (name: string, input: unknown, ...says: (string | RegExp)[]): BadInput => ({
  name,
  input,
  error: ErrorNames.invalidInput,
  says,
});

const CATALOGUE: BadInput[] = [
  invalid("malformed AMI id", { ...ok, image: "ami-12345" }, "image: must be an AMI id", '"ami-12345"'),
  invalid("AMI id in upper case", { ...ok, image: "ami-0123456789ABCDEF0" }, "image: must be an AMI id"),
  invalid("SSM path with a space", { ...ok, image: "/aws/service/debian latest" }, "image: must be"),
  invalid("resolve:ssm: without a path", { ...ok, image: "resolve:ssm:" }, "image: must be"),
  invalid("image of the wrong type", { ...ok, image: 42 }, "image: must be", "(got 42)"),
  invalid("image missing", { instanceType: "c7i.large" }, "image: is required"),
  invalid(
    "malformed instance type",
    { ...ok, instanceType: "c7i" },
    "instanceType: must be an EC2 instance type",
  ),
  invalid("instance type missing", { image: DEBIAN_AMD64 }, "instanceType: is required"),
  invalid("runs 0", { ...ok, runs: 0 }, "runs: must be an integer from 1 to 100", "(got 0)"),
  invalid(
    "runs out of range (101)",
    { ...ok, runs: 101 },
    "runs: must be an integer from 1 to 100",
    "(got 101)",
  ),
  invalid("runs not an integer", { ...ok, runs: 2.5 }, "runs: must be an integer from 1 to 100", "(got 2.5)"),
  invalid("runs as a string", { ...ok, runs: "3" }, "runs: must be an integer", '(got "3")'),
  invalid(
    "one run that would be discarded",
    { ...ok, runs: 1 },
    "runs: must be at least 2 when discardFirst is true",
  ),
  invalid("discardFirst as a string", { ...ok, discardFirst: "true" }, "discardFirst: must be true or false"),
  invalid(
    "user data too large",
    { ...ok, userData: "x".repeat(13_000) },
    "userData: must be at most 16 KB",
    "it is 17336 bytes encoded",
  ),
  invalid("user data not a string", { ...ok, userData: 7 }, "userData: must be a string"),
  invalid("port 0", { ...ok, port: 0 }, "port: must be an integer from 1 to 65535", "(got 0)"),
  invalid(
    "port out of range",
    { ...ok, port: 70_000 },
    "port: must be an integer from 1 to 65535",
    "(got 70000)",
  ),
  invalid(
    "probe interval too short",
    { ...ok, probeIntervalMs: 1 },
    "probeIntervalMs: must be an integer from 5",
  ),
  invalid(
    "running timeout 0",
    { ...ok, runningTimeoutSeconds: 0 },
    "runningTimeoutSeconds: must be an integer from 1",
  ),
  invalid(
    "timeouts beyond the probe Lambda",
    { ...ok, runningTimeoutSeconds: 300, openTimeoutSeconds: 600 },
    "runningTimeoutSeconds + openTimeoutSeconds must be at most 840",
    "300 + 600 = 900",
  ),
  invalid("concurrency 11", { ...ok, concurrency: 11 }, "concurrency: must be an integer from 1 to 10"),
  invalid("empty label", { ...ok, label: "" }, "label: must be 1 to 128 printable characters"),
  invalid(
    "label with a control character",
    { ...ok, label: "weekly\u0007" },
    "label: must be 1 to 128 printable",
  ),
  invalid("unknown field", { ...ok, colour: "blue" }, "colour: is not a known field"),
  invalid("misspelled field", { ...ok, Runs: 3 }, "Runs: is not a known field"),
  invalid(
    "IMDS setting unknown",
    { ...ok, imdsV2: "disabled" },
    'imdsV2: must be "required"',
    '(got "disabled")',
  ),
  invalid(
    "encryptRootVolume as a string",
    { ...ok, encryptRootVolume: "yes" },
    "encryptRootVolume: must be true or false",
  ),
  invalid("input is an array", [ok], "input: must be a JSON object, got an array"),
  invalid("input is a string", "ami-0123456789abcdef0", "input: must be a JSON object"),
  invalid("input is a number", 42, "input: must be a JSON object, got 42"),
  invalid(
    "many problems at once (events/invalid-input.json)",
    JSON.parse(readFileSync(new URL("../../events/invalid-input.json", import.meta.url), "utf8")),
    "image:",
    "instanceType:",
    "runs:",
    "port:",
    "colour: is not a known field",
  ),
  {
    name: "unknown SSM parameter",
    input: { ...ok, image: "/aws/service/nope/latest" },
    error: ErrorNames.imageNotFound,
    says: ["SSM parameter /aws/service/nope/latest does not exist in this region"],
  },
  {
    name: "unknown SSM parameter (resolve:ssm:)",
    input: { ...ok, image: "resolve:ssm:/aws/service/nope/latest" },
    error: ErrorNames.imageNotFound,
    says: ["SSM parameter /aws/service/nope/latest does not exist"],
  },
  {
    name: "AMI that does not exist",
    input: { ...ok, image: "ami-00000000000000000" },
    error: ErrorNames.imageNotFound,
    says: ["image ami-00000000000000000 does not exist or is not visible to this account"],
  },
  {
    name: "arm64 image on an x86_64 instance type",
    input: { ...ok, image: DEBIAN_ARM64 },
    error: ErrorNames.incompatibleInstanceType,
    says: [/image ami-\w+ is arm64 but instance type c7i.large supports x86_64/],
  },
  {
    name: "x86_64 image on an arm64 instance type",
    input: { ...ok, instanceType: "c7g.large" },
    error: ErrorNames.incompatibleInstanceType,
    says: [`image ${BUILT_IN_AMI_IDS.debian12Amd64} is x86_64 but instance type c7g.large supports arm64`],
  },
  {
    name: "instance type the stack does not allow (and that does not exist)",
    input: { ...ok, instanceType: "c7i.huge" },
    error: ErrorNames.notAllowed,
    says: [
      "instanceType: c7i.huge is not one this stack may launch (c7g.large, c7i.large, t2.micro); " +
        "deploy with -c instanceTypes=<list> to allow it",
    ],
  },
  {
    name: "SSM parameter outside the prefixes the stack may read",
    input: { ...ok, image: "resolve:ssm:/prod/database/password" },
    error: ErrorNames.notAllowed,
    says: [
      "image: SSM parameter /prod/database/password is outside the prefixes this stack may read (/aws/service/)",
    ],
  },
  {
    name: "UEFI-only image on a legacy-BIOS-only type",
    input: { ...ok, image: UEFI_ONLY_X86, instanceType: "t2.micro" },
    error: ErrorNames.incompatibleInstanceType,
    says: [`image ${UEFI_ONLY_X86} boots with uefi but instance type t2.micro supports legacy-bios`],
  },
];

let pipeline: LocalPipeline;
let cloud: LocalCloud;
const timings: { input: string; error: string; ms: number }[] = [];

beforeAll(async () => {
  // A deployment's allow-list (infra/allow-lists.ts), with t2.micro for the boot-mode case below.
  pipeline = await startLocalPipeline({
    cloud: { timeScale: 0.05, sshPort: randomSshPort() },
    context: { instanceTypes: "c7g.large,c7i.large,t2.micro" },
  });
  cloud = pipeline.localAws?.cloud as LocalCloud;
  cloud.publishImage({
    imageId: UEFI_ONLY_X86,
    name: "uefi-only-x86_64",
    description: "Emulated: an x86_64 image registered for UEFI only",
    architecture: "x86_64",
    bootMode: "uefi",
    creationDate: "2025-08-01T00:00:00.000Z",
    ownerId: "111122223333",
    platformDetails: "Linux/UNIX",
    rootDeviceName: "/dev/xvda",
    publishedAs: [],
    boot: { pendingToRunning: 6.9, runningToNetwork: 5, networkToSsh: 2 },
  });
}, 60_000);

afterAll(async () => {
  if (timings.length > 0) {
    console.log(`\nbad inputs: ${timings.length} cases\n`);
    console.table(timings);
  }
  await pipeline?.close();
});

describe("bad inputs: an error that names the problem, and nothing launched", () => {
  it("has at least 20 cases", () => {
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(20);
  });

  it.each(CATALOGUE)("$name", async ({ name, input, error, says }) => {
    const started = performance.now();
    const execution = await pipeline.stateMachine.startExecution(input, `bad-${randomUUID()}`).result;
    timings.push({
      input: name,
      error: execution.error ?? execution.status,
      ms: Math.round(performance.now() - started),
    });

    expect(execution).toMatchObject({ status: "FAILED", error });
    const message = JSON.parse(execution.cause ?? "{}").errorMessage as string;
    for (const expected of says) {
      if (typeof expected === "string") expect(message).toContain(expected);
      else expect(message).toMatch(expected);
    }
    expect(await partitionItems(pipeline, `BENCHMARK#${benchmarkIdFor(execution.executionArn)}`)).toEqual([]);
    expect(cloud.instances()).toEqual([]);
  });

  it("never called RunInstances for any of them", () => {
    expect(cloud.stats().calls.RunInstances ?? 0).toBe(0);
    expect(cloud.instances()).toEqual([]);
  });
});
