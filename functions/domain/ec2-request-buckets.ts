/**
 * EC2's API request-rate limits (DESIGN section 4): token buckets per account and region, one per
 * throttling class; a call finding its bucket empty is answered `RequestLimitExceeded`. The local
 * cloud throttles with exactly these, and the run-slot cap (run-slots.ts) is sized from them.
 */

/** EC2's throttling classes: each has its own token bucket per account and region. */
export type ApiClass = "describe" | "runInstances" | "terminateInstances" | "mutating";

export interface TokenBucketSpec {
  /** Bucket size: how many calls can be made at once. */
  burst: number;
  /** Tokens added per second. */
  refillPerSecond: number;
}

/** EC2's documented default request-rate buckets. */
export const EC2_TOKEN_BUCKETS: Readonly<Record<ApiClass, TokenBucketSpec>> = {
  describe: { burst: 100, refillPerSecond: 20 },
  runInstances: { burst: 5, refillPerSecond: 2 },
  terminateInstances: { burst: 100, refillPerSecond: 5 },
  mutating: { burst: 50, refillPerSecond: 5 },
};

export function apiClassOf(action: string): ApiClass {
  if (action === "RunInstances") return "runInstances";
  if (action === "TerminateInstances") return "terminateInstances";
  if (action.startsWith("Describe") || action.startsWith("Get") || action.startsWith("List"))
    return "describe";
  return "mutating";
}
