/* SQUARED_DIFFERENCE int8 with broadcast, as TFLite's reference kernel (left shift 7).
 * Parameters are unpacked into locals once; an input broadcast along a row (the mean of a
 * layer norm) is rescaled once per row. */
#include "fe_internal.h"

typedef struct {
  int32_t off1, off2, left_shift, out_offset;
  fe_rq in1, in2, out;
} sqdiff_consts;

FE_INLINE int32_t sqdiff_rescale(const sqdiff_consts *k, const fe_rq *q, int32_t off, int8_t x) {
  return fe_rq_apply(q, ((int32_t)x + off) * ((int32_t)1 << k->left_shift));
}

FE_INLINE int8_t sqdiff_finish(const sqdiff_consts *k, int32_t diff) {
  return (int8_t)fe_clamp(fe_rq_apply(&k->out, diff * diff) + k->out_offset, -128, 127);
}

FE_INLINE void sqdiff_row(const sqdiff_consts *k, const int8_t *a, int32_t sa, const int8_t *b,
                       int32_t sb, int8_t *out, int32_t n) {
  int32_t i;
  if (sb == 0) {
    const int32_t s2 = sqdiff_rescale(k, &k->in2, k->off2, *b);
    for (i = 0; i < n; ++i, a += sa) {
      out[i] = sqdiff_finish(k, sqdiff_rescale(k, &k->in1, k->off1, *a) - s2);
    }
  } else if (sa == 0) {
    const int32_t s1 = sqdiff_rescale(k, &k->in1, k->off1, *a);
    for (i = 0; i < n; ++i, b += sb) {
      out[i] = sqdiff_finish(k, s1 - sqdiff_rescale(k, &k->in2, k->off2, *b));
    }
  } else {
    for (i = 0; i < n; ++i, a += sa, b += sb) {
      out[i] = sqdiff_finish(k, sqdiff_rescale(k, &k->in1, k->off1, *a) -
                                    sqdiff_rescale(k, &k->in2, k->off2, *b));
    }
  }
}

void fe_squared_difference(const fe_sqdiff_params *p, const int8_t *in1, const int8_t *in2,
                           int8_t *output) {
  sqdiff_consts k;
  k.off1 = p->input1_offset;
  k.off2 = p->input2_offset;
  k.left_shift = p->left_shift;
  k.out_offset = p->output_offset;
  k.in1 = fe_rq_make(p->input1_multiplier, (int)p->input1_shift);
  k.in2 = fe_rq_make(p->input2_multiplier, (int)p->input2_shift);
  k.out = fe_rq_make(p->output_multiplier, (int)p->output_shift);
  FE_BCAST_ROWS(&p->shape, {
    sqdiff_row(&k, in1 + i1_, st1_, in2 + i2_, st2_, output + o_, n_);
  });
}
