/* FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D on a board: the kernels (the ACLE SIMD path
 * where the core has DSP: 2x2 and 4x1 blocking, pixel pairs, depthwise quads, tails) against
 * naive int32 loops on random int8 data from a fixed LCG. FC: batches 1..5, depths 1..7, input
 * lengths 1..70, input offsets 0 and -3. CONV_2D: 3x3 / 3x1 / 1x3 / 1x1 filters, strides 1-2,
 * padding 0-1, dilation 1-2, 1..8 input and 1..5 output channels, input offsets 0 and 4;
 * explicit asymmetric pads (top, bottom, left, right: a folded PAD) up to the filter's span - 1.
 * DEPTHWISE_CONV_2D (multiplier 1): 3x3 / 5x5 / 7x7 / 2x3 / 1x1 / 3x1 / 5x3 filters, strides
 * 1-2, VALID and SAME padding, explicit asymmetric pads (3x3 / 5x5 / 7x7 / 5x3),
 * dilation 1-2 (both axes, or H only), 1..13 channels (and 16, 20, 32, 35: Helium's 16-channel
 * blocks), with the
 * output disjoint from the input, slid below it by the planner's smallest safe shift, a few
 * bytes more or whole pixels more, and in place (rings in the scratch, on the stack, or
 * neither); shifts -23..-1 plus channels outside the DSP requantization's range (shift 0 / +1 /
 * -24, huge biases), narrow activation ranges, no bias. Requantization (fe_mbqm, fe_rq_apply)
 * vs TFLite's two roundings on 15200 (x, multiplier, shift), and fe_rq8z (DSP) where its
 * range holds. FULLY_CONNECTED over compressed rows (sparse_cases). QUANTIZE float -> int8
 * (quantize_cases). Slides: FC and CONV_2D with the
 * output partly below the input in one buffer, at the planner's smallest safe shift and a few
 * bytes more (the blocked paths must notice and keep raster order). main returns the number of
 * mismatching outputs (0: QEMU exits 0). */
#include <stdint.h>
#include <string.h>

#include "fe_dot.h"
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

static int8_t x[MAX_B * MAX_N], w[MAX_O * MAX_N * 2], got[MAX_B * MAX_O];
static int32_t bias[16], mult[16], shift[16];
#define shift_of_fc shift

static int8_t reference(const fe_fc_params *p, int32_t b, int32_t o) {
  int32_t acc = bias[o];
  int32_t k;
  for (k = 0; k < p->accum_depth; ++k) {
    acc += ((int32_t)x[b * p->accum_depth + k] + p->input_offset) * w[o * p->accum_depth + k];
  }
  acc = fe_mbqm(acc, mult[o], shift[o]) + p->output_offset;
  return (int8_t)fe_clamp(acc, p->act_min, p->act_max);
}

/* A random per-channel FULLY_CONNECTED case: p, x, w, bias, mult and shift. */
static void fc_case(fe_fc_params *p, int32_t batches, int32_t depth, int32_t n, int32_t x_off) {
  int32_t b, o;
  p->batches = batches;
  p->accum_depth = n;
  p->output_depth = depth;
  p->input_offset = x_off;
  p->output_offset = 5;
  p->multiplier = mult;
  p->shift = shift;
  p->per_channel = 1;
  p->act_min = -128;
  p->act_max = 127;
  for (b = 0; b < batches * n; ++b) x[b] = next_s8();
  for (o = 0; o < depth * n; ++o) w[o] = next_s8();
  for (o = 0; o < depth; ++o) {
    bias[o] = (int32_t)next_s8() * 37;
    mult[o] = (int32_t)(0x40000000u + ((uint32_t)(uint8_t)next_s8() << 20));
    shift[o] = -6 - (o & 3);
  }
}

static int check(int32_t batches, int32_t depth, int32_t n, int32_t x_off) {
  fe_fc_params p = {0};
  int32_t b, o, bad = 0;
  fc_case(&p, batches, depth, n, x_off);
  (batches > 1 ? fe_fully_connected_rows : fe_fully_connected)(&p, x, w, bias, got);
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

/* ---- QUANTIZE float -> int8 (fe_quantize_f32: VCVTA on the M7/M55's FPv5, an integer
 * rounding on the M4) against roundf's rule written out here: ties k + 0.5 and their float
 * neighbours, random values, huge values, NaN (-> the zero point). ---- */
static float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static int32_t round_ref(float q) { /* half away from zero; |q| > 1024 saturates, NaN -> 0 */
  int32_t t;
  float frac;
  if (q != q) return 0;
  if (q > 1024.0f) return 1024;
  if (q < -1024.0f) return -1024;
  t = (int32_t)q;
  frac = q - (float)t;
  return frac >= 0.5f ? t + 1 : (frac <= -0.5f ? t - 1 : t);
}

static int quantize_cases(void) {
  static float xs[600];
  static int8_t q8[600];
  const float scales[3] = {1.0f, 0.0390625f, 0.3f};
  const int32_t zps[3] = {0, -7, 11};
  int32_t i, c, n = 0, bad = 0;
  for (i = 0; i < 150; ++i) {
    uint32_t u;
    const float t = (float)(i - 75) * 0.25f + 0.5f;
    memcpy(&u, &t, sizeof u);
    xs[n++] = t;
    xs[n++] = bits_float(u + 1u);
    xs[n++] = bits_float(u - 1u);
  }
  for (; n < 590; ++n) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    xs[n] = (float)(int32_t)lcg_state * 1e-7f;
  }
  xs[n++] = 1e30f;
  xs[n++] = -1e30f;
  xs[n++] = bits_float(0x7FC00000u); /* NaN */
  for (c = 0; c < 3; ++c) {
    fe_affine_params p = {0};
    p.size = n;
    p.scale = scales[c];
    p.zero_point = zps[c];
    fe_quantize_f32(&p, xs, q8);
    for (i = 0; i < n; ++i) {
      const int32_t r = round_ref(xs[i] / scales[c]) + zps[c];
      bad += q8[i] != (r < -128 ? -128 : (r > 127 ? 127 : r));
    }
  }
  if (bad != 0) semihost_write0("quantize mismatch\n");
  return bad;
}

/* ---- FULLY_CONNECTED over compressed rows (fe_fully_connected_sparse): the weights of
 * fc_case with about 1 in 6 kept (an all-zero row among them), stored as rows; against the
 * dense reference. Shifts down to -31 (an all-zero row's tiny scale), per-tensor and
 * per-channel, with and without bias, input offsets 0 and -3. ---- */
static uint16_t sp_start[MAX_O + 1], sp_col[MAX_O * MAX_N];
static int8_t sp_val[MAX_O * MAX_N];

static int sparse_check(int32_t batches, int32_t depth, int32_t n, int32_t x_off, int variant) {
  fe_fc_params p = {0};
  fe_sparse_s8 sw = {sp_start, sp_col, sp_val};
  int32_t b, o, k, nnz = 0, bad = 0;
  fc_case(&p, batches, depth, n, x_off);
  for (o = 0; o < depth; ++o) {
    sp_start[o] = (uint16_t)nnz;
    for (k = 0; k < n; ++k) {
      int8_t *wk = &w[o * n + k];
      if (o == 1 || (next_s8() & 7) > 0) *wk = 0; /* row 1 all zero */
      if (*wk != 0) {
        sp_col[nnz] = (uint16_t)k;
        sp_val[nnz++] = *wk;
      }
    }
    if (variant & 1) shift[o] = -20 - ((o * 5) % 12); /* -20..-31 */
  }
  sp_start[depth] = (uint16_t)nnz;
  if (variant & 2) { /* per-tensor: every channel reads entry 0 */
    p.per_channel = 0;
    for (o = 1; o < depth; ++o) {
      mult[o] = mult[0];
      shift[o] = shift[0];
    }
  }
  if (variant & 4) {
    for (o = 0; o < depth; ++o) bias[o] = 0;
  }
  fe_fully_connected_sparse(&p, &sw, x, (variant & 4) ? NULL : bias, got);
  for (b = 0; b < batches; ++b) {
    for (o = 0; o < depth; ++o) {
      if (got[b * depth + o] != reference(&p, b, o)) {
        if (bad == 0) semihost_write0("sparse fc mismatch\n");
        ++bad;
      }
    }
  }
  return bad;
}

static int sparse_cases(void) {
  int bad = 0;
  int variant;
  int32_t b, o, n;
  for (variant = 0; variant < 8; ++variant) {
    for (b = 1; b <= 3; ++b) {
      for (o = 1; o <= MAX_O; o += 3) {
        for (n = 1; n <= MAX_N; n += 23) {
          bad += sparse_check(b, o, n, 0, variant);
          bad += sparse_check(b, o, n, -3, variant);
        }
      }
    }
  }
  return bad;
}

#define CIN_H 7
#define CIN_W 9
#define MAX_C 8
#define MAX_F 3

static int8_t cin[CIN_H * CIN_W * MAX_C], cw[MAX_O * MAX_F * MAX_F * MAX_C];
static int8_t cout[(CIN_H + 2) * (CIN_W + 2) * MAX_O]; /* explicit pads up to 2 per side */

static int8_t conv_reference(const fe_conv_params *p, int32_t oy, int32_t ox, int32_t oc) {
  int32_t acc = bias[oc];
  int32_t fy, fx, ic;
  for (fy = 0; fy < p->filter_h; ++fy) {
    for (fx = 0; fx < p->filter_w; ++fx) {
      const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dilation_h;
      const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dilation_w;
      if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) continue;
      for (ic = 0; ic < p->in_c; ++ic) {
        acc += ((int32_t)cin[(iy * p->in_w + ix) * p->in_c + ic] + p->input_offset) *
               cw[((oc * p->filter_h + fy) * p->filter_w + fx) * p->in_c + ic];
      }
    }
  }
  acc = fe_mbqm(acc, mult[oc], shift[oc]) + p->output_offset;
  return (int8_t)fe_clamp(acc, p->act_min, p->act_max);
}

/* 1: channel 0 gets shift +1, outside the DSP requantization's range, so the call takes the
 * generic (window-run) path instead of im2col / pointwise. */
static int conv_generic;

/* pads: top, bottom, left, right (a folded PAD's explicit padding; SAME-like when equal) */
static int conv_check(int32_t fh, int32_t fw, int32_t stride, const int32_t pads[4],
                      int32_t dil, int32_t in_c, int32_t out_c, int32_t x_off) {
  fe_conv_params p = {0};
  int32_t i, oy, ox, oc, bad = 0;
  p.in_h = CIN_H;
  p.in_w = CIN_W;
  p.in_c = in_c;
  p.filter_h = fh;
  p.filter_w = fw;
  p.stride_h = stride;
  p.stride_w = stride;
  p.dilation_h = dil;
  p.dilation_w = dil;
  p.pad_h = pads[0];
  p.pad_w = pads[2];
  p.out_h = (CIN_H + pads[0] + pads[1] - dil * (fh - 1) - 1) / stride + 1;
  p.out_w = (CIN_W + pads[2] + pads[3] - dil * (fw - 1) - 1) / stride + 1;
  p.out_c = out_c;
  p.depth_multiplier = 1;
  p.input_offset = x_off;
  p.output_offset = -7;
  p.multiplier = mult;
  p.shift = shift;
  p.act_min = -128;
  p.act_max = 127;
  for (i = 0; i < CIN_H * CIN_W * in_c; ++i) cin[i] = next_s8();
  for (i = 0; i < out_c * fh * fw * in_c; ++i) cw[i] = next_s8();
  for (oc = 0; oc < out_c; ++oc) {
    bias[oc] = (int32_t)next_s8() * 11;
    mult[oc] = (int32_t)(0x40000000u + ((uint32_t)(uint8_t)next_s8() << 20));
    shift[oc] = -7 - (oc & 1) - (oc % 3 == 2 ? 18 : 0); /* some below -23 (fe_rq8z) */
  }
  if (conv_generic) {
    shift[0] = 1;
    mult[0] = 0x40000000;
  }
  fe_conv2d(&p, cin, cw, bias, cout);
  for (oy = 0; oy < p.out_h; ++oy) {
    for (ox = 0; ox < p.out_w; ++ox) {
      for (oc = 0; oc < out_c; ++oc) {
        if (cout[(oy * p.out_w + ox) * out_c + oc] != conv_reference(&p, oy, ox, oc)) {
          if (bad == 0) semihost_write0("conv mismatch\n");
          ++bad;
        }
      }
    }
  }
  return bad;
}

static int conv_cases(void) {
  static const int32_t shapes[4][2] = {{3, 3}, {3, 1}, {1, 3}, {1, 1}};
  int bad = 0;
  int32_t s, stride, pad, dil, in_c, out_c;
  for (conv_generic = 0; conv_generic <= 1; ++conv_generic)
  for (s = 0; s < 4; ++s) {
    for (stride = 1; stride <= 2; ++stride) {
      for (pad = 0; pad <= 1; ++pad) {
        const int32_t pads[4] = {pad, pad, pad, pad};
        for (dil = 1; dil <= 2; ++dil) {
          for (in_c = 1; in_c <= MAX_C; in_c += 3) {
            for (out_c = 1; out_c <= 5; out_c += 2) {
              bad += conv_check(shapes[s][0], shapes[s][1], stride, pads, dil, in_c, out_c, 0);
              bad += conv_check(shapes[s][0], shapes[s][1], stride, pads, dil, in_c, out_c, 4);
            }
          }
        }
      }
    }
  }
  return bad;
}

/* Explicit asymmetric pads (top, bottom, left, right: a folded PAD), each at most the filter's
 * span - 1 along its axis, on every path: im2col, pointwise (1x1: no pads), window runs. */
static const int32_t asym_pads[5][4] = {{1, 2, 0, 1}, {2, 0, 1, 2}, {0, 1, 2, 1}, {2, 2, 0, 0},
                                        {0, 0, 1, 0}};

static int conv_pad_cases(void) {
  static const int32_t shapes[3][2] = {{3, 3}, {3, 1}, {1, 3}};
  int bad = 0;
  int32_t s, k, stride, in_c, out_c;
  for (conv_generic = 0; conv_generic <= 1; ++conv_generic)
  for (s = 0; s < 3; ++s) {
    for (k = 0; k < 5; ++k) {
      const int32_t *pd = asym_pads[k];
      if (pd[0] >= shapes[s][0] || pd[1] >= shapes[s][0] || pd[2] >= shapes[s][1] ||
          pd[3] >= shapes[s][1]) {
        continue;
      }
      for (stride = 1; stride <= 2; ++stride) {
        for (in_c = 1; in_c <= MAX_C; in_c += 3) {
          for (out_c = 1; out_c <= 5; out_c += 4) {
            bad += conv_check(shapes[s][0], shapes[s][1], stride, pd, 1, in_c, out_c, 0);
            bad += conv_check(shapes[s][0], shapes[s][1], stride, pd, 1, in_c, out_c, 4);
          }
        }
      }
    }
  }
  { /* 1x1 with pads after the last row / column: the pointwise family must refuse it */
    static const int32_t after[4] = {0, 1, 0, 1};
    conv_generic = 0;
    bad += conv_check(1, 1, 1, after, 1, 5, 3, 0);
  }
  return bad;
}

/* fe_mbqm / fe_rq_apply (one nudged multiply-accumulate, hi-word shift on 32-bit cores)
 * against TFLite's two roundings, fe_rdbpot(fe_srdhm(x << left, m), right). */
static int requant_cases(void) {
  int bad = 0;
  int32_t shift;
  int32_t i;
  for (shift = -31; shift <= 6; ++shift) {
    for (i = 0; i < 400; ++i) {
      int32_t x, m, expected;
      fe_rq q;
      lcg_state = lcg_state * 1664525u + 1013904223u;
      x = (int32_t)lcg_state >> (lcg_state & 31u);
      lcg_state = lcg_state * 1664525u + 1013904223u;
      m = (i & 1) ? (int32_t)((1u << 30) | (lcg_state >> 2))
                  : (int32_t)(lcg_state >> (1u + (lcg_state & 15u)));
      expected = fe_rdbpot(fe_srdhm((int32_t)((uint32_t)x << (shift > 0 ? shift : 0)), m),
                           shift > 0 ? 0 : -shift);
      q = fe_rq_make(m, shift);
      bad += fe_mbqm(x, m, shift) != expected;
      bad += fe_rq_apply(&q, x) != expected;
#if FE_KERNELS_ACLE
      if (shift <= 0 && (x < 0 ? -(int64_t)x : x) < ((int64_t)1 << 30)) { /* fe_rqd's range */
        fe_rqd d;
        bad += !fe_rqd_make(m, shift, &d) || fe_rqd_apply(&d, x) != expected;
      }
      if (fe_rq8z_ok(m, shift, x < 0 ? -(int64_t)x : x)) { /* zero point 3 after the shift */
        bad += fe_rq8z(x, m, shift, 3) != (expected + 3 > 127 ? 127 : expected + 3 < -128 ? -128 : expected + 3);
      }
#endif
    }
  }
  if (bad != 0) semihost_write0("requant mismatch\n");
  return bad;
}

/* ---- slides: the output placed `shift` bytes below its input in one buffer, as the planner
 * may (export/planner/overlap.py), with the smallest shift its raster-order model allows ---- */
#define SLIDE_MAX 2048
static int8_t slide_buf[SLIDE_MAX + 1024];
static int8_t pristine[1024];

/* the planner's model: events j in raster order read from r_j up, then write byte w_j;
 * min shift = max_j (max_{i<=j} w_i + 1 - min_{i>j} r_i), the minimum over none = in_size */
#define EV_MAX 1800

static int32_t model_shift(const int32_t *w, const int32_t *r, int32_t events, int32_t in_size) {
  static int32_t suffix[EV_MAX];
  int32_t j, best = 0, high = 0;
  suffix[events - 1] = in_size;
  for (j = events - 2; j >= 0; --j) {
    suffix[j] = r[j + 1] < suffix[j + 1] ? r[j + 1] : suffix[j + 1];
  }
  for (j = 0; j < events; ++j) {
    high = w[j] + 1 > high ? w[j] + 1 : high;
    best = high - suffix[j] > best ? high - suffix[j] : best;
  }
  return best;
}

static int32_t ev_w[EV_MAX], ev_r[EV_MAX];

static int fc_slide_check(int32_t batches, int32_t depth, int32_t n, int32_t extra) {
  fe_fc_params p = {0};
  int32_t b, o, slide, bad = 0;
  int8_t *in;
  for (b = 0; b < batches; ++b) {
    for (o = 0; o < depth; ++o) {
      ev_w[b * depth + o] = b * depth + o;
      ev_r[b * depth + o] = b * n;
    }
  }
  slide = model_shift(ev_w, ev_r, batches * depth, batches * n) + extra;
  fc_case(&p, batches, depth, n, 0);
  for (b = 0; b < batches * n; ++b) pristine[b] = x[b];
  in = slide_buf + slide;
  for (b = 0; b < batches * n; ++b) in[b] = pristine[b];
  (batches > 1 ? fe_fully_connected_rows : fe_fully_connected)(&p, in, w, bias, slide_buf);
  for (b = 0; b < batches; ++b) {
    for (o = 0; o < depth; ++o) {
      if (slide_buf[b * depth + o] != reference(&p, b, o)) ++bad;
    }
  }
  if (bad != 0) semihost_write0("fc slide mismatch\n");
  return bad;
}

static int conv_slide_check(int32_t fh, int32_t stride, int32_t pad, int32_t in_c, int32_t out_c,
                            int32_t extra) {
  fe_conv_params p = {0};
  int32_t i, oy, ox, oc, slide, ev = 0, bad = 0;
  int8_t *in;
  p.in_h = CIN_H;
  p.in_w = CIN_W;
  p.in_c = in_c;
  p.filter_h = fh;
  p.filter_w = 1;
  p.stride_h = stride;
  p.stride_w = 1;
  p.dilation_h = 1;
  p.dilation_w = 1;
  p.pad_h = pad;
  p.out_h = (CIN_H + 2 * pad - (fh - 1) - 1) / stride + 1;
  p.out_w = CIN_W;
  p.out_c = out_c;
  p.depth_multiplier = 1;
  p.output_offset = -7;
  p.multiplier = mult;
  p.shift = shift_of_fc;
  p.act_min = -128;
  p.act_max = 127;
  for (oy = 0; oy < p.out_h; ++oy) {
    int32_t y = oy * stride - pad;
    while (y < 0) ++y; /* first valid tap row (dilation 1) */
    for (ox = 0; ox < p.out_w; ++ox) {
      for (oc = 0; oc < out_c; ++oc, ++ev) {
        ev_w[ev] = ev;
        ev_r[ev] = (y * CIN_W + ox) * in_c;
      }
    }
  }
  slide = model_shift(ev_w, ev_r, ev, CIN_H * CIN_W * in_c) + extra;
  for (i = 0; i < CIN_H * CIN_W * in_c; ++i) pristine[i] = cin[i] = next_s8();
  for (i = 0; i < out_c * fh * in_c; ++i) cw[i] = next_s8();
  for (oc = 0; oc < out_c; ++oc) {
    bias[oc] = (int32_t)next_s8() * 11;
    mult[oc] = (int32_t)(0x40000000u + ((uint32_t)(uint8_t)next_s8() << 20));
    shift_of_fc[oc] = -7 - (oc & 1);
  }
  in = slide_buf + slide;
  for (i = 0; i < CIN_H * CIN_W * in_c; ++i) in[i] = pristine[i];
  fe_conv2d(&p, in, cw, bias, slide_buf);
  for (oy = 0; oy < p.out_h; ++oy) {
    for (ox = 0; ox < p.out_w; ++ox) {
      for (oc = 0; oc < out_c; ++oc) {
        if (slide_buf[(oy * p.out_w + ox) * out_c + oc] != conv_reference(&p, oy, ox, oc)) ++bad;
      }
    }
  }
  if (bad != 0) semihost_write0("conv slide mismatch\n");
  return bad;
}

static int slide_cases(void) {
  int bad = 0;
  int32_t extra;
  for (extra = 0; extra <= 9; extra += 3) {
    bad += fc_slide_check(4, 3, 9, extra);   /* output rows shorter than input rows */
    bad += fc_slide_check(5, 12, 4, extra);  /* longer: pairs become unsafe further down */
    bad += fc_slide_check(6, 8, 8, extra);
    bad += conv_slide_check(3, 2, 0, 8, 8, extra);
    bad += conv_slide_check(3, 1, 1, 4, 6, extra);
    bad += conv_slide_check(1, 1, 0, 8, 8, extra);
  }
  return bad;
}

/* ---- DEPTHWISE_CONV_2D, multiplier 1 ---- */
#define DW_MAX_C 40
#define DW_MAX_IN 1800

static int8_t dw_in[DW_MAX_IN], dw_w[49 * DW_MAX_C];
static uint32_t dw_scratch[DW_MAX_IN / 4 + 2]; /* word-aligned; +1 byte: misaligned */
static int8_t dw_buf[2 * DW_MAX_IN + 16];
static int32_t dw_bias[DW_MAX_C], dw_mult[DW_MAX_C], dw_shift[DW_MAX_C];

/* TFLite's SAME padding before the first row / column (VALID: 0) and the output size. */
static int32_t dw_out_size(int32_t in, int32_t f, int32_t stride, int32_t dil, int32_t same,
                           int32_t *pad) {
  const int32_t span = dil * (f - 1) + 1;
  const int32_t out = same ? (in + stride - 1) / stride : in >= span ? (in - span) / stride + 1 : 0;
  const int32_t total = (out - 1) * stride + span - in;
  *pad = same && total > 0 ? total / 2 : 0;
  return out;
}

static int8_t dw_reference(const fe_conv_params *p, const int32_t *bias, int32_t oy, int32_t ox,
                           int32_t c) {
  int32_t acc = bias != NULL ? bias[c] : 0;
  int32_t fy, fx;
  for (fy = 0; fy < p->filter_h; ++fy) {
    for (fx = 0; fx < p->filter_w; ++fx) {
      const int32_t iy = oy * p->stride_h - p->pad_h + fy * p->dilation_h;
      const int32_t ix = ox * p->stride_w - p->pad_w + fx * p->dilation_w;
      if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) continue;
      acc += ((int32_t)dw_in[(iy * p->in_w + ix) * p->in_c + c] + p->input_offset) *
             dw_w[(fy * p->filter_w + fx) * p->in_c + c];
    }
  }
  acc = fe_mbqm(acc, dw_mult[c], dw_shift[c]) + p->output_offset;
  return (int8_t)fe_clamp(acc, p->act_min, p->act_max);
}

/* The planner's depthwise event model (export/planner/overlap.py): element (pixel k, channel c)
 * reads from its first valid tap's byte, channel c, up; smallest safe shift, at least 1. */
static int32_t dw_min_shift(const fe_conv_params *p) {
  int32_t oy, ox, c, ev = 0;
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      int32_t fy = 0, fx = 0, iy, ix, first;
      while (fy < p->filter_h && oy * p->stride_h - p->pad_h + fy * p->dilation_h < 0) ++fy;
      while (fx < p->filter_w && ox * p->stride_w - p->pad_w + fx * p->dilation_w < 0) ++fx;
      iy = oy * p->stride_h - p->pad_h + fy * p->dilation_h;
      ix = ox * p->stride_w - p->pad_w + fx * p->dilation_w;
      first = fy < p->filter_h && fx < p->filter_w && iy < p->in_h && ix < p->in_w
                  ? (iy * p->in_w + ix) * p->in_c
                  : p->in_h * p->in_w * p->in_c;
      for (c = 0; c < p->in_c; ++c, ++ev) {
        ev_w[ev] = ev;
        ev_r[ev] = first + c;
      }
    }
  }
  c = model_shift(ev_w, ev_r, ev, p->in_h * p->in_w * p->in_c);
  return c > 1 ? c : 1;
}

/* Where the output goes: disjoint; slid below the input by the smallest safe shift (+ extra);
 * slid by that shift rounded up to whole pixels (the quad passes' case); in place (scratch at
 * an odd address when extra is odd). */
enum { DW_DISJOINT, DW_SLIDE, DW_INPLACE, DW_SLIDE_PIXELS };

static int dw_run(const fe_conv_params *p, const int32_t *bias, int place, int32_t extra) {
  const int32_t in_size = p->in_h * p->in_w * p->in_c;
  int32_t oy, ox, c, bad = 0;
  int8_t *in = dw_buf + 8;
  int8_t *out = dw_buf + 8 + in_size;
  if (place == DW_SLIDE || place == DW_SLIDE_PIXELS) {
    int32_t shift = dw_min_shift(p) + extra;
    if (place == DW_SLIDE_PIXELS) shift = (shift + p->in_c - 1) / p->in_c * p->in_c;
    out = dw_buf;
    in = dw_buf + shift;
  } else if (place == DW_INPLACE) {
    out = in;
  }
  for (c = 0; c < in_size; ++c) in[c] = dw_in[c];
  if (place == DW_INPLACE) {
    fe_depthwise_conv2d_inplace(p, in, dw_w, bias, (int8_t *)dw_scratch + (extra & 1));
  } else {
    fe_depthwise_conv2d(p, in, dw_w, bias, out);
  }
  for (oy = 0; oy < p->out_h; ++oy) {
    for (ox = 0; ox < p->out_w; ++ox) {
      for (c = 0; c < p->in_c; ++c) {
        bad += out[(oy * p->out_w + ox) * p->in_c + c] != dw_reference(p, bias, oy, ox, c);
      }
    }
  }
  return bad;
}

static int dw_fill_run(fe_conv_params *pp, int32_t odd, int inplace);

/* One shape, random data; `odd` puts channels outside the DSP requantization's range. */
static int dw_check(int32_t h, int32_t w, int32_t ch, int32_t fh, int32_t fw, int32_t stride,
                    int32_t dil, int32_t same, int32_t odd) {
  fe_conv_params p = {0};
  p.in_h = h;
  p.in_w = w;
  p.in_c = ch;
  p.out_c = ch;
  p.filter_h = fh;
  p.filter_w = fw;
  p.stride_h = stride;
  p.stride_w = stride;
  p.dilation_h = dil;
  p.dilation_w = (odd & 2) ? 1 : dil; /* dilation along H only: still the DSP quads */
  p.out_h = dw_out_size(h, fh, stride, p.dilation_h, same, &p.pad_h);
  p.out_w = dw_out_size(w, fw, stride, p.dilation_w, same, &p.pad_w);
  if (p.out_h <= 0 || p.out_w <= 0) return 0;
  return dw_fill_run(&p, odd, 1);
}

/* Explicit pads (top, bottom, left, right: a folded PAD), dilation 1; in place only where the
 * output plane is no larger than the input's (the in-place kernel's contract). */
static int dw_check_pads(int32_t h, int32_t w, int32_t ch, int32_t fh, int32_t fw,
                         int32_t stride, const int32_t pads[4], int32_t odd) {
  fe_conv_params p = {0};
  p.in_h = h;
  p.in_w = w;
  p.in_c = ch;
  p.out_c = ch;
  p.filter_h = fh;
  p.filter_w = fw;
  p.stride_h = stride;
  p.stride_w = stride;
  p.dilation_h = 1;
  p.dilation_w = 1;
  p.pad_h = pads[0];
  p.pad_w = pads[2];
  p.out_h = (h + pads[0] + pads[1] - fh) / stride + 1;
  p.out_w = (w + pads[2] + pads[3] - fw) / stride + 1;
  return dw_fill_run(&p, odd, p.out_h * p.out_w <= h * w);
}

/* Random data and requantization for the shape in *pp (`odd` as dw_check's), then every
 * placement of the output (in place when `inplace`). */
static int dw_fill_run(fe_conv_params *pp, int32_t odd, int inplace) {
  fe_conv_params p = *pp;
  const int32_t h = p.in_h, w = p.in_w, ch = p.in_c, fh = p.filter_h, fw = p.filter_w;
  int32_t i, bad = 0;
  p.depth_multiplier = 1;
  p.input_offset = (odd & 4) ? -5 : 128;
  p.output_offset = (odd & 4) ? 9 : -128;
  p.act_min = (odd & 1) ? -128 : -100;
  p.act_max = (odd & 1) ? 127 : 60;
  p.multiplier = dw_mult;
  p.shift = dw_shift;
  for (i = 0; i < h * w * ch; ++i) dw_in[i] = next_s8();
  for (i = 0; i < fh * fw * ch; ++i) dw_w[i] = next_s8();
  for (i = 0; i < ch; ++i) {
    dw_bias[i] = (int32_t)next_s8() * 97;
    dw_mult[i] = (i % 5 == 1) ? (1 << 30)
                 : (i % 5 == 2) ? 0x7FFFFFFF
                                : (int32_t)(0x40000000u + ((uint32_t)(uint8_t)next_s8() << 22));
    dw_shift[i] = -7 - (i % 4) - (fh * fw > 9);
  }
  if (odd & 1) { /* a channel the DSP requantization cannot take, and the extreme shifts */
    dw_shift[ch - 1] = (odd & 8) ? 1 : 0;
    dw_shift[0] = -23;
    if (ch > 5) dw_shift[5] = -24;
    if (ch > 2) dw_bias[2] = (1 << 30) - 3;
  }
  for (i = 0; i < 3; ++i) {
    if (i != DW_INPLACE || inplace) bad += dw_run(&p, (odd & 8) ? NULL : dw_bias, i, 0);
  }
  bad += dw_run(&p, dw_bias, DW_SLIDE, 3);
  bad += dw_run(&p, dw_bias, DW_SLIDE_PIXELS, 0);
  if (inplace) bad += dw_run(&p, dw_bias, DW_INPLACE, 1);
  if (bad != 0) semihost_write0("depthwise mismatch\n");
  return bad;
}

/* Explicit asymmetric pads (asym_pads, and 7x7 / 5x5 pads up to 3) on 3x3 / 5x5 / 7x7 / 5x3
 * filters, strides 1-2, channels 4..12 (quads, tails) and 3 (portable only). */
static int dw_pad_cases(void) {
  static const int32_t filters[4][2] = {{3, 3}, {5, 5}, {7, 7}, {5, 3}};
  static const int32_t wide[3][4] = {{3, 1, 2, 3}, {0, 3, 3, 0}, {1, 3, 0, 2}};
  int bad = 0;
  int32_t f, k, stride, ch;
  for (f = 0; f < 4; ++f) {
    for (k = 0; k < 8; ++k) {
      const int32_t *pd = k < 5 ? asym_pads[k] : wide[k - 5];
      if (pd[0] >= filters[f][0] || pd[1] >= filters[f][0] || pd[2] >= filters[f][1] ||
          pd[3] >= filters[f][1]) {
        continue;
      }
      for (stride = 1; stride <= 2; ++stride) {
        for (ch = 3; ch <= 12; ch += 4) {
          bad += dw_check_pads(7, 8, ch, filters[f][0], filters[f][1], stride, pd,
                               (ch + f + k + stride) & 15);
        }
      }
    }
  }
  return bad;
}

static int dw_cases(void) {
  static const int32_t filters[7][2] = {{3, 3}, {5, 5}, {7, 7}, {2, 3}, {1, 1}, {3, 1}, {5, 3}};
  int bad = 0;
  int32_t f, stride, same, dil, ch;
  for (f = 0; f < 7; ++f) {
    for (stride = 1; stride <= 2; ++stride) {
      for (same = 0; same <= 1; ++same) {
        for (dil = 1; dil <= 2; ++dil) {
          for (ch = 1; ch <= 13; ch += 3) {
            bad += dw_check(9, 11, ch, filters[f][0], filters[f][1], stride, dil, same,
                            (ch + f + stride) & 15);
          }
        }
      }
    }
  }
  /* planes where the in-place ring fits the scratch (12x12 3x3), only the stack (5x5 7x7:
   * every row pending; 9x9 7x7: 4 rows of 9 words; 11x12 7x7, 13 channels, channel 5 out of
   * range: passes on either side of its quad) or neither (9x20 7x7), and 3x3 maps of 7x7 /
   * 3x3 filters */
  bad += dw_check(12, 12, 8, 3, 3, 1, 1, 1, 0);
  bad += dw_check(12, 12, 12, 3, 3, 1, 1, 1, 4);
  bad += dw_check(5, 5, 8, 7, 7, 1, 1, 1, 0);
  bad += dw_check(9, 9, 8, 7, 7, 1, 1, 1, 0);
  bad += dw_check(11, 12, 13, 7, 7, 1, 1, 1, 1);
  bad += dw_check(9, 20, 8, 7, 7, 1, 1, 1, 0);
  bad += dw_check(3, 3, 12, 7, 7, 1, 1, 1, 0);
  bad += dw_check(3, 3, 12, 3, 3, 1, 1, 1, 6);
  bad += dw_check(10, 10, 4, 3, 3, 2, 1, 0, 0);
  /* 16 channels and more (Helium's 16-channel blocks, whole and partial) */
  bad += dw_check(9, 11, 16, 3, 3, 1, 1, 1, 0);
  bad += dw_check(7, 8, 20, 3, 3, 2, 2, 0, 4);
  bad += dw_check(5, 6, 35, 5, 3, 1, 1, 1, 6);
  bad += dw_check(6, 6, 32, 3, 3, 1, 1, 1, 1);
  return bad + dw_pad_cases();
}

/* ---- CONV_2D pointwise (1x1, the GEMM family): many channels, quad tails, strides, shifts
 * -23..-1 and outside (generic path), narrow activations, no bias, slid outputs ---- */
#define PW_H 5
#define PW_W 7
#define PW_IC 200
#define PW_OC 37

static int8_t pw_in[PW_H * PW_W * PW_IC], pw_w[PW_OC * PW_IC];
static int8_t pw_buf[2 * PW_H * PW_W * PW_OC + PW_H * PW_W * PW_IC + 64];
static int32_t pw_bias[PW_OC], pw_mult[PW_OC], pw_shift[PW_OC];

static int8_t pw_reference(const fe_conv_params *p, const int8_t *in, const int32_t *b,
                           int32_t oy, int32_t ox, int32_t oc) {
  const int8_t *xp = in + ((oy * p->stride_h) * p->in_w + ox * p->stride_w) * p->in_c;
  int32_t acc = b != NULL ? b[oc] : 0;
  int32_t ic;
  for (ic = 0; ic < p->in_c; ++ic) acc += (int32_t)xp[ic] * pw_w[oc * p->in_c + ic];
  acc = fe_mbqm(acc, pw_mult[oc], pw_shift[oc]) + p->output_offset;
  return (int8_t)fe_clamp(acc, p->act_min, p->act_max);
}

/* slide < 0: output disjoint from the input; else the input sits `slide` bytes above the
 * output's start in one buffer (the planner's slides; the shift is computed here as the
 * smallest one raster order tolerates, plus slide). */
static int pw_check(int32_t stride, int32_t in_c, int32_t out_c, int32_t mode, int32_t slide) {
  fe_conv_params p = {0};
  int32_t i, oy, ox, oc, bad = 0, base = 0;
  const int32_t *b = mode == 2 ? NULL : pw_bias;
  int8_t *in, *out;
  p.in_h = PW_H;
  p.in_w = PW_W;
  p.in_c = in_c;
  p.filter_h = p.filter_w = 1;
  p.stride_h = p.stride_w = stride;
  p.dilation_h = p.dilation_w = 1;
  p.out_h = (PW_H - 1) / stride + 1;
  p.out_w = (PW_W - 1) / stride + 1;
  p.out_c = out_c;
  p.depth_multiplier = 1;
  p.output_offset = mode == 1 ? 100 : -9;
  p.multiplier = pw_mult;
  p.shift = pw_shift;
  p.act_min = mode == 1 ? -20 : -128;
  p.act_max = mode == 1 ? 90 : 127;
  for (i = 0; i < PW_H * PW_W * in_c; ++i) pw_in[i] = next_s8();
  for (i = 0; i < out_c * in_c; ++i) pw_w[i] = next_s8();
  for (oc = 0; oc < out_c; ++oc) {
    pw_bias[oc] = (int32_t)next_s8() * 37;
    pw_mult[oc] = (int32_t)(0x40000000u + ((uint32_t)(uint8_t)next_s8() << 22));
    pw_shift[oc] = -1 - (oc * 5 + in_c) % 31;
    if (mode == 3 && oc == out_c - 1) pw_shift[oc] = oc & 1 ? 1 : -24; /* generic path */
  }
  if (slide < 0) {
    in = pw_buf + 2 * PW_H * PW_W * PW_OC;
    out = pw_buf;
  } else {
    /* raster order: output pixel k (written after reading input pixel k) may end at input
     * pixel k + 1's first byte at the latest */
    for (oy = 0; oy < p.out_h; ++oy) {
      for (ox = 0; ox < p.out_w; ++ox) {
        const int32_t k = oy * p.out_w + ox;
        const int32_t r = ((oy * stride) * PW_W + ox * stride) * in_c;
        if ((k + 1) * out_c - r > base) base = (k + 1) * out_c - r;
      }
    }
    in = pw_buf + base + slide;
    out = pw_buf;
  }
  for (i = 0; i < PW_H * PW_W * in_c; ++i) in[i] = pw_in[i];
  fe_conv2d(&p, in, pw_w, b, out);
  for (oy = 0; oy < p.out_h; ++oy) {
    for (ox = 0; ox < p.out_w; ++ox) {
      for (oc = 0; oc < out_c; ++oc) {
        if (out[(oy * p.out_w + ox) * out_c + oc] != pw_reference(&p, pw_in, b, oy, ox, oc)) {
          if (bad == 0) semihost_write0("pointwise conv mismatch\n");
          ++bad;
        }
      }
    }
  }
  return bad;
}

static int pw_cases(void) {
  static const int32_t chans[][2] = {{40, 37}, {16, 16}, {17, 12}, {8, 36}, {33, 5},
                                     {4, 8}, {3, 4}, {24, 3}, {1, 9}, {12, 20}, {200, 6}, {193, 9}};
  int bad = 0;
  int32_t c, stride, mode, slide;
  for (c = 0; c < (int32_t)(sizeof chans / sizeof chans[0]); ++c) {
    for (stride = 1; stride <= 2; ++stride) {
      for (mode = 0; mode <= 3; ++mode) {
        bad += pw_check(stride, chans[c][0], chans[c][1], mode, -1);
      }
      for (slide = 0; slide <= 9; slide += 3) {
        bad += pw_check(stride, chans[c][0], chans[c][1], 0, slide);
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
  bad += sparse_cases();
  bad += quantize_cases();
  bad += conv_cases();
  bad += conv_pad_cases();
  bad += requant_cases();
  bad += slide_cases();
  bad += dw_cases();
  bad += pw_cases();
  semihost_write0(bad == 0 ? "kernel board cases: all equal\n" : "kernel board cases: MISMATCH\n");
  return bad;
}
