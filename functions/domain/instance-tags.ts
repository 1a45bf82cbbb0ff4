/**
 * The tags every benchmark instance carries from the moment RunInstances creates it. IAM conditions
 * (RunInstances, TerminateInstances), terminate-by-client-token and the sweeper all key on
 * `boot-bench:stack`; infra uses the same constants, so a renamed key cannot drift between them.
 */
export const TAG_STACK = "boot-bench:stack";
export const TAG_BENCHMARK = "boot-bench:benchmark";
export const TAG_RUN = "boot-bench:run";
