/* Helium (MVE, Cortex-M55) micro-kernels shared by FULLY_CONNECTED, BATCH_MATMUL and CONV_2D
 * (fe_gemm_mve.h drives them). Compiled only with FE_KERNELS_MVE (fe_kernels.h: the core has
 * integer MVE and FE_KERNELS_PORTABLE is not defined); bit-identical to the portable path.
 *
 * - fe_mve_dot4: four int8 rows (w, w + ws, w + 2 ws, w + 3 ws) against one int8 vector x, 16
 *   lanes a step: one VLDRB of x, four of weights and four VMLADAVA.S8 (each: 16 exact int16
 *   products summed into an int32 scalar; the int32 sum is order-independent, so it equals
 *   the portable loop's). The last n % 16 lanes by tail-predicated loads (VCTP.8 + VLDRB
 *   zeroing the inactive lanes, which are never read from memory). An input offset o is the
 *   term o * sum(w), as VMLADAVA of a vector of o and the same weight vector (one more per
 *   row; o = 128, outside int8, as 64 + 64). fe_mve_dot1: one row. fe_mve_dot2x3: two inputs
 *   against three rows (each loaded vector used two or three times), no offset.
 * - fe_mve_cols16: sum_k a_k * b[k][j] for 16 neighbouring columns j (BATCH_MATMUL's rhs
 *   stored [k][j]): per k four widening loads (VLDRB.S32) and four VMLA.S32 by the scalar a_k
 *   into four int32x4 sums; a tail of fewer columns by predicated loads.
 * - fe_mve_requant4: TFLite's MultiplyByQuantizedMultiplier (double rounding) on four int32
 *   lanes, as CMSIS-NN's Helium code does it: x << left (wrapping), VQRDMULH (= TFLite's
 *   SaturatingRoundingDoublingHighMul: floor((2 x m + 2^31) / 2^32), saturated), then
 *   RoundingDivideByPOT as VRSHL (round half up) after subtracting 1 from negative values when
 *   the shift is not 0 (turning half-up into half-away-from-zero); output offset, clamp, and a
 *   narrowing store (VSTRB.32) of the active lanes.
 */
#ifndef FE_DOT_MVE_H
#define FE_DOT_MVE_H

#include <stdint.h>

#include "fe_fixedpoint.h"
#include "fe_kernels.h"

#if FE_KERNELS_MVE
#include <arm_mve.h>

/* An input offset o as o1 + o2, both in int8 range (o2 = 0 unless o = 128). */
typedef struct {
  int8x16_t o1;
  int8x16_t o2;
  int32_t split; /* 1 when o2 is needed */
} fe_mve_off;

FE_INLINE fe_mve_off fe_mve_off_make(int32_t off) {
  fe_mve_off o;
  o.split = off > 127 || off < -128;
  o.o1 = vdupq_n_s8((int8_t)(o.split ? off / 2 : off));
  o.o2 = vdupq_n_s8((int8_t)(o.split ? off - off / 2 : 0));
  return o;
}

/* Offset terms of one step: none; o * w as one VMLADAVA; o = 128 as two (o1 = o2 = 64). */
#define FE_MVE_OFF0 (void)0
#define FE_MVE_OFF1                 \
  s0 = vmladavaq_s8(s0, o.o1, w0_); \
  s1 = vmladavaq_s8(s1, o.o1, w1_); \
  s2 = vmladavaq_s8(s2, o.o1, w2_); \
  s3 = vmladavaq_s8(s3, o.o1, w3_)
#define FE_MVE_OFF2                 \
  FE_MVE_OFF1;                      \
  s0 = vmladavaq_s8(s0, o.o2, w0_); \
  s1 = vmladavaq_s8(s1, o.o2, w1_); \
  s2 = vmladavaq_s8(s2, o.o2, w2_); \
  s3 = vmladavaq_s8(s3, o.o2, w3_)

/* One 16-lane step of four rows: x vector XV, weights loaded by LD(pointer), offset OFF. */
#define FE_MVE_DOT4_STEP(XV, LD, OFF) \
  do {                                \
    const int8x16_t w0_ = LD(w0);     \
    const int8x16_t w1_ = LD(w1);     \
    const int8x16_t w2_ = LD(w2);     \
    const int8x16_t w3_ = LD(w3);     \
    s0 = vmladavaq_s8(s0, XV, w0_);   \
    s1 = vmladavaq_s8(s1, XV, w1_);   \
    s2 = vmladavaq_s8(s2, XV, w2_);   \
    s3 = vmladavaq_s8(s3, XV, w3_);   \
    OFF;                              \
  } while (0)

#define FE_MVE_LD(P) vld1q_s8(P)
#define FE_MVE_LDZ(P) vldrbq_z_s8(P, tail_)

/* The whole n-loop of four rows with offset terms OFF: full steps, then the predicated tail. */
#define FE_MVE_DOT4_LOOP(OFF)                                                \
  do {                                                                       \
    for (; x < end; x += 16, w0 += 16, w1 += 16, w2 += 16, w3 += 16) {       \
      const int8x16_t xv_ = vld1q_s8(x);                                     \
      FE_MVE_DOT4_STEP(xv_, FE_MVE_LD, OFF);                                 \
    }                                                                        \
    if (rem != 0) {                                                          \
      const mve_pred16_t tail_ = vctp8q((uint32_t)rem);                      \
      const int8x16_t xv_ = vldrbq_z_s8(x, tail_);                           \
      FE_MVE_DOT4_STEP(xv_, FE_MVE_LDZ, OFF);                                \
    }                                                                        \
  } while (0)

/* acc[r] += sum_k (x[k] + x_off) * w[r * ws + k], r = 0..3, k < n. */
static inline void fe_mve_dot4(const int8_t *x, const int8_t *w, int32_t ws, int32_t n,
                               int32_t x_off, int32_t acc[4]) {
  const int8_t *w0 = w, *w1 = w + ws, *w2 = w + 2 * ws, *w3 = w + 3 * ws;
  const int8_t *end = x + (n & ~15);
  const int32_t rem = n & 15;
  const fe_mve_off o = fe_mve_off_make(x_off);
  int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
  if (x_off == 0) {
    FE_MVE_DOT4_LOOP(FE_MVE_OFF0);
  } else if (!o.split) {
    FE_MVE_DOT4_LOOP(FE_MVE_OFF1);
  } else {
    FE_MVE_DOT4_LOOP(FE_MVE_OFF2);
  }
  acc[0] = s0;
  acc[1] = s1;
  acc[2] = s2;
  acc[3] = s3;
}

#undef FE_MVE_DOT4_LOOP
#undef FE_MVE_DOT4_STEP
#undef FE_MVE_OFF0
#undef FE_MVE_OFF1
#undef FE_MVE_OFF2

/* One 16-lane step of two inputs against three rows, loads by LD(pointer). */
#define FE_MVE_DOT2X3_STEP(LD)            \
  do {                                    \
    const int8x16_t xa_ = LD(x0);         \
    const int8x16_t xb_ = LD(x1);         \
    const int8x16_t v0_ = LD(w0);         \
    const int8x16_t v1_ = LD(w1);         \
    const int8x16_t v2_ = LD(w2);         \
    a0 = vmladavaq_s8(a0, xa_, v0_);      \
    b0 = vmladavaq_s8(b0, xb_, v0_);      \
    a1 = vmladavaq_s8(a1, xa_, v1_);      \
    b1 = vmladavaq_s8(b1, xb_, v1_);      \
    a2 = vmladavaq_s8(a2, xa_, v2_);      \
    b2 = vmladavaq_s8(b2, xb_, v2_);      \
  } while (0)

/* Two inputs x0, x1 against three rows w0, w1, w2, n values each, no offset: sa[r] = x0.wr,
 * sb[r] = x1.wr. Per 16 lanes five loads and six VMLADAVA (six sums, five pointers and the
 * loop count fit the core registers). */
static inline void fe_mve_dot2x3(const int8_t *x0, const int8_t *x1, const int8_t *w0,
                                 const int8_t *w1, const int8_t *w2, int32_t n, int32_t sa[3],
                                 int32_t sb[3]) {
  int32_t a0 = 0, a1 = 0, a2 = 0, b0 = 0, b1 = 0, b2 = 0;
  int32_t steps;
  for (steps = n >> 4; steps > 0; --steps) {
    FE_MVE_DOT2X3_STEP(FE_MVE_LD);
    x0 += 16;
    x1 += 16;
    w0 += 16;
    w1 += 16;
    w2 += 16;
  }
  if ((n & 15) != 0) {
    const mve_pred16_t tail_ = vctp8q((uint32_t)(n & 15));
    FE_MVE_DOT2X3_STEP(FE_MVE_LDZ);
  }
  sa[0] = a0;
  sa[1] = a1;
  sa[2] = a2;
  sb[0] = b0;
  sb[1] = b1;
  sb[2] = b2;
}

#undef FE_MVE_DOT2X3_STEP

/* sum_k (x[k] + x_off) * w[k], k < n (predicated steps: one row of a tail). */
static inline int32_t fe_mve_dot1(const int8_t *x, const int8_t *w, int32_t n, int32_t x_off) {
  const fe_mve_off o = fe_mve_off_make(x_off);
  int32_t s = 0;
  if (x_off == 0) {
    for (; n > 0; n -= 16, x += 16, w += 16) {
      const mve_pred16_t p = vctp8q((uint32_t)n);
      s = vmladavaq_s8(s, vldrbq_z_s8(x, p), vldrbq_z_s8(w, p));
    }
    return s;
  }
  for (; n > 0; n -= 16, x += 16, w += 16) {
    const mve_pred16_t p = vctp8q((uint32_t)n);
    const int8x16_t wv = vldrbq_z_s8(w, p);
    s = vmladavaq_s8(s, vldrbq_z_s8(x, p), wv);
    s = vmladavaq_s8(vmladavaq_s8(s, o.o1, wv), o.o2, wv);
  }
  return s;
}

#undef FE_MVE_LD
#undef FE_MVE_LDZ

/* acc[j] += sum_k (a[k] + a_off) * b[k * bs + j] for j < cols (cols <= 16), k < n: acc as
 * four int32x4 (columns 0-3, 4-7, 8-11, 12-15). */
FE_INLINE void fe_mve_cols16(const int8_t *a, int32_t a_off, const int8_t *b, int32_t bs,
                             int32_t n, int32_t cols, int32x4_t acc[4]) {
  int32x4_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
  int32_t k;
  if (cols == 16) {
    for (k = 0; k < n; ++k, b += bs) {
      const int32_t ak = (int32_t)a[k] + a_off;
      s0 = vmlaq_n_s32(s0, vldrbq_s32(b), ak);
      s1 = vmlaq_n_s32(s1, vldrbq_s32(b + 4), ak);
      s2 = vmlaq_n_s32(s2, vldrbq_s32(b + 8), ak);
      s3 = vmlaq_n_s32(s3, vldrbq_s32(b + 12), ak);
    }
  } else {
    const mve_pred16_t p0 = vctp32q((uint32_t)cols);
    const mve_pred16_t p1 = vctp32q((uint32_t)(cols > 4 ? cols - 4 : 0));
    const mve_pred16_t p2 = vctp32q((uint32_t)(cols > 8 ? cols - 8 : 0));
    const mve_pred16_t p3 = vctp32q((uint32_t)(cols > 12 ? cols - 12 : 0));
    for (k = 0; k < n; ++k, b += bs) {
      const int32_t ak = (int32_t)a[k] + a_off;
      s0 = vmlaq_n_s32(s0, vldrbq_z_s32(b, p0), ak);
      s1 = vmlaq_n_s32(s1, vldrbq_z_s32(b + 4, p1), ak);
      s2 = vmlaq_n_s32(s2, vldrbq_z_s32(b + 8, p2), ak);
      s3 = vmlaq_n_s32(s3, vldrbq_z_s32(b + 12, p3), ak);
    }
  }
  acc[0] = s0;
  acc[1] = s1;
  acc[2] = s2;
  acc[3] = s3;
}

/* Requantization of four lanes: multipliers and shifts per lane. */
typedef struct {
  int32x4_t mult;
  int32x4_t left;  /* shift > 0 ? shift : 0 */
  int32x4_t right; /* shift < 0 ? shift : 0 (a right shift by -right) */
} fe_mve_rq;

FE_INLINE fe_mve_rq fe_mve_rq_make(int32x4_t mult, int32x4_t shift) {
  fe_mve_rq q;
  q.mult = mult;
  q.left = vmaxq_s32(shift, vdupq_n_s32(0));
  q.right = vminq_s32(shift, vdupq_n_s32(0));
  return q;
}

/* Lanes of x times their multipliers and 2^shift: TFLite's MultiplyByQuantizedMultiplier
 * (double rounding), exactly. */
FE_INLINE int32x4_t fe_mve_mbqm4(int32x4_t x, const fe_mve_rq *q) {
  int32x4_t v = vqrdmulhq_s32(vshlq_s32(x, q->left), q->mult);
  v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, q->right), 31));
  return vrshlq_s32(v, q->right);
}

/* Lanes of acc requantized (TFLite's double rounding), plus out_offset, clamped to [lo, hi]. */
FE_INLINE int32x4_t fe_mve_requant4(int32x4_t acc, const fe_mve_rq *q, int32_t out_offset,
                                    int32_t lo, int32_t hi) {
  const int32x4_t v = vaddq_n_s32(fe_mve_mbqm4(acc, q), out_offset);
  return vminq_s32(vmaxq_s32(v, vdupq_n_s32(lo)), vdupq_n_s32(hi));
}

/* Four scalars as one vector. */
FE_INLINE int32x4_t fe_mve_vec4(const int32_t s[4]) {
  int32x4_t v = vdupq_n_s32(s[0]);
  v = vsetq_lane_s32(s[1], v, 1);
  v = vsetq_lane_s32(s[2], v, 2);
  return vsetq_lane_s32(s[3], v, 3);
}

#endif /* FE_KERNELS_MVE */

#endif /* FE_DOT_MVE_H */
