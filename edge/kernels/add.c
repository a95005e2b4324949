/* ADD and SUB int8 with broadcast, as TFLite's reference integer kernels: both inputs are
 * rescaled to twice the larger input scale after a left shift, summed, then requantized.
 *
 * The parameters are unpacked into locals once (an int8 store may alias the params struct, so
 * fields read in the loop would be reloaded after every output byte). Per row: an input that
 * is broadcast along the row is rescaled once; inputs of equal scale (multiplier 2^30, shift
 * 0) skip the rescale, which is then exact: srdhm((x + zp) << s, 2^30) = (x + zp) << (s - 1)
 * because (x + zp) << s is even. On Helium cores (FE_KERNELS_MVE) rows whose inputs are
 * contiguous or broadcast go to fe_eltwise_mve.h, four outputs per step; on DSP cores the
 * three requantizations are SMMULR-based (fe_rqd, fe_dot.h) when their shifts allow. */
#include "fe_dot.h"
#include "fe_eltwise_mve.h"
#include "fe_internal.h"

typedef struct {
  int32_t off1, off2, left_shift, out_offset, lo, hi, sign;
  fe_rq in1, in2, out;
  int exact; /* 1: both input rescales are the identity halving (equal input scales) */
#if FE_KERNELS_ACLE
  int dsp;   /* 1: the three requantizations as fe_rqd (SMMULR) */
  fe_rqd din1, din2, dout;
#endif
} add_consts;

/* One requantization: fe_rqd on DSP cores (dsp, a constant where add_row_as inlines it),
 * else the nudged multiply-accumulate. */
#if FE_KERNELS_ACLE
#define ADD_RQ(K, DSP, Q, X) ((DSP) ? fe_rqd_apply(&(K)->d##Q, (X)) : fe_rq_apply(&(K)->Q, (X)))
#else
#define ADD_RQ(K, DSP, Q, X) ((void)(DSP), fe_rq_apply(&(K)->Q, (X)))
#endif

FE_INLINE int32_t add_rescale1(const add_consts *k, int dsp, int32_t off, int8_t x) {
  if (k->exact) {
    return ((int32_t)x + off) * ((int32_t)1 << (k->left_shift - 1));
  }
  return ADD_RQ(k, dsp, in1, ((int32_t)x + off) * ((int32_t)1 << k->left_shift));
}

FE_INLINE int32_t add_rescale2(const add_consts *k, int dsp, int32_t off, int8_t x) {
  if (k->exact) {
    return ((int32_t)x + off) * ((int32_t)1 << (k->left_shift - 1));
  }
  return ADD_RQ(k, dsp, in2, ((int32_t)x + off) * ((int32_t)1 << k->left_shift));
}

FE_INLINE int8_t add_finish(const add_consts *k, int dsp, int32_t raw) {
  return (int8_t)fe_clamp(ADD_RQ(k, dsp, out, raw) + k->out_offset, k->lo, k->hi);
}

/* One row; dsp is a constant at each call site of add_row, so each form compiles without a
 * test per element. */
FE_INLINE void add_row_as(const add_consts *k, const int dsp, const int8_t *a, int32_t sa,
                          const int8_t *b, int32_t sb, int8_t *out, int32_t n) {
  int32_t i;
  if (sb == 0) {
    const int32_t s2 = k->sign * add_rescale2(k, dsp, k->off2, *b);
    for (i = 0; i < n; ++i, a += sa) {
      out[i] = add_finish(k, dsp, add_rescale1(k, dsp, k->off1, *a) + s2);
    }
  } else if (sa == 0) {
    const int32_t s1 = add_rescale1(k, dsp, k->off1, *a);
    for (i = 0; i < n; ++i, b += sb) {
      out[i] = add_finish(k, dsp, s1 + k->sign * add_rescale2(k, dsp, k->off2, *b));
    }
  } else if (k->exact) { /* both rescales are shifts: add first, shift once */
    const int32_t ls = k->left_shift - 1;
    for (i = 0; i < n; ++i, a += sa, b += sb) {
      const int32_t d = ((int32_t)*a + k->off1) + k->sign * ((int32_t)*b + k->off2);
      out[i] = add_finish(k, dsp, d * ((int32_t)1 << ls));
    }
  } else {
    for (i = 0; i < n; ++i, a += sa, b += sb) {
      out[i] = add_finish(k, dsp, add_rescale1(k, dsp, k->off1, *a) +
                                      k->sign * add_rescale2(k, dsp, k->off2, *b));
    }
  }
}

static void add_row(const add_consts *k, const int8_t *a, int32_t sa, const int8_t *b,
                    int32_t sb, int8_t *out, int32_t n) {
#if FE_KERNELS_ACLE
  if (k->dsp) {
    add_row_as(k, 1, a, sa, b, sb, out, n);
    return;
  }
#endif
  add_row_as(k, 0, a, sa, b, sb, out, n);
}

void fe_add(const fe_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *output) {
  add_consts k;
  k.off1 = p->input1_offset;
  k.off2 = p->input2_offset;
  k.left_shift = p->left_shift;
  k.out_offset = p->output_offset;
  k.lo = p->act_min;
  k.hi = p->act_max;
  k.sign = p->sign > 0 ? 1 : -1;
  k.in1 = fe_rq_make(p->input1_multiplier, (int)p->input1_shift);
  k.in2 = fe_rq_make(p->input2_multiplier, (int)p->input2_shift);
  k.out = fe_rq_make(p->output_multiplier, (int)p->output_shift);
  k.exact = p->input1_multiplier == ((int32_t)1 << 30) && p->input1_shift == 0 &&
            p->input2_multiplier == ((int32_t)1 << 30) && p->input2_shift == 0 &&
            p->left_shift > 0;
#if FE_KERNELS_ACLE
  /* |x + offset| <= 255: rescaled inputs below 2^(8 + left_shift), their sum below 2^30 for
   * left shifts up to 20 (TFLite's int8 ADD uses 20) */
  k.dsp = fe_rqd_make(p->input1_multiplier, (int32_t)p->input1_shift, &k.din1);
  k.dsp &= fe_rqd_make(p->input2_multiplier, (int32_t)p->input2_shift, &k.din2);
  k.dsp &= fe_rqd_make(p->output_multiplier, (int32_t)p->output_shift, &k.dout);
  k.dsp &= p->left_shift >= 0 && p->left_shift <= 20;
#endif
#if FE_KERNELS_MVE
  {
    const fe_mve_add_k mk = fe_mve_add_make(p);
    FE_BCAST_ROWS(&p->shape, {
      if ((st1_ | st2_) == 1) {
        fe_mve_add_row(&mk, in1 + i1_, st1_, in2 + i2_, st2_, output + o_, n_);
      } else {
        add_row(&k, in1 + i1_, st1_, in2 + i2_, st2_, output + o_, n_);
      }
    });
    return;
  }
#endif
  FE_BCAST_ROWS(&p->shape, { add_row(&k, in1 + i1_, st1_, in2 + i2_, st2_, output + o_, n_); });
}
