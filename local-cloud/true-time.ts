import { anchorToWallClock, type Clock } from "../functions/shared/clock.js";

/**
 * The local cloud's true time: when its instances really change state and when its API really saw a
 * request. Anchored once, when the cloud's code loads, and shared by every part of the cloud, so truth
 * is one monotonic clock on the wall clock's epoch. It is never a step's clock: the clock faults of the
 * local runner skew the steps' clocks, and truth must stay what they are measured against.
 */
export const trueTime: Clock = anchorToWallClock().now;
