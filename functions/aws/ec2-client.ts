import { type DescribeInstancesCommandOutput, EC2Client, type Instance } from "@aws-sdk/client-ec2";
import { tracer } from "../shared/observability.js";

/**
 * How long an EC2 request may go unanswered before the client gives it up with `TimeoutError`
 * (functions/domain/ec2-errors.ts), which the steps retry. EC2 answers in well under a second, and
 * RunInstances in a few; but a request whose answer is lost on the way, or sent on a kept-alive
 * connection that died while the Lambda environment was frozen, gets no answer at all, and the SDK's
 * own socket timeout is 15 minutes of silence: the step hung until its Lambda's time ran out (30 to
 * 60 s) and then failed, so a hung DescribeImages failed its benchmark and a hung TerminateInstances
 * left the instance to the sweeper. Steps with tighter bounds of their own (the poll's 2 s, the
 * launch's attempt, a screenshot's 3 s) abort sooner.
 */
export const EC2_REQUEST_TIMEOUT_MS = 10_000;

/**
 * EC2 clients. Endpoint and region come from the standard configuration (AWS_REGION,
 * AWS_ENDPOINT_URL_EC2), which is how the local cloud is reached. SDK retries are off: each step
 * decides itself what to retry (polling must not stall behind SDK backoff, throttling is handled
 * adaptively, and Step Functions retries whole steps). A request without an answer fails after
 * EC2_REQUEST_TIMEOUT_MS (only a warning without `throwOnRequestTimeout`).
 */
export const createEc2Client = (): EC2Client =>
  tracer.captureAWSv3Client(
    new EC2Client({
      maxAttempts: 1,
      requestHandler: { requestTimeout: EC2_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
    }),
  );

/** The shared client of a Lambda, created at module scope so that connections are reused. */
export const ec2Client = createEc2Client();

/** The instance of a DescribeInstances answer, or undefined when the answer does not show it (yet). */
export const instanceIn = (
  output: DescribeInstancesCommandOutput,
  instanceId: string,
): Instance | undefined =>
  (output.Reservations ?? [])
    .flatMap((reservation) => reservation.Instances ?? [])
    .find((candidate) => candidate.InstanceId === instanceId);

/** The instance's private IP; `PrivateIpAddress` is optional in EC2's shape, and an empty one is none. */
export const privateIpOf = (instance: Instance | undefined): string | undefined => {
  const address = instance?.PrivateIpAddress;
  return address === undefined || address === "" ? undefined : address;
};
