/* QUANTIZE (int8 -> int8 requantize, float -> int8) and DEQUANTIZE (int8 -> float).
 * No libm: roundf and the conversion are one VCVTA where the FPU has it (FE_VCVTA), else an
 * exact integer rounding (round_half_away). */
#include <string.h>

#include "fe_internal.h"

/* 1 on cores whose FPU converts a float to int32 rounding half away from zero in one
 * instruction (VCVTA: FPv5, which every M-profile FPU with double precision is, e.g.
 * Cortex-M7's fpv5-d16 and Cortex-M55's); elsewhere (Cortex-M4's fpv4-sp) a call to the C
 * library's roundf would cost more than round_half_away. */
#if defined(__arm__) && defined(__ARM_FP) && (__ARM_FP & 8)
#define FE_VCVTA 1
#else
#define FE_VCVTA 0
#endif

#if FE_VCVTA
/* roundf(q) converted to int32 in one instruction (VCVTA: ties away from zero, saturating at
 * the int32 range, NaN -> 0), so no compare guards the conversion. */
static inline int32_t cvta_s32(float q) {
  float r;
  int32_t v;
  __asm__("vcvta.s32.f32 %0, %1" : "=t"(r) : "t"(q));
  memcpy(&v, &r, sizeof v);
  return v;
}
#if FE_KERNELS_ACLE
#include <arm_acle.h>
#define FE_SAT12(v) __ssat((v), 12)
#define FE_SAT8(v) __ssat((v), 8)
#else
#define FE_SAT12(v) fe_clamp((v), -2048, 2047)
#define FE_SAT8(v) fe_clamp((v), -128, 127)
#endif
#else
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
#if FE_VCVTA /* as round_half_away: NaN -> 0, |q| > 2047 saturates (|zp| <= 128: the same bytes) */
    output[i] = (int8_t)FE_SAT8(FE_SAT12(cvta_s32(input[i] / scale)) + zp);
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
