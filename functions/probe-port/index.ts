import middy from "@middy/core";
import type { ProbePortEvent, ProbePortResult } from "../domain/contract.js";
import { withWallClock } from "../shared/clock.js";
import { probePort } from "./probe.js";

/** VPC Lambda: probes the instance's port with TCP only; it makes no AWS calls. */
export const handler = middy<ProbePortEvent, ProbePortResult>().handler((event) =>
  withWallClock((clock) => probePort(event, { clock })),
);
