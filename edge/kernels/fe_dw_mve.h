/* DEPTHWISE_CONV_2D (multiplier 1) on Helium (MVE, Cortex-M55); depthwise_conv2d.c calls it
 * from fe_depthwise_conv2d and fe_depthwise_conv2d_inplace when FE_KERNELS_MVE is 1. Two
 * families: not in place (below) and in place through a padded plane (further down, with its
 * own comment). Not in place: the portable dw_pixel_m1 loop nest, vectorised across channels: output
 * pixels in raster order, the valid taps of each found once (dw_taps), channels in blocks of
 * 16 held as four int32x4 sums started at the bias, then blocks of 4; per valid tap and four
 * channels a widening load of input (VLDRB.S32, the input offset added) and one of weights,
 * VMUL.I32 and VADD.I32 (MVE has no lane-wise integer multiply-accumulate); then per four
 * channels TFLite's double-rounding requantization (fe_mve_requant4) and a narrowing store. A
 * last block of 1-3 channels uses predicated loads and stores. Each block's
 * reads come before its writes and blocks go in raster order, so outputs the planner slid over
 * the input stay safe, as on the portable path.
 */
#ifndef FE_DW_MVE_H
#define FE_DW_MVE_H

#include <stdint.h>

#include "fe_dot_mve.h"
#include "fe_dw_quad.h"

#if FE_KERNELS_MVE

/* Fewest channels fe_mve_depthwise takes: measured on qemu-m55, 16 channels of 3x1 windows (zoo
 * gcn) 151,257 -> 96,307 instructions against the DSP quads; 8 channels of 3x3 (zoo cnn)
 * 32,638 on the quads, 47,481 here (4 lanes a step cannot beat weights kept unpacked across a
 * quad's whole plane). */
#define FE_MVE_DW_MIN_C 16

/* s += (x + off) * w on four lanes at x_ + K, w_ + K (loads by LD). */
#define FE_MVE_DW_MAC(S, LD, K) \
  S = vaddq_s32(S, vmulq_s32(vaddq_n_s32(LD(x_ + (K)), off), LD(w_ + (K))))
/* One tap of a block of 16 channels (TAP16) or 4 (TAP4, loads by LD). */
#define FE_MVE_DW_TAP16           \
  do {                            \
    FE_MVE_DW_MAC(s0, vldrbq_s32, 0);  \
    FE_MVE_DW_MAC(s1, vldrbq_s32, 4);  \
    FE_MVE_DW_MAC(s2, vldrbq_s32, 8);  \
    FE_MVE_DW_MAC(s3, vldrbq_s32, 12); \
  } while (0)
#define FE_MVE_DW_TAP4(LD) FE_MVE_DW_MAC(s0, LD, 0)
#define FE_MVE_DW_LDZ(P) vldrbq_z_s32(P, pr)

/* Every valid tap (TAP) of one pixel's block starting at channel c0. */
#define FE_MVE_DW_WINDOW(TAP)                                                             \
  do {                                                                                    \
    int32_t fy_, fx_;                                                                     \
    for (fy_ = w->fy0; fy_ < w->fy1; ++fy_) {                                             \
      const int32_t iy_ = w->y0 + fy_ * p->dilation_h;                                    \
      const int8_t *x_ = input + (iy_ * p->in_w + w->x0 + w->fx0 * p->dilation_w) * ch + c0; \
      const int8_t *w_ = filter + (fy_ * p->filter_w + w->fx0) * ch + c0;                 \
      for (fx_ = w->fx0; fx_ < w->fx1; ++fx_, x_ += xs, w_ += ch) {                      \
        TAP;                                                                              \
      }                                                                                   \
    }                                                                                     \
  } while (0)

/* An output pixel's window: input origin and valid filter rows / columns. */
typedef struct {
  int32_t y0, x0, fy0, fy1, fx0, fx1;
} fe_mve_dw_win;

/* Four channels c of one pixel from their sums s, requantized, stored at dst under
 * predicate pr. */
FE_INLINE void fe_mve_dw_store_at(const fe_conv_params *p, int32x4_t s, int32_t c,
                                  mve_pred16_t pr, int8_t *dst) {
  const fe_mve_rq rq = fe_mve_rq_make(vldrwq_z_s32(p->multiplier + c, pr),
                                      vldrwq_z_s32(p->shift + c, pr));
  vstrbq_p_s32(dst, fe_mve_requant4(s, &rq, p->output_offset, p->act_min, p->act_max), pr);
}

/* The same at out + c. */
FE_INLINE void fe_mve_dw_store(const fe_conv_params *p, int32x4_t s, int32_t c,
                               mve_pred16_t pr, int8_t *out) {
  fe_mve_dw_store_at(p, s, c, pr, out + c);
}

/* One output pixel: channels in blocks of 16, then of 4 (the last one predicated). */
static inline void fe_mve_dw_pixel(const fe_conv_params *p, const int8_t *input,
                                   const int8_t *filter, const int32_t *bias,
                                   const fe_mve_dw_win *w, int8_t *out) {
  const int32_t ch = p->in_c;
  const int32_t off = p->input_offset;
  const int32_t xs = p->dilation_w * ch; /* input step between taps of a filter row */
  const mve_pred16_t all = vctp32q(4);
  int32_t c0 = 0;
  for (; c0 + 16 <= ch; c0 += 16) {
    int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0;
    if (bias != NULL) {
      s0 = vld1q_s32(bias + c0);
      s1 = vld1q_s32(bias + c0 + 4);
      s2 = vld1q_s32(bias + c0 + 8);
      s3 = vld1q_s32(bias + c0 + 12);
    }
    FE_MVE_DW_WINDOW(FE_MVE_DW_TAP16);
    fe_mve_dw_store(p, s0, c0, all, out);
    fe_mve_dw_store(p, s1, c0 + 4, all, out);
    fe_mve_dw_store(p, s2, c0 + 8, all, out);
    fe_mve_dw_store(p, s3, c0 + 12, all, out);
  }
  for (; c0 < ch; c0 += 4) {
    const mve_pred16_t pr = vctp32q((uint32_t)(ch - c0));
    int32x4_t s0 = bias != NULL ? vldrwq_z_s32(bias + c0, pr) : vdupq_n_s32(0);
    if (c0 + 4 <= ch) {
      FE_MVE_DW_WINDOW(FE_MVE_DW_TAP4(vldrbq_s32));
    } else {
      FE_MVE_DW_WINDOW(FE_MVE_DW_TAP4(FE_MVE_DW_LDZ));
    }
    fe_mve_dw_store(p, s0, c0, pr, out);
  }
}

/* In place on small planes (fewer than FE_MVE_DW_MIN_PLANE output pixels): channels in
 * blocks of 16, the pixel loop above on one block (16 lanes as four int32x4 sums, or 4-lane
 * steps with a predicated last one), every output pixel of the block into the scratch (16
 * bytes a pixel), then the block over channels [c0, c0 + 16) of buf's first pixels (its
 * input is no longer read). Scratch: 16 x out_h x out_w bytes. */
static DW_NOINLINE void fe_mve_dw_small_block(const fe_conv_params *p, const int8_t *input,
                                              const int8_t *filter, const int32_t *bias,
                                              int32_t c0, int8_t *dst) {
  const int32_t ch = p->in_c;
  const int32_t off = p->input_offset;
  const int32_t xs = p->dilation_w * ch;
  const int32_t n = ch - c0 < 16 ? ch - c0 : 16;
  fe_mve_dw_win win;
  const fe_mve_dw_win *w = &win;
  int32_t oy, ox;
  for (oy = 0; oy < p->out_h; ++oy) {
    win.y0 = oy * p->stride_h - p->pad_h;
    dw_taps(win.y0, p->dilation_h, p->filter_h, p->in_h, &win.fy0, &win.fy1);
    for (ox = 0; ox < p->out_w; ++ox, dst += 16) {
      win.x0 = ox * p->stride_w - p->pad_w;
      dw_taps(win.x0, p->dilation_w, p->filter_w, p->in_w, &win.fx0, &win.fx1);
      if (n == 16) {
        int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0;
        if (bias != NULL) {
          s0 = vld1q_s32(bias + c0);
          s1 = vld1q_s32(bias + c0 + 4);
          s2 = vld1q_s32(bias + c0 + 8);
          s3 = vld1q_s32(bias + c0 + 12);
        }
        FE_MVE_DW_WINDOW(FE_MVE_DW_TAP16);
        fe_mve_dw_store_at(p, s0, c0, vctp32q(4), dst);
        fe_mve_dw_store_at(p, s1, c0 + 4, vctp32q(4), dst + 4);
        fe_mve_dw_store_at(p, s2, c0 + 8, vctp32q(4), dst + 8);
        fe_mve_dw_store_at(p, s3, c0 + 12, vctp32q(4), dst + 12);
      } else {
        int32_t c;
        for (c = c0; c < ch; c += 4) {
          const mve_pred16_t pr = vctp32q((uint32_t)(ch - c));
          int32x4_t s0 = bias != NULL ? vldrwq_z_s32(bias + c, pr) : vdupq_n_s32(0);
          const int32_t cb = c;
          {
            const int32_t c0 = cb; /* the window macro reads channel c0 */
            FE_MVE_DW_WINDOW(FE_MVE_DW_TAP4(FE_MVE_DW_LDZ));
          }
          fe_mve_dw_store_at(p, s0, c, pr, dst + (c - c0));
        }
      }
    }
  }
}

static inline void fe_mve_depthwise_small_inplace(const fe_conv_params *p, int8_t *buf,
                                                  const int8_t *filter, const int32_t *bias,
                                                  int8_t *scratch) {
  const int32_t pixels = p->out_h * p->out_w;
  int32_t c0, i;
  for (c0 = 0; c0 < p->in_c; c0 += 16) {
    const mve_pred16_t pr = vctp8q((uint32_t)(p->in_c - c0));
    fe_mve_dw_small_block(p, buf, filter, bias, c0, scratch);
    for (i = 0; i < pixels; ++i) {
      vstrbq_p_s8(buf + i * p->in_c + c0, vldrbq_z_s8(scratch + 16 * i, pr), pr);
    }
  }
}

static inline void fe_mve_depthwise(const fe_conv_params *p, const int8_t *input,
                                    const int8_t *filter, const int32_t *bias, int8_t *output) {
  fe_mve_dw_win w;
  int32_t oy, ox;
  for (oy = 0; oy < p->out_h; ++oy) {
    w.y0 = oy * p->stride_h - p->pad_h;
    dw_taps(w.y0, p->dilation_h, p->filter_h, p->in_h, &w.fy0, &w.fy1);
    for (ox = 0; ox < p->out_w; ++ox) {
      w.x0 = ox * p->stride_w - p->pad_w;
      dw_taps(w.x0, p->dilation_w, p->filter_w, p->in_w, &w.fx0, &w.fx1);
      fe_mve_dw_pixel(p, input, filter, bias, &w, output + (oy * p->out_w + ox) * p->in_c);
    }
  }
}

/* ---- In place (TinyEngine's layout): one channel at a time through a padded plane ----
 *
 * Channel c's input is first copied into the scratch as a padded plane (fe_mve_dwt_fill:
 * eight pixels a step, VLDRB.S16 gathered from NHWC, stride in_c, and VSTRB.16): the plane
 * holds every input row and column the filter windows reach, the padding set once per call to
 * the input zero point. Then each output row is computed with output columns as lanes and
 * written straight over channel c of buf (its input is in the plane now; no other channel
 * is touched). Per tap (offsets from a table made once per call) one scalar weight (LDRSB)
 * and, per four columns, one widening load from the plane (stride 1: VLDRB.S32, contiguous;
 * stride_w >= 2: VLDRB.S32 gathered stride_w bytes apart) and one VMLA.S32 by the weight into
 * an int32x4 sum: blocks of up to 24 columns (stride 1, G = 1..6 sums) or 12 (G <= 3);
 * stride-1 rows of at most 12 columns go two rows at a time (fe_mve_dwt_block2: each tap's
 * weight and offset loaded once for both; measured on qemu-m55: 10x10x144 3x3 371,643 ->
 * 323,114 instructions, 13x13x16 3x3 VALID 46,574 -> 41,261). A
 * padded tap reads the zero point, so every window has all its taps and the input offset is
 * folded into the starting sum, bias + input_offset * (sum of the channel's weights).
 * Requantization per four outputs (fe_mve_rq1_apply: TFLite's double rounding with the
 * channel's multiplier and shift as scalars) and a scatter store (VSTRB.32, offsets k * in_c)
 * of the lanes inside the row.
 *
 * Scratch: rows x cols bytes, rows = (out_h - 1) stride_h + (filter_h - 1) dilation_h + 1
 * and cols = (out_w - 1) stride_w + (filter_w - 1) dilation_w + 1, plus 3 stride_w (a
 * block's lanes past the row end read up to that far past the last row):
 * export/scratch.py reserves it (fe_mve_dwt_scratch computes the same).
 */

/* Most taps (filter_h x filter_w) the in-place pass takes (its stack holds a channel's). */
#define FE_MVE_DW_MAX_TAPS 49
/* Fewest output pixels it takes; smaller planes take fe_mve_depthwise_small_inplace (16
 * channels as lanes), where the per-channel fill and setup cost more. Measured on qemu-m55,
 * plane / 16 channels: 20x20x48 3x3 329,158 / 588,746 instructions; 10x10x144 3x3 395,726 /
 * 428,516; 20x20x48 7x7 stride 2 to 10x10 398,994 / 427,112; 5x5x240 7x7 735,322 / 327,099;
 * 11x11x48 3x3 stride 2 to 5x5 82,453 / 38,847 (DSP quads: 838,836, 708,616, 878,274,
 * 709,741, 61,206). export/scratch.py's DW_MIN_PLANE is the same number. */
#define FE_MVE_DW_MIN_PLANE 32
/* Largest stride_w it takes (the fill's 16-bit gather offsets reach seven columns). */
#define FE_MVE_DW_MAX_S 4

/* The padded plane's layout, the same for every channel. */
typedef struct {
  const fe_conv_params *p;
  int32_t rows;      /* rows of the plane */
  int32_t cols;      /* columns (bytes) of a plane row */
  int32_t y0, y1;    /* input rows inside the plane: plane row = y + pad_h */
  int32_t x0, x1;    /* input columns inside the plane: plane column = x + pad_w */
  int32_t taps;      /* filter_h x filter_w */
  int32_t off[FE_MVE_DW_MAX_TAPS]; /* tap k = fy * filter_w + fx: its byte in the plane from
                                     * output column 0's window */
} fe_mve_dwt;

/* Bytes of scratch the in-place pass needs for p (see the family comment). */
FE_INLINE int32_t fe_mve_dwt_scratch(const fe_conv_params *p) {
  const int32_t rows = (p->out_h - 1) * p->stride_h + (p->filter_h - 1) * p->dilation_h + 1;
  const int32_t cols = (p->out_w - 1) * p->stride_w + (p->filter_w - 1) * p->dilation_w + 1;
  return rows * cols + 3 * p->stride_w;
}

/* 1 when fe_mve_depthwise_inplace takes p: at least FE_MVE_DW_MIN_PLANE output pixels,
 * dilation_w 1, at most FE_MVE_DW_MAX_TAPS taps, stride_w at most FE_MVE_DW_MAX_S, and the
 * fill's 16-bit gather offsets reach seven pixels. */
FE_INLINE int fe_mve_dw_inplace_ok(const fe_conv_params *p) {
  return p->out_h * p->out_w >= FE_MVE_DW_MIN_PLANE && p->dilation_w == 1 &&
         p->filter_h * p->filter_w <= FE_MVE_DW_MAX_TAPS && p->stride_w <= FE_MVE_DW_MAX_S &&
         7 * p->in_c <= 0xFFFF;
}

/* Channel c of buf into the plane's input-backed part: per input row eight columns a step
 * (the last step predicated). */
static DW_NOINLINE void fe_mve_dwt_fill(const fe_mve_dwt *t, const int8_t *buf, int32_t c,
                                        int8_t *plane) {
  const fe_conv_params *p = t->p;
  const int32_t step = 8 * p->in_c;
  const int32_t n0 = t->x1 - t->x0;
  const uint16x8_t offs = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)p->in_c);
  int32_t y;
  buf += (t->y0 * p->in_w + t->x0) * p->in_c + c;
  plane += (t->y0 + p->pad_h) * t->cols + t->x0 + p->pad_w;
  for (y = t->y0; y < t->y1; ++y, buf += p->in_w * p->in_c, plane += t->cols) {
    const int8_t *src = buf;
    int8_t *dst = plane;
    int32_t n = n0;
    for (; n >= 8; n -= 8, src += step, dst += 8) {
      vstrbq_s16(dst, vldrbq_gather_offset_s16(src, offs));
    }
    if (n > 0) {
      const mve_pred16_t pr = vctp16q((uint32_t)n);
      vstrbq_p_s16(dst, vldrbq_gather_offset_z_s16(src, offs, pr), pr);
    }
  }
}

/* A channel's requantization as scalars (VQRDMULH, VSHL and VRSHL take one operand from a
 * core register) and its activation range as vectors. */
typedef struct {
  int32_t mult;
  int32_t left;  /* shift > 0 ? shift : 0 */
  int32_t right; /* shift < 0 ? shift : 0 */
  int32_t zp;    /* output offset */
  int32x4_t lo, hi;
} fe_mve_rq1;

/* fe_mve_requant4 with one multiplier and shift for the four lanes. */
FE_INLINE int32x4_t fe_mve_rq1_apply(int32x4_t x, const fe_mve_rq1 *q) {
  int32x4_t v = vqrdmulhq_n_s32(vshlq_r_s32(x, q->left), q->mult);
  if (q->right != 0) {
    v = vrshlq_n_s32(vqaddq_s32(v, vshrq_n_s32(v, 31)), q->right);
  }
  return vminq_s32(vmaxq_s32(vaddq_n_s32(v, q->zp), q->lo), q->hi);
}

/* OP(k) for each of the block's G sums (G constant: GCC keeps every sum in a register). */
#define FE_MVE_DWT_EACH(OP) \
  do {                      \
    OP(0);                  \
    if (G > 1) {            \
      OP(1);                \
    }                       \
    if (G > 2) {            \
      OP(2);                \
    }                       \
    if (G > 3) {            \
      OP(3);                \
    }                       \
    if (G > 4) {            \
      OP(4);                \
    }                       \
    if (G > 5) {            \
      OP(5);                \
    }                       \
  } while (0)
#define FE_MVE_DWT_START(K) a##K = vdupq_n_s32(init)
#define FE_MVE_DWT_MAC(K) a##K = vmlaq_n_s32(a##K, vldrbq_s32(x + 4 * (K)), wv)
/* Sums before the last are full (n > 4 (G - 1)); the last stores lanes below n. */
#define FE_MVE_DWT_STORE(K)                                                                  \
  do {                                                                                       \
    const int32x4_t v_ = fe_mve_rq1_apply(a##K, rq);                                         \
    if ((K) + 1 < G) {                                                                       \
      vstrbq_scatter_offset_s32(out + 4 * (K) * p->in_c, offs, v_);                          \
    } else {                                                                                 \
      vstrbq_scatter_offset_p_s32(out + 4 * (K) * p->in_c, offs, v_,                         \
                                  vctp32q((uint32_t)(n - 4 * (K))));                         \
    }                                                                                        \
  } while (0)

/* Output columns [ox0, ox0 + n) (4 G - 3 <= n <= 4 G) of one row: `row` is the plane row of
 * output row oy's filter row 0 at output column ox0, w the channel's weights, out channel c
 * of pixel (oy, ox0) in buf. */
FE_INLINE void fe_mve_dwt_block(const fe_mve_dwt *t, const int8_t *row, const int8_t *w,
                                int32_t init, const fe_mve_rq1 *rq, int32_t n, int8_t *out,
                                const int G) {
  const fe_conv_params *p = t->p;
  const int32_t *off = t->off;
  const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)p->in_c);
  int32x4_t a0, a1 = vdupq_n_s32(0), a2 = a1, a3 = a1, a4 = a1, a5 = a1;
  int32_t k;
  FE_MVE_DWT_EACH(FE_MVE_DWT_START);
  for (k = t->taps; k > 0; --k) {
    const int8_t *x = row + *off++;
    const int32_t wv = *w++;
    FE_MVE_DWT_EACH(FE_MVE_DWT_MAC);
  }
  FE_MVE_DWT_EACH(FE_MVE_DWT_STORE);
}

/* Two output rows at once (stride 1, G <= 3): sums a of row oy, b of row oy + 1, whose taps
 * lie `down` bytes further; each tap's weight and offset are loaded once for both rows. */
#define FE_MVE_DWT_MAC2(K)                                         \
  do {                                                             \
    a##K = vmlaq_n_s32(a##K, vldrbq_s32(x + 4 * (K)), wv);         \
    b##K = vmlaq_n_s32(b##K, vldrbq_s32(x + down + 4 * (K)), wv);  \
  } while (0)
#define FE_MVE_DWT_START2(K) a##K = b##K = vdupq_n_s32(init)
#define FE_MVE_DWT_STORE2(K)                                     \
  do {                                                           \
    FE_MVE_DWT_STORE(K);                                         \
    a##K = b##K;                                                 \
  } while (0)

FE_INLINE void fe_mve_dwt_block2(const fe_mve_dwt *t, const int8_t *row, const int8_t *w,
                                 int32_t init, const fe_mve_rq1 *rq, int32_t n, int8_t *out,
                                 const int G) {
  const fe_conv_params *p = t->p;
  const int32_t *off = t->off;
  const int32_t down = p->stride_h * t->cols;
  const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)p->in_c);
  int32x4_t a0, a1 = vdupq_n_s32(0), a2 = a1, a3 = a1, a4 = a1, a5 = a1;
  int32x4_t b0, b1 = a1, b2 = a1, b3 = a1, b4 = a1, b5 = a1;
  int32_t k;
  (void)a3;
  (void)a4;
  (void)a5;
  FE_MVE_DWT_EACH(FE_MVE_DWT_START2);
  for (k = t->taps; k > 0; --k) {
    const int8_t *x = row + *off++;
    const int32_t wv = *w++;
    FE_MVE_DWT_EACH(FE_MVE_DWT_MAC2);
  }
  FE_MVE_DWT_EACH(FE_MVE_DWT_STORE2);
  out += p->out_w * p->in_c;
  FE_MVE_DWT_EACH(FE_MVE_DWT_STORE);
}

/* A tap of sum K, stride_w >= 2: lanes gathered stride_w bytes apart from x. */
#define FE_MVE_DWT_GMAC(K) a##K = vmlaq_n_s32(a##K, vldrbq_gather_offset_s32(x, o##K), wv)
#define FE_MVE_DWT_GOFF(K) o##K = vaddq_n_u32(o0, (uint32_t)(4 * (K) * p->stride_w))

/* fe_mve_dwt_block for stride_w >= 2 (G <= 3: each sum keeps its gather offsets). */
FE_INLINE void fe_mve_dwt_block_strided(const fe_mve_dwt *t, const int8_t *row,
                                        const int8_t *w, int32_t init, const fe_mve_rq1 *rq,
                                        int32_t n, int8_t *out, const int G) {
  const fe_conv_params *p = t->p;
  const int32_t *off = t->off;
  const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)p->in_c);
  const uint32x4_t o0 = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)p->stride_w);
  uint32x4_t o1 = o0, o2 = o0;
  int32x4_t a0, a1 = vdupq_n_s32(0), a2 = a1, a3 = a1, a4 = a1, a5 = a1;
  int32_t k;
  (void)a3;
  (void)a4;
  (void)a5;
  if (G > 1) {
    FE_MVE_DWT_GOFF(1);
  }
  if (G > 2) {
    FE_MVE_DWT_GOFF(2);
  }
  FE_MVE_DWT_EACH(FE_MVE_DWT_START);
  for (k = t->taps; k > 0; --k) {
    const int8_t *x = row + *off++;
    const int32_t wv = *w++;
    FE_MVE_DWT_GMAC(0);
    if (G > 1) {
      FE_MVE_DWT_GMAC(1);
    }
    if (G > 2) {
      FE_MVE_DWT_GMAC(2);
    }
  }
  FE_MVE_DWT_EACH(FE_MVE_DWT_STORE);
}

static DW_NOINLINE void fe_mve_dwt_channel(const fe_mve_dwt *t, int8_t *buf, const int8_t *filter,
                                           const int32_t *bias, int32_t c, const int8_t *plane) {
  const fe_conv_params *p = t->p;
  const int32_t taps = p->filter_h * p->filter_w;
  const int32_t shift = p->shift[c];
  int8_t w[FE_MVE_DW_MAX_TAPS];
  fe_mve_rq1 rq;
  int32_t k, oy, sum = 0;
  int32_t init;
  for (k = 0; k < taps; ++k) {
    w[k] = filter[k * p->in_c + c];
    sum += w[k];
  }
  init = (bias != NULL ? bias[c] : 0) + p->input_offset * sum;
  rq.mult = p->multiplier[c];
  rq.left = shift > 0 ? shift : 0;
  rq.right = shift < 0 ? shift : 0;
  rq.zp = p->output_offset;
  rq.lo = vdupq_n_s32(p->act_min);
  rq.hi = vdupq_n_s32(p->act_max);
  for (oy = 0; oy < p->out_h; ++oy) {
    const int8_t *row = plane + oy * p->stride_h * t->cols;
    int8_t *out = buf + oy * p->out_w * p->in_c + c;
    int32_t ox, left;
    if (p->stride_w == 1 && p->out_w <= 12 && oy + 1 < p->out_h) {
      /* rows of at most 12 columns two at a time */
      if (p->out_w > 8) {
        fe_mve_dwt_block2(t, row, w, init, &rq, p->out_w, out, 3);
      } else if (p->out_w > 4) {
        fe_mve_dwt_block2(t, row, w, init, &rq, p->out_w, out, 2);
      } else {
        fe_mve_dwt_block2(t, row, w, init, &rq, p->out_w, out, 1);
      }
      ++oy;
    } else if (p->stride_w == 1) {
      /* blocks of 24 columns, the last of 4, 8, ..., 24 */
      for (ox = 0; (left = p->out_w - ox) > 0; ox += 24, row += 24, out += 24 * p->in_c) {
        if (left > 20) {
          fe_mve_dwt_block(t, row, w, init, &rq, left < 24 ? left : 24, out, 6);
        } else if (left > 16) {
          fe_mve_dwt_block(t, row, w, init, &rq, left, out, 5);
        } else if (left > 12) {
          fe_mve_dwt_block(t, row, w, init, &rq, left, out, 4);
        } else if (left > 8) {
          fe_mve_dwt_block(t, row, w, init, &rq, left, out, 3);
        } else if (left > 4) {
          fe_mve_dwt_block(t, row, w, init, &rq, left, out, 2);
        } else {
          fe_mve_dwt_block(t, row, w, init, &rq, left, out, 1);
        }
      }
    } else {
      /* blocks of 12 columns, the last of 4, 8 or 12 */
      const int32_t step = 12 * p->stride_w;
      for (ox = 0; (left = p->out_w - ox) > 0; ox += 12, row += step, out += 12 * p->in_c) {
        if (left > 8) {
          fe_mve_dwt_block_strided(t, row, w, init, &rq, left < 12 ? left : 12, out, 3);
        } else if (left > 4) {
          fe_mve_dwt_block_strided(t, row, w, init, &rq, left, out, 2);
        } else {
          fe_mve_dwt_block_strided(t, row, w, init, &rq, left, out, 1);
        }
      }
    }
  }
}

/* TinyEngine's in-place depthwise (multiplier 1) through a padded plane in the scratch. */
static inline void fe_mve_depthwise_inplace(const fe_conv_params *p, int8_t *buf,
                                            const int8_t *filter, const int32_t *bias,
                                            int8_t *scratch) {
  const int32_t cols = (p->out_w - 1) * p->stride_w + (p->filter_w - 1) * p->dilation_w + 1;
  fe_mve_dwt t;
  int32_t c, fy, fx;
  t.p = p;
  t.rows = (p->out_h - 1) * p->stride_h + (p->filter_h - 1) * p->dilation_h + 1;
  t.cols = cols;
  t.y0 = p->pad_h > 0 ? 0 : -p->pad_h;
  t.y1 = t.rows - p->pad_h < p->in_h ? t.rows - p->pad_h : p->in_h;
  t.x0 = p->pad_w > 0 ? 0 : -p->pad_w;
  t.x1 = cols - p->pad_w < p->in_w ? cols - p->pad_w : p->in_w;
  t.taps = 0;
  for (fy = 0; fy < p->filter_h; ++fy) {
    for (fx = 0; fx < p->filter_w; ++fx, ++t.taps) {
      t.off[t.taps] = fy * p->dilation_h * cols + fx;
    }
  }
  memset(scratch, -p->input_offset, (size_t)(t.rows * cols));
  for (c = 0; c < p->in_c; ++c) {
    fe_mve_dwt_fill(&t, buf, c, scratch);
    fe_mve_dwt_channel(&t, buf, filter, bias, c, scratch);
  }
}

#undef FE_MVE_DWT_EACH
#undef FE_MVE_DWT_START
#undef FE_MVE_DWT_MAC
#undef FE_MVE_DWT_STORE
#undef FE_MVE_DWT_GMAC
#undef FE_MVE_DWT_MAC2
#undef FE_MVE_DWT_START2
#undef FE_MVE_DWT_STORE2
#undef FE_MVE_DWT_GOFF

#undef FE_MVE_DW_WINDOW
#undef FE_MVE_DW_TAP16
#undef FE_MVE_DW_TAP4
#undef FE_MVE_DW_MAC
#undef FE_MVE_DW_LDZ

#endif /* FE_KERNELS_MVE */

#endif /* FE_DW_MVE_H */
