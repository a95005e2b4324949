/* HARD_SWISH int8 as TFLite's reference HardSwish: 16-bit fixed point. The input (minus its
 * zero point, times 128) is scaled to the output scale and, separately, to a "relu-ish" value
 * in [-1, 1] (3.0 on the int16 full scale) with saturating shifts; the product of the two,
 * shifted to the output scale. Safe in place: each element is read before it is written. */
#include "fe_internal.h"

static int16_t sat16(int32_t v) {
  return (int16_t)fe_clamp(v, INT16_MIN, INT16_MAX);
}

/* gemmlowp SaturatingRoundingDoublingHighMul on int16. */
static int16_t srdhm16(int16_t a, int16_t b) {
  const int32_t ab = (int32_t)a * (int32_t)b;
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  if (a == b && a == INT16_MIN) {
    return INT16_MAX;
  }
  return (int16_t)((ab + nudge) / (1 << 15));
}

/* SaturatingDoublingHighMul on int16 (truncating, no rounding nudge). */
static int16_t sdhm16(int16_t a, int16_t b) {
  if (a == b && a == INT16_MIN) {
    return INT16_MAX;
  }
  return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

static int16_t hard_swish_one(const fe_hard_swish_params *p, int8_t x) {
  const int16_t hires = (int16_t)(((int32_t)x - p->input_zero_point) * (1 << 7));
  const int16_t preshift = srdhm16(hires, (int16_t)p->output_multiplier);
  int16_t reluish = hires;
  int32_t out;
  if (p->reluish_exponent > 0) {
    reluish = sat16((int32_t)reluish * (1 << (p->reluish_exponent - 1)));
  }
  reluish = srdhm16(reluish, (int16_t)p->reluish_multiplier);
  if (p->reluish_exponent > 0) {
    reluish = sat16((int32_t)reluish * 2);
  }
  if (p->reluish_exponent < 0) {
    reluish = (int16_t)fe_rdbpot(reluish, -p->reluish_exponent);
  }
  reluish = (int16_t)(((int32_t)reluish + (1 << 15)) >> 1);
  out = fe_rdbpot(sdhm16(reluish, preshift), -p->output_exponent);
  return (int16_t)(out + p->output_zero_point);
}

void fe_hard_swish(const fe_hard_swish_params *p, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    output[i] = (int8_t)fe_clamp(hard_swish_one(p, input[i]), -128, 127);
  }
}
