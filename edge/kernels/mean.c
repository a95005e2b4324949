/* MEAN int8 over any set of axes, as TFLite Micro's reference QuantizedMeanOrSum: an exact
 * int32 sum of the raw values minus count * input zero point, requantized with the
 * multiplier of s_in / s_out folded with 1 / count at build time. */
#include "fe_internal.h"

static int32_t reduce_sum(const fe_mean_params *p, const int8_t *base) {
  int32_t sum = 0;
  int32_t a, b, c, d, e, f;
  for (a = 0; a < p->red_dims[0]; ++a) {
    for (b = 0; b < p->red_dims[1]; ++b) {
      for (c = 0; c < p->red_dims[2]; ++c) {
        for (d = 0; d < p->red_dims[3]; ++d) {
          for (e = 0; e < p->red_dims[4]; ++e) {
            for (f = 0; f < p->red_dims[5]; ++f) {
              sum += base[a * p->red_stride[0] + b * p->red_stride[1] + c * p->red_stride[2] +
                          d * p->red_stride[3] + e * p->red_stride[4] + f * p->red_stride[5]];
            }
          }
        }
      }
    }
  }
  return sum;
}

static int8_t finish(const fe_mean_params *p, int32_t sum) {
  const int32_t shifted = sum - p->input_zero_point * p->count;
  const int32_t out = fe_mbqm(shifted, p->multiplier, (int)p->shift) + p->output_zero_point;
  return (int8_t)fe_clamp(out, -128, 127);
}

void fe_mean(const fe_mean_params *p, const int8_t *input, int8_t *output) {
  int32_t o = 0;
  int32_t a, b, c, d, e, f;
  for (a = 0; a < p->keep_dims[0]; ++a) {
    for (b = 0; b < p->keep_dims[1]; ++b) {
      for (c = 0; c < p->keep_dims[2]; ++c) {
        for (d = 0; d < p->keep_dims[3]; ++d) {
          for (e = 0; e < p->keep_dims[4]; ++e) {
            for (f = 0; f < p->keep_dims[5]; ++f, ++o) {
              const int8_t *base = input + a * p->keep_stride[0] + b * p->keep_stride[1] +
                                   c * p->keep_stride[2] + d * p->keep_stride[3] +
                                   e * p->keep_stride[4] + f * p->keep_stride[5];
              output[o] = finish(p, reduce_sum(p, base));
            }
          }
        }
      }
    }
  }
}
