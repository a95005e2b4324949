/* CONV_2D on Helium (MVE, Cortex-M55) with gathered windows of at most 48 values: conv2d.c's
 * dispatch calls fe_mve_conv_gather when fe_mve_conv_gather_ok accepts the call, before
 * fe_gemm_mve.h's fe_mve_conv2d (im2col rows, in-place pointwise). Aimed at small CNNs' first
 * layers, narrow pointwise layers and short temporal windows (3x3 over 3 channels, 1x1 over
 * 8, 3x1 over 12-16), where per-pixel im2col copies and requantization cost more than the
 * 16-lane dot products themselves (qemu-m55, whole calls: zoo cnn 3x3 stride 2 over 3
 * channels 68,416 -> 30,489 instructions, 1x1 8 -> 16 channels 40,423 -> 22,791; zoo gcn's
 * 3x1 stride 2 over 12 channels 107,264 -> 67,218, 3x1 over 16 132,850 -> 89,303).
 *
 * - Windows by gathers: an output pixel's k = filter_h * filter_w * in_c input values, in
 *   filter (HWI) order, sit at fixed byte offsets from its window origin. The offsets of each
 *   group of 16 values are computed once per call, from the group's first byte (uint8 lanes,
 *   so a group spans at most 255 bytes), and one VLDRB gather per group loads them. Pixels
 *   whose window crosses the border mask the taps outside the input by comparing each lane's
 *   filter row / column offset with the pixel's limits (VCMP with predicate chaining) and put
 *   -input_offset there (VPSEL): the tap's (x + input_offset) * w is then 0, as TFLite's
 *   skipped taps.
 * - The input offset is folded into the bias once per call (input_offset * sum(w)), so the
 *   dot products are plain VMLADAV.S8 (exact int32 sums, order-independent: bit-identical to
 *   the portable loops). Lanes beyond k are never used: weight loads stop at k (VCTP).
 * - Blocks of four pixels (k <= 16), three (k <= 32) or two (k <= 48) keep their window
 *   vectors in Q registers; per output channel its one to three weight vectors serve every
 *   pixel of the block, the sums go through a small array into int32x4 vectors, and each four
 *   channels are requantized (fe_mve_requant4) for every pixel with the constants loaded once.
 * Every block reads all its input (gathers into registers) before writing any output, and
 * blocks go in raster order, so outputs the planner slid over the dying input
 * (export/planner/overlap.py) stay correct without fe_disjoint checks.
 */
#ifndef FE_CONV_MVE_H
#define FE_CONV_MVE_H

#include <stdint.h>

#include "fe_dot_mve.h"
#include "fe_gemm_mve.h"
#include "fe_internal.h"

#if FE_KERNELS_MVE

/* Largest window (k values) the gather path takes: three window vectors per pixel. */
#define FE_MVE_GK 48

/* Lane tables of one call: for lane j of the im2col row (j < k, groups of 16), its byte
 * offset from the window origin, its filter row and column offsets (fy * dilation_h,
 * fx * dilation_w) and the value a padded tap holds (-input_offset; 0 beyond k). */
typedef struct {
  int32_t base[FE_MVE_GK / 16]; /* group g's offsets count from origin + base[g] */
  uint8_t off[FE_MVE_GK];
  int8_t dy[FE_MVE_GK];
  int8_t dx[FE_MVE_GK];
  int8_t pad[FE_MVE_GK];
  int32_t k, groups;
} fe_mve_win;

/* Byte offset of im2col lane j (filter HWI order) from the window origin; it grows with j. */
static inline int32_t fe_mve_lane_off(const fe_conv_params *p, int32_t j) {
  const int32_t row = p->filter_w * p->in_c;
  const int32_t fy = j / row, fx = (j - fy * row) / p->in_c;
  return (fy * p->dilation_h * p->in_w + fx * p->dilation_w) * p->in_c + j % p->in_c;
}

/* 1 when fe_mve_conv_gather takes the call: k <= FE_MVE_GK, each group of 16 window values
 * within 255 bytes of its first (uint8 gather offsets), filter offsets below 127 (int8 lane
 * compares), at most FE_MVE_MAX_OC channels (their folded biases sit on the stack). */
static inline int fe_mve_conv_gather_ok(const fe_conv_params *p) {
  const int32_t k = p->filter_h * p->filter_w * p->in_c;
  const int32_t dy = (p->filter_h - 1) * p->dilation_h, dx = (p->filter_w - 1) * p->dilation_w;
  int32_t j;
  if (k > FE_MVE_GK || dy >= 127 || dx >= 127 || p->out_c > FE_MVE_MAX_OC) {
    return 0;
  }
  for (j = 0; j < k; j += 16) {
    const int32_t last = j + 15 < k ? j + 15 : k - 1;
    if (fe_mve_lane_off(p, last) - fe_mve_lane_off(p, j) > 255) {
      return 0;
    }
  }
  return 1;
}

static inline void fe_mve_win_init(const fe_conv_params *p, fe_mve_win *w) {
  const int32_t c = p->in_c;
  int32_t j = 0, fy, fx, ch;
  w->k = p->filter_h * p->filter_w * c;
  w->groups = (w->k + 15) / 16;
  for (fy = 0; fy < w->groups; ++fy) {
    w->base[fy] = fe_mve_lane_off(p, 16 * fy);
  }
  for (fy = 0; fy < p->filter_h; ++fy) {
    for (fx = 0; fx < p->filter_w; ++fx) {
      const int32_t base = (fy * p->dilation_h * p->in_w + fx * p->dilation_w) * c;
      for (ch = 0; ch < c; ++ch, ++j) {
        w->off[j] = (uint8_t)(base + ch - w->base[j / 16]);
        w->dy[j] = (int8_t)(fy * p->dilation_h);
        w->dx[j] = (int8_t)(fx * p->dilation_w);
        w->pad[j] = (int8_t)-p->input_offset;
      }
    }
  }
  for (; j < 16 * w->groups; ++j) { /* lanes beyond k: the group's first byte, never valid */
    w->off[j] = 0;
    w->dy[j] = 127;
    w->dx[j] = 127;
    w->pad[j] = 0;
  }
}

/* Output pixels in raster order: the current pixel's window origin and which of its taps
 * fall inside the input (lanes with dy in [lo_y, hi_y) and dx in [lo_x, hi_x), limits clamped
 * to int8, exact since every filter offset is below 127). Moving on costs an add and a
 * compare; the row's limits are recomputed once per output row. */
typedef struct {
  const fe_conv_params *p;
  const int8_t *input;
  uintptr_t origin; /* address of input + (y0 * in_w + x0) * in_c, possibly outside it */
  int32_t oy, ox;
  int32_t x_lo, x_hi; /* output columns whose windows lie inside the input's width */
  int32_t row_border; /* 1 when the row's windows cross the top or bottom */
  int32_t lo_y, hi_y;
} fe_mve_cursor;

FE_INLINE int32_t fe_mve_s8_clamp(int32_t v) { return v < -128 ? -128 : v > 127 ? 127 : v; }

static inline void fe_mve_cursor_row(fe_mve_cursor *c) {
  const fe_conv_params *p = c->p;
  const int32_t y0 = c->oy * p->stride_h - p->pad_h, x0 = -p->pad_w;
  /* integer arithmetic on the address: the origin of a border window may lie outside */
  c->origin = (uintptr_t)c->input + (uintptr_t)((y0 * p->in_w + x0) * p->in_c);
  c->ox = 0;
  c->row_border = y0 < 0 || y0 + (p->filter_h - 1) * p->dilation_h >= p->in_h;
  c->lo_y = fe_mve_s8_clamp(-y0);
  c->hi_y = fe_mve_s8_clamp(p->in_h - y0);
}

static inline void fe_mve_cursor_init(fe_mve_cursor *c, const fe_conv_params *p,
                                      const int8_t *input) {
  const int32_t reach = (p->filter_w - 1) * p->dilation_w;
  c->p = p;
  c->input = input;
  c->oy = 0;
  /* ox * stride_w - pad_w >= 0 and ox * stride_w - pad_w + reach < in_w */
  c->x_lo = (p->pad_w + p->stride_w - 1) / p->stride_w;
  c->x_hi = p->in_w - reach + p->pad_w > 0 ? (p->in_w - reach + p->pad_w + p->stride_w - 1) /
                                                 p->stride_w
                                           : 0;
  fe_mve_cursor_row(c);
}

FE_INLINE void fe_mve_cursor_next(fe_mve_cursor *c) {
  if (++c->ox == c->p->out_w) {
    ++c->oy;
    fe_mve_cursor_row(c);
  } else {
    c->origin += (uintptr_t)(c->p->stride_w * c->p->in_c);
  }
}

/* Group g (16 lanes) of the current pixel's im2col row. Lanes beyond k hold offset 0 (a byte
 * of the window) and are never used: every weight load stops at k. */
FE_INLINE int8x16_t fe_mve_gather(const fe_mve_win *w, const fe_mve_cursor *c, int32_t g) {
  const uint8x16_t off = vld1q_u8(w->off + 16 * g);
  const int8_t *at = (const int8_t *)(c->origin + (uintptr_t)w->base[g]);
  if (c->row_border || c->ox < c->x_lo || c->ox >= c->x_hi) {
    const int32_t x0 = c->ox * c->p->stride_w - c->p->pad_w;
    const int8x16_t dy = vld1q_s8(w->dy + 16 * g), dx = vld1q_s8(w->dx + 16 * g);
    mve_pred16_t p = vcmpgeq_n_s8(dy, (int8_t)c->lo_y);
    p = vcmpltq_m_n_s8(dy, (int8_t)c->hi_y, p);
    p = vcmpgeq_m_n_s8(dx, (int8_t)fe_mve_s8_clamp(-x0), p);
    p = vcmpltq_m_n_s8(dx, (int8_t)fe_mve_s8_clamp(c->p->in_w - x0), p);
    return vpselq_s8(vldrbq_gather_offset_z_s8(at, off, p), vld1q_s8(w->pad + 16 * g), p);
  }
  return vldrbq_gather_offset_s8(at, off);
}

/* The current pixel's window vectors (groups 0 .. n-1 of at most three), then on to the
 * next pixel; past the last pixel zeros (a block's unused slots, never stored). */
FE_INLINE void fe_mve_take(const fe_mve_win *w, fe_mve_cursor *c, int32_t groups, int32_t live,
                           int8x16_t *xa, int8x16_t *xb, int8x16_t *xc) {
  *xa = *xb = *xc = vdupq_n_s8(0);
  if (live) {
    *xa = fe_mve_gather(w, c, 0);
    if (groups > 1) {
      *xb = fe_mve_gather(w, c, 1);
    }
    if (groups > 2) {
      *xc = fe_mve_gather(w, c, 2);
    }
    fe_mve_cursor_next(c);
  }
}

/* Pixels per register block: four with one window vector each, three with two, two with
 * three (at most six Q registers, two left for the weights). */
#define FE_MVE_CB 4

/* Four output channels' sums s[i][0..3] of the block's pixels i < np (lanes of channels
 * beyond oc_n are never stored): bias added, requantized with the channel constants loaded
 * once, narrowed into out[i] + oc0. */
FE_INLINE void fe_mve_block_out(const fe_mve_out *q, int32_t s[FE_MVE_CB][4], int32_t np,
                                int32_t oc0, int32_t nj, int8_t *const out[FE_MVE_CB]) {
  const mve_pred16_t pr = vctp32q((uint32_t)nj);
  const fe_mve_rq rq =
      fe_mve_rq_make(vldrwq_z_s32(q->mult + oc0, pr), vldrwq_z_s32(q->shift + oc0, pr));
  const int32x4_t b = vldrwq_z_s32(q->bias + oc0, pr);
  int32_t i;
  for (i = 0; i < np; ++i) {
    const int32x4_t v = vaddq_s32(vld1q_s32(s[i]), b);
    vstrbq_p_s32(out[i] + oc0, fe_mve_requant4(v, &rq, q->out_offset, q->lo, q->hi), pr);
  }
}

/* k <= 16: four pixels' window vectors x0..x3 against every output channel (one weight load
 * per channel for the four). */
FE_INLINE void fe_mve_block16(const fe_mve_out *q, int8x16_t x0, int8x16_t x1, int8x16_t x2,
                              int8x16_t x3, int32_t np, const int8_t *filter, int32_t k,
                              int32_t oc_n, int8_t *const out[FE_MVE_CB]) {
  const mve_pred16_t t0 = vctp8q((uint32_t)k);
  int32_t s[FE_MVE_CB][4];
  int32_t oc0, j;
  for (oc0 = 0; oc0 < oc_n; oc0 += 4) {
    const int32_t nj = oc_n - oc0 < 4 ? oc_n - oc0 : 4;
    const int8_t *w = filter + oc0 * k;
    for (j = 0; j < nj; ++j, w += k) {
      const int8x16_t w0 = vldrbq_z_s8(w, t0);
      s[0][j] = vmladavq_s8(x0, w0);
      s[1][j] = vmladavq_s8(x1, w0);
      s[2][j] = vmladavq_s8(x2, w0);
      s[3][j] = vmladavq_s8(x3, w0);
    }
    fe_mve_block_out(q, s, np, oc0, nj, out);
  }
}

/* 16 < k <= 32: three pixels' window vector pairs (xa: values 0-15, xb: 16-31). */
FE_INLINE void fe_mve_block32(const fe_mve_out *q, int8x16_t x0a, int8x16_t x0b,
                              int8x16_t x1a, int8x16_t x1b, int8x16_t x2a, int8x16_t x2b,
                              int32_t np, const int8_t *filter, int32_t k, int32_t oc_n,
                              int8_t *const out[FE_MVE_CB]) {
  const mve_pred16_t t1 = vctp8q((uint32_t)(k - 16));
  int32_t s[FE_MVE_CB][4];
  int32_t oc0, j;
  for (oc0 = 0; oc0 < oc_n; oc0 += 4) {
    const int32_t nj = oc_n - oc0 < 4 ? oc_n - oc0 : 4;
    const int8_t *w = filter + oc0 * k;
    for (j = 0; j < nj; ++j, w += k) {
      const int8x16_t w0 = vld1q_s8(w), w1 = vldrbq_z_s8(w + 16, t1);
      s[0][j] = vmladavaq_s8(vmladavq_s8(x0a, w0), x0b, w1);
      s[1][j] = vmladavaq_s8(vmladavq_s8(x1a, w0), x1b, w1);
      s[2][j] = vmladavaq_s8(vmladavq_s8(x2a, w0), x2b, w1);
    }
    fe_mve_block_out(q, s, np, oc0, nj, out);
  }
}

/* 32 < k <= 48: two pixels' window vectors (xa: values 0-15, xb: 16-31, xc: 32-47). */
FE_INLINE void fe_mve_block48(const fe_mve_out *q, int8x16_t x0a, int8x16_t x0b,
                              int8x16_t x0c, int8x16_t x1a, int8x16_t x1b, int8x16_t x1c,
                              int32_t np, const int8_t *filter, int32_t k, int32_t oc_n,
                              int8_t *const out[FE_MVE_CB]) {
  const mve_pred16_t t2 = vctp8q((uint32_t)(k - 32));
  int32_t s[FE_MVE_CB][4];
  int32_t oc0, j;
  for (oc0 = 0; oc0 < oc_n; oc0 += 4) {
    const int32_t nj = oc_n - oc0 < 4 ? oc_n - oc0 : 4;
    const int8_t *w = filter + oc0 * k;
    for (j = 0; j < nj; ++j, w += k) {
      const int8x16_t w0 = vld1q_s8(w), w1 = vld1q_s8(w + 16), w2 = vldrbq_z_s8(w + 32, t2);
      s[0][j] = vmladavaq_s8(vmladavaq_s8(vmladavq_s8(x0a, w0), x0b, w1), x0c, w2);
      s[1][j] = vmladavaq_s8(vmladavaq_s8(vmladavq_s8(x1a, w0), x1b, w1), x1c, w2);
    }
    fe_mve_block_out(q, s, np, oc0, nj, out);
  }
}

/* Every output pixel from the cursor on, in blocks of four / three / two pixels for windows
 * of one / two / three vectors (groups). */
FE_INLINE void fe_mve_conv_blocks(const fe_mve_out *q, const fe_mve_win *w, fe_mve_cursor *cur,
                                  int32_t groups, const int8_t *filter, int8_t *output,
                                  int32_t pixels, int32_t oc_n) {
  const int32_t cb = groups == 1 ? FE_MVE_CB : groups == 2 ? FE_MVE_CB - 1 : 2;
  int32_t pix;
  for (pix = 0; pix < pixels; pix += cb) {
    const int32_t np = pixels - pix < cb ? pixels - pix : cb;
    int8x16_t x0a, x0b, x0c, x1a, x1b, x1c, x2a, x2b, x2c, x3a, x3b, x3c;
    int8_t *out[FE_MVE_CB];
    out[0] = output + pix * oc_n;
    out[1] = out[0] + oc_n;
    out[2] = out[1] + oc_n;
    out[3] = out[2] + oc_n;
    /* the whole block gathered (raster order) before any of its outputs is written */
    fe_mve_take(w, cur, groups, 1, &x0a, &x0b, &x0c);
    fe_mve_take(w, cur, groups, np > 1, &x1a, &x1b, &x1c);
    if (groups == 3) {
      fe_mve_block48(q, x0a, x0b, x0c, x1a, x1b, x1c, np, filter, w->k, oc_n, out);
      continue;
    }
    fe_mve_take(w, cur, groups, np > 2, &x2a, &x2b, &x2c);
    if (groups == 2) {
      fe_mve_block32(q, x0a, x0b, x1a, x1b, x2a, x2b, np, filter, w->k, oc_n, out);
      continue;
    }
    fe_mve_take(w, cur, groups, np > 3, &x3a, &x3b, &x3c);
    fe_mve_block16(q, x0a, x1a, x2a, x3a, np, filter, w->k, oc_n, out);
  }
}

/* CONV_2D over gathered windows (the calls fe_mve_conv_gather_ok accepts). */
static inline void fe_mve_conv_gather(const fe_conv_params *p, const int8_t *input,
                                      const int8_t *filter, const int32_t *bias,
                                      int8_t *output) {
  fe_mve_win w;
  fe_mve_out q;
  int32_t folded[FE_MVE_MAX_OC];
  const int32_t oc_n = p->out_c, pixels = p->out_h * p->out_w;
  fe_mve_cursor cur;
  fe_mve_win_init(p, &w);
  /* padded taps hold -input_offset, so every row has all k values and the offset term is
   * input_offset * sum(w) for every pixel */
  q = fe_mve_conv_out(p, bias, filter, w.k, p->input_offset != 0 || bias == NULL, folded);
  fe_mve_cursor_init(&cur, p, input);
  /* one loop per window length, the group count a constant in each */
  if (w.groups == 1) {
    fe_mve_conv_blocks(&q, &w, &cur, 1, filter, output, pixels, oc_n);
  } else if (w.groups == 2) {
    fe_mve_conv_blocks(&q, &w, &cur, 2, filter, output, pixels, oc_n);
  } else {
    fe_mve_conv_blocks(&q, &w, &cur, 3, filter, output, pixels, oc_n);
  }
}

#endif /* FE_KERNELS_MVE */

#endif /* FE_CONV_MVE_H */
