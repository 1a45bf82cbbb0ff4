import { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/** The one DynamoDB client of a Lambda (endpoint from AWS_ENDPOINT_URL_DYNAMODB when set). */
export const dynamoDbClient = new DynamoDBClient({});
