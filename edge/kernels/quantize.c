/* QUANTIZE (int8 -> int8 requantize, float -> int8) and DEQUANTIZE (int8 -> float). */
#include <math.h>

#include "fe_internal.h"

void fe_requantize(const fe_requant_params *p, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t v = (int32_t)input[i] - p->input_zero_point;
    const int32_t out = fe_mbqm(v, p->multiplier, p->shift) + p->output_zero_point;
    output[i] = (int8_t)fe_clamp(out, -128, 127);
  }
}

void fe_quantize_f32(const fe_affine_params *p, const float *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t q = (int32_t)roundf(input[i] / p->scale) + p->zero_point;
    output[i] = (int8_t)fe_clamp(q, -128, 127);
  }
}

void fe_dequantize_f32(const fe_affine_params *p, const int8_t *input, float *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    output[i] = (float)((double)p->scale * (double)((int32_t)input[i] - p->zero_point));
  }
}
