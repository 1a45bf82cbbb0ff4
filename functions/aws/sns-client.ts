import { SNSClient } from "@aws-sdk/client-sns";
import { tracer } from "../shared/observability.js";

/** The one SNS client of a Lambda (endpoint from AWS_ENDPOINT_URL_SNS when set). */
export const snsClient = tracer.captureAWSv3Client(new SNSClient({}));
