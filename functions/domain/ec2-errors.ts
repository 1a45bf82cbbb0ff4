/**
 * EC2's answers that mean "not now, try again", by error code (the EC2 API Reference, "Error codes for
 * the Amazon EC2 API"): throttling (`RequestLimitExceeded`, ec2-request-buckets.ts) and the server
 * errors of a passing fault (`InternalError`, HTTP 500; `Unavailable` and `ServiceUnavailable`, HTTP
 * 503); and no answer at all (`TimeoutError`, the SDK's, once the client's request timeout has passed:
 * functions/aws/ec2-client.ts). The stack's EC2 clients make one attempt each, so every step that
 * calls EC2 must retry these itself or through Step Functions, or one passing 5xx or lost answer fails
 * a benchmark (DescribeImages), a key pair (ImportKeyPair) or leaves an instance to the sweeper
 * (TerminateInstances).
 *
 * A server error or a lost answer does not say whether the call was carried out. Retrying is safe for
 * every EC2 call the stack makes: reads, idempotent writes (TerminateInstances, DeleteKeyPair), and the
 * two whose retries are made safe by the caller (RunInstances by its ClientToken, ImportKeyPair by its
 * `InvalidKeyPair.Duplicate` path). Capacity errors are server errors too, but refusals: never here.
 */
const EC2_THROTTLING_ERRORS: readonly string[] = ["RequestLimitExceeded"];

const EC2_SERVER_ERRORS: readonly string[] = ["InternalError", "Unavailable", "ServiceUnavailable"];

/**
 * A request the client gave up on, unanswered (the SDK's name for it). middy gives the same name to a
 * handler it ends just before its Lambda's time runs out; for an EC2 step that is retried too, as
 * safely: the step's calls were cut off mid-way, as by a lost answer.
 */
const EC2_NO_ANSWER_ERRORS: readonly string[] = ["TimeoutError"];

/** Every error a step retries whatever the EC2 call: throttling, the server errors, no answer. */
export const EC2_TRANSIENT_ERRORS: readonly string[] = [
  ...EC2_THROTTLING_ERRORS,
  ...EC2_SERVER_ERRORS,
  ...EC2_NO_ANSWER_ERRORS,
];
