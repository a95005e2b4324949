/* QUANTIZE (int8 -> int8 requantize, float -> int8) and DEQUANTIZE (int8 -> float).
 * No libm: roundf is replaced by an exact integer rounding (see round_half_away). */
#include "fe_internal.h"

/* roundf(q) for |q| <= 1024 (ties away from zero), exactly: t = trunc(q) is exact, and so is
 * q - t (both in the same binade or below, no rounding in float32), so comparing the fraction
 * with 0.5 decides as roundf does. Larger |q| saturate to +-1024 (the caller clamps to int8;
 * the old direct cast of a huge float was undefined), NaN gives 0. */
static int32_t round_half_away(float q) {
  int32_t t;
  float frac;
  if (!(q > -1024.0f)) {
    return q == q ? -1024 : 0;
  }
  if (q > 1024.0f) {
    return 1024;
  }
  t = (int32_t)q;
  frac = q - (float)t;
  if (frac >= 0.5f) {
    return t + 1;
  }
  if (frac <= -0.5f) {
    return t - 1;
  }
  return t;
}

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
    const int32_t q = round_half_away(input[i] / p->scale) + p->zero_point;
    output[i] = (int8_t)fe_clamp(q, -128, 127);
  }
}

void fe_dequantize_f32(const fe_affine_params *p, const int8_t *input, float *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    output[i] = (float)((double)p->scale * (double)((int32_t)input[i] - p->zero_point));
  }
}
