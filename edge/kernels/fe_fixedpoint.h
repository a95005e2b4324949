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

/* 1 on 64-bit hosts, where a variable 64-bit shift is one instruction. */
#if defined(__x86_64__) || defined(__aarch64__)
#define FE_WIDE_REQUANT 1
#else
#define FE_WIDE_REQUANT 0
#endif

/* A quantized multiplier (>= 0) and shift unpacked once, outside a loop, for one-rounding
 * requantization. With t = x' m + 2^30 (x' = x << left), TFLite's srdhm is floor(t / 2^31),
 * negative iff t < 0, and for r = right > 0 rdbpot(floor(t / 2^31), r) =
 * floor((floor(t / 2^31) + c) / 2^r) with c = 2^(r-1) - [t < 0]; since
 * floor((floor(a / b) + c) / d) = floor((a + c b) / (b d)), the result is
 * (x' m + 2^30 + 2^(30+r) - [t < 0] 2^31) >> (31 + r), and t >> 31 when r = 0. For m > 0,
 * t < 0 iff x' < -floor(2^30 / m) (m = 0: never), so the nudge is picked by one 32-bit
 * compare before a single multiply-accumulate; |x' m| < 2^62 and the nudge < 2^62. */
typedef struct {
  int32_t multiplier; /* >= 0: 0 or a Q0.31 multiplier (any positive value is exact) */
  int left;           /* left shift before the multiply (shift > 0) */
  int right;          /* rounding right shift after it (shift < 0) */
  int32_t x_neg;      /* t < 0 iff x' < x_neg */
  int64_t nudge;      /* 2^30 + (right > 0 ? 2^(30 + right) : 0) */
  int64_t nudge_neg;  /* nudge - (right > 0 ? 2^31 : 0) */
} fe_rq;

FE_INLINE fe_rq fe_rq_make(int32_t multiplier, int shift) {
  fe_rq q;
  q.multiplier = multiplier;
  q.left = shift > 0 ? shift : 0;
  q.right = shift > 0 ? 0 : -shift;
  q.x_neg = multiplier > 0 ? -(int32_t)(((int32_t)1 << 30) / multiplier) : INT32_MIN;
  q.nudge = ((int64_t)1 << 30) + (q.right > 0 ? (int64_t)1 << (30 + q.right) : 0);
  q.nudge_neg = q.nudge - (q.right > 0 ? (int64_t)1 << 31 : 0);
  return q;
}

/* x * multiplier * 2^shift, equal to TFLite's MultiplyByQuantizedMultiplier (double rounding),
 * with the shift unpacked by fe_rq_make. */
FE_INLINE int32_t fe_rq_apply(const fe_rq *q, int32_t x) {
  const int32_t xs = (int32_t)((uint32_t)x << q->left);
  const int64_t t = (int64_t)xs * q->multiplier + (xs < q->x_neg ? q->nudge_neg : q->nudge);
#if FE_WIDE_REQUANT
  return (int32_t)(t >> (31 + q->right));
#else
  return q->right > 0 ? (int32_t)(t >> 32) >> (q->right - 1) : (int32_t)(t >> 31);
#endif
}

/* x * multiplier * 2^shift (TFLite's MultiplyByQuantizedMultiplier, double rounding) for a
 * multiplier >= 0 (every requantization multiplier of the code generator), when the multiplier
 * changes from call to call (per-channel outputs). 64-bit hosts: the one-rounding form above
 * with the sign of t read from t itself; 32-bit cores: TFLite's two steps (cheaper there than
 * a 64-bit add and variable shift). */
FE_INLINE int32_t fe_mbqm(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
#if FE_WIDE_REQUANT
  const int64_t t = (int64_t)(int32_t)((uint32_t)x << left) * multiplier + ((int64_t)1 << 30);
  const int64_t up = right > 0 ? (int64_t)1 << (30 + right) : 0;
  const int64_t neg = right > 0 ? (int64_t)1 << 31 : 0;
  return (int32_t)((t + up - ((t >> 63) & neg)) >> (31 + right));
#else
  return fe_rdbpot(fe_srdhm_m((int32_t)((uint32_t)x << left), multiplier), right);
#endif
}

/* fe_mbqm for a multiplier of either sign (LEAKY_RELU's alpha may be negative): TFLite's two
 * steps as written. */
FE_INLINE int32_t fe_mbqm_signed(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return fe_rdbpot(fe_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
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
