import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { tracer } from "../shared/observability.js";

/**
 * How long a DynamoDB request may go unanswered before the client gives it up with `TimeoutError`,
 * which the SDK's standard retry sends again (up to its 3 attempts). DynamoDB answers in milliseconds;
 * a request whose answer is lost, or sent on a kept-alive connection that died while the Lambda
 * environment was frozen, gets none, and the SDK's own socket timeout for DynamoDB is 5 minutes of
 * silence: the step hung until its Lambda's time ran out, so a hung launch-ledger close held terminate,
 * and the instance with it, for the whole of terminate's 60 s before a retry. Calls with a deadline of
 * their own (the probe's marks) abort sooner.
 */
export const DYNAMODB_REQUEST_TIMEOUT_MS = 5_000;

/** The one DynamoDB client of a Lambda (endpoint from AWS_ENDPOINT_URL_DYNAMODB when set). */
export const dynamoDbClient = tracer.captureAWSv3Client(
  new DynamoDBClient({
    requestHandler: { requestTimeout: DYNAMODB_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
  }),
);
