import middy from "@middy/core";
import { ec2Client } from "../aws/ec2-client.js";
import type { PollStateEvent, PollStateResult } from "../domain/contract.js";
import { sleep, withWallClock } from "../shared/clock.js";
import { pollState } from "./poll-state.js";

export const lambdaHandler = (event: PollStateEvent): Promise<PollStateResult> =>
  withWallClock((clock) => pollState(event, { ec2: ec2Client, clock, sleep }));

export const handler = middy<PollStateEvent, PollStateResult>().handler(lambdaHandler);
