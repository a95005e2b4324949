/* SOFTMAX int8 -> int8 over the last dimension, as TFLite Micro's reference kernel:
 * gemmlowp fixed-point exp of the scaled differences to the row maximum (Q5.26), a Q12.19 sum
 * and a Newton-Raphson reciprocal. The difference of two int8 values takes at most 256 values,
 * so the code generator tabulates the exp of each (p->exp_table, the same Q0.31 values TFLite
 * computes per element, twice); differences beyond the table (below diff_min) count as 0 and
 * give -128, as TFLite's. Safe in place: each row is read before it is written. */
#include "fe_internal.h"

#define FE_SOFTMAX_ACCUM_BITS 12

static int32_t reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit) {
  const int headroom_plus_one = fe_clz32((uint32_t)x);
  const int32_t shifted_minus_one =
      (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
  *num_bits_over_unit = x_integer_digits - headroom_plus_one;
  return fe_one_over_one_plus_x(shifted_minus_one);
}

FE_INLINE int32_t table_exp(const int32_t *table, int32_t size, int32_t d) {
  return d < size ? table[d] : 0;
}

static void softmax_row(const int32_t *table, int32_t size, int32_t depth, const int8_t *in,
                        int8_t *out) {
  int32_t max_in = -128;
  int32_t sum = 0;
  int32_t scale;
  int32_t exponent;
  int32_t mask;
  int32_t half;
  int bits_over_unit;
  int32_t c;
  for (c = 0; c < depth; ++c) {
    max_in = in[c] > max_in ? in[c] : max_in;
  }
  for (c = 0; c < depth; ++c) { /* exp >= 0: the rounding shift needs no sign fix-up */
    const int32_t e = table_exp(table, size, max_in - (int32_t)in[c]);
    sum = fe_add_wrap(sum, (e >> FE_SOFTMAX_ACCUM_BITS) +
                               ((e & ((1 << FE_SOFTMAX_ACCUM_BITS) - 1)) >
                                        ((1 << (FE_SOFTMAX_ACCUM_BITS - 1)) - 1) ? 1 : 0));
  }
  scale = reciprocal(sum, FE_SOFTMAX_ACCUM_BITS, &bits_over_unit);
  exponent = bits_over_unit + 31 - 8;
  mask = (int32_t)(((int64_t)1 << exponent) - 1);
  half = mask >> 1;
  for (c = 0; c < depth; ++c) { /* scale, exp >= 0: srdhm >= 0, no sign fix-up either */
    const int32_t h = fe_srdhm_m(scale, table_exp(table, size, max_in - (int32_t)in[c]));
    const int32_t unsat = (h >> exponent) + ((h & mask) > half ? 1 : 0);
    out[c] = (int8_t)fe_clamp(unsat - 128, -128, 127);
  }
}

void fe_softmax(const fe_softmax_params *p, const int8_t *input, int8_t *output) {
  const int32_t *table = p->exp_table;
  const int32_t size = p->table_size;
  const int32_t depth = p->depth;
  int32_t r;
  for (r = 0; r < p->outer; ++r) {
    softmax_row(table, size, depth, input + r * depth, output + r * depth);
  }
}
