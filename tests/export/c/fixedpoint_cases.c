/* Hand-computed cases of the fixed-point helpers in fe_fixedpoint.h (TFLite / gemmlowp
 * semantics). Prints one line per failure and "ok N" at the end; exit status = failures. */
#include <stdio.h>

#include "fe_fixedpoint.h"

static int failures = 0;
static int checks = 0;

static void check(const char *what, long long found, long long expected) {
  ++checks;
  if (found != expected) {
    ++failures;
    printf("FAIL %s: found %lld, expected %lld\n", what, found, expected);
  }
}

/* TFLite's SaturatingRoundingDoublingHighMul exactly as written there (branch + division). */
static int32_t srdhm_reference(int32_t a, int32_t b) {
  const int64_t ab = (int64_t)a * (int64_t)b;
  const int64_t nudge = ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30));
  if (a == b && a == INT32_MIN) {
    return INT32_MAX;
  }
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* fe_srdhm (add + shift) against the reference on pseudo-random and edge operands. */
static void srdhm_sweep(void) {
  static const int32_t edges[] = {0, 1, -1, 2, -2, 1 << 30, -(1 << 30), INT32_MAX, INT32_MIN,
                                  INT32_MAX - 1, INT32_MIN + 1, 46341, -46341, 3, -3};
  const int n_edges = (int)(sizeof edges / sizeof edges[0]);
  uint32_t s = 12345u;
  int bad = 0;
  int i;
  int j;
  for (i = 0; i < n_edges; ++i) {
    for (j = 0; j < n_edges; ++j) {
      bad += fe_srdhm(edges[i], edges[j]) != srdhm_reference(edges[i], edges[j]);
    }
  }
  for (i = 0; i < 200000; ++i) {
    int32_t a;
    int32_t b;
    s = s * 1664525u + 1013904223u;
    a = (int32_t)s >> (s & 15u);
    s = s * 1664525u + 1013904223u;
    b = (int32_t)s >> (s & 7u);
    bad += fe_srdhm(a, b) != srdhm_reference(a, b);
  }
  check("srdhm equals the reference (branch + division) on 200225 pairs", bad, 0);
}

/* TFLite's RoundingDivideByPOT exactly as written there (mask, threshold, compare). */
static int32_t rdbpot_reference(int32_t x, int exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* fe_mbqm and fe_rq_apply (one nudged 64-bit shift on 64-bit hosts) against TFLite's
 * MultiplyByQuantizedMultiplier = rdbpot(srdhm(x << left, m), right) on pseudo-random and edge
 * x, multipliers in [2^30, 2^31) and below (MEAN folds 1 / count into it), 0, shifts -31..8. */
static void mbqm_sweep(void) {
  static const int32_t xs[] = {0, 1, -1, INT32_MAX, INT32_MIN, INT32_MIN + 1, 1 << 20, -(1 << 20),
                               255 << 20, -(255 << 20), 46341, -46341};
  static const int32_t ms[] = {1 << 30, (1 << 30) + 1, INT32_MAX, INT32_MAX - 1, 1518500250,
                               0, 1, 3, 12345, (1 << 29) + 7, (1 << 30) - 1};
  uint32_t s = 777u;
  int bad = 0;
  int i;
  int j;
  int shift;
  for (shift = -31; shift <= 8; ++shift) {
    for (i = 0; i < (int)(sizeof xs / sizeof xs[0]); ++i) {
      for (j = 0; j < (int)(sizeof ms / sizeof ms[0]); ++j) {
        const int left = shift > 0 ? shift : 0;
        const int32_t expected = rdbpot_reference(
            srdhm_reference((int32_t)((uint32_t)xs[i] << left), ms[j]), shift > 0 ? 0 : -shift);
        const fe_rq q = fe_rq_make(ms[j], shift);
        bad += fe_mbqm(xs[i], ms[j], shift) != expected;
        bad += fe_rq_apply(&q, xs[i]) != expected;
      }
    }
    for (i = 0; i < 5000; ++i) {
      int32_t x;
      int32_t m;
      int left = shift > 0 ? shift : 0;
      int32_t expected;
      fe_rq q;
      s = s * 1664525u + 1013904223u;
      x = (int32_t)s >> (s & 31u);
      s = s * 1664525u + 1013904223u;
      m = (i & 1) ? (int32_t)((1u << 30) | (s >> 2)) : (int32_t)(s >> (1 + (s & 15u)));
      expected = rdbpot_reference(srdhm_reference((int32_t)((uint32_t)x << left), m),
                                  shift > 0 ? 0 : -shift);
      q = fe_rq_make(m, shift);
      bad += fe_mbqm(x, m, shift) != expected;
      bad += fe_rq_apply(&q, x) != expected;
    }
  }
  check("mbqm and rq_apply equal the reference on 200000+ (x, m, shift)", bad, 0);
}

int main(void) {
  srdhm_sweep();
  mbqm_sweep();
  /* SaturatingRoundingDoublingHighMul: (a * b + nudge) / 2^31, nudge 2^30 or 1 - 2^30. */
  check("srdhm(MIN, MIN) saturates", fe_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
  check("srdhm(2^30, 2^30) = 2^29", fe_srdhm(1 << 30, 1 << 30), 1 << 29);
  check("srdhm(3, 2^30): 1.5 -> 2", fe_srdhm(3, 1 << 30), 2);
  check("srdhm(-3, 2^30): -1.5 -> -1", fe_srdhm(-3, 1 << 30), -1);
  check("srdhm(-1, 2^30): -0.5 -> 0", fe_srdhm(-1, 1 << 30), 0);
  check("srdhm(MAX, MAX)", fe_srdhm(INT32_MAX, INT32_MAX), 2147483646);
  check("srdhm(MIN, MAX)", fe_srdhm(INT32_MIN, INT32_MAX), -2147483647);
  check("srdhm(MAX, MIN)", fe_srdhm(INT32_MAX, INT32_MIN), -2147483647);
  /* RoundingDivideByPOT: ties away from zero. */
  check("rdbpot(5, 1): 2.5 -> 3", fe_rdbpot(5, 1), 3);
  check("rdbpot(-5, 1): -2.5 -> -3", fe_rdbpot(-5, 1), -3);
  check("rdbpot(6, 2): 1.5 -> 2", fe_rdbpot(6, 2), 2);
  check("rdbpot(-6, 2): -1.5 -> -2", fe_rdbpot(-6, 2), -2);
  check("rdbpot(7, 2): 1.75 -> 2", fe_rdbpot(7, 2), 2);
  check("rdbpot(-7, 2): -1.75 -> -2", fe_rdbpot(-7, 2), -2);
  check("rdbpot(-5, 2): -1.25 -> -1", fe_rdbpot(-5, 2), -1);
  check("rdbpot(x, 0) = x", fe_rdbpot(-123, 0), -123);
  check("rdbpot(MIN, 31) = -1", fe_rdbpot(INT32_MIN, 31), -1);
  check("rdbpot(MAX, 31) = 1", fe_rdbpot(INT32_MAX, 31), 1);
  /* MultiplyByQuantizedMultiplier: x * m / 2^31 * 2^shift, two roundings. */
  check("mbqm(100, 0.5, 0)", fe_mbqm(100, 1 << 30, 0), 50);
  check("mbqm(3, 0.5, 1)", fe_mbqm(3, 1 << 30, 1), 3);
  check("mbqm(1000, 0.5, -3): 62.5 -> 63", fe_mbqm(1000, 1 << 30, -3), 63);
  check("mbqm(-1000, 0.5, -3): -62.5 -> -63", fe_mbqm(-1000, 1 << 30, -3), -63);
  check("mbqm(-1, 0.5, 0): -0.5 -> 0", fe_mbqm(-1, 1 << 30, 0), 0);
  check("mbqm(1, 0.75, 0): 0.75 -> 1", fe_mbqm(1, 3 << 29, 0), 1);
  /* (multipliers are never INT32_MIN, so mbqm has no saturating case; srdhm keeps it) */
  check("mbqm(MIN, MAX, 0)", fe_mbqm(INT32_MIN, INT32_MAX, 0), -2147483647);
  /* SaturatingRoundingMultiplyByPOT. */
  check("srmpot(3, 2)", fe_srmpot(3, 2), 12);
  check("srmpot(2^29, 2) saturates", fe_srmpot(1 << 29, 2), INT32_MAX);
  check("srmpot(-2^29, 2) saturates", fe_srmpot(-(1 << 29), 2), INT32_MIN);
  check("srmpot(2^29 - 1, 2)", fe_srmpot((1 << 29) - 1, 2), 2147483644);
  check("srmpot(13, -2): 3.25 -> 3", fe_srmpot(13, -2), 3);
  check("srmpot(-14, -2): -3.5 -> -4", fe_srmpot(-14, -2), -4);
  check("srmpot(x, 0) = x", fe_srmpot(-77, 0), -77);
  /* exp(0) on negative values is exactly one (saturated Q0.31). */
  check("exp_on_negative(0)", fe_exp_on_negative(0, 5), INT32_MAX);
  printf("ok %d\n", checks - failures);
  return failures;
}
