import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { tracer } from "../shared/observability.js";

/** The one DynamoDB client of a Lambda (endpoint from AWS_ENDPOINT_URL_DYNAMODB when set). */
export const dynamoDbClient = tracer.captureAWSv3Client(new DynamoDBClient({}));
