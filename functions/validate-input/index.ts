import middy from "@middy/core";
import {
  ALLOWED_INSTANCE_TYPES_ENV,
  allowListsFromEnvironment,
  IMAGE_PARAMETER_PREFIXES_ENV,
} from "../domain/allow-lists.js";
import type { ValidateInputEvent, ValidateInputResult } from "../domain/contract.js";
import { requireEnv } from "../shared/env.js";
import { observed } from "../shared/observability.js";
import { validateInput } from "./validate-input.js";

const allowLists = allowListsFromEnvironment(
  requireEnv(ALLOWED_INSTANCE_TYPES_ENV),
  requireEnv(IMAGE_PARAMETER_PREFIXES_ENV),
);

export const lambdaHandler = async (event: ValidateInputEvent): Promise<ValidateInputResult> =>
  validateInput(event, allowLists);

export const handler = middy<ValidateInputEvent, ValidateInputResult>()
  .use(
    observed<ValidateInputEvent, ValidateInputResult>((_event, result) => ({
      benchmarkId: result?.benchmark.benchmarkId,
    })),
  )
  .handler(lambdaHandler);
