/* The GEMM family on a board (on Cortex-M55 the Helium paths of fe_gemm_mve.h, elsewhere the
 * DSP or portable ones) against naive int32 loops and TFLite's two-step requantization
 * (fe_mbqm), on random int8 data from a fixed LCG:
 * - FULLY_CONNECTED: accumulation depths around the 16-lane steps (1, 15-17, 31-33, 100, 255:
 *   tails of every length), 1..9 output features (quads and 1-3 left over), 1-3 batches,
 *   input offsets 0, -3, 127, -128 and 128 (128: the split offset vector), per-channel and
 *   per-tensor requantization with shifts -31..+2 and the largest multipliers, narrow
 *   activation ranges, no bias;
 * - BATCH_MATMUL, rhs stored [j][k] (adj_y) and [k][j]: 1-2 lhs rows, 1..33 columns (16-column
 *   passes and their tails), depths 1..40, lhs offsets 0 / 5 / 128 / -128, rhs offsets
 *   0 / -3 / 128, row strides wider than the rows (strided views of a KV cache), a broadcast
 *   batch;
 * - CONV_2D: 3x3 SAME with input offsets 128 and -127 (padded taps hold the zero point), windows
 *   of exactly 576 values (the largest the Helium im2col row takes) and 585 (the next path),
 *   1x1 with 600 input channels (pointwise read in place), stride 2; pointwise outputs slid
 *   below their input (590 channels: beyond the gathered rows; 40 and 8: gathered pairs).
 * main returns the number of mismatching outputs (0: QEMU exits 0). */
#include <stdint.h>

#include "fe_fixedpoint.h"
#include "fe_kernels.h"
#include "semihost.h"

static uint32_t lcg_state = 424242u;

static int8_t next_s8(void) {
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return (int8_t)(lcg_state >> 24);
}

#define MAX_DEPTH 9
#define MAX_N 600
#define MAX_BATCH 3
#define CIN_H 5
#define CIN_W 6

static int8_t x[CIN_H * CIN_W * MAX_N + 64], w[MAX_DEPTH * MAX_N], got[512];
static int32_t bias[16], mult[16], shift[16];

static int8_t requant(int32_t acc, int32_t m, int32_t s, int32_t zp, int32_t lo, int32_t hi) {
  return (int8_t)fe_clamp(fe_mbqm(acc, m, s) + zp, lo, hi);
}

static int fc_check(int32_t batches, int32_t depth, int32_t n, int32_t x_off, int32_t mode) {
  fe_fc_params p = {0};
  const int32_t *b = mode == 2 ? 0 : bias;
  int32_t i, o, k, bad = 0;
  p.batches = batches;
  p.accum_depth = n;
  p.output_depth = depth;
  p.input_offset = x_off;
  p.output_offset = mode == 1 ? 90 : -4;
  p.multiplier = mult;
  p.shift = shift;
  p.per_channel = mode != 3;
  p.act_min = mode == 1 ? -50 : -128;
  p.act_max = mode == 1 ? 70 : 127;
  for (i = 0; i < batches * n; ++i) x[i] = next_s8();
  for (i = 0; i < depth * n; ++i) w[i] = next_s8();
  for (o = 0; o < depth; ++o) {
    bias[o] = (int32_t)next_s8() * 301;
    mult[o] = (o % 3 == 1) ? 0x7FFFFFFF
                           : (int32_t)(0x40000000u + ((uint32_t)(uint8_t)next_s8() << 22));
    shift[o] = (n > 200 ? -12 : -9) + (o % 5) - (o == 4 ? 19 : 0) + (o == 6 ? 11 : 0);
  }
  if (mode == 3) shift[0] = (n & 1) ? -31 : 2;
  (batches > 1 ? fe_fully_connected_rows : fe_fully_connected)(&p, x, w, b, got);
  for (i = 0; i < batches; ++i) {
    for (o = 0; o < depth; ++o) {
      const int32_t c = p.per_channel ? o : 0;
      int32_t acc = b != 0 ? b[o] : 0;
      for (k = 0; k < n; ++k) acc += ((int32_t)x[i * n + k] + x_off) * w[o * n + k];
      bad += got[i * depth + o] != requant(acc, mult[c], shift[c], p.output_offset, p.act_min,
                                           p.act_max);
    }
  }
  if (bad != 0) semihost_write0("fc mismatch\n");
  return bad;
}

static int fc_cases(void) {
  static const int32_t ns[] = {1, 15, 16, 17, 31, 32, 33, 100, 255};
  static const int32_t offs[] = {0, -3, 127, -128, 128};
  int bad = 0;
  int32_t i, j, depth, batches;
  for (i = 0; i < (int32_t)(sizeof ns / sizeof ns[0]); ++i) {
    for (j = 0; j < 5; ++j) {
      for (depth = 1; depth <= MAX_DEPTH; depth += 2) {
        batches = 1 + (depth + i) % MAX_BATCH;
        bad += fc_check(batches, depth, ns[i], offs[j], (i + j + depth) & 3);
      }
    }
  }
  bad += fc_check(2, 8, 600, 128, 0);
  return bad;
}

/* out[b, i, j] for one batch: lhs rows at ls apart, rhs rows at rs apart */
static int bmm_check(int32_t rows, int32_t cols, int32_t depth, int32_t adj_y, int32_t lo,
                     int32_t ro, int32_t pad, int32_t batches) {
  fe_bmm_params p = {0};
  const int32_t ls = depth + pad;
  const int32_t rs = (adj_y ? depth : cols) + pad;
  const int32_t rhs_rows = adj_y ? cols : depth;
  int32_t i, j, k, bt, bad = 0;
  p.batch_dims[0] = p.batch_dims[1] = 1;
  p.batch_dims[2] = batches;
  p.lhs_batch_stride[2] = rows * ls;
  p.rhs_batch_stride[2] = 0; /* rhs broadcast over the batch */
  p.rows = rows;
  p.cols = cols;
  p.depth = depth;
  p.adj_y = adj_y;
  p.lhs_row_stride = ls;
  p.rhs_row_stride = rs;
  p.lhs_offset = lo;
  p.rhs_offset = ro;
  p.output_offset = 3;
  p.multiplier = (int32_t)(0x40000000u + ((uint32_t)(uint8_t)next_s8() << 22));
  p.shift = depth > 20 ? -11 : -8;
  for (i = 0; i < batches * rows * ls; ++i) x[i] = next_s8();
  for (i = 0; i < rhs_rows * rs; ++i) w[i] = next_s8();
  fe_batch_matmul(&p, x, w, got);
  for (bt = 0; bt < batches; ++bt) {
    for (i = 0; i < rows; ++i) {
      for (j = 0; j < cols; ++j) {
        int32_t acc = 0;
        for (k = 0; k < depth; ++k) {
          const int32_t b = adj_y ? w[j * rs + k] : w[k * rs + j];
          acc += ((int32_t)x[(bt * rows + i) * ls + k] + lo) * (b + ro);
        }
        bad += got[(bt * rows + i) * cols + j] != requant(acc, p.multiplier, p.shift, 3, -128, 127);
      }
    }
  }
  if (bad != 0) semihost_write0("batch matmul mismatch\n");
  return bad;
}

static int bmm_cases(void) {
  static const int32_t colss[] = {1, 3, 4, 5, 15, 16, 17, 33};
  static const int32_t depths[] = {1, 7, 16, 17, 40};
  static const int32_t los[] = {0, 5, 128, -128};
  static const int32_t ros[] = {0, -3, 128};
  int bad = 0;
  int32_t c, d, adj, k = 0;
  for (c = 0; c < 8; ++c) {
    for (d = 0; d < 5; ++d) {
      for (adj = 0; adj <= 1; ++adj, ++k) {
        bad += bmm_check(1 + (k & 1), colss[c], depths[d], adj, los[k % 4], ros[k % 3],
                         (k % 5 == 0) ? 8 : 0, (k % 7 == 0) ? 2 : 1);
      }
    }
  }
  return bad;
}

static int conv_check(int32_t f, int32_t stride, int32_t pad, int32_t in_c, int32_t out_c,
                      int32_t x_off) {
  fe_conv_params p = {0};
  int32_t i, oy, ox, oc, fy, fx, ic, bad = 0;
  p.in_h = CIN_H;
  p.in_w = CIN_W;
  p.in_c = in_c;
  p.filter_h = p.filter_w = f;
  p.stride_h = p.stride_w = stride;
  p.dilation_h = p.dilation_w = 1;
  p.pad_h = p.pad_w = pad;
  p.out_h = (CIN_H + 2 * pad - f) / stride + 1;
  p.out_w = (CIN_W + 2 * pad - f) / stride + 1;
  p.out_c = out_c;
  p.depth_multiplier = 1;
  p.input_offset = x_off;
  p.output_offset = -6;
  p.multiplier = mult;
  p.shift = shift;
  p.act_min = -128;
  p.act_max = 127;
  for (i = 0; i < CIN_H * CIN_W * in_c; ++i) x[i] = next_s8();
  for (i = 0; i < out_c * f * f * in_c; ++i) w[i] = next_s8();
  for (oc = 0; oc < out_c; ++oc) {
    bias[oc] = (int32_t)next_s8() * 53;
    mult[oc] = (int32_t)(0x40000000u + ((uint32_t)(uint8_t)next_s8() << 22));
    shift[oc] = -12 - (oc & 3);
  }
  fe_conv2d(&p, x, w, bias, got);
  for (oy = 0; oy < p.out_h; ++oy) {
    for (ox = 0; ox < p.out_w; ++ox) {
      for (oc = 0; oc < out_c; ++oc) {
        int32_t acc = bias[oc];
        for (fy = 0; fy < f; ++fy) {
          for (fx = 0; fx < f; ++fx) {
            const int32_t iy = oy * stride - pad + fy, ix = ox * stride - pad + fx;
            if (iy < 0 || iy >= CIN_H || ix < 0 || ix >= CIN_W) continue;
            for (ic = 0; ic < in_c; ++ic) {
              acc += ((int32_t)x[(iy * CIN_W + ix) * in_c + ic] + x_off) *
                     w[((oc * f + fy) * f + fx) * in_c + ic];
            }
          }
        }
        bad += got[(oy * p.out_w + ox) * out_c + oc] != requant(acc, mult[oc], shift[oc], -6,
                                                               -128, 127);
      }
    }
  }
  if (bad != 0) semihost_write0("conv mismatch\n");
  return bad;
}

/* Pointwise with the output slid below its input in one buffer (the planner's slides): the
 * input `extra` bytes above the smallest shift raster order allows, so pixel pairs read in
 * place only where their writes stay below the input still to be read. */
static int8_t pristine[CIN_H * CIN_W * MAX_N];

static int pw_slide_check(int32_t in_c, int32_t out_c, int32_t extra) {
  fe_conv_params p = {0};
  int32_t i, pix, oc, ic, base = 0, bad = 0;
  int8_t *in;
  p.in_h = p.out_h = CIN_H;
  p.in_w = p.out_w = CIN_W;
  p.in_c = in_c;
  p.out_c = out_c;
  p.filter_h = p.filter_w = 1;
  p.stride_h = p.stride_w = 1;
  p.dilation_h = p.dilation_w = 1;
  p.depth_multiplier = 1;
  p.output_offset = 2;
  p.multiplier = mult;
  p.shift = shift;
  p.act_min = -128;
  p.act_max = 127;
  for (pix = 0; pix < CIN_H * CIN_W; ++pix) {
    if ((pix + 1) * out_c - pix * in_c > base) base = (pix + 1) * out_c - pix * in_c;
  }
  for (i = 0; i < CIN_H * CIN_W * in_c; ++i) pristine[i] = next_s8();
  for (i = 0; i < out_c * in_c; ++i) w[i] = next_s8();
  for (oc = 0; oc < out_c; ++oc) {
    bias[oc] = (int32_t)next_s8() * 53;
    mult[oc] = (int32_t)(0x40000000u + ((uint32_t)(uint8_t)next_s8() << 22));
    shift[oc] = -13 - (oc & 3);
  }
  in = x + base + extra;
  for (i = 0; i < CIN_H * CIN_W * in_c; ++i) in[i] = pristine[i];
  fe_conv2d(&p, in, w, bias, x);
  for (pix = 0; pix < CIN_H * CIN_W; ++pix) {
    for (oc = 0; oc < out_c; ++oc) {
      int32_t acc = bias[oc];
      for (ic = 0; ic < in_c; ++ic) acc += (int32_t)pristine[pix * in_c + ic] * w[oc * in_c + ic];
      bad += x[pix * out_c + oc] != requant(acc, mult[oc], shift[oc], 2, -128, 127);
    }
  }
  if (bad != 0) semihost_write0("pointwise slide mismatch\n");
  return bad;
}

static int conv_cases(void) {
  int bad = 0;
  bad += conv_check(3, 1, 1, 5, 7, 128);
  bad += conv_check(3, 2, 1, 5, 6, -127);
  bad += conv_check(3, 1, 1, 64, 5, 128); /* k = 576 */
  bad += conv_check(3, 1, 0, 65, 5, 7);   /* k = 585 */
  bad += conv_check(1, 2, 0, 600, 6, 0);
  bad += conv_check(1, 1, 0, 33, 9, -3);
  bad += pw_slide_check(590, 7, 0);
  bad += pw_slide_check(590, 7, 5);
  bad += pw_slide_check(40, 9, 0);
  bad += pw_slide_check(8, 8, 3);
  return bad;
}

int main(void) {
  int bad = fc_cases() + bmm_cases() + conv_cases();
  semihost_write0(bad == 0 ? "gemm board cases: all equal\n" : "gemm board cases: MISMATCH\n");
  return bad;
}
