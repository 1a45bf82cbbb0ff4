/**
 * EC2's answers that mean "not now, try again", by error code (the EC2 API Reference, "Error codes for
 * the Amazon EC2 API"): throttling (`RequestLimitExceeded`, ec2-request-buckets.ts) and the server
 * errors of a passing fault (`InternalError`, HTTP 500; `Unavailable` and `ServiceUnavailable`, HTTP
 * 503). The stack's EC2 clients make one attempt each (functions/aws/ec2-client.ts), so every step that
 * calls EC2 must retry these itself or through Step Functions, or one passing 5xx fails a benchmark
 * (DescribeImages), a key pair (ImportKeyPair) or leaves an instance to the sweeper (TerminateInstances).
 *
 * A server error does not say whether the call was carried out. Retrying is safe for every EC2 call
 * the stack makes: reads, idempotent writes (TerminateInstances, DeleteKeyPair), and the two whose
 * retries are made safe by the caller (RunInstances by its ClientToken, ImportKeyPair by its
 * `InvalidKeyPair.Duplicate` path). Capacity errors are server errors too, but refusals: never here.
 */
export const EC2_THROTTLING_ERRORS: readonly string[] = ["RequestLimitExceeded"];

export const EC2_SERVER_ERRORS: readonly string[] = ["InternalError", "Unavailable", "ServiceUnavailable"];

/** Every EC2 error code a step retries whatever the call: throttling, then the server errors. */
export const EC2_TRANSIENT_ERRORS: readonly string[] = [...EC2_THROTTLING_ERRORS, ...EC2_SERVER_ERRORS];
