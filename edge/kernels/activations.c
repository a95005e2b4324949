/* Pointwise int8 activations as TFLite Micro's reference kernels: RELU (requantized, clamped
 * at the output zero point), RELU6 (a clamp, input and output share their quantization),
 * LEAKY_RELU (separate multipliers for x >= 0 and x < 0). All safe in place: each element is
 * read before it is written. */
#include "fe_internal.h"

void fe_relu(const fe_relu_params *p, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t v = (int32_t)input[i] - p->input_zero_point;
    const int32_t out = p->output_zero_point + fe_mbqm(v, p->multiplier, p->shift);
    output[i] = (int8_t)fe_clamp(out, p->act_min, p->act_max);
  }
}

void fe_clamp_s8(int32_t size, int32_t lo, int32_t hi, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < size; ++i) {
    output[i] = (int8_t)fe_clamp(input[i], lo, hi);
  }
}

void fe_leaky_relu(const fe_leaky_relu_params *p, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t v = (int32_t)input[i] - p->input_zero_point;
    const int32_t scaled = v >= 0 ? fe_mbqm(v, p->identity_multiplier, p->identity_shift)
                                  : fe_mbqm_signed(v, p->alpha_multiplier, p->alpha_shift);
    output[i] = (int8_t)fe_clamp(p->output_zero_point + scaled, -128, 127);
  }
}
