import { EC2Client } from "@aws-sdk/client-ec2";

/**
 * EC2 clients. Endpoint and region come from the standard configuration (AWS_REGION,
 * AWS_ENDPOINT_URL_EC2), which is how the local cloud is reached. SDK retries are off: each step
 * decides itself what to retry (polling must not stall behind SDK backoff, throttling is handled
 * adaptively, and Step Functions retries whole steps).
 */
export const createEc2Client = (): EC2Client => new EC2Client({ maxAttempts: 1 });

/** The shared client of a Lambda, created at module scope so that connections are reused. */
export const ec2Client = createEc2Client();
