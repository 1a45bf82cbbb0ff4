import { type DescribeInstancesCommandOutput, EC2Client, type Instance } from "@aws-sdk/client-ec2";
import { tracer } from "../shared/observability.js";

/**
 * EC2 clients. Endpoint and region come from the standard configuration (AWS_REGION,
 * AWS_ENDPOINT_URL_EC2), which is how the local cloud is reached. SDK retries are off: each step
 * decides itself what to retry (polling must not stall behind SDK backoff, throttling is handled
 * adaptively, and Step Functions retries whole steps).
 */
export const createEc2Client = (): EC2Client => tracer.captureAWSv3Client(new EC2Client({ maxAttempts: 1 }));

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
