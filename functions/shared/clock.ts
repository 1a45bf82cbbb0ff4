/**
 * Wall-clock epoch milliseconds with sub-millisecond precision. Timestamps cross Lambda invocations
 * (launch, poll and probe run in different functions), so they must share an epoch; Lambda hosts are
 * NTP-synchronised. `performance.now()` gives the resolution `Date.now()` lacks.
 */
export type Clock = () => number;

export const epochMs: Clock = () => performance.timeOrigin + performance.now();

export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
