import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DescribeImagesCommand, type EC2Client, type Image } from "@aws-sdk/client-ec2";
import { GetParameterCommand, paginateGetParametersByPath, type SSMClient } from "@aws-sdk/client-ssm";
import { newestBenchmarkOfAmi } from "../aws/suite-table.js";
import { benchmarkIdFor } from "../domain/benchmark-identity.js";
import type { BenchmarkSettings } from "../domain/contract.js";
import { InvalidInputError } from "../domain/errors.js";
import { AMI_ID, imageReferenceOf } from "../domain/image-reference.js";
import { type BenchmarkInput, parseBenchmarkInput } from "../domain/input-schema.js";
import {
  childExecutionName,
  type DiscoverTargetsEvent,
  type DiscoverTargetsResult,
  measurementKey,
  type SkippedBenchmark,
  type SuiteBenchmark,
  type SuiteRef,
  sameMeasurement,
  type UnresolvedTarget,
} from "../domain/suite.js";
import {
  compileParameterPattern,
  literalPrefixOf,
  parseSuiteExecutionInput,
  SUITE_ARCHITECTURES,
  type SuiteArchitecture,
  type SuiteSpec,
  type SuiteTarget,
} from "../domain/suite-schema.js";

export interface DiscoverTargetsDeps {
  ssm: SSMClient;
  ec2: EC2Client;
  dynamoDb: DynamoDBClient;
  tableName: string;
}

// DescribeImages takes at most this many ids per request in practice (no documented hard limit).
const DESCRIBE_IMAGES_BATCH = 100;

/** An image reference that resolved to an AMI id: what one target parameter stands for right now. */
interface Resolved {
  target: number;
  /** What the child execution is given: the SSM parameter (so the series is recorded) or the AMI id. */
  image: string;
  amiId: string;
  sourceParameter?: string;
}

const errorName = (error: unknown): string => (error instanceof Error ? error.name : "");

/**
 * Turns a suite into the benchmarks to run now: resolves every target (SSM patterns through
 * GetParametersByPath, recursive), reads each image's architecture, pairs it with the target's
 * instance types for that architecture only, and leaves out what is already known: an AMI that already
 * has a successful benchmark measured alike (measurementKey; ByAmi, unless `force` or the target is a
 * control, which measures the platform and so runs every time), and repeats within this run.
 * Everything left out is listed with its reason.
 */
export async function discoverTargets(
  event: DiscoverTargetsEvent,
  deps: DiscoverTargetsDeps,
): Promise<DiscoverTargetsResult> {
  const { suite, force } = parseSuiteExecutionInput(event.input);
  if (typeof event.executionId !== "string" || event.executionId === "") {
    throw new Error("executionId is missing: the state machine must pass $$.Execution.Id");
  }
  const suiteRef: SuiteRef = {
    name: suite.name,
    suiteRunId: benchmarkIdFor(event.executionId),
    executionId: event.executionId,
    startedAt: isoTime(event.startTime),
    force,
    regression: suite.regression,
    ...(suite.sharedControls !== undefined && { sharedControls: suite.sharedControls }),
    targets: suite.targets.length,
  };

  const unresolved: UnresolvedTarget[] = [];
  const resolved: Resolved[] = [];
  for (const [index, target] of suite.targets.entries()) {
    const found = await resolveTarget(index, target, deps.ssm, unresolved);
    resolved.push(...found);
  }
  const images = await describeImages(deps.ec2, [...new Set(resolved.map((r) => r.amiId))]);

  const benchmarks: SuiteBenchmark[] = [];
  const skipped: SkippedBenchmark[] = [];
  const planned = new Map<string, string>();
  for (const r of resolved) {
    const image = images.get(r.amiId);
    if (image === undefined) {
      unresolved.push({
        target: r.target,
        reason: "image-not-found",
        reference: r.sourceParameter ?? r.image,
        message: `${r.amiId}${r.sourceParameter ? ` (from ${r.sourceParameter})` : ""} does not exist or is not visible to this account`,
      });
      continue;
    }
    const architecture = image.Architecture ?? "unknown";
    const common = { target: r.target, image: r.image, amiId: r.amiId, architecture, ...sourceOf(r) };
    const target = suite.targets[r.target] as SuiteTarget;
    const instanceTypes = isSuiteArchitecture(architecture) ? target.instanceTypes[architecture] : undefined;
    if (instanceTypes === undefined) {
      skipped.push({ ...common, reason: "no-instance-type-for-architecture" });
      continue;
    }
    for (const instanceType of instanceTypes) {
      const input = childInput(suite, target, r.image, instanceType);
      const settings = validatedSettings(input, r.target);
      const key = measurementKey(r.amiId, settings);
      const duplicateOf = planned.get(key);
      if (duplicateOf !== undefined) {
        skipped.push({ ...common, instanceType, reason: "duplicate", previousBenchmarkId: duplicateOf });
        continue;
      }
      if (!force && !target.control) {
        const earlier = await newestBenchmarkOfAmi(deps.dynamoDb, deps.tableName, r.amiId, {
          accept: (summary) => summary.status === "succeeded" && sameMeasurement(summary.settings, settings),
        });
        if (earlier !== undefined) {
          skipped.push({
            ...common,
            instanceType,
            reason: "already-benchmarked",
            previousBenchmarkId: earlier.benchmarkId,
            previousStartedAt: earlier.startedAt,
          });
          continue;
        }
      }
      const executionName = childExecutionName(suite.name, event.executionId, benchmarks.length);
      planned.set(key, executionName);
      benchmarks.push({
        ...common,
        executionName,
        imageName: image.Name ?? r.amiId,
        instanceType,
        ...(target.control === true && { control: true as const }),
        input,
      });
    }
  }
  return { suite: suiteRef, concurrency: suite.concurrency, benchmarks, skipped, unresolved };
}

const isSuiteArchitecture = (architecture: string): architecture is SuiteArchitecture =>
  (SUITE_ARCHITECTURES as readonly string[]).includes(architecture);

const sourceOf = (r: Resolved) =>
  r.sourceParameter !== undefined ? { sourceParameter: r.sourceParameter } : {};

/** The single-benchmark input of one (image, instance type): the suite's settings, the target's user data. */
function childInput(
  suite: SuiteSpec,
  target: SuiteTarget,
  image: string,
  instanceType: string,
): BenchmarkInput {
  const userData = target.userData ?? suite.userData;
  const input: BenchmarkInput = {
    image,
    instanceType,
    label: target.label ?? suite.label ?? suite.name,
  };
  for (const key of [
    "runs",
    "discardFirst",
    "port",
    "probeIntervalMs",
    "runningTimeoutSeconds",
    "openTimeoutSeconds",
  ] as const) {
    if (suite[key] !== undefined) Object.assign(input, { [key]: suite[key] });
  }
  if (userData !== undefined) input.userData = userData;
  return input;
}

/** The child would fail validation with the same problems; failing here names the suite's target. */
function validatedSettings(input: BenchmarkInput, target: number): BenchmarkSettings {
  try {
    return parseBenchmarkInput(input);
  } catch (error) {
    if (error instanceof InvalidInputError) {
      throw new InvalidInputError(error.problems.map((problem) => `suite.targets[${target}]: ${problem}`));
    }
    throw error;
  }
}

async function resolveTarget(
  index: number,
  target: SuiteTarget,
  ssm: SSMClient,
  unresolved: UnresolvedTarget[],
): Promise<Resolved[]> {
  if (target.image !== undefined) {
    const image = target.image;
    const reference = imageReferenceOf(image);
    if (reference !== undefined && "amiId" in reference) return [{ target: index, image, amiId: image }];
    // The suite schema admits only the three forms, so anything else is a path.
    const parameter = reference?.parameter ?? image;
    let value: string | undefined;
    try {
      value = (await ssm.send(new GetParameterCommand({ Name: parameter }))).Parameter?.Value;
    } catch (error) {
      if (errorName(error) !== "ParameterNotFound") throw error;
      unresolved.push({
        target: index,
        reason: "parameter-not-found",
        reference: parameter,
        message: `SSM parameter ${parameter} does not exist in this region`,
      });
      return [];
    }
    return fromParameter(index, parameter, value, unresolved);
  }
  const pattern = target.pattern as string;
  const matcher = compileParameterPattern(pattern);
  const path = target.path ?? literalPrefixOf(pattern);
  const found: Resolved[] = [];
  const pages = paginateGetParametersByPath({ client: ssm }, { Path: path, Recursive: true, MaxResults: 10 });
  for await (const page of pages) {
    for (const parameter of page.Parameters ?? []) {
      if (parameter.Name === undefined || !matcher.test(parameter.Name)) continue;
      found.push(...fromParameter(index, parameter.Name, parameter.Value, unresolved));
    }
  }
  if (found.length === 0 && !unresolved.some((u) => u.target === index)) {
    unresolved.push({
      target: index,
      reason: "no-parameter-matched",
      reference: pattern,
      message: `no SSM parameter under ${path} matches ${pattern}`,
    });
  }
  // Parameter order from SSM is by name; keep it, so that child names are stable from week to week.
  return found.sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0));
}

function fromParameter(
  target: number,
  parameter: string,
  value: string | undefined,
  unresolved: UnresolvedTarget[],
): Resolved[] {
  const amiId = value?.trim() ?? "";
  if (!AMI_ID.test(amiId)) {
    unresolved.push({
      target,
      reason: "not-an-ami",
      reference: parameter,
      // Never the value: the suite's output and its alert reach people who may not read the parameter.
      message: `SSM parameter ${parameter} does not hold an AMI id; its value is not shown`,
    });
    return [];
  }
  return [{ target, image: parameter, amiId, sourceParameter: parameter }];
}

/** DescribeImages in batches; an id that does not exist fails its whole batch, so that batch is retried one by one. */
async function describeImages(ec2: EC2Client, amiIds: string[]): Promise<Map<string, Image>> {
  const images = new Map<string, Image>();
  const describe = async (ids: string[]) => {
    const output = await ec2.send(new DescribeImagesCommand({ ImageIds: ids }));
    for (const image of output.Images ?? []) {
      if (image.ImageId !== undefined && image.State !== "deregistered") images.set(image.ImageId, image);
    }
  };
  for (let start = 0; start < amiIds.length; start += DESCRIBE_IMAGES_BATCH) {
    const batch = amiIds.slice(start, start + DESCRIBE_IMAGES_BATCH);
    try {
      await describe(batch);
    } catch (error) {
      if (!errorName(error).startsWith("InvalidAMIID.")) throw error;
      for (const id of batch) {
        try {
          await describe([id]);
        } catch (single) {
          if (!errorName(single).startsWith("InvalidAMIID.")) throw single;
        }
      }
    }
  }
  return images;
}

function isoTime(startTime: string): string {
  const time = new Date(startTime);
  if (Number.isNaN(time.getTime())) {
    throw new Error(
      `startTime ${JSON.stringify(startTime)} is not a time: the state machine must pass $$.Execution.StartTime`,
    );
  }
  return time.toISOString();
}
