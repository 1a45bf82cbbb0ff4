import middy from "@middy/core";
import { dynamoDbClient } from "../aws/dynamodb-client.js";
import { ec2Client } from "../aws/ec2-client.js";
import { ssmClient } from "../aws/ssm-client.js";
import type { DiscoverTargetsEvent, DiscoverTargetsResult } from "../domain/suite.js";
import { requireEnv } from "../shared/env.js";
import { observed } from "../shared/observability.js";
import { discoverTargets } from "./discover-targets.js";

const tableName = requireEnv("TABLE_NAME");

export const lambdaHandler = (event: DiscoverTargetsEvent): Promise<DiscoverTargetsResult> =>
  discoverTargets(event, { ssm: ssmClient, ec2: ec2Client, dynamoDb: dynamoDbClient, tableName });

export const handler = middy<DiscoverTargetsEvent, DiscoverTargetsResult>()
  .use(
    observed<DiscoverTargetsEvent, DiscoverTargetsResult>((_event, result) => ({
      suiteRunId: result?.suite.suiteRunId,
    })),
  )
  .handler(lambdaHandler);
