/* ADD, SUB and MUL on a board (on Cortex-M55 the Helium rows of fe_eltwise_mve.h) against
 * TFLite's integer formulas written out with fe_mbqm, on random int8 data from a fixed LCG:
 * rows of 1..37 elements (4-lane steps and every tail), both inputs contiguous, either one
 * broadcast along the row, a [rows, n] + [1, n] broadcast, a strided input (the scalar path),
 * outputs in place over input 1; offsets up to +-128, input rescales with shifts -1..-3 and
 * output shifts that clamp at both ends. main returns the number of mismatching outputs. */
#include <stdint.h>

#include "fe_fixedpoint.h"
#include "fe_kernels.h"
#include "semihost.h"

static uint32_t lcg_state = 777u;

static uint32_t next_u32(void) {
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return lcg_state;
}

static int8_t next_s8(void) { return (int8_t)(next_u32() >> 24); }

#define MAX_ROWS 3
#define MAX_N 37

static int8_t a[MAX_ROWS * MAX_N * 2], b[MAX_ROWS * MAX_N * 2], got[MAX_ROWS * MAX_N];
static int8_t a0[MAX_ROWS * MAX_N * 2];

/* shape [rows, n]; a's and b's strides along the row (sa, sb: 0 broadcast, 1, 2) and between
 * rows (ra, rb) */
static void shape(fe_bcast *s, int32_t rows, int32_t n, int32_t sa, int32_t sb, int32_t ra,
                  int32_t rb) {
  int32_t d;
  for (d = 0; d < FE_MAX_DIMS; ++d) {
    s->dims[d] = 1;
    s->stride1[d] = s->stride2[d] = 0;
  }
  s->dims[4] = rows;
  s->dims[5] = n;
  s->stride1[4] = ra;
  s->stride2[4] = rb;
  s->stride1[5] = sa;
  s->stride2[5] = sb;
}

static int32_t mult_of(void) { return (int32_t)(0x40000000u | (next_u32() >> 2)); }

static int check(int op, int32_t rows, int32_t n, int32_t sa, int32_t sb, int32_t bcast_rows,
                 int in_place) {
  const int32_t ra = sa == 0 ? 1 : sa * n, rb = bcast_rows ? 0 : (sb == 0 ? 1 : sb * n);
  fe_add_params pa;
  fe_mul_params pm;
  fe_bcast s;
  int32_t i, j, bad = 0;
  int8_t *out = in_place ? a : got;
  shape(&s, rows, n, sa, sb, ra, rb);
  for (i = 0; i < MAX_ROWS * MAX_N * 2; ++i) {
    a0[i] = a[i] = next_s8();
    b[i] = next_s8();
  }
  pa.shape = pm.shape = s;
  pa.sign = op == 1 ? -1 : 1;
  pa.left_shift = 20;
  pa.input1_offset = pm.input1_offset = (int32_t)(next_u32() % 257) - 128;
  pa.input2_offset = pm.input2_offset = (int32_t)(next_u32() % 257) - 128;
  pa.output_offset = pm.output_offset = (int32_t)(next_u32() % 256) - 128;
  pa.input1_multiplier = mult_of();
  pa.input1_shift = -1 - (int32_t)(next_u32() % 3);
  pa.input2_multiplier = mult_of();
  pa.input2_shift = -1 - (int32_t)(next_u32() % 3);
  pa.output_multiplier = pm.output_multiplier = mult_of();
  pa.output_shift = -17 - (int32_t)(next_u32() % 4);
  pm.output_shift = -7 - (int32_t)(next_u32() % 4);
  pa.act_min = pm.act_min = (n & 1) ? -128 : -90;
  pa.act_max = pm.act_max = (n & 2) ? 127 : 80;
  if (op == 2) {
    fe_mul(&pm, a, b, out);
  } else {
    fe_add(&pa, a, b, out);
  }
  for (i = 0; i < rows; ++i) {
    for (j = 0; j < n; ++j) {
      const int32_t x = (int32_t)a0[i * ra + j * sa], y = (int32_t)b[i * rb + j * sb];
      int32_t v;
      if (op == 2) {
        v = fe_mbqm((x + pm.input1_offset) * (y + pm.input2_offset), pm.output_multiplier,
                    pm.output_shift);
      } else {
        const int32_t u = fe_mbqm((x + pa.input1_offset) * (1 << 20), pa.input1_multiplier,
                                  pa.input1_shift);
        const int32_t w = fe_mbqm((y + pa.input2_offset) * (1 << 20), pa.input2_multiplier,
                                  pa.input2_shift);
        v = fe_mbqm(op == 1 ? u - w : u + w, pa.output_multiplier, pa.output_shift);
      }
      v = fe_clamp(v + pa.output_offset, pa.act_min, pa.act_max);
      bad += out[i * n + j] != (int8_t)v;
    }
  }
  if (bad != 0) semihost_write0(op == 2 ? "mul mismatch\n" : "add/sub mismatch\n");
  return bad;
}

int main(void) {
  int bad = 0;
  int op;
  int32_t n;
  for (op = 0; op < 3; ++op) {
    for (n = 1; n <= MAX_N; n += (n < 9 ? 1 : 7)) {
      bad += check(op, 1 + n % MAX_ROWS, n, 1, 1, 0, 0);
      bad += check(op, 2, n, 1, 0, 0, 0);
      bad += check(op, 2, n, 0, 1, 0, 0);
      bad += check(op, MAX_ROWS, n, 1, 1, 1, 0);
      bad += check(op, 2, n, 2, 1, 0, 0);
      bad += check(op, 2, n, 1, 1, 0, 1);
      bad += check(op, 1, n, 1, 0, 0, 1);
    }
  }
  semihost_write0(bad == 0 ? "eltwise board cases: all equal\n"
                           : "eltwise board cases: MISMATCH\n");
  return bad;
}
