/* MEAN int8 over any set of axes, as TFLite Micro's reference QuantizedMeanOrSum: an exact
 * int32 sum of the raw values, then float32 arithmetic
 *   round(sum / count * scale + bias) + output_zero_point, clamped to int8,
 * with scale = input_scale / output_scale and bias = -input_zero_point * scale.
 * Each step is a separate statement so that no fused multiply-add changes the rounding
 * (compile with -ffp-contract=off where the compiler would contract across statements). */
#include <math.h>

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
  volatile float mean = (float)sum / p->count;
  volatile float scaled = mean * p->scale;
  volatile float shifted = scaled + p->bias;
  float result = roundf(shifted) + p->output_zero_point;
  result = result < 127.0f ? result : 127.0f;
  result = result > -128.0f ? result : -128.0f;
  return (int8_t)result;
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
