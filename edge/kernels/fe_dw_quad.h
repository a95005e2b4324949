/* The multiplier-1 DEPTHWISE_CONV_2D's Cortex-M DSP family (depthwise_conv2d.c drives it): four
 * neighbouring channels ("a quad") at a time. Included by depthwise_conv2d.c only; without
 * FE_KERNELS_ACLE it holds only dw_taps and DW_NOINLINE, which the portable loops share.
 *
 * - DW_TAP: one tap of the quad. One word of input widened with the input offset by SXTAB16
 *   (bytes 0, 2) and SXTAB16 ROR #8 (bytes 1, 3), the weights widened the same way (SXTB16 per
 *   tap: DW_FILTER, or once per pass: DW_WIDE), and SMLABB / SMLATT into four int32 sums s0..s3
 *   (channel k of the quad in sk): LDR + 2 extends + 4 MACs, plus the weights' LDRD, or LDR +
 *   2 extends.
 * - Windows: DW_WINDOW_3X3, the nine taps of a 3x3 window inside the input, unrolled
 *   (dw_window4_3x3 widens the weights as it goes); dw_window4, any window row by row. Taps
 *   are one pixel apart (dilation_w 1).
 * - dw_rq: TFLite's per-channel requantization (double rounding) as one SMMULR, two adds, one
 *   shift and one SSAT per output; fe_pack4_clamp (fe_dot.h) packs four outputs into one word and clamps them to
 *   the activation range four bytes at once (SSUB8 + SEL).
 * - dw_pass: one quad over the whole output plane, row by row (dw_pass_row), its
 *   requantization and, for 3x3 filters, its widened weights unpacked once: interior pixels of
 *   a 3x3 filter go through DW_WINDOW_3X3 on those weights, the others through dw_window4.
 */
#ifndef FE_DW_QUAD_H
#define FE_DW_QUAD_H

#include <stdint.h>
#include <string.h>

#include "fe_dot.h"
#include "fe_fixedpoint.h"

/* Out of line: a loop that needs every register gets them only in a function of its own
 * (inlined, GCC spills its sums), and each caller's stack frame stays small. */
#if defined(__GNUC__)
#define DW_NOINLINE __attribute__((noinline))
#else
#define DW_NOINLINE
#endif

/* first and one-past-last tap whose coordinate start + tap * dilation is inside [0, size) */
static inline void dw_taps(int32_t start, int32_t dilation, int32_t taps, int32_t size,
                           int32_t *lo, int32_t *hi) {
  int32_t first = start < 0 ? (dilation - 1 - start) / dilation : 0;
  int32_t end = size > start ? (size - start + dilation - 1) / dilation : 0;
  first = first < taps ? first : taps;
  end = end < taps ? end : taps;
  *lo = first;
  *hi = end > first ? end : first;
}

#if FE_KERNELS_ACLE

/* Makes pointer P look computed from S (no code): the next loads through P stay after S's
 * last update, so GCC's scheduler cannot hoist all of a window's loads ahead of its
 * multiplies and run out of registers. */
#define DW_AFTER(P, S) __asm__("" : "+r"(P) : "r"(S))

/* One tap into s0..s3: input word at X, weights WE = (w0, w2), WO = (w1, w3); needs `off`,
 * the input offset in both halves. */
#define DW_TAP(X, WE, WO)                                  \
  do {                                                     \
    const uint32_t xv_ = fe_ld4(X);                        \
    const int16x2_t xe_ = __sxtab16(off, (int8x4_t)xv_);   \
    const int16x2_t xo_ = fe_sxtab16_odd(off, xv_);        \
    s0 = __smlabb((int32_t)xe_, (int32_t)(WE), s0);        \
    s2 = __smlatt((int32_t)xe_, (int32_t)(WE), s2);        \
    s1 = __smlabb((int32_t)xo_, (int32_t)(WO), s1);        \
    s3 = __smlatt((int32_t)xo_, (int32_t)(WO), s3);        \
  } while (0)

/* Weights of tap K: widened once per pass into WIDE (uint64_t[9]), read by one LDRD (GCC
 * splits two adjacent loads that feed different instructions). */
#define DW_WIDE(WIDE, K, WE, WO)                                               \
  __asm__("ldrd %0, %1, [%2, %3]" : "=r"(WE), "=r"(WO)                         \
          : "r"(WIDE), "i"(8 * (K)), "m"(*(const uint64_t(*)[9])(WIDE)))

/* Weights of the tap at W (the quad's four int8), widened here. */
#define DW_FILTER(W, WE, WO)                         \
  do {                                               \
    const uint32_t wv_ = fe_ld4(W);                  \
    WE = (uint32_t)__sxtb16((int8x4_t)wv_);          \
    WO = (uint32_t)fe_sxtb16_odd(wv_);               \
  } while (0)

/* The three taps of one 3x3 filter row at X, X + X_COL, X + 2 X_COL; WEIGHTS(K, WE, WO) sets
 * tap K's widened weights. */
#define DW_ROW3(X, X_COL, K, WEIGHTS)       \
  do {                                      \
    uint32_t we_, wo_;                      \
    WEIGHTS(K, we_, wo_);                   \
    DW_TAP(X, we_, wo_);                    \
    DW_AFTER(X, s3);                        \
    WEIGHTS((K) + 1, we_, wo_);             \
    DW_TAP((X) + (X_COL), we_, wo_);        \
    DW_AFTER(X, s3);                        \
    WEIGHTS((K) + 2, we_, wo_);             \
    DW_TAP((X) + 2 * (X_COL), we_, wo_);    \
    DW_AFTER(X, s3);                        \
  } while (0)

/* The nine taps of a 3x3 window inside the input, top-left tap at X (advanced by two rows),
 * rows X_ROW bytes apart. */
#define DW_WINDOW_3X3(X, X_COL, X_ROW, WEIGHTS) \
  do {                                          \
    DW_ROW3(X, X_COL, 0, WEIGHTS);              \
    (X) += (X_ROW);                             \
    DW_ROW3(X, X_COL, 3, WEIGHTS);              \
    (X) += (X_ROW);                             \
    DW_ROW3(X, X_COL, 6, WEIGHTS);              \
  } while (0)

/* Adds to s[0..3] `rows` filter rows of `cols` taps, the first tap at x (input) and w (filter),
 * widening the weights; taps are ch bytes apart in both (dilation_w 1), rows x_row and w_row.
 * One pointer walks both: the weights of the tap at xp lie at xp + delta. */
FE_INLINE void dw_window4(const int8_t *x, const int8_t *w, int32_t rows, int32_t cols,
                          int32_t ch, int32_t x_row, int32_t w_row, int16x2_t off,
                          int32_t s[4]) {
  int32_t s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
  const int32_t span = cols * ch;
  int32_t delta = (int32_t)(w - x);
  for (; rows > 0; --rows, x += x_row, delta += w_row - x_row) {
    const int8_t *xp = x;
    const int8_t *end = x + span;
    for (; xp != end; xp += ch) {
      uint32_t we, wo;
      DW_FILTER(xp + delta, we, wo);
      DW_TAP(xp, we, wo);
    }
  }
  s[0] = s0;
  s[1] = s1;
  s[2] = s2;
  s[3] = s3;
}

/* Tap k's weights read and widened at wq, which walks the filter (DW_WINDOW_3X3's WEIGHTS). */
#define DW_RASTER_WEIGHTS(K, WE, WO) \
  do {                               \
    DW_FILTER(wq, WE, WO);           \
    wq += ch;                        \
  } while (0)

/* Adds to s[0..3] a whole 3x3 window, x and w at its top-left tap (input, filter), widening the
 * weights; taps ch bytes apart, rows x_row (input) and 3 ch (filter). */
static DW_NOINLINE void dw_window4_3x3(const int8_t *x, const int8_t *w, int32_t ch,
                                       int32_t x_row, int16x2_t off, int32_t s[4]) {
  int32_t s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
  const int8_t *wq = w;
  DW_WINDOW_3X3(x, ch, x_row, DW_RASTER_WEIGHTS);
  s[0] = s0;
  s[1] = s1;
  s[2] = s2;
  s[3] = s3;
}

/* One channel's requantization for shifts -23..-1 (all that real models use; callers send
 * other channels elsewhere) and sums |s| < 2^30. TFLite computes q = SRDHM(s, m) =
 * floor((s m + 2^30) / 2^31), which is SMMULR(2s, m), then rounds q / 2^r half away from zero
 * (r = -shift): (q + 2^(r-1) - [q < 0]) >> r, and adds the output zero point zp, folded into
 * the rounding constant: out = (q + k - [q < 0]) >> r with k = (2 zp + 1) 2^(r-1). For
 * |s| < 2^30 and r <= 23 nothing leaves int32 (|q| < 2^30, |k| < 2^30). */
typedef struct {
  int32_t m;
  int32_t k;
  int32_t r;
} dw_rq;

/* 0 when the form above does not hold (shift outside -23..-1, multiplier < 0, or a sum may
 * reach 2^30: |bias| + max_taps may not). */
static inline int dw_rq_make(int32_t m, int32_t shift, int32_t zp, int64_t max_sum, dw_rq *q) {
  if (m < 0 || shift > -1 || shift < -23 || max_sum >= ((int64_t)1 << 30)) {
    return 0;
  }
  q->m = m;
  q->r = -shift;
  q->k = (2 * zp + 1) * ((int32_t)1 << (-shift - 1));
  return 1;
}

FE_INLINE int32_t dw_rq_apply(int32_t s, int32_t m, int32_t k, int32_t r) {
  return __ssat(FE_RQ_NUDGED(s, m, k) >> r, 8);
}

/* dw_rq_apply with the rounding constant and shift derived from the shift itself (raster
 * order, where nothing is unpacked ahead): r - 1 = ~shift. */
FE_INLINE int32_t dw_rq_shift(int32_t s, int32_t m, int32_t shift, int32_t zp2) {
  return dw_rq_apply(s, m, (int32_t)((uint32_t)zp2 << ~shift), -shift);
}


/* The four outputs of a quad from its sums and unpacked requantization. */
FE_INLINE uint32_t dw_quad_word(const dw_rq rq[4], uint32_t act_min4, uint32_t act_max4,
                                int32_t s0, int32_t s1, int32_t s2, int32_t s3) {
  return fe_pack4_clamp(dw_rq_apply(s0, rq[0].m, rq[0].k, rq[0].r),
                  dw_rq_apply(s1, rq[1].m, rq[1].k, rq[1].r),
                  dw_rq_apply(s2, rq[2].m, rq[2].k, rq[2].r),
                  dw_rq_apply(s3, rq[3].m, rq[3].k, rq[3].r), act_min4, act_max4);
}

/* Sums |s| < 2^30 for every channel (dw_rq's bound): |bias| + taps * 255 * 128. */
static int64_t dw_max_sum(const fe_conv_params *p, const int32_t *bias, int32_t c) {
  const int64_t b = bias != NULL ? bias[c] : 0;
  return (b < 0 ? -b : b) + (int64_t)p->filter_h * p->filter_w * 255 * 128;
}

/* One quad pass: channels c..c+3 of every output pixel. */
typedef struct {
  const fe_conv_params *p;
  const int8_t *input;  /* at channel c */
  const int8_t *filter; /* at channel c */
  int32_t lo, hi;       /* output columns whose taps all lie inside the input's width */
  int16x2_t off;        /* input offset in both halves */
  uint32_t act_min4;    /* act_min in each byte */
  uint32_t act_max4;
  int32_t bias[4];
  dw_rq rq[4];
  uint64_t wide[9];     /* 3x3 filters: tap k widened, (w0, w2) low word, (w1, w3) high */
} dw_pass;

static void dw_pass_init(const fe_conv_params *p, dw_pass *d) {
  const int32_t reach = (p->filter_w - 1) * p->dilation_w;
  int32_t ox = 0;
  while (ox < p->out_w && ox * p->stride_w - p->pad_w < 0) {
    ++ox;
  }
  d->lo = ox;
  while (ox < p->out_w && ox * p->stride_w - p->pad_w + reach < p->in_w) {
    ++ox;
  }
  d->hi = ox;
  d->p = p;
  d->off = fe_dup16(p->input_offset);
  d->act_min4 = (uint8_t)p->act_min * 0x01010101u;
  d->act_max4 = (uint8_t)p->act_max * 0x01010101u;
}

/* Sets the pass up for channels c..c+3; 0 when one of them is outside dw_rq's range. */
static int dw_pass_quad(dw_pass *d, const int8_t *input, const int8_t *filter,
                        const int32_t *bias, int32_t c) {
  const fe_conv_params *p = d->p;
  int32_t k;
  for (k = 0; k < 4; ++k) {
    d->bias[k] = bias != NULL ? bias[c + k] : 0;
    if (!dw_rq_make(p->multiplier[c + k], p->shift[c + k], p->output_offset,
                    dw_max_sum(p, bias, c + k), &d->rq[k])) {
      return 0;
    }
  }
  if (p->filter_h == 3 && p->filter_w == 3) {
    for (k = 0; k < 9; ++k) {
      const uint32_t wv = fe_ld4(filter + k * p->in_c + c);
      d->wide[k] = (uint32_t)__sxtb16((int8x4_t)wv) |
                   (uint64_t)(uint32_t)fe_sxtb16_odd(wv) << 32;
    }
  }
  d->input = input + c;
  d->filter = filter + c;
  return 1;
}

/* Pixels [ox, end) of an output row whose valid filter rows are fy0 .. fy0 + rows - 1, the
 * first of them at input `row` (pixel 0): each pixel's valid taps found on its own. */
static void dw_pass_edge(const dw_pass *d, const int8_t *row, int32_t fy0, int32_t rows,
                         int32_t ox, int32_t end, int8_t *dst, int32_t dst_step) {
  const fe_conv_params *p = d->p;
  const int32_t ch = p->in_c;
  const int32_t x_row = p->dilation_h * p->in_w * ch;
  int32_t x0 = ox * p->stride_w - p->pad_w;
  for (; ox < end; ++ox, x0 += p->stride_w, dst += dst_step) {
    int32_t s[4] = {d->bias[0], d->bias[1], d->bias[2], d->bias[3]};
    int32_t fx0, fx1;
    uint32_t v;
    dw_taps(x0, 1, p->filter_w, p->in_w, &fx0, &fx1);
    dw_window4(row + (x0 + fx0) * ch, d->filter + (fy0 * p->filter_w + fx0) * ch, rows,
               fx1 - fx0, ch, x_row, p->filter_w * ch, d->off, s);
    v = dw_quad_word(d->rq, d->act_min4, d->act_max4, s[0], s[1], s[2], s[3]);
    memcpy(dst, &v, 4);
  }
}

/* Tap k's weights from the pass (DW_WINDOW_3X3's WEIGHTS for dw_pass_3x3). */
#define DW_PASS_WEIGHTS(K, WE, WO) DW_WIDE(d->wide, K, WE, WO)

/* n pixels of a row with the whole 3x3 window inside the input, the first's top-left tap at x
 * (out of line: DW_NOINLINE). */
static DW_NOINLINE void dw_pass_3x3(const dw_pass *d, const int8_t *x, int32_t n, int8_t *dst,
                                    int32_t dst_step) {
  const fe_conv_params *p = d->p;
  const int16x2_t off = d->off;
  const int32_t x_col = p->in_c;
  const int32_t x_row = p->dilation_h * p->in_w * p->in_c;
  const int32_t x_step = p->stride_w * p->in_c;
  for (; n > 0; --n, x += x_step, dst += dst_step) {
    const int8_t *xr = x;
    int32_t s0 = d->bias[0], s1 = d->bias[1], s2 = d->bias[2], s3 = d->bias[3];
    uint32_t v;
    DW_WINDOW_3X3(xr, x_col, x_row, DW_PASS_WEIGHTS);
    v = dw_quad_word(d->rq, d->act_min4, d->act_max4, s0, s1, s2, s3);
    memcpy(dst, &v, 4);
  }
}

/* Output row oy of the pass: pixel ox's word to dst + ox * dst_step. */
FE_INLINE void dw_pass_row(const dw_pass *d, int32_t oy, int8_t *dst, int32_t dst_step) {
  const fe_conv_params *p = d->p;
  const int32_t y0 = oy * p->stride_h - p->pad_h;
  const int8_t *row;
  int32_t fy0, fy1;
  dw_taps(y0, p->dilation_h, p->filter_h, p->in_h, &fy0, &fy1);
  row = d->input + (y0 + fy0 * p->dilation_h) * p->in_w * p->in_c;
  if (p->filter_h == 3 && p->filter_w == 3 && fy1 - fy0 == 3) {
    dw_pass_edge(d, row, 0, 3, 0, d->lo, dst, dst_step);
    dw_pass_3x3(d, row + (d->lo * p->stride_w - p->pad_w) * p->in_c, d->hi - d->lo,
                dst + d->lo * dst_step, dst_step);
    dw_pass_edge(d, row, 0, 3, d->hi, p->out_w, dst + d->hi * dst_step, dst_step);
  } else {
    dw_pass_edge(d, row, fy0, fy1 - fy0, 0, p->out_w, dst, dst_step);
  }
}

#endif /* FE_KERNELS_ACLE */

#endif /* FE_DW_QUAD_H */
