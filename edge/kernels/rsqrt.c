/* RSQRT int8, as TFLite Micro's elementwise kernel (Newton-Raphson inverse square root). */
#include "fe_internal.h"

void fe_rsqrt(const fe_rsqrt_params *p, const int8_t *input, int8_t *output) {
  const int32_t k_shift = 20;
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t value = (int32_t)input[i] - p->input_zero_point;
    int32_t inv_mult;
    int inv_shift;
    int32_t data;
    int32_t out;
    if (value == 0) {
      output[i] = 127;
      continue;
    }
    fe_inv_sqrt_multiplier(value, -1, &inv_mult, &inv_shift);
    data = fe_mbqm(1, inv_mult, inv_shift + k_shift);
    out = fe_mbqm(data, p->multiplier, (int)p->shift - k_shift) + p->output_zero_point;
    output[i] = (int8_t)fe_clamp(out, -128, 127);
  }
}
