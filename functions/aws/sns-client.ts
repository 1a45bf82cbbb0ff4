import { SNSClient } from "@aws-sdk/client-sns";

/** The one SNS client of a Lambda (endpoint from AWS_ENDPOINT_URL_SNS when set). */
export const snsClient = new SNSClient({});
