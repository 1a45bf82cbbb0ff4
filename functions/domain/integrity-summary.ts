import type { RunStatus } from "./contract.js";
import {
  BOUNDARIES,
  type Boundary,
  INTEGRITY_RULES_VERSION,
  INTERVAL_NAMES,
  type IntervalName,
  invalidatingMarks,
  isValidInterval,
  type MarkName,
  type RunIntegrity,
} from "./integrity.js";
import { median, percentile } from "./statistics.js";

/** A boundary's bracket widths over a benchmark's counted succeeded runs: its published resolution. */
export interface BracketWidthStatistics {
  /** Runs whose bracket had a lower end (an unbounded one is counted in `unbounded`). */
  count: number;
  /** Absent when no bracket had a lower end. */
  medianMs?: number;
  p99Ms?: number;
  maxMs?: number;
  unbounded: number;
}

export interface IntegritySummary {
  rulesVersion: typeof INTEGRITY_RULES_VERSION;
  /** Counted succeeded runs with at least one invalid interval. */
  markedRuns: number;
  /** Counted runs carrying each mark (informational marks included). */
  marks: Partial<Record<MarkName, number>>;
  /** Counted succeeded runs whose interval is valid: the count behind each median. */
  validRuns: Record<IntervalName, number>;
  bracketWidths: Partial<Record<Boundary, BracketWidthStatistics>>;
}

export interface IntegritySample {
  counted: boolean;
  status: RunStatus;
  integrity?: RunIntegrity;
}

/** The summary's integrity figures: what was marked, what could be counted, and how sharp it was. */
export function summariseIntegrity(runs: readonly IntegritySample[]): IntegritySummary {
  const counted = runs.filter((run) => run.counted);
  const succeeded = counted.filter((run) => run.status === "succeeded");
  const marks: Partial<Record<MarkName, number>> = {};
  for (const run of counted) {
    for (const name of new Set((run.integrity?.marks ?? []).map((mark) => mark.name))) {
      marks[name] = (marks[name] ?? 0) + 1;
    }
  }
  const validRuns = {} as Record<IntervalName, number>;
  for (const interval of INTERVAL_NAMES) {
    validRuns[interval] = succeeded.filter((run) => isValidInterval(run.integrity, interval)).length;
  }
  const bracketWidths: Partial<Record<Boundary, BracketWidthStatistics>> = {};
  for (const boundary of BOUNDARIES) {
    const brackets = succeeded.flatMap((run) => {
      const bracket = run.integrity?.brackets[boundary];
      return bracket ? [bracket] : [];
    });
    const widths = brackets.flatMap((bracket) => (bracket.widthMs === undefined ? [] : [bracket.widthMs]));
    if (brackets.length === 0) continue;
    bracketWidths[boundary] = {
      count: widths.length,
      ...(widths.length > 0 && {
        medianMs: median(widths),
        p99Ms: percentile(widths, 99),
        maxMs: widths.reduce((a, b) => Math.max(a, b)),
      }),
      unbounded: brackets.length - widths.length,
    };
  }
  return {
    rulesVersion: INTEGRITY_RULES_VERSION,
    markedRuns: succeeded.filter((run) => invalidatingMarks(run.integrity).length > 0).length,
    marks,
    validRuns,
    bracketWidths,
  };
}
