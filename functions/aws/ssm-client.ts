import { SSMClient } from "@aws-sdk/client-ssm";
import { tracer } from "../shared/observability.js";

/** The one SSM client of a Lambda (endpoint from AWS_ENDPOINT_URL_SSM when set). */
export const ssmClient = tracer.captureAWSv3Client(new SSMClient({}));
