import middy from "@middy/core";
import { ec2Client } from "../aws/ec2-client.js";
import { ssmClient } from "../aws/ssm-client.js";
import type { ResolveImageEvent, ResolveImageResult } from "../domain/contract.js";
import { observed } from "../shared/observability.js";
import { resolveImage } from "./resolve-image.js";

export const lambdaHandler = (event: ResolveImageEvent): Promise<ResolveImageResult> =>
  resolveImage(event, { ec2: ec2Client, ssm: ssmClient });

export const handler = middy<ResolveImageEvent, ResolveImageResult>()
  .use(observed<ResolveImageEvent, ResolveImageResult>(({ benchmarkId }) => ({ benchmarkId })))
  .handler(lambdaHandler);
