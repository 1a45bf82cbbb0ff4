/**
 * The account-wide cap on runs in flight (functions/domain/run-slots.ts), from CDK context:
 * `runSlots` (default DEFAULT_RUN_SLOTS, sized to EC2's request buckets) and `runStartSpacingMs`
 * (default RUN_START_SPACING_MS, half the RunInstances refill; 0 for none). The lease length is not a
 * setting: it is the longest time a run can hold its slot, read from the state machine's definition
 * (infra/run-lifetime.ts), so that no lease expires under a run in progress.
 */
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";
import {
  DEFAULT_RUN_SLOTS,
  MAX_RUN_SLOTS,
  MAX_RUN_START_SPACING_MS,
  RUN_START_SPACING_MS,
  type RunSlotSettings,
} from "../functions/domain/run-slots.js";
import { integerFromContext } from "./context.js";
import { longestSlotHold, RUN_LIFE_LIMITS, renderedDefinition } from "./run-lifetime.js";

export const RUN_SLOTS_CONTEXT = "runSlots";
export const RUN_START_SPACING_CONTEXT = "runStartSpacingMs";

export function runSlotsFromContext(scope: Construct, stateMachine: sfn.StateMachine): RunSlotSettings {
  const slots = integerFromContext(scope, RUN_SLOTS_CONTEXT, DEFAULT_RUN_SLOTS, {
    min: 1,
    max: MAX_RUN_SLOTS,
    what: "runs in flight",
  });
  const startSpacingMs = integerFromContext(scope, RUN_START_SPACING_CONTEXT, RUN_START_SPACING_MS, {
    min: 0,
    max: MAX_RUN_START_SPACING_MS,
    what: "milliseconds between run starts",
  });
  const hold = longestSlotHold(renderedDefinition(stateMachine), RUN_LIFE_LIMITS);
  return { slots, leaseSeconds: Math.ceil(hold.totalSeconds), startSpacingMs };
}
