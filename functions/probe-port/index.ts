import middy from "@middy/core";
import type { ProbePortEvent, ProbePortResult } from "../domain/contract.js";
import { epochMs } from "../shared/clock.js";
import { type ProbeDeps, probePort } from "./probe.js";

const defaultDeps: ProbeDeps = { clock: epochMs };

/** VPC Lambda: probes the instance's port with TCP only; it makes no AWS calls. */
export const handler = middy<ProbePortEvent, ProbePortResult>().handler((event) =>
  probePort(event, defaultDeps),
);
