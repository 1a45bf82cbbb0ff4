import { gunzipSync } from "node:zlib";
import { EC2Client, GetConsoleOutputCommand } from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { type CaptureConsoleDeps, captureConsole } from "../../functions/capture-console/capture-console.js";
import { consoleOutputKey } from "../../functions/domain/run-record.js";
import { ec2Error, launchedRunState, runState } from "./ec2-test-helpers.js";

const ec2Mock = mockClient(EC2Client);
let stored: Map<string, Uint8Array>;
let deps: CaptureConsoleDeps;

const CONSOLE_TEXT =
  "[    0.000000] Linux version 6.1.0\n[    4.210000] sshd[612]: Server listening on :: port 22.\n";
const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const UPDATED = new Date("2025-01-06T06:01:02.000Z");

beforeEach(() => {
  ec2Mock.reset();
  stored = new Map();
  deps = {
    ec2: new EC2Client({}),
    store: {
      bucket: "bootbench-consoleoutput-1a2b3c",
      put: async (key, gzipped) => {
        stored.set(key, gzipped);
      },
    },
    clock: () => 1_736_143_262_000,
  };
});

describe("captureConsole", () => {
  it("stores the latest output gzip-compressed under the run's key, and returns its key and sizes", async () => {
    ec2Mock
      .on(GetConsoleOutputCommand)
      .resolves({ InstanceId: "i-0aaa", Output: base64(CONSOLE_TEXT), Timestamp: UPDATED });
    const result = await captureConsole(launchedRunState(), deps);
    const key = consoleOutputKey("weekly-2025-01", 2);
    expect(key).toBe("console/weekly-2025-01/run-0002.txt.gz");
    const object = stored.get(key);
    expect(object).toBeDefined();
    expect(gunzipSync(object as Uint8Array).toString("utf8")).toBe(CONSOLE_TEXT);
    expect(result).toEqual({
      status: "stored",
      bucket: "bootbench-consoleoutput-1a2b3c",
      key,
      bytes: Buffer.byteLength(CONSOLE_TEXT),
      storedBytes: object?.length,
      latest: true,
      outputUpdatedAt: "2025-01-06T06:01:02.000Z",
      capturedAt: 1_736_143_262_000,
    });
    expect(ec2Mock.commandCalls(GetConsoleOutputCommand).map((call) => call.args[0].input)).toEqual([
      { InstanceId: "i-0aaa", Latest: true },
    ]);
  });

  it("takes the buffered output when the instance type refuses Latest, and says why", async () => {
    // The later, narrower rule wins for the Latest request.
    ec2Mock
      .on(GetConsoleOutputCommand, { InstanceId: "i-0aaa" })
      .resolves({ InstanceId: "i-0aaa", Output: base64(CONSOLE_TEXT), Timestamp: UPDATED })
      .on(GetConsoleOutputCommand, { InstanceId: "i-0aaa", Latest: true })
      .rejects(ec2Error("UnsupportedOperation", "The instance type does not support the latest output"));
    const result = await captureConsole(launchedRunState(), deps);
    expect(result).toMatchObject({
      status: "stored",
      latest: false,
      latestRefused: "UnsupportedOperation: The instance type does not support the latest output",
    });
    expect(ec2Mock.commandCalls(GetConsoleOutputCommand).map((call) => call.args[0].input)).toEqual([
      { InstanceId: "i-0aaa", Latest: true },
      { InstanceId: "i-0aaa" },
    ]);
  });

  it("stores nothing when EC2 has no output yet", async () => {
    ec2Mock.on(GetConsoleOutputCommand).resolves({ InstanceId: "i-0aaa", Timestamp: UPDATED });
    await expect(captureConsole(launchedRunState(), deps)).resolves.toEqual({
      status: "empty",
      latest: true,
      outputUpdatedAt: "2025-01-06T06:01:02.000Z",
      capturedAt: 1_736_143_262_000,
    });
    expect(stored.size).toBe(0);
  });

  it("asks nothing of EC2 for a run without an instance id", async () => {
    await expect(
      captureConsole(runState(1, { failure: { Error: "InsufficientInstanceCapacity" } }), deps),
    ).resolves.toEqual({ status: "no-instance" });
    expect(ec2Mock.commandCalls(GetConsoleOutputCommand)).toHaveLength(0);
  });

  it.each([
    ["throttling", ec2Error("RequestLimitExceeded")],
    ["an instance not visible yet", ec2Error("InvalidInstanceID.NotFound")],
    ["a server error", ec2Error("InternalError", "An internal error has occurred", "server")],
  ])(
    "lets %s propagate by its AWS name, for the state machine to retry, without a fallback",
    async (_, error) => {
      ec2Mock.on(GetConsoleOutputCommand).rejects(error);
      await expect(captureConsole(launchedRunState(), deps)).rejects.toMatchObject({ name: error.name });
      expect(ec2Mock.commandCalls(GetConsoleOutputCommand)).toHaveLength(1);
      expect(stored.size).toBe(0);
    },
  );

  it("lets a failed put propagate", async () => {
    ec2Mock.on(GetConsoleOutputCommand).resolves({ InstanceId: "i-0aaa", Output: base64(CONSOLE_TEXT) });
    deps.store.put = async () => {
      throw Object.assign(new Error("Access Denied"), { name: "AccessDenied" });
    };
    await expect(captureConsole(launchedRunState(), deps)).rejects.toMatchObject({ name: "AccessDenied" });
  });
});
