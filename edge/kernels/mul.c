/* MUL int8 with broadcast, as TFLite's reference integer kernel. Parameters are unpacked into
 * locals once; an input broadcast along a row is read once per row. On Helium cores
 * (FE_KERNELS_MVE) rows whose inputs are contiguous or broadcast go to fe_eltwise_mve.h; on DSP
 * cores the output requantization is SMMULR-based (fe_rqd, fe_dot.h) when its shift allows. */
#include "fe_dot.h"
#include "fe_eltwise_mve.h"
#include "fe_internal.h"

typedef struct {
  int32_t off1, off2, out_offset, lo, hi;
  fe_rq out;
#if FE_KERNELS_ACLE
  int dsp;     /* 1: the output requantization as fe_rqd (SMMULR): |product| <= 255^2 */
  fe_rqd dout;
#endif
} mul_consts;

/* dsp is a constant where mul_row_as inlines this: one form each, no test per element */
FE_INLINE int8_t mul_finish(const mul_consts *k, int dsp, int32_t raw) {
#if FE_KERNELS_ACLE
  if (dsp) {
    return (int8_t)fe_clamp(fe_rqd_apply(&k->dout, raw) + k->out_offset, k->lo, k->hi);
  }
#else
  (void)dsp;
#endif
  return (int8_t)fe_clamp(fe_rq_apply(&k->out, raw) + k->out_offset, k->lo, k->hi);
}

FE_INLINE void mul_row_as(const mul_consts *k, const int dsp, const int8_t *a, int32_t sa,
                          const int8_t *b, int32_t sb, int8_t *out, int32_t n) {
  int32_t i;
  if (sb == 0) {
    const int32_t v2 = (int32_t)*b + k->off2;
    for (i = 0; i < n; ++i, a += sa) {
      out[i] = mul_finish(k, dsp, ((int32_t)*a + k->off1) * v2);
    }
  } else if (sa == 0) {
    const int32_t v1 = (int32_t)*a + k->off1;
    for (i = 0; i < n; ++i, b += sb) {
      out[i] = mul_finish(k, dsp, v1 * ((int32_t)*b + k->off2));
    }
  } else {
    for (i = 0; i < n; ++i, a += sa, b += sb) {
      out[i] = mul_finish(k, dsp, ((int32_t)*a + k->off1) * ((int32_t)*b + k->off2));
    }
  }
}

static void mul_row(const mul_consts *k, const int8_t *a, int32_t sa, const int8_t *b,
                    int32_t sb, int8_t *out, int32_t n) {
#if FE_KERNELS_ACLE
  if (k->dsp) {
    mul_row_as(k, 1, a, sa, b, sb, out, n);
    return;
  }
#endif
  mul_row_as(k, 0, a, sa, b, sb, out, n);
}

void fe_mul(const fe_mul_params *p, const int8_t *in1, const int8_t *in2, int8_t *output) {
  mul_consts k;
  k.off1 = p->input1_offset;
  k.off2 = p->input2_offset;
  k.out_offset = p->output_offset;
  k.lo = p->act_min;
  k.hi = p->act_max;
  k.out = fe_rq_make(p->output_multiplier, (int)p->output_shift);
#if FE_KERNELS_ACLE
  k.dsp = fe_rqd_make(p->output_multiplier, (int32_t)p->output_shift, &k.dout);
#endif
#if FE_KERNELS_MVE
  {
    const fe_mve_mul_k mk = fe_mve_mul_make(p);
    FE_BCAST_ROWS(&p->shape, {
      if ((st1_ | st2_) == 1) {
        fe_mve_mul_row(&mk, in1 + i1_, st1_, in2 + i2_, st2_, output + o_, n_);
      } else {
        mul_row(&k, in1 + i1_, st1_, in2 + i2_, st2_, output + o_, n_);
      }
    });
    return;
  }
#endif
  FE_BCAST_ROWS(&p->shape, { mul_row(&k, in1 + i1_, st1_, in2 + i2_, st2_, output + o_, n_); });
}
