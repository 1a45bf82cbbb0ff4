import { SSMClient } from "@aws-sdk/client-ssm";

/** The one SSM client of a Lambda (endpoint from AWS_ENDPOINT_URL_SSM when set). */
export const ssmClient = new SSMClient({});
