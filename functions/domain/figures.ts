/**
 * What each figure is called wherever it is shown: the CLI's tables and notes, the report, the alerts
 * and the README say the same words for the same number. Two figures are both "a total" and must never
 * be confused:
 * - the published total (`medians.total`): the running-to-port-closed median plus the closed-to-open
 *   median, the way ec2-boot-bench's published tables give it;
 * - the median of per-run totals (`statistics.total.median`): each run's running to port open, then
 *   the median of those. Regressions are judged on the per-run totals (regression.ts).
 * Pure.
 */
import type { IntervalName } from "./integrity.js";

/** Each interval as a column or row is headed. `total` is a run's running to port open. */
export const INTERVAL_LABELS: Record<IntervalName, string> = {
  runInstancesApi: "RunInstances API call",
  pendingToRunning: "pending to running",
  runningToPortClosed: "running to port closed",
  portClosedToOpen: "closed to open",
  total: "total",
};

/** The published total's header, in the published layout's words. */
export const PUBLISHED_TOTAL_LABEL = "total";
export const PUBLISHED_TOTAL_MEANING =
  "total = the running to port closed median plus the closed to open median, as the published tables give it";

/** The median of per-run totals' header. */
export const RUN_TOTAL_MEDIAN_LABEL = "median run total";
export const RUN_TOTAL_MEDIAN_MEANING =
  "median run total = the median over the counted runs of each run's running to port open";
