import middy from "@middy/core";
import type { ValidateInputEvent, ValidateInputResult } from "../domain/contract.js";
import { validateInput } from "./validate-input.js";

export const lambdaHandler = async (event: ValidateInputEvent): Promise<ValidateInputResult> =>
  validateInput(event);

export const handler = middy<ValidateInputEvent, ValidateInputResult>().handler(lambdaHandler);
