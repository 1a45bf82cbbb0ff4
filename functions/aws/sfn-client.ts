import { SFNClient } from "@aws-sdk/client-sfn";
import { tracer } from "../shared/observability.js";

/** The one Step Functions client of a Lambda (endpoint from AWS_ENDPOINT_URL_SFN when set). */
export const sfnClient = tracer.captureAWSv3Client(new SFNClient({}));
