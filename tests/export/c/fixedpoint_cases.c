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

int main(void) {
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
  check("mbqm(MIN, MIN, 0) saturates", fe_mbqm(INT32_MIN, INT32_MIN, 0), INT32_MAX);
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
