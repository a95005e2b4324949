/* QUANTIZE (int8 -> int8 requantize, float -> int8) and DEQUANTIZE (int8 -> float).
 * No libm: roundf is VRINTA where the FPU has it (FE_VRINTA), else an exact integer rounding
 * (round_half_away). */
#include "fe_internal.h"

/* 1 on cores whose FPU rounds half away from zero in one instruction (VRINTA: FPv5, which
 * every M-profile FPU with double precision is, e.g. Cortex-M7's fpv5-d16 and Cortex-M55's),
 * where GCC expands __builtin_roundf to it; elsewhere (Cortex-M4's fpv4-sp) a call to the C
 * library's roundf would cost more than round_half_away. */
#if defined(__arm__) && defined(__ARM_FP) && (__ARM_FP & 8)
#define FE_VRINTA 1
#else
#define FE_VRINTA 0
#endif

#if !FE_VRINTA
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
#endif

void fe_requantize(const fe_requant_params *p, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t v = (int32_t)input[i] - p->input_zero_point;
    const int32_t out = fe_mbqm(v, p->multiplier, p->shift) + p->output_zero_point;
    output[i] = (int8_t)fe_clamp(out, -128, 127);
  }
}

void fe_quantize_f32(const fe_affine_params *p, const float *input, int8_t *output) {
  const float scale = p->scale;
  const int32_t zp = p->zero_point;
  const int32_t size = p->size; /* read once: an int8 store may alias the params */
  int32_t i;
  for (i = 0; i < size; ++i) {
#if FE_VRINTA /* round_half_away's contract: NaN -> 0, |q| > 1024 saturates to +-1024 */
    float q = input[i] / scale;
    q = q == q ? q : 0.0f;
    q = q < -1024.0f ? -1024.0f : q;
    q = q > 1024.0f ? 1024.0f : q;
    output[i] = (int8_t)fe_clamp((int32_t)__builtin_roundf(q) + zp, -128, 127);
#else
    output[i] = (int8_t)fe_clamp(round_half_away(input[i] / scale) + zp, -128, 127);
#endif
  }
}

void fe_dequantize_f32(const fe_affine_params *p, const int8_t *input, float *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    output[i] = (float)((double)p->scale * (double)((int32_t)input[i] - p->zero_point));
  }
}
