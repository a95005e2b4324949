/* Fixed-point integer arithmetic of TFLite's reference kernels (gemmlowp style), in C99.
 *
 * These helpers reproduce, bit for bit, the integer arithmetic TFLite Micro's reference int8
 * kernels use: SaturatingRoundingDoublingHighMul, RoundingDivideByPOT,
 * MultiplyByQuantizedMultiplier (double rounding, the default build without
 * TFLITE_SINGLE_ROUNDING), SaturatingRoundingMultiplyByPOT and the gemmlowp exp / reciprocal
 * / inverse square root approximations. Written from the published algorithm descriptions.
 * Right shifts of negative values are arithmetic on every compiler this project supports (GCC).
 */
#ifndef FE_FIXEDPOINT_H
#define FE_FIXEDPOINT_H

#include <stdint.h>

/* static inline, and forced inline on GCC/Clang: the per-output requantization helpers sit in
 * the innermost loops, where a call costs as much as the arithmetic. */
#if defined(__GNUC__)
#define FE_INLINE static inline __attribute__((always_inline))
#else
#define FE_INLINE static inline
#endif

/* Round-to-nearest high 32 bits of 2*a*b, saturating the single overflow case.
 * TFLite computes (ab + nudge) / 2^31 truncated toward zero with nudge = 2^30 for ab >= 0
 * and 1 - 2^30 for ab < 0. Both cases equal floor((ab + 2^30) / 2^31): for ab >= 0 the
 * quotient is non-negative (truncation = floor); for ab < 0, y = ab + 1 - 2^30 < 0 and
 * trunc(y / 2^31) = ceil(y / 2^31) = floor((y + 2^31 - 1) / 2^31) = floor((ab + 2^30) / 2^31).
 * So one add and one arithmetic shift replace the branch and the signed division. */
FE_INLINE int32_t fe_srdhm(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) {
    return INT32_MAX;
  }
  return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* x / 2^exponent rounded to nearest, ties away from zero. */
FE_INLINE int32_t fe_rdbpot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* fe_srdhm for b != INT32_MIN (every quantized multiplier: 0 or in [2^30, 2^31)), where the
 * saturating case a == b == INT32_MIN cannot occur. */
FE_INLINE int32_t fe_srdhm_m(int32_t a, int32_t b) {
  return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* 1 on 64-bit hosts, where one 64-bit add and shift are as cheap as 32-bit ones: the two
 * roundings of a requantization (srdhm, then rdbpot) become one nudged 64-bit shift. */
#if defined(__x86_64__) || defined(__aarch64__)
#define FE_WIDE_REQUANT 1
#else
#define FE_WIDE_REQUANT 0
#endif

/* A quantized multiplier and shift unpacked once, outside an elementwise loop.
 * Wide form: with t = x * m + 2^30 (so srdhm = floor(t / 2^31), negative iff t < 0) and
 * r = right > 0, rdbpot(floor(t / 2^31), r) = floor((floor(t / 2^31) + c) / 2^r) with
 * c = 2^(r-1) - [t < 0], and floor((floor(a / b) + c) / d) = floor((a + c b) / (b d)) for
 * integers, so the result is (t + 2^(30+r) - [t < 0] 2^31) >> (31 + r); r = 0: t >> 31.
 * |t| < 2^62 and the nudge < 2^62: no int64 overflow. */
typedef struct {
  int32_t multiplier; /* Q0.31, never INT32_MIN */
  int left;           /* left shift before the multiply (shift > 0) */
  int right;          /* rounding right shift after it (shift < 0) */
  int32_t mask;       /* (1 << right) - 1 */
  int32_t half;       /* mask >> 1 */
  int64_t up;         /* wide form: 2^(30 + right) when right > 0, else 0 */
  int64_t neg;        /* wide form: 2^31 when right > 0, else 0 */
} fe_rq;

FE_INLINE fe_rq fe_rq_make(int32_t multiplier, int shift) {
  fe_rq q;
  q.multiplier = multiplier;
  q.left = shift > 0 ? shift : 0;
  q.right = shift > 0 ? 0 : -shift;
  q.mask = (int32_t)(((int64_t)1 << q.right) - 1);
  q.half = q.mask >> 1;
  q.up = q.right > 0 ? (int64_t)1 << (30 + q.right) : 0;
  q.neg = q.right > 0 ? (int64_t)1 << 31 : 0;
  return q;
}

/* x * multiplier * 2^shift as TFLite's MultiplyByQuantizedMultiplier (double rounding), with
 * the shift unpacked by fe_rq_make. */
FE_INLINE int32_t fe_rq_apply(const fe_rq *q, int32_t x) {
#if FE_WIDE_REQUANT
  const int64_t t =
      (int64_t)(int32_t)((uint32_t)x << q->left) * q->multiplier + ((int64_t)1 << 30);
  return (int32_t)((t + q->up - ((t >> 63) & q->neg)) >> (31 + q->right));
#else
  const int32_t h = fe_srdhm_m((int32_t)((uint32_t)x << q->left), q->multiplier);
  return (h >> q->right) + ((h & q->mask) > q->half + (h < 0 ? 1 : 0) ? 1 : 0);
#endif
}

/* x * multiplier * 2^shift (TFLite's MultiplyByQuantizedMultiplier, double rounding).
 * multiplier is a quantized multiplier (never INT32_MIN). */
FE_INLINE int32_t fe_mbqm(int32_t x, int32_t multiplier, int shift) {
#if FE_WIDE_REQUANT
  const fe_rq q = fe_rq_make(multiplier, shift);
  return fe_rq_apply(&q, x);
#else
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return fe_rdbpot(fe_srdhm_m((int32_t)((uint32_t)x << left), multiplier), right);
#endif
}

/* Saturating x * 2^exponent for exponent > 0, rounding division for exponent < 0. */
static inline int32_t fe_srmpot(int32_t x, int exponent) {
  int32_t threshold;
  if (exponent == 0) {
    return x;
  }
  if (exponent < 0) {
    return fe_rdbpot(x, -exponent);
  }
  threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
  if (x > threshold) {
    return INT32_MAX;
  }
  if (x < -threshold) {
    return INT32_MIN;
  }
  return (int32_t)((uint32_t)x << exponent);
}

/* Wrapping int32 addition (gemmlowp adds raw values without saturation). */
static inline int32_t fe_add_wrap(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* Wrapping int32 subtraction. */
static inline int32_t fe_sub_wrap(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* Number of leading zero bits of a 32-bit value (32 for zero). */
static inline int fe_clz32(uint32_t x) {
  int n = 0;
  if (x == 0u) {
    return 32;
  }
  while ((x & 0x80000000u) == 0u) {
    x <<= 1;
    ++n;
  }
  return n;
}

FE_INLINE int32_t fe_clamp(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
int32_t fe_exp_quarter_q0(int32_t a);
/* exp(a) for a <= 0 given with `integer_bits` integer bits; result Q0.31. */
int32_t fe_exp_on_negative(int32_t a, int integer_bits);
/* 1 / (1 + x) for x in [0, 1), Q0.31 in and out. */
int32_t fe_one_over_one_plus_x(int32_t a);
/* 1/sqrt(input) as a quantized multiplier and shift (TFLite GetInvSqrtQuantizedMultiplierExp). */
void fe_inv_sqrt_multiplier(int32_t input, int reverse_shift, int32_t *multiplier, int *shift);

#endif /* FE_FIXEDPOINT_H */
