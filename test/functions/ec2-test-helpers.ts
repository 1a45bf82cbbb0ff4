import { EC2ServiceException } from "@aws-sdk/client-ec2";
import type { RunState } from "../../functions/domain/contract.js";

/** An EC2 error as the SDK throws it: the AWS error code is the error's name. */
export function ec2Error(code: string, message = `${code} (test)`, fault: "client" | "server" = "client") {
  const httpStatusCode = fault === "client" ? 400 : 500;
  return new EC2ServiceException({ name: code, $fault: fault, $metadata: { httpStatusCode }, message });
}

/** The state a Map iteration hands to launch and terminate, before anything ran. */
export function runState(runIndex = 3, overrides: Partial<RunState> = {}): RunState {
  return {
    benchmark: {
      benchmarkId: "weekly-2025-01",
      executionId: "arn:aws:states:us-east-1:123456789012:execution:BootBench:weekly-2025-01",
      startedAt: "2025-01-06T06:00:00.000Z",
    },
    settings: {
      image: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
      instanceType: "c7i.large",
      runs: 10,
      discardFirst: true,
      port: 22,
      probeIntervalMs: 10,
      runningTimeoutSeconds: 120,
      openTimeoutSeconds: 600,
      concurrency: 1,
    },
    image: {
      amiId: "ami-0123456789abcdef0",
      name: "FreeBSD-15.0-CURRENT-amd64-ufs-20250102",
      architecture: "x86_64",
      bootMode: "uefi-preferred",
      sourceParameter: "/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT",
    },
    run: { runIndex, clientToken: `weekly-2025-01-run${String(runIndex).padStart(4, "0")}` },
    ...overrides,
  };
}

/** A run whose launch returned instance i-0aaa (run 2), before anything after the launch ran. */
export function launchedRunState(overrides: Partial<RunState> = {}): RunState {
  return runState(2, {
    launch: {
      instanceId: "i-0aaa",
      privateIp: "10.0.1.23",
      privateIpSource: "runInstances",
      privateIpAt: 2,
      clientToken: "weekly-2025-01-run0002",
      launchRequestedAt: 1,
      launchRespondedAt: 2,
      earlierLaunchSends: 0,
    },
    ...overrides,
  });
}
