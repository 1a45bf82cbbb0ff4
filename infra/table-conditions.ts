/**
 * IAM conditions on the results table shared by more than one role: one definition, so that the
 * steps and the sweeper cannot drift apart on what they may write.
 */
import { GUEST_KEY_ATTRIBUTES } from "../functions/domain/guest-timings.js";
import { benchmarkPk } from "../functions/domain/run-record.js";

/** Writes confined to the guest key item's attributes, returning nothing of what was there. */
export const GUEST_KEY_ITEM_CONDITIONS = {
  "ForAllValues:StringEquals": { "dynamodb:Attributes": [...GUEST_KEY_ATTRIBUTES] },
  StringEqualsIfExists: { "dynamodb:ReturnValues": ["NONE"] },
};

/** Requests confined to benchmark partitions, and of their items to the keys and attributes named. */
export const benchmarkItemAttributes = (attributes: readonly string[]) => ({
  "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [benchmarkPk("*")] },
  "ForAllValues:StringEquals": { "dynamodb:Attributes": [...attributes] },
});
