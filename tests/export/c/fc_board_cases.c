/* FULLY_CONNECTED on a board: fe_fully_connected (the ACLE SIMD path where the core has DSP:
 * 2x2 and 4x1 blocking, tails) against a naive int32 loop, over batches 1..5, depths 1..7,
 * input lengths 1..70 and input offsets 0 and -3 (random int8 data from a fixed LCG).
 * main returns the number of mismatching outputs (0: QEMU exits 0) and names the first. */
#include <stdint.h>

#include "fe_fixedpoint.h"
#include "fe_kernels.h"
#include "semihost.h"

#define MAX_B 5
#define MAX_O 7
#define MAX_N 70

static uint32_t lcg_state = 12345u;

static int8_t next_s8(void) {
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return (int8_t)(lcg_state >> 24);
}

static int8_t x[MAX_B * MAX_N], w[MAX_O * MAX_N], got[MAX_B * MAX_O];
static int32_t bias[MAX_O], mult[MAX_O], shift[MAX_O];

static int8_t reference(const fe_fc_params *p, int32_t b, int32_t o) {
  int32_t acc = bias[o];
  int32_t k;
  for (k = 0; k < p->accum_depth; ++k) {
    acc += ((int32_t)x[b * p->accum_depth + k] + p->input_offset) * w[o * p->accum_depth + k];
  }
  acc = fe_mbqm(acc, mult[o], shift[o]) + p->output_offset;
  return (int8_t)fe_clamp(acc, p->act_min, p->act_max);
}

static int check(int32_t batches, int32_t depth, int32_t n, int32_t x_off) {
  fe_fc_params p = {0};
  int32_t b, o, bad = 0;
  p.batches = batches;
  p.accum_depth = n;
  p.output_depth = depth;
  p.input_offset = x_off;
  p.output_offset = 5;
  p.multiplier = mult;
  p.shift = shift;
  p.per_channel = 1;
  p.act_min = -128;
  p.act_max = 127;
  for (b = 0; b < batches * n; ++b) x[b] = next_s8();
  for (o = 0; o < depth * n; ++o) w[o] = next_s8();
  for (o = 0; o < depth; ++o) {
    bias[o] = (int32_t)next_s8() * 37;
    mult[o] = (int32_t)(0x40000000u + ((uint32_t)(uint8_t)next_s8() << 20));
    shift[o] = -6 - (o & 3);
  }
  fe_fully_connected(&p, x, w, bias, got);
  for (b = 0; b < batches; ++b) {
    for (o = 0; o < depth; ++o) {
      if (got[b * depth + o] != reference(&p, b, o)) {
        if (bad == 0) semihost_write0("fc mismatch\n");
        ++bad;
      }
    }
  }
  return bad;
}

int main(void) {
  int bad = 0;
  int32_t b, o, n;
  for (b = 1; b <= MAX_B; ++b) {
    for (o = 1; o <= MAX_O; ++o) {
      for (n = 1; n <= MAX_N; n += (n < 12 ? 1 : 11)) {
        bad += check(b, o, n, 0);
        bad += check(b, o, n, -3);
      }
    }
  }
  semihost_write0(bad == 0 ? "fc board cases: all equal\n" : "fc board cases: MISMATCH\n");
  return bad;
}
