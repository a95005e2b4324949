/* SOFTMAX int8 -> int8 over the last dimension, as TFLite Micro's reference kernel:
 * gemmlowp fixed-point exp of the scaled differences to the row maximum (Q5.26), a Q12.19 sum
 * and a Newton-Raphson reciprocal. Safe in place: each row is read before it is written. */
#include "fe_internal.h"

#define FE_SOFTMAX_DIFF_BITS 5
#define FE_SOFTMAX_ACCUM_BITS 12

static int32_t reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit) {
  const int headroom_plus_one = fe_clz32((uint32_t)x);
  const int32_t shifted_minus_one =
      (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
  *num_bits_over_unit = x_integer_digits - headroom_plus_one;
  return fe_one_over_one_plus_x(shifted_minus_one);
}

static int32_t scaled_exp(const fe_softmax_params *p, int32_t diff) {
  const int32_t rescaled =
      fe_srdhm((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
  return fe_exp_on_negative(rescaled, FE_SOFTMAX_DIFF_BITS);
}

static void softmax_row(const fe_softmax_params *p, const int8_t *in, int8_t *out) {
  int32_t max_in = -128;
  int32_t sum = 0;
  int32_t scale;
  int bits_over_unit;
  int32_t c;
  for (c = 0; c < p->depth; ++c) {
    max_in = in[c] > max_in ? in[c] : max_in;
  }
  for (c = 0; c < p->depth; ++c) {
    const int32_t diff = (int32_t)in[c] - max_in;
    if (diff >= p->diff_min) {
      sum = fe_add_wrap(sum, fe_srmpot(scaled_exp(p, diff), -FE_SOFTMAX_ACCUM_BITS));
    }
  }
  scale = reciprocal(sum, FE_SOFTMAX_ACCUM_BITS, &bits_over_unit);
  for (c = 0; c < p->depth; ++c) {
    const int32_t diff = (int32_t)in[c] - max_in;
    if (diff >= p->diff_min) {
      const int32_t e = scaled_exp(p, diff);
      const int32_t unsat = fe_rdbpot(fe_srdhm(scale, e), bits_over_unit + 31 - 8);
      out[c] = (int8_t)fe_clamp(unsat - 128, -128, 127);
    } else {
      out[c] = -128;
    }
  }
}

void fe_softmax(const fe_softmax_params *p, const int8_t *input, int8_t *output) {
  int32_t r;
  for (r = 0; r < p->outer; ++r) {
    softmax_row(p, input + r * p->depth, output + r * p->depth);
  }
}
