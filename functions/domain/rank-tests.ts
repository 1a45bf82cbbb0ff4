/**
 * Distribution-free comparison of two samples of boot times. Boot times are skewed and a slow outlier
 * is common, so a comparison rests on ranks rather than means: the Hodges-Lehmann shift with its
 * Mann-Whitney confidence interval, and Fisher's exact test for the share of runs that failed. Every
 * number follows R's `wilcox.test` and `fisher.test`, so a published result can be checked in R.
 */
import { median } from "./statistics.js";

/**
 * The Hodges-Lehmann estimate of the shift `later − earlier` (the median of all m·n pairwise
 * differences), its distribution-free confidence interval (Bauer 1972; Hollander & Wolfe: order
 * statistics of the differences, ranks from the Mann-Whitney U distribution), and the two-sided
 * Mann-Whitney p-value.
 */
export interface ShiftEstimate {
  /** Hodges-Lehmann shift, `later` minus `earlier`: positive means later is larger (slower). */
  shift: number;
  /** Confidence interval of the shift. */
  low: number;
  high: number;
  /**
   * The confidence achieved: with the exact method the level the order statistics attain (at least
   * the one asked for when it can be reached at all, as R's "achieved" level); otherwise the one asked for.
   */
  confidence: number;
  /** Two-sided Mann-Whitney p-value for "same distribution". */
  pValue: number;
  /**
   * `exact` when both samples have fewer than 50 values and no value repeats; else `normal`: the normal
   * approximation with tie and continuity correction (R's `wilcox.test(exact = FALSE, correct = TRUE)`).
   */
  method: "exact" | "normal";
  earlierCount: number;
  laterCount: number;
}

/** Fisher's exact test on a 2x2 table: events (e.g. failed or timed-out runs) out of totals in two samples. */
export interface FisherResult {
  pValue: number;
  /** one-sided p that `later` has the higher event rate */
  pGreater: number;
}

/** R's `wilcox.test` computes the exact distribution only while both samples are below this size. */
const EXACT_SAMPLE_LIMIT = 50;
/** R's `qwilcox` compares cumulative probabilities with this fuzz, so a level hit exactly counts as reached. */
const QUANTILE_FUZZ = 10 * Number.EPSILON;
/** R's `fisher.test` counts a table as "as extreme" within this relative error of the observed probability. */
const FISHER_RELATIVE_ERROR = 1 + 1e-7;

const requireSample = (name: string, values: readonly number[]): void => {
  if (values.length === 0) throw new RangeError(`${name} sample is empty`);
  const bad = values.find((value) => !Number.isFinite(value));
  if (bad !== undefined) throw new RangeError(`${name} sample contains a non-finite value (${bad})`);
};

const requireCount = (name: string, value: number, minimum: number): void => {
  if (!Number.isInteger(value) || value < minimum) {
    throw new RangeError(`${name} must be an integer >= ${minimum}, got ${value}`);
  }
};

// Callers index only within bounds; the cast spares every loop a check that cannot fail.
const at = (values: ArrayLike<number>, index: number): number => values[index] as number;

/**
 * P(Z > z) for a standard normal Z, by W. J. Cody's rational Chebyshev approximations (the algorithm of
 * R's `pnorm`). It stays accurate relative to the tail probability itself (1e-15 at z = 5, 1e-13 at
 * z = 37), where `1 - cdf` would lose every digit. The coefficients, here and in normalQuantile, are the
 * published ones written as the nearest double.
 */
function normalUpperTail(z: number): number {
  const y = Math.abs(z);
  let lower: number;
  if (y <= 0.67448975) {
    const a = [2.2352520354606837, 161.02823106855587, 1067.6894854603709, 18154.98125334356];
    const b = [47.202581904688245, 976.0985517377767, 10260.932208618979, 45507.78933502673];
    const square = z * z;
    let numerator = 0.06568233791820745 * square;
    let denominator = square;
    for (let i = 0; i < 3; i++) {
      numerator = (numerator + at(a, i)) * square;
      denominator = (denominator + at(b, i)) * square;
    }
    return 0.5 - (z * (numerator + at(a, 3))) / (denominator + at(b, 3));
  }
  if (y <= Math.sqrt(32)) {
    const c = [
      0.39894151208813466, 8.883149794388377, 93.50665613217785, 597.2702763948002, 2494.5375852903726,
      6848.190450536283, 11602.65143764735, 9842.714838383978,
    ];
    const d = [
      22.266688044328117, 235.387901782625, 1519.3775994075547, 6485.558298266761, 18615.571640885097,
      34900.95272114598, 38912.00328609327, 19685.429676859992,
    ];
    let numerator = 1.0765576773720192e-8 * y;
    let denominator = y;
    for (let i = 0; i < 7; i++) {
      numerator = (numerator + at(c, i)) * y;
      denominator = (denominator + at(d, i)) * y;
    }
    lower = gaussianFactor(y) * ((numerator + at(c, 7)) / (denominator + at(d, 7)));
  } else if (y < 38) {
    const p = [0.215898534057957, 0.12740116116024736, 0.022235277870649807, 0.0014216191932278934];
    const q = [1.284260096144911, 0.4682382124808651, 0.06598813786892856, 0.0037823963320275824];
    const inverseSquare = 1 / (y * y);
    let numerator = 0.023073441764940174 * inverseSquare;
    let denominator = inverseSquare;
    for (let i = 0; i < 4; i++) {
      numerator = (numerator + at(p, i)) * inverseSquare;
      denominator = (denominator + at(q, i)) * inverseSquare;
    }
    const ratio =
      (inverseSquare * (numerator + 0.000029112874951168793)) / (denominator + 0.00007297515550839662);
    lower = (gaussianFactor(y) * (1 / Math.sqrt(2 * Math.PI) - ratio)) / y;
  } else {
    lower = 0;
  }
  return z > 0 ? lower : 1 - lower;
}

/** exp(-y²/2), split as R does so the rounding of y² does not cost accuracy in the tail. */
function gaussianFactor(y: number): number {
  const rounded = Math.trunc(y * 16) / 16;
  return Math.exp(-rounded * rounded * 0.5) * Math.exp(-(y - rounded) * (y + rounded) * 0.5);
}

const polynomial = (coefficients: readonly number[], x: number): number =>
  coefficients.reduceRight((sum, coefficient) => sum * x + coefficient, 0);

/** The standard normal quantile by Wichura's AS241 (PPND16), accurate to about 1e-16. */
function normalQuantile(p: number): number {
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (
      (q *
        polynomial(
          [
            3.3871328727963665, 133.14166789178438, 1971.5909503065513, 13731.69376550946, 45921.95393154987,
            67265.7709270087, 33430.57558358813, 2509.0809287301227,
          ],
          r,
        )) /
      polynomial(
        [
          1, 42.31333070160091, 687.1870074920579, 5394.196021424751, 21213.794301586597, 39307.89580009271,
          28729.085735721943, 5226.495278852854,
        ],
        r,
      )
    );
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let magnitude: number;
  if (r <= 5) {
    r -= 1.6;
    magnitude =
      polynomial(
        [
          1.4234371107496835, 4.630337846156546, 5.769497221460691, 3.6478483247632045, 1.2704582524523684,
          0.2417807251774506, 0.022723844989269184, 0.0007745450142783414,
        ],
        r,
      ) /
      polynomial(
        [
          1, 2.053191626637759, 1.6763848301838038, 0.6897673349851, 0.14810397642748008,
          0.015198666563616457, 0.0005475938084995345, 1.0507500716444169e-9,
        ],
        r,
      );
  } else {
    r -= 5;
    magnitude =
      polynomial(
        [
          6.657904643501103, 5.463784911164114, 1.7848265399172913, 0.29656057182850487, 0.026532189526576124,
          0.0012426609473880784, 0.000027115555687434876, 2.0103343992922881e-7,
        ],
        r,
      ) /
      polynomial(
        [
          1, 0.599832206555888, 0.1369298809227358, 0.014875361290850615, 0.0007868691311456133,
          0.000018463183175100548, 1.421511758316446e-7, 2.0442631033899397e-15,
        ],
        r,
      );
  }
  return q < 0 ? -magnitude : magnitude;
}

/**
 * P(U = u) for u = 0..limit under the null, from the generating function of U: the Gaussian binomial
 * coefficient [m+n choose m]_q = ∏_{i=1..s} (1 - q^{t+i}) / (1 - q^i) with s = min(m, n), t = max(m, n).
 * Each factor is a multiplication and a strided prefix sum, O(s · limit) in all (a few milliseconds
 * for 100 x 100), and only the coefficients up to `limit` are ever needed. Each step is also scaled by
 * i / (t+i), the ratio of consecutive binomial totals, so the coefficients stay probabilities and never
 * overflow, whatever the sample sizes.
 */
function uProbabilities(m: number, n: number, limit: number): Float64Array {
  const smaller = Math.min(m, n);
  const larger = Math.max(m, n);
  const coefficients = new Float64Array(limit + 1);
  coefficients[0] = 1;
  for (let i = 1; i <= smaller; i++) {
    for (let k = limit; k >= larger + i; k--)
      coefficients[k] = at(coefficients, k) - at(coefficients, k - larger - i);
    for (let k = i; k <= limit; k++) coefficients[k] = at(coefficients, k) + at(coefficients, k - i);
    const scale = i / (larger + i);
    for (let k = 0; k <= limit; k++) coefficients[k] = at(coefficients, k) * scale;
  }
  return coefficients;
}

const sum = (values: ArrayLike<number>): number => {
  let total = 0;
  for (let k = 0; k < values.length; k++) total += at(values, k);
  return total;
};

/** Exact distribution of the Mann-Whitney U statistic (no ties): P(U <= u) for sample sizes m, n. */
export function mannWhitneyCdf(u: number, m: number, n: number): number {
  requireCount("m", m, 1);
  requireCount("n", n, 1);
  if (Number.isNaN(u)) throw new RangeError("u must be a number, got NaN");
  const largest = m * n;
  const k = Math.floor(u);
  if (k < 0) return 0;
  if (k >= largest) return 1;
  // U is symmetric about mn/2: summing the shorter tail is faster and keeps a small tail accurate.
  const mirrored = largest - 1 - k;
  return k <= mirrored ? sum(uProbabilities(m, n, k)) : 1 - sum(uProbabilities(m, n, mirrored));
}

interface RankSummary {
  /** Mann-Whitney U of `later`: pairs with later > earlier, ties counting one half (R's W, scipy's U1). */
  u: number;
  /** Sizes of the groups of equal values in the pooled sample, for the tie correction of the variance. */
  tieGroupSizes: number[];
}

function rankSummary(earlier: readonly number[], later: readonly number[]): RankSummary {
  const pooled = [
    ...earlier.map((value) => ({ value, isLater: false })),
    ...later.map((value) => ({ value, isLater: true })),
  ].sort((a, b) => a.value - b.value);
  let laterRankSum = 0;
  const tieGroupSizes: number[] = [];
  for (let start = 0; start < pooled.length; ) {
    let end = start;
    while (end + 1 < pooled.length && pooled[end + 1]?.value === pooled[start]?.value) end++;
    const midRank = (start + end) / 2 + 1;
    for (let i = start; i <= end; i++) if (pooled[i]?.isLater) laterRankSum += midRank;
    tieGroupSizes.push(end - start + 1);
    start = end + 1;
  }
  return { u: laterRankSum - (later.length * (later.length + 1)) / 2, tieGroupSizes };
}

/** Sizes of the groups of equal values within one sample. */
function tieGroupSizesWithin(values: readonly number[]): number[] {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts.values()];
}

/** Standard deviation of U under the null, with the tie correction. */
function uStandardDeviation(m: number, n: number, tieGroupSizes: readonly number[]): number {
  const total = m + n;
  const tieTerm = tieGroupSizes.reduce((acc, size) => acc + size ** 3 - size, 0) / (total * (total - 1));
  return Math.sqrt(((m * n) / 12) * (total + 1 - tieTerm));
}

/**
 * (U - mn/2) moved half a unit towards 0 (the continuity correction) and divided by the standard
 * deviation. A zero deviation means every observation is tied, and then U = mn/2 exactly: that is no
 * evidence of a shift, so z is 0 rather than 0/0.
 */
function correctedZ(u: number, m: number, n: number, deviation: number): number {
  const centred = u - (m * n) / 2;
  const corrected = centred - 0.5 * Math.sign(centred);
  return corrected === 0 ? 0 : corrected / deviation;
}

const hasTies = (summary: RankSummary): boolean => summary.tieGroupSizes.some((size) => size > 1);

const usesExactMethod = (m: number, n: number, summary: RankSummary): boolean =>
  m < EXACT_SAMPLE_LIMIT && n < EXACT_SAMPLE_LIMIT && !hasTies(summary);

/** Two-sided Mann-Whitney p-value (exact without ties for small samples, else normal approx with tie and continuity correction), like R's wilcox.test(y, x). */
export function mannWhitneyPValue(
  earlier: readonly number[],
  later: readonly number[],
): { u: number; pValue: number; method: "exact" | "normal" } {
  requireSample("earlier", earlier);
  requireSample("later", later);
  const m = later.length;
  const n = earlier.length;
  const summary = rankSummary(earlier, later);
  const { u } = summary;
  if (usesExactMethod(m, n, summary)) {
    // The nearer tail, doubled; by symmetry P(U >= u) = P(U <= mn - u).
    const tail = mannWhitneyCdf(Math.min(u, m * n - u), m, n);
    return { u, pValue: Math.min(1, 2 * tail), method: "exact" };
  }
  const z = correctedZ(u, m, n, uStandardDeviation(m, n, summary.tieGroupSizes));
  return { u, pValue: Math.min(1, 2 * normalUpperTail(Math.abs(z))), method: "normal" };
}

function sortedDifferences(earlier: readonly number[], later: readonly number[]): Float64Array {
  const differences = new Float64Array(earlier.length * later.length);
  let k = 0;
  for (const y of later) for (const x of earlier) differences[k++] = y - x;
  return differences.sort();
}

interface Interval {
  low: number;
  high: number;
  confidence: number;
}

/**
 * R's exact interval: qu is the smallest u with P(U <= u) >= alpha/2 (raised to 1 when even U = 0 is
 * that likely, so the interval is the whole range of differences), and the interval runs from the qu-th
 * smallest difference to the qu-th largest. It covers with probability 1 - 2 P(U <= qu - 1), which is
 * reported: at least the requested level, or below it when the samples are too small to reach it.
 */
function exactInterval(differences: Float64Array, m: number, n: number, confidence: number): Interval {
  const count = m * n;
  const probabilities = uProbabilities(m, n, Math.floor(count / 2));
  const target = (1 - confidence) / 2 - QUANTILE_FUZZ;
  let cumulative = 0;
  let qu = 0;
  // Stops by the median of U at the latest, where the cumulative probability reaches 1/2.
  for (; ; qu++) {
    cumulative += at(probabilities, qu);
    if (cumulative >= target) break;
  }
  qu = Math.max(qu, 1);
  const belowLow = sum(probabilities.subarray(0, qu));
  return { low: at(differences, qu - 1), high: at(differences, count - qu), confidence: 1 - 2 * belowLow };
}

/**
 * The normal-approximation interval: the shifts d at which R's corrected statistic for `later - d`
 * against `earlier` crosses ±z_{alpha/2}. R finds them with `uniroot` to a tolerance of 1e-4; this finds
 * them exactly. Shifting by d leaves U(d) = #{differences > d} between differences, so the statistic is a
 * non-increasing step function that jumps only at differences, and each crossing is a difference. Between
 * differences the only ties left are those within each sample, so the deviation is constant there. The
 * largest count k whose corrected z is at most z_{alpha/2} is found by bisection; the interval runs from
 * the (k+1)-th largest difference to the (k+1)-th smallest, mirroring the exact interval. When every
 * count passes, that is the whole range of differences, as R then returns its search limits.
 */
function normalInterval(
  differences: Float64Array,
  earlier: readonly number[],
  later: readonly number[],
  confidence: number,
): Interval {
  const m = later.length;
  const n = earlier.length;
  const count = m * n;
  const deviation = uStandardDeviation(m, n, [
    ...tieGroupSizesWithin(earlier),
    ...tieGroupSizesWithin(later),
  ]);
  const critical = -normalQuantile((1 - confidence) / 2);
  const within = (k: number) => correctedZ(k, m, n, deviation) <= critical;
  // within(0) always holds: the corrected z of U = 0 is negative.
  let passing = 0;
  let failing = count;
  while (failing - passing > 1) {
    const mid = Math.floor((passing + failing) / 2);
    if (within(mid)) passing = mid;
    else failing = mid;
  }
  return { low: at(differences, count - 1 - passing), high: at(differences, passing), confidence };
}

/** Hodges-Lehmann shift `later - earlier` with its confidence interval and the Mann-Whitney p-value. */
export function hodgesLehmannShift(
  earlier: readonly number[],
  later: readonly number[],
  confidence = 0.95,
): ShiftEstimate {
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  }
  const { pValue, method } = mannWhitneyPValue(earlier, later);
  const differences = sortedDifferences(earlier, later);
  const interval =
    method === "exact"
      ? exactInterval(differences, later.length, earlier.length, confidence)
      : normalInterval(differences, earlier, later, confidence);
  return {
    // The median of the differences in both methods. R's normal branch instead reports a root of its
    // uncorrected statistic: the same value for an odd m*n, some point between the two middle
    // differences for an even one.
    shift: median(Array.from(differences)),
    low: interval.low,
    high: interval.high,
    confidence: interval.confidence,
    pValue,
    method,
    earlierCount: earlier.length,
    laterCount: later.length,
  };
}

/**
 * Fisher's exact test: given both totals and the total number of events, later's event count is
 * hypergeometric. Both totals must be at least 1, as an empty sample has no event rate to compare.
 */
export function fisherExact(
  earlierEvents: number,
  earlierTotal: number,
  laterEvents: number,
  laterTotal: number,
): FisherResult {
  requireCount("earlierTotal", earlierTotal, 1);
  requireCount("laterTotal", laterTotal, 1);
  requireCount("earlierEvents", earlierEvents, 0);
  requireCount("laterEvents", laterEvents, 0);
  if (earlierEvents > earlierTotal) {
    throw new RangeError(`earlierEvents (${earlierEvents}) exceeds earlierTotal (${earlierTotal})`);
  }
  if (laterEvents > laterTotal) {
    throw new RangeError(`laterEvents (${laterEvents}) exceeds laterTotal (${laterTotal})`);
  }
  const events = earlierEvents + laterEvents;
  const fewest = Math.max(0, events - earlierTotal);
  const most = Math.min(events, laterTotal);
  // Weights of later's event counts fewest..most, from the ratio of consecutive hypergeometric
  // probabilities; rescaled whenever they grow large, so no factorial is ever formed.
  const weights = [1];
  for (let x = fewest; x < most; x++) {
    const ratio = ((events - x) * (laterTotal - x)) / ((x + 1) * (earlierTotal - events + x + 1));
    weights.push(at(weights, weights.length - 1) * ratio);
    if (at(weights, weights.length - 1) > 1e250)
      for (let i = 0; i < weights.length; i++) weights[i] = at(weights, i) * 1e-250;
  }
  const total = sum(weights);
  const probabilities = weights.map((weight) => weight / total);
  const observed = at(probabilities, laterEvents - fewest) * FISHER_RELATIVE_ERROR;
  const pValue = probabilities.reduce((acc, p) => (p <= observed ? acc + p : acc), 0);
  const pGreater = sum(probabilities.slice(laterEvents - fewest));
  return { pValue: Math.min(1, pValue), pGreater: Math.min(1, pGreater) };
}
