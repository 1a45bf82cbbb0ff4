import { describe, expect, it } from "vitest";
import {
  fisherExact,
  hodgesLehmannShift,
  mannWhitneyCdf,
  mannWhitneyPValue,
} from "../../functions/domain/rank-tests.js";

/*
 * Reference values come from scipy 1.17 and from short independent Python references, not from this
 * code. The Python below, preceded by these definitions, reruns every one of them:
 *
 *   import itertools, numpy as np
 *   from scipy.stats import mannwhitneyu, fisher_exact, rankdata
 *   from scipy.stats._mannwhitneyu import _MWU
 *   from scipy.optimize import brentq
 *   from scipy.special import ndtri
 *
 *   def exact_hl(earlier, later, conf=0.95):  # brute force: null U over all rank subsets, R's rule
 *       m, n = len(later), len(earlier); freq = {}
 *       for c in itertools.combinations(range(m + n), m):
 *           u = sum(c) - m * (m - 1) // 2; freq[u] = freq.get(u, 0) + 1
 *       total = sum(freq.values()); cdf = lambda q: sum(v for k, v in freq.items() if k <= q) / total
 *       qu = 0
 *       while cdf(qu) < (1 - conf) / 2 - 10 * np.finfo(float).eps: qu += 1
 *       if qu == 0: qu = 1
 *       d = sorted(y - x for y in later for x in earlier)
 *       return dict(shift=float(np.median(d)), low=d[qu - 1], high=d[m * n - qu], confidence=1 - 2 * cdf(qu - 1))
 *
 *   def normal_hl(earlier, later, conf=0.95):  # R's asymptotic interval (wdiff), root by brentq
 *       x, y = np.array(later, float), np.array(earlier, float); m, n = len(x), len(y)
 *       def wdiff(dd, zq):
 *           r = rankdata(np.concatenate([x - dd, y])); _, t = np.unique(r, return_counts=True)
 *           dz = r[:m].sum() - m * (m + 1) / 2 - m * n / 2
 *           sigma = np.sqrt(m * n / 12 * ((m + n + 1) - (t**3 - t).sum() / ((m + n) * (m + n - 1))))
 *           return (dz - np.sign(dz) * 0.5) / sigma - zq
 *       lo, hi = x.min() - y.max(), x.max() - y.min()
 *       def root(zq):
 *           if wdiff(lo, zq) <= 0: return lo
 *           if wdiff(hi, zq) >= 0: return hi
 *           return brentq(wdiff, lo, hi, args=(zq,), xtol=1e-13)
 *       z = -ndtri((1 - conf) / 2); d = np.subtract.outer(x, y).ravel()
 *       return dict(shift=float(np.median(d)), low=root(z), high=root(-z))
 *
 *   def p(earlier, later, method):
 *       kw = dict(method='exact') if method == 'exact' else dict(method='asymptotic', use_continuity=True)
 *       r = mannwhitneyu(later, earlier, alternative='two-sided', **kw)
 *       return float(r.statistic), float(r.pvalue)
 */

/** Relative agreement, for probabilities far below the absolute precision of toBeCloseTo. */
const expectRelativelyClose = (actual: number, expected: number, tolerance = 1e-12): void => {
  expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThan(tolerance);
};

// Hollander & Wolfe (1973), p. 69, the example of R's ?wilcox.test: x is `later`, y is `earlier`.
const hollanderWolfeEarlier = [1.15, 0.88, 0.9, 0.74, 1.21];
const hollanderWolfeLater = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];

// Nine boots against nine boots about 1.5 s slower, no value shared between them.
const steadyEarlier = [41.2, 40.8, 42.1, 41.7, 40.5, 41.9, 42.4, 41.1, 40.6];
const steadyLater = [42.9, 42.3, 43.6, 43.0, 41.8, 43.4, 44.1, 42.5, 42.2];

// Whole seconds, so values repeat within and across the samples.
const tiedEarlier = [12, 13, 13, 14, 15, 15, 15, 17];
const tiedLater = [14, 15, 16, 16, 17, 18, 18, 20];

// Sixty against sixty: too many for R's exact method. Python: the same comprehensions.
const largeEarlier = Array.from({ length: 60 }, (_, i) => 40 + ((i * 37) % 61) / 20);
const largeLater = Array.from({ length: 60 }, (_, i) => 40.5 + ((i * 23) % 61) / 20);

describe("mannWhitneyCdf", () => {
  it("gives P(U <= 0) = 1/20 for three against three, the one arrangement of C(6, 3)", () => {
    // _MWU(3, 3).cdf(0) -> 0.05
    expect(mannWhitneyCdf(0, 3, 3)).toBe(0.05);
  });

  it("matches scipy's exact distribution", () => {
    // _MWU(7, 12).cdf(20) -> 0.034174803524648724
    expect(mannWhitneyCdf(20, 7, 12)).toBeCloseTo(0.034174803524648724, 14);
    // _MWU(49, 49).cdf(600) -> 6.08177068715315e-06
    expectRelativelyClose(mannWhitneyCdf(600, 49, 49), 6.08177068715315e-6);
  });

  it("is symmetric about mn/2 and in the two sample sizes", () => {
    for (const u of [0, 3, 17, 41]) {
      expect(mannWhitneyCdf(u, 7, 12)).toBeCloseTo(1 - mannWhitneyCdf(7 * 12 - 1 - u, 7, 12), 14);
      expect(mannWhitneyCdf(u, 7, 12)).toBeCloseTo(mannWhitneyCdf(u, 12, 7), 14);
    }
  });

  it("is 0 below the support, 1 at its top, and steps only at whole numbers", () => {
    expect(mannWhitneyCdf(-1, 4, 5)).toBe(0);
    expect(mannWhitneyCdf(20, 4, 5)).toBe(1);
    expect(mannWhitneyCdf(7.9, 4, 5)).toBe(mannWhitneyCdf(7, 4, 5));
  });

  it("is accurate for 100 x 100 in the far tail", () => {
    const tail = mannWhitneyCdf(3000, 100, 100);
    // _MWU(100, 100).cdf(3000) -> 3.385765332248651e-07 (scipy's own recursion, good to ~1e-13)
    expectRelativelyClose(tail, 3.385765332248651e-7, 1e-9);
  });
});

describe("mannWhitneyPValue", () => {
  it("reproduces R's documented example: W = 35, one-sided p = 0.1272", () => {
    const result = mannWhitneyPValue(hollanderWolfeEarlier, hollanderWolfeLater);
    expect(result.u).toBe(35);
    expect(result.method).toBe("exact");
    expect(result.pValue / 2).toBeCloseTo(0.1272, 4);
    // p(hollanderWolfeEarlier, hollanderWolfeLater, 'exact') -> (35.0, 0.2544122544122544)
    expect(result.pValue).toBeCloseTo(0.2544122544122544, 14);
  });

  it("can never go below p = 0.1 with three runs against three", () => {
    const ranks = [1, 2, 3, 4, 5, 6];
    const pValues: number[] = [];
    for (let a = 0; a < 6; a++) {
      for (let b = a + 1; b < 6; b++) {
        for (let c = b + 1; c < 6; c++) {
          const later = [ranks[a], ranks[b], ranks[c]] as number[];
          const earlier = ranks.filter((rank) => !later.includes(rank));
          pValues.push(mannWhitneyPValue(earlier, later).pValue);
        }
      }
    }
    expect(pValues).toHaveLength(20);
    // p([1, 2, 3], [4, 5, 6], 'exact') -> (9.0, 0.1)
    expect(Math.min(...pValues)).toBe(0.1);
  });

  it("uses the normal approximation with tie and continuity correction when values repeat", () => {
    const result = mannWhitneyPValue(tiedEarlier, tiedLater);
    expect(result.method).toBe("normal");
    // p(tiedEarlier, tiedLater, 'asymptotic') -> (54.5, 0.0194717227194186)
    expect(result.u).toBe(54.5);
    expect(result.pValue).toBeCloseTo(0.0194717227194186, 13);
  });

  it("is exact up to 49 runs a side and normal from 50, as R chooses", () => {
    const distinct = (count: number, offset: number) => Array.from({ length: count }, (_, i) => i + offset);
    expect(mannWhitneyPValue(distinct(49, 0), distinct(49, 0.5)).method).toBe("exact");
    expect(mannWhitneyPValue(distinct(50, 0), distinct(10, 0.5)).method).toBe("normal");
  });
});

describe("hodgesLehmannShift", () => {
  it("gives the exact interval of R's documented example", () => {
    // exact_hl(hollanderWolfeEarlier, hollanderWolfeLater) -> shift 0.30500000000000005,
    //   low -0.15000000000000002, high 0.7599999999999999, confidence 0.9600399600399601
    const estimate = hodgesLehmannShift(hollanderWolfeEarlier, hollanderWolfeLater);
    expect(estimate).toMatchObject({ method: "exact", earlierCount: 5, laterCount: 10 });
    expect(estimate.shift).toBeCloseTo(0.305, 12);
    expect(estimate.low).toBeCloseTo(-0.15, 12);
    expect(estimate.high).toBeCloseTo(0.76, 12);
    expect(estimate.confidence).toBeCloseTo(0.9600399600399601, 14);
    expect(estimate.pValue).toBeCloseTo(0.2544122544122544, 14);
  });

  it("narrows the exact interval at a lower confidence", () => {
    // exact_hl(hollanderWolfeEarlier, hollanderWolfeLater, 0.9) -> low -0.07999999999999996, high 0.72,
    //   confidence 0.9007659007659008
    const estimate = hodgesLehmannShift(hollanderWolfeEarlier, hollanderWolfeLater, 0.9);
    expect(estimate.low).toBeCloseTo(-0.08, 12);
    expect(estimate.high).toBeCloseTo(0.72, 12);
    expect(estimate.confidence).toBeCloseTo(0.9007659007659008, 14);
  });

  it("finds a steady 1.5 s slowdown in nine runs against nine, with an interval excluding 0", () => {
    const estimate = hodgesLehmannShift(steadyEarlier, steadyLater);
    // exact_hl(steadyEarlier, steadyLater) -> shift 1.5, low 0.6000000000000014, high 2.299999999999997,
    //   confidence 0.9600164541341012
    expect(estimate.method).toBe("exact");
    expect(estimate.shift).toBeCloseTo(1.5, 12);
    expect(estimate.low).toBeCloseTo(0.6, 12);
    expect(estimate.high).toBeCloseTo(2.3, 12);
    expect(estimate.low).toBeGreaterThan(0);
    expect(estimate.confidence).toBeCloseTo(0.9600164541341012, 14);
    // p(steadyEarlier, steadyLater, 'exact') -> (76.0, 0.0007815713698066638)
    expect(estimate.pValue).toBeCloseTo(0.0007815713698066638, 15);
  });

  it("reports the coverage actually reached when three runs a side cannot reach 95%", () => {
    // exact_hl([1, 2, 3], [4, 5, 6]) -> shift 3.0, low 1, high 5, confidence 0.9
    expect(hodgesLehmannShift([1, 2, 3], [4, 5, 6])).toEqual({
      shift: 3,
      low: 1,
      high: 5,
      confidence: 0.9,
      pValue: 0.1,
      method: "exact",
      earlierCount: 3,
      laterCount: 3,
    });
  });

  it("gives R's normal-approximation interval when values are tied", () => {
    const estimate = hodgesLehmannShift(tiedEarlier, tiedLater);
    // normal_hl(tiedEarlier, tiedLater) -> shift 3.0, low 0.9999999999999826, high 4.999999999999953
    expect(estimate).toMatchObject({ method: "normal", confidence: 0.95, shift: 3 });
    expect(estimate.low).toBeCloseTo(0.9999999999999826, 10);
    expect(estimate.high).toBeCloseTo(4.999999999999953, 10);
    expect(estimate.pValue).toBeCloseTo(0.0194717227194186, 13);
  });

  it("gives R's normal-approximation interval for samples too large for the exact method", () => {
    // normal_hl(largeEarlier, largeLater) -> shift 0.5, low 0.15000000000005084, high 0.8000000000000094
    const estimate = hodgesLehmannShift(largeEarlier, largeLater);
    expect(estimate).toMatchObject({ method: "normal", confidence: 0.95, earlierCount: 60, laterCount: 60 });
    expect(estimate.shift).toBeCloseTo(0.5, 12);
    expect(estimate.low).toBeCloseTo(0.15000000000005084, 10);
    expect(estimate.high).toBeCloseTo(0.8000000000000094, 10);
    // p(largeEarlier, largeLater, 'asymptotic') -> (2326.5, 0.005762133837243771)
    expect(estimate.pValue).toBeCloseTo(0.005762133837243771, 14);
    // normal_hl(largeEarlier, largeLater, 0.99) -> low 0.0499999999999935, high 0.9499999999999886
    const wider = hodgesLehmannShift(largeEarlier, largeLater, 0.99);
    expect(wider.low).toBeCloseTo(0.0499999999999935, 10);
    expect(wider.high).toBeCloseTo(0.9499999999999886, 10);
  });

  it("finds no shift and p = 1 between identical samples", () => {
    // p([5, 6, 7], [5, 6, 7], 'asymptotic') -> (4.5, 1.0)
    expect(hodgesLehmannShift([5, 6, 7], [5, 6, 7])).toMatchObject({ shift: 0, pValue: 1, method: "normal" });
  });

  it("collapses to a zero-width interval when every observation is the same", () => {
    expect(hodgesLehmannShift([30, 30], [30, 30, 30])).toMatchObject({
      shift: 0,
      low: 0,
      high: 0,
      pValue: 1,
    });
  });
});

describe("fisherExact", () => {
  it("reproduces Fisher's tea-tasting table, fisher.test(matrix(c(3, 1, 1, 3), 2)) p = 0.4857", () => {
    // fisher_exact([[3, 1], [1, 3]]) -> 0.48571428571428565;
    // fisher_exact([[3, 1], [1, 3]], alternative='greater') -> 0.24285714285714283
    const result = fisherExact(1, 4, 3, 4);
    expect(result.pValue).toBeCloseTo(0.4857, 4);
    expect(result.pValue).toBeCloseTo(0.48571428571428565, 14);
    expect(result.pGreater).toBeCloseTo(0.24285714285714283, 14);
  });

  it("does not call three timeouts in nine runs against none significant", () => {
    // fisher_exact([[3, 6], [0, 9]]) -> 0.20588235294117646;
    // fisher_exact([[3, 6], [0, 9]], alternative='greater') -> 0.10294117647058824
    const result = fisherExact(0, 9, 3, 9);
    expect(result.pValue).toBeCloseTo(0.20588235294117646, 14);
    expect(result.pGreater).toBeCloseTo(0.10294117647058824, 14);
    // fisher_exact([[0, 9], [3, 6]], alternative='greater') -> 1.0
    expect(fisherExact(3, 9, 0, 9).pGreater).toBeCloseTo(1, 14);
  });

  it("gives p = 1 when neither sample has an event", () => {
    // fisher_exact([[0, 9], [0, 9]]) -> 1.0 (either alternative)
    expect(fisherExact(0, 9, 0, 9)).toEqual({ pValue: 1, pGreater: 1 });
  });

  it("stays accurate for a thousand runs a side", () => {
    // fisher_exact([[160, 840], [120, 880]]) -> 0.011861898653907299;
    // fisher_exact([[160, 840], [120, 880]], alternative='greater') -> 0.0059309493269536495
    const result = fisherExact(120, 1000, 160, 1000);
    expectRelativelyClose(result.pValue, 0.011861898653907299, 1e-10);
    expectRelativelyClose(result.pGreater, 0.0059309493269536495, 1e-10);
  });
});

describe("input validation", () => {
  it("rejects empty samples and non-finite values", () => {
    expect(() => hodgesLehmannShift([], [1])).toThrow(RangeError);
    expect(() => hodgesLehmannShift([1], [])).toThrow(/later sample is empty/);
    expect(() => mannWhitneyPValue([1, Number.NaN], [2])).toThrow(/non-finite/);
    expect(() => hodgesLehmannShift([1], [Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });

  it("rejects a confidence outside (0, 1)", () => {
    for (const confidence of [0, 1, 1.5, -0.1, Number.NaN]) {
      expect(() => hodgesLehmannShift([1, 2], [3, 4], confidence)).toThrow(/confidence must be in \(0, 1\)/);
    }
  });

  it("rejects sample sizes that are not positive integers", () => {
    expect(() => mannWhitneyCdf(1, 2.5, 3)).toThrow(RangeError);
    expect(() => mannWhitneyCdf(1, 3, 0)).toThrow(/n must be an integer >= 1/);
    expect(() => mannWhitneyCdf(Number.NaN, 3, 3)).toThrow(RangeError);
  });

  it("rejects counts that are not integers, negative, or more events than runs", () => {
    expect(() => fisherExact(1.5, 9, 0, 9)).toThrow(RangeError);
    expect(() => fisherExact(-1, 9, 0, 9)).toThrow(RangeError);
    expect(() => fisherExact(0, 9, 10, 9)).toThrow(/laterEvents \(10\) exceeds laterTotal \(9\)/);
    expect(() => fisherExact(0, 0, 0, 9)).toThrow(/earlierTotal must be an integer >= 1/);
  });
});
