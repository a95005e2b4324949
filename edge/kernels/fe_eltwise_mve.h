/* Helium (MVE, Cortex-M55) rows of the elementwise family: ADD / SUB (add.c) and MUL (mul.c)
 * over a row whose inputs are each contiguous or broadcast (stride 1 or 0; other strides stay
 * on the scalar path). Four outputs per step as int32 lanes: widening loads (VLDRB.S32), the
 * offsets, TFLite's integer arithmetic with fe_mbqm4's exact double-rounding multiply, clamp,
 * narrowing store (VSTRB.32); the last 1-3 outputs by predicated loads and stores. A
 * broadcast input is rescaled once per row. Each step reads its four inputs before writing its
 * four outputs, in raster order, so in-place and slid outputs stay safe. Compiled only with
 * FE_KERNELS_MVE.
 */
#ifndef FE_ELTWISE_MVE_H
#define FE_ELTWISE_MVE_H

#include <stdint.h>

#include "fe_dot_mve.h"
#include "fe_kernels.h"

#if FE_KERNELS_MVE

/* Loads and stores of one step: whole (LD / ST) or the predicated tail (LDZ / STP). */
#define FE_MVE_LD32(P) vldrbq_s32(P)
#define FE_MVE_LDZ32(P) vldrbq_z_s32(P, tail_)
#define FE_MVE_ST32(P, V) vstrbq_s32(P, V)
#define FE_MVE_STP32(P, V) vstrbq_p_s32(P, V, tail_)

/* Runs STEP(LD, ST, i) over n outputs: steps of 4, then one predicated step. */
#define FE_MVE_ROW(n, STEP)                                   \
  do {                                                        \
    int32_t i_ = 0;                                           \
    for (; i_ + 4 <= (n); i_ += 4) {                          \
      STEP(FE_MVE_LD32, FE_MVE_ST32, i_);                     \
    }                                                         \
    if (i_ < (n)) {                                           \
      const mve_pred16_t tail_ = vctp32q((uint32_t)((n) - i_)); \
      STEP(FE_MVE_LDZ32, FE_MVE_STP32, i_);                   \
    }                                                         \
  } while (0)

/* ADD / SUB constants, unpacked once per call. */
typedef struct {
  fe_mve_rq in1, in2, out; /* input rescales, output requantization */
  int32_t off1, off2, left_shift, out_offset, lo, hi;
  int32_t sub;             /* 1 for SUB */
} fe_mve_add_k;

FE_INLINE fe_mve_add_k fe_mve_add_make(const fe_add_params *p) {
  fe_mve_add_k k;
  k.in1 = fe_mve_rq_make(vdupq_n_s32(p->input1_multiplier), vdupq_n_s32(p->input1_shift));
  k.in2 = fe_mve_rq_make(vdupq_n_s32(p->input2_multiplier), vdupq_n_s32(p->input2_shift));
  k.out = fe_mve_rq_make(vdupq_n_s32(p->output_multiplier), vdupq_n_s32(p->output_shift));
  k.off1 = p->input1_offset;
  k.off2 = p->input2_offset;
  k.left_shift = p->left_shift;
  k.out_offset = p->output_offset;
  k.lo = p->act_min;
  k.hi = p->act_max;
  k.sub = p->sign < 0;
  return k;
}

/* ((x + off) << left_shift) rescaled by q (TFLite's MultiplyByQuantizedMultiplier). */
FE_INLINE int32x4_t fe_mve_rescale(const fe_mve_add_k *k, const fe_mve_rq *q, int32x4_t x,
                                   int32_t off) {
  return fe_mve_mbqm4(vshlq_r_s32(vaddq_n_s32(x, off), k->left_shift), q);
}

/* The output of raw sums s. */
FE_INLINE int32x4_t fe_mve_add_out(const fe_mve_add_k *k, int32x4_t s) {
  return fe_mve_requant4(s, &k->out, k->out_offset, k->lo, k->hi);
}

/* n outputs of ADD / SUB from a[i * sa] and b[i * sb], sa and sb 0 or 1 (not both 0). */
static inline void fe_mve_add_row(const fe_mve_add_k *k, const int8_t *a, int32_t sa,
                                  const int8_t *b, int32_t sb, int8_t *out, int32_t n) {
  if (sa == 0 || sb == 0) { /* one input broadcast: rescaled once, signed for SUB */
    const int32x4_t one = fe_mve_rescale(k, sa == 0 ? &k->in1 : &k->in2,
                                         vdupq_n_s32(sa == 0 ? *a : *b),
                                         sa == 0 ? k->off1 : k->off2);
    const int8_t *x = sa == 0 ? b : a;
    const fe_mve_rq *q = sa == 0 ? &k->in2 : &k->in1;
    const int32_t off = sa == 0 ? k->off2 : k->off1;
    /* SUB: a broadcast gives one - x; b broadcast x + (-one) */
    const int32x4_t c = k->sub && sa != 0 ? vnegq_s32(one) : one;
#define FE_MVE_ADD_BCAST(LD, ST, i) \
  ST(out + (i), fe_mve_add_out(k, vaddq_s32(c, fe_mve_rescale(k, q, LD(x + (i)), off))))
#define FE_MVE_SUB_BCAST(LD, ST, i) \
  ST(out + (i), fe_mve_add_out(k, vsubq_s32(c, fe_mve_rescale(k, q, LD(x + (i)), off))))
    if (k->sub && sa == 0) {
      FE_MVE_ROW(n, FE_MVE_SUB_BCAST);
    } else {
      FE_MVE_ROW(n, FE_MVE_ADD_BCAST);
    }
#undef FE_MVE_ADD_BCAST
#undef FE_MVE_SUB_BCAST
    return;
  }
#define FE_MVE_ADD_STEP(LD, ST, OP, i)                                     \
  ST(out + (i), fe_mve_add_out(k, OP(fe_mve_rescale(k, &k->in1, LD(a + (i)), k->off1), \
                                     fe_mve_rescale(k, &k->in2, LD(b + (i)), k->off2))))
#define FE_MVE_ADD_ROWS(LD, ST, i) FE_MVE_ADD_STEP(LD, ST, vaddq_s32, i)
#define FE_MVE_SUB_ROWS(LD, ST, i) FE_MVE_ADD_STEP(LD, ST, vsubq_s32, i)
  if (k->sub) {
    FE_MVE_ROW(n, FE_MVE_SUB_ROWS);
  } else {
    FE_MVE_ROW(n, FE_MVE_ADD_ROWS);
  }
#undef FE_MVE_ADD_STEP
#undef FE_MVE_ADD_ROWS
#undef FE_MVE_SUB_ROWS
}

/* MUL constants, unpacked once per call. */
typedef struct {
  fe_mve_rq out;
  int32_t off1, off2, out_offset, lo, hi;
} fe_mve_mul_k;

FE_INLINE fe_mve_mul_k fe_mve_mul_make(const fe_mul_params *p) {
  fe_mve_mul_k k;
  k.out = fe_mve_rq_make(vdupq_n_s32(p->output_multiplier), vdupq_n_s32(p->output_shift));
  k.off1 = p->input1_offset;
  k.off2 = p->input2_offset;
  k.out_offset = p->output_offset;
  k.lo = p->act_min;
  k.hi = p->act_max;
  return k;
}

/* n outputs of MUL from a[i * sa] and b[i * sb], sa and sb 0 or 1 (not both 0). */
static inline void fe_mve_mul_row(const fe_mve_mul_k *k, const int8_t *a, int32_t sa,
                                  const int8_t *b, int32_t sb, int8_t *out, int32_t n) {
  if (sa == 0 || sb == 0) { /* one input broadcast: a scalar factor */
    const int32_t f = sa == 0 ? (int32_t)*a + k->off1 : (int32_t)*b + k->off2;
    const int8_t *x = sa == 0 ? b : a;
    const int32_t off = sa == 0 ? k->off2 : k->off1;
#define FE_MVE_MUL_BCAST(LD, ST, i)                                                     \
  ST(out + (i), fe_mve_requant4(vmulq_n_s32(vaddq_n_s32(LD(x + (i)), off), f), &k->out, \
                                k->out_offset, k->lo, k->hi))
    FE_MVE_ROW(n, FE_MVE_MUL_BCAST);
#undef FE_MVE_MUL_BCAST
    return;
  }
#define FE_MVE_MUL_STEP(LD, ST, i)                                                        \
  ST(out + (i), fe_mve_requant4(vmulq_s32(vaddq_n_s32(LD(a + (i)), k->off1),             \
                                          vaddq_n_s32(LD(b + (i)), k->off2)),            \
                                &k->out, k->out_offset, k->lo, k->hi))
  FE_MVE_ROW(n, FE_MVE_MUL_STEP);
#undef FE_MVE_MUL_STEP
}

#undef FE_MVE_ROW
#undef FE_MVE_LD32
#undef FE_MVE_LDZ32
#undef FE_MVE_ST32
#undef FE_MVE_STP32

#endif /* FE_KERNELS_MVE */

#endif /* FE_ELTWISE_MVE_H */
