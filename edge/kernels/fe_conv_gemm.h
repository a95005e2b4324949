/* CONV_2D's GEMM family on Cortex-M DSP (conv2d.c drives it): output pixel p = W (out_c x k) .
 * x_p + bias, where x_p is the pixel's input (1x1 without padding: pointwise) or its window
 * gathered into one row of k = filter_h * filter_w * in_c values (im2col, padded taps =
 * -input_offset). Included by conv2d.c only, and only with FE_KERNELS_ACLE.
 *
 * - cg_widen / cg_wide: the two pixels of a pair widened once to int16 pairs with the input
 *   offset added (SXTAB16), interleaved {a even, a odd, b even, b odd} per 4 values, k <= 192
 *   (768 B of stack); cg_dot2x2_wide then needs per 16 MACs 2 LDRD + 2 LDR + 4 SXTB16 +
 *   8 SMLAD (19 instructions with the loop step, no spills). cg_pair_wide: all channels of a
 *   pair. cg_run_wide (pointwise) and cg_conv_im2col (any window) read both pixels before
 *   writing either, so slid outputs stay safe without checks.
 * - With weights the code generator widened (fe_conv_params.filter_wide, FE_CONV_WIDE builds):
 *   cg_dot2x2_ww needs per 16 MACs 4 LDRD + 8 SMLAD (no weight loads by the word, no SXTB16);
 *   the weights are doubled, so the sums come as 2 s, started at the doubled bias of the
 *   generator's per-channel records (fe_conv_params.wide_rq), and cg_rq requantizes each in 4
 *   instructions (SMMLAR, SUB, ASR, SSAT; fe_rq8z's 7 with its table loads and shift
 *   arithmetic); the activation clamp (SSUB8 + SEL) only where the range is narrower than
 *   int8's. cg_pair_ww_body: by channel pairs (a halfword per pixel), k 5..8 by quads and
 *   k 13..16 unrolled (specialised instances, chosen per call). The odd last pixel is widened
 *   into both slots of a pair and written twice to the same bytes (cg_single_wide), with
 *   int8 weights too: under the widened buffer's frame no deeper call than a pair's.
 * - fe_rq8z (fe_dot.h): TFLite's per-channel requantization (two roundings) as SMMULR, adds, one
 *   shift and one SSAT per output, exact for shifts -31..-1, multipliers >= 0 and sums
 *   |s| < 2^30. cg_plan_ok says whether every channel of a call is in that range (otherwise the
 *   generic path runs).
 * - fe_pack4_clamp (fe_dot.h): four outputs of one pixel as one word, clamped to the activation
 *   range four bytes at once (SSUB8 + SEL), one store.
 * - cg_pair / cg_run: pointwise with in_c > 192 (input offset 0: folded), reading the input in
 *   place: channel quads as two cg_dot2x2 (fe_dot2x2_s8's blocks), sums started at the bias,
 *   one packed word per pixel; pairs only where fe_disjoint / fe_below allow. cg_single: one
 *   pixel (fe_dot4_s8), raster order.
 * - With int8 weights the code generator re-laid by channel pairs (fe_conv_params.filter_pairs,
 *   FE_CONV_WIDE builds, in_c a multiple of 4): cg_dot2x2_pairs fetches both channels' words
 *   with one LDRD and keeps its pointers in registers, 22 instructions per 16 MACs against
 *   cg_dot2x2's 26 (GCC 12 -O2); cg_pairs_body is cg_pair / cg_single on that layout, the
 *   same bytes of flash.
 */
#ifndef FE_CONV_GEMM_H
#define FE_CONV_GEMM_H

#include <stdint.h>
#include <string.h>

#include "fe_dot.h"
#include "fe_internal.h"

#if FE_KERNELS_ACLE

/* 1 when fe_rq8z is exact for every channel: multiplier >= 0, shift -31..-1, and
 * |bias| + taps * 255 * 128 < 2^30 (|x + input offset| <= 255, |w| <= 128). */
static int cg_plan_ok(const fe_conv_params *p, const int32_t *bias) {
  const int64_t taps = (int64_t)p->filter_h * p->filter_w * p->in_c * 255 * 128;
  int32_t c;
  for (c = 0; c < p->out_c; ++c) {
    const int64_t b = bias != NULL ? bias[c] : 0;
    if (!fe_rq8z_ok(p->multiplier[c], p->shift[c], (b < 0 ? -b : b) + taps)) {
      return 0;
    }
  }
  return 1;
}

/* fe_dot2x2_s8 for the pointwise calls (input offset 0): input rows x, x + xs against weight
 * rows w, w + n, n values each; adds {x.w, x.(w+n), (x+xs).w, (x+xs).(w+n)} to acc. */
static inline void cg_dot2x2(const int8_t *x, int32_t xs, const int8_t *w, int32_t n,
                             int32_t acc[4]) {
  int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
  const int8_t *end = x + (n & ~3);
  const int32_t ws = n;
  int32_t k;
  for (; x < end; x += 4, w += 4) {
    const uint32_t a = fe_ld4(w);
    const uint32_t b = fe_ld4(w + ws);
    const int16x2_t ae = __sxtb16((int8x4_t)a), ao = fe_sxtb16_odd(a);
    const int16x2_t be = __sxtb16((int8x4_t)b), bo = fe_sxtb16_odd(b);
    uint32_t xv = fe_ld4(x);
    int16x2_t xe = __sxtb16((int8x4_t)xv);
    int16x2_t xo = fe_sxtb16_odd(xv);
    s00 = __smlad(xo, ao, __smlad(xe, ae, s00));
    s01 = __smlad(xo, bo, __smlad(xe, be, s01));
    xv = fe_ld4(x + xs);
    xe = __sxtb16((int8x4_t)xv);
    xo = fe_sxtb16_odd(xv);
    s10 = __smlad(xo, ao, __smlad(xe, ae, s10));
    s11 = __smlad(xo, bo, __smlad(xe, be, s11));
  }
  for (k = 0; k < (n & 3); ++k) {
    const int32_t x0 = x[k], x1 = x[xs + k];
    s00 += x0 * w[k];
    s01 += x0 * w[ws + k];
    s10 += x1 * w[k];
    s11 += x1 * w[ws + k];
  }
  acc[0] = s00;
  acc[1] = s01;
  acc[2] = s10;
  acc[3] = s11;
}

/* What every pixel pair of one call shares. */
typedef struct {
  const fe_conv_params *p;
  const int8_t *filter;
  const uint32_t *ww;  /* fe_conv_params.filter_wide (then filter is NULL), or NULL */
  const uint32_t *pairs; /* fe_conv_params.filter_pairs (then filter is NULL), or NULL */
  const fe_conv_rq *rq; /* fe_conv_params.wide_rq, with ww */
  const int32_t *bias; /* or NULL */
  int32_t k;           /* values per output: filter_h * filter_w * in_c */
  int32_t x_off;       /* input offset */
  int32_t zp;          /* output_offset */
  uint32_t lo4, hi4;   /* act_min, act_max in each byte */
  int clamp;           /* 1 when the activation range is narrower than int8's */
} cg_call;

static void cg_call_init(cg_call *g, const fe_conv_params *p, const int8_t *filter,
                         const int32_t *bias) {
  g->p = p;
  g->filter = filter;
  g->ww = p->filter_wide;
  g->pairs = p->filter_pairs;
  g->rq = p->wide_rq;
  g->bias = bias;
  g->k = p->filter_h * p->filter_w * p->in_c;
  g->x_off = p->input_offset;
  g->zp = p->output_offset;
  g->lo4 = (uint8_t)p->act_min * 0x01010101u;
  g->hi4 = (uint8_t)p->act_max * 0x01010101u;
  g->clamp = p->act_min > -128 || p->act_max < 127;
}

/* Channel c's output from sum s (bias included), clamped. */
FE_INLINE int8_t cg_out(const cg_call *g, int32_t s, int32_t c) {
  const fe_conv_params *p = g->p;
  const int32_t v = fe_rq8z(s, p->multiplier[c], p->shift[c], g->zp);
  return (int8_t)(v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v));
}

/* Channel c's output from sum s (bias not yet added), clamped. */
FE_INLINE int8_t cg_one(const cg_call *g, int32_t s, int32_t c) {
  return cg_out(g, g->bias != NULL ? s + g->bias[c] : s, c);
}

/* Output pixels at x and x + xs (input, in_c bytes each) into out and out + out_c. Each
 * channel quad's two words are stored after its sums while both inputs are still read for the
 * next quads, so callers make sure out .. out + 2 out_c lies off the input still to be read. */
static void cg_pair(const cg_call *g, const int8_t *x, int32_t xs, int8_t *out) {
  const fe_conv_params *p = g->p;
  const int32_t n = g->k;
  const int32_t oc_n = p->out_c;
  const int8_t *w = g->filter;
  int32_t c = 0;
  for (; c + 4 <= oc_n; c += 4, w += 4 * n) {
    int32_t a[4], b[4];
    uint32_t v;
    if (g->bias != NULL) {
      a[0] = a[2] = g->bias[c];
      a[1] = a[3] = g->bias[c + 1];
      b[0] = b[2] = g->bias[c + 2];
      b[1] = b[3] = g->bias[c + 3];
    } else {
      a[0] = a[1] = a[2] = a[3] = b[0] = b[1] = b[2] = b[3] = 0;
    }
    cg_dot2x2(x, xs, w, n, a);
    cg_dot2x2(x, xs, w + 2 * n, n, b);
    {
      const int32_t *m = p->multiplier + c;
      const int32_t *sh = p->shift + c;
      v = fe_pack4_clamp(fe_rq8z(a[0], m[0], sh[0], g->zp), fe_rq8z(a[1], m[1], sh[1], g->zp),
                   fe_rq8z(b[0], m[2], sh[2], g->zp), fe_rq8z(b[1], m[3], sh[3], g->zp), g->lo4,
                   g->hi4);
      memcpy(out + c, &v, 4);
      v = fe_pack4_clamp(fe_rq8z(a[2], m[0], sh[0], g->zp), fe_rq8z(a[3], m[1], sh[1], g->zp),
                   fe_rq8z(b[2], m[2], sh[2], g->zp), fe_rq8z(b[3], m[3], sh[3], g->zp), g->lo4,
                   g->hi4);
      memcpy(out + oc_n + c, &v, 4);
    }
  }
  for (; c < oc_n; ++c, w += n) {
    const int32_t s0 = fe_dot1_s8(x, w, n, g->x_off);
    const int32_t s1 = fe_dot1_s8(x + xs, w, n, g->x_off);
    out[c] = cg_one(g, s0, c);
    out[oc_n + c] = cg_one(g, s1, c);
  }
}

/* One output pixel at x (the odd last one, or one a pair may not overwrite). */
static void cg_single(const cg_call *g, const int8_t *x, int8_t *out) {
  const fe_conv_params *p = g->p;
  const int32_t n = g->k;
  const int8_t *w = g->filter;
  int32_t c = 0;
  for (; c + 4 <= p->out_c; c += 4, w += 4 * n) {
    int32_t a[4] = {0, 0, 0, 0};
    fe_dot4_s8(x, w, n, n, g->x_off, a);
    out[c] = cg_one(g, a[0], c);
    out[c + 1] = cg_one(g, a[1], c + 1);
    out[c + 2] = cg_one(g, a[2], c + 2);
    out[c + 3] = cg_one(g, a[3], c + 3);
  }
  for (; c < p->out_c; ++c, w += n) {
    out[c] = cg_one(g, fe_dot1_s8(x, w, n, g->x_off), c);
  }
}

/* cg_dot2x2 on one channel pair of fe_conv_params.filter_pairs (w: per group of 4 values
 * channel c's word, then channel c + 1's), k a multiple of 4. Per group one LDRD, 2 LDR,
 * 8 SXTB16, 8 SMLAD: with one weight pointer and the loads kept in place (FE_LDR_POST) the 4
 * sums and 3 pointers stay in registers (cg_dot2x2 reloads two values from the stack per
 * group). */
FE_INLINE void cg_dot2x2_pairs(const int8_t *x, int32_t xs, const uint32_t *w, int32_t k,
                               int32_t acc[4]) {
  int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
  const int8_t *x1 = x + xs;
  const int8_t *end = x + k;
  while (x < end) {
    uint32_t a, b, v;
    int16x2_t ae, ao, be, bo, xe, xo;
    FE_LDRD_POST(a, b, w);
    ae = __sxtb16((int8x4_t)a);
    ao = fe_sxtb16_odd(a);
    be = __sxtb16((int8x4_t)b);
    bo = fe_sxtb16_odd(b);
    FE_LDR_POST(v, x1);
    xe = __sxtb16((int8x4_t)v);
    xo = fe_sxtb16_odd(v);
    s10 = __smlad(xo, ao, __smlad(xe, ae, s10));
    s11 = __smlad(xo, bo, __smlad(xe, be, s11));
    FE_LDR_POST(v, x);
    xe = __sxtb16((int8x4_t)v);
    xo = fe_sxtb16_odd(v);
    s00 = __smlad(xo, ao, __smlad(xe, ae, s00));
    s01 = __smlad(xo, bo, __smlad(xe, be, s01));
  }
  acc[0] = s00;
  acc[1] = s01;
  acc[2] = s10;
  acc[3] = s11;
}

/* Sums of channels c, c + 1 started at their biases, as cg_dot2x2 orders them; `two` 0: c is
 * the odd last channel (its partner's sums start at 0). */
FE_INLINE void cg_bias2(const cg_call *g, int32_t c, int32_t a[4], const int two) {
  const int32_t b0 = g->bias != NULL ? g->bias[c] : 0;
  const int32_t b1 = g->bias != NULL && two ? g->bias[c + 1] : 0;
  a[0] = a[2] = b0;
  a[1] = a[3] = b1;
}

/* cg_pair (`two`: pixels x and x + xs) or cg_single (x alone) with g->pairs' weights: channel
 * quads as two channel pairs and one packed word per pixel, then a pair, then an odd last
 * channel against its zero partner. A single pixel runs the pair's blocks on itself twice
 * (xs 0): pairs are the rule, singles only an odd last pixel or a slid output's first ones. */
FE_INLINE void cg_pairs_body(const cg_call *g, const int8_t *x, int32_t xs, int8_t *out,
                             const int two) {
  const fe_conv_params *p = g->p;
  const int32_t n = g->k;
  const int32_t oc_n = p->out_c;
  const uint32_t *w = g->pairs;
  int32_t c = 0;
  if (!two) {
    xs = 0;
  }
  for (; c + 4 <= oc_n; c += 4, w += n) { /* two pairs of n / 2 words */
    const int32_t *m = p->multiplier + c;
    const int32_t *sh = p->shift + c;
    int32_t a[4], b[4];
    uint32_t v;
    cg_bias2(g, c, a, 1);
    cg_bias2(g, c + 2, b, 1);
    cg_dot2x2_pairs(x, xs, w, n, a);
    cg_dot2x2_pairs(x, xs, w + n / 2, n, b);
    v = fe_pack4_clamp(fe_rq8z(a[0], m[0], sh[0], g->zp), fe_rq8z(a[1], m[1], sh[1], g->zp),
                       fe_rq8z(b[0], m[2], sh[2], g->zp), fe_rq8z(b[1], m[3], sh[3], g->zp),
                       g->lo4, g->hi4);
    memcpy(out + c, &v, 4);
    if (two) {
      v = fe_pack4_clamp(fe_rq8z(a[2], m[0], sh[0], g->zp), fe_rq8z(a[3], m[1], sh[1], g->zp),
                         fe_rq8z(b[2], m[2], sh[2], g->zp), fe_rq8z(b[3], m[3], sh[3], g->zp),
                         g->lo4, g->hi4);
      memcpy(out + oc_n + c, &v, 4);
    }
  }
  for (; c < oc_n; c += 2, w += n / 2) {
    const int pair = c + 2 <= oc_n;
    int32_t a[4];
    cg_bias2(g, c, a, pair);
    cg_dot2x2_pairs(x, xs, w, n, a);
    out[c] = cg_out(g, a[0], c);
    if (pair) {
      out[c + 1] = cg_out(g, a[1], c + 1);
    }
    if (two) {
      out[oc_n + c] = cg_out(g, a[2], c);
      if (pair) {
        out[oc_n + c + 1] = cg_out(g, a[3], c + 1);
      }
    }
  }
}

static void cg_pair_pairs(const cg_call *g, const int8_t *x, int32_t xs, int8_t *out) {
  cg_pairs_body(g, x, xs, out, 1);
}

static void cg_single_pairs(const cg_call *g, const int8_t *x, int8_t *out) {
  cg_pairs_body(g, x, 0, out, 0);
}

/* `count` output pixels in raster order, the first at x (input) and out, inputs xs bytes
 * apart, outputs out_c. A pair runs when its writes cannot reach input still to be read
 * (disjoint buffers, or below the pair's first input byte: see fe_disjoint). `paired`: with
 * g->pairs' weights (a constant in each instance below). */
FE_INLINE void cg_run_body(const cg_call *g, const int8_t *x, int32_t xs, int32_t count,
                           int8_t *out, int disjoint, const int paired) {
  const int32_t oc_n = g->p->out_c;
  for (; count >= 2; count -= 2, x += 2 * xs, out += 2 * oc_n) {
    if (disjoint || fe_below(out, 2 * oc_n, x)) {
      (paired ? cg_pair_pairs : cg_pair)(g, x, xs, out);
    } else {
      (paired ? cg_single_pairs : cg_single)(g, x, out);
      (paired ? cg_single_pairs : cg_single)(g, x + xs, out + oc_n);
    }
  }
  if (count == 1) {
    (paired ? cg_single_pairs : cg_single)(g, x, out);
  }
}

static void cg_run_pairs(const cg_call *g, const int8_t *x, int32_t xs, int32_t count,
                         int8_t *out, int disjoint) {
  cg_run_body(g, x, xs, count, out, disjoint, 1);
}

static void cg_run_i8(const cg_call *g, const int8_t *x, int32_t xs, int32_t count,
                      int8_t *out, int disjoint) {
  cg_run_body(g, x, xs, count, out, disjoint, 0);
}

/* cg_run with the call's weights (int8 rows, or re-laid by channel pairs). */
static void cg_run(const cg_call *g, const int8_t *x, int32_t xs, int32_t count, int8_t *out,
                   int disjoint) {
  if (g->pairs != NULL) {
    cg_run_pairs(g, x, xs, count, out, disjoint);
  } else {
    cg_run_i8(g, x, xs, count, out, disjoint);
  }
}

/* Largest filter_h * filter_w * in_c the widened paths take: a pair of widened rows (4 k bytes)
 * plus one gathered int8 row (k bytes) on the stack. 192 (the code generator's
 * CONV_WIDE_MAX_K) unless a build that knows its model's calls sets less with -DCG_MAX_K=N (a
 * multiple of 4 at least every call's k, e.g. foley-edge bench: benchmarks/toolchain.py's
 * kernel_defines): calls over it take the in-place paths, and widened weights over it trap. */
#ifndef CG_MAX_K
#define CG_MAX_K 192
#endif
#if CG_MAX_K < 4 || CG_MAX_K > 192 || CG_MAX_K % 4 != 0
#error "CG_MAX_K: a multiple of 4 from 4 to 192"
#endif

/* A pair of output pixels' inputs widened once, the offset added: per group of 4 values
 * {a even, a odd, b even, b odd} (int16 pairs as SXTAB16 gives them, bytes 0,2 and 1,3); a
 * last partial group padded with zeros. */
typedef struct {
  uint32_t v[CG_MAX_K];
} cg_wide;

/* Pixel slot (0: a, 1: b) of wide from the k int8 values at src. */
static void cg_widen(const int8_t *src, int32_t k, int16x2_t off, uint32_t *dst) {
  int32_t i;
  for (; k >= 4; k -= 4, src += 4, dst += 4) {
    const uint32_t v = fe_ld4(src);
    dst[0] = (uint32_t)__sxtab16(off, (int8x4_t)v);
    dst[1] = (uint32_t)fe_sxtab16_odd(off, v);
  }
  if (k > 0) { /* pad bytes -offset: widened to 0 */
    uint32_t v = (uint8_t)(-(int16_t)off) * 0x01010101u;
    for (i = 0; i < k; ++i) {
      v = (v & ~(0xFFu << (8 * i))) | ((uint32_t)(uint8_t)src[i] << (8 * i));
    }
    dst[0] = (uint32_t)__sxtab16(off, (int8x4_t)v);
    dst[1] = (uint32_t)fe_sxtab16_odd(off, v);
  }
}

/* The last 1-3 bytes of a row as a word, the bytes past them 0 (no read beyond the row). */
FE_INLINE uint32_t cg_ld_tail(const int8_t *p, int32_t n) {
  uint16_t h;
  if (n == 1) {
    return (uint8_t)p[0];
  }
  memcpy(&h, p, sizeof h);
  return n == 2 ? h : h | ((uint32_t)(uint8_t)p[2] << 16);
}

/* n bytes from src to dst (im2col's short runs: a call to the C library's byte loop costs more
 * than the copy); words while 4 or more are left. */
FE_INLINE void cg_copy(int8_t *dst, const int8_t *src, int32_t n) {
  for (; n >= 4; n -= 4, src += 4, dst += 4) {
    const uint32_t v = fe_ld4(src);
    memcpy(dst, &v, sizeof v);
  }
  for (; n > 0; --n) {
    *dst++ = *src++;
  }
}

/* 2x2 block on a widened pair: weight rows w, w + ws (k int8 each) against pixels a, b; adds
 * {a.w, a.(w+ws), b.w, b.(w+ws)} to acc. Per 4 values: 2 LDRD, 2 LDR, 4 SXTB16, 8 SMLAD. */
FE_INLINE void cg_dot2x2_wide(const uint32_t *x, const int8_t *w, int32_t ws, int32_t k,
                           int32_t acc[4]) {
  int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
  const uint32_t *end = x + 4 * (k >> 2);
  for (; x < end; w += 4) {
    uint32_t ae, ao, be, bo;
    uint32_t wv = fe_ld4(w);
    int16x2_t we = __sxtb16((int8x4_t)wv), wo = fe_sxtb16_odd(wv);
    FE_LDRD_POST(ae, ao, x);
    FE_LDRD_POST(be, bo, x);
    s00 = __smlad((int16x2_t)ao, wo, __smlad((int16x2_t)ae, we, s00));
    s10 = __smlad((int16x2_t)bo, wo, __smlad((int16x2_t)be, we, s10));
    wv = fe_ld4(w + ws);
    we = __sxtb16((int8x4_t)wv);
    wo = fe_sxtb16_odd(wv);
    s01 = __smlad((int16x2_t)ao, wo, __smlad((int16x2_t)ae, we, s01));
    s11 = __smlad((int16x2_t)bo, wo, __smlad((int16x2_t)be, we, s11));
  }
  if (k & 3) { /* the padded group: weights past k taken as 0 */
    const uint32_t wa = cg_ld_tail(w, k & 3), wb = cg_ld_tail(w + ws, k & 3);
    s00 = __smlad((int16x2_t)x[1], fe_sxtb16_odd(wa), __smlad((int16x2_t)x[0], __sxtb16((int8x4_t)wa), s00));
    s10 = __smlad((int16x2_t)x[3], fe_sxtb16_odd(wa), __smlad((int16x2_t)x[2], __sxtb16((int8x4_t)wa), s10));
    s01 = __smlad((int16x2_t)x[1], fe_sxtb16_odd(wb), __smlad((int16x2_t)x[0], __sxtb16((int8x4_t)wb), s01));
    s11 = __smlad((int16x2_t)x[3], fe_sxtb16_odd(wb), __smlad((int16x2_t)x[2], __sxtb16((int8x4_t)wb), s11));
  }
  acc[0] = s00;
  acc[1] = s01;
  acc[2] = s10;
  acc[3] = s11;
}

/* One group of 4 values of cg_dot2x2_ww: x and w stepped past it. */
#define CG_WW_GROUP(x, w, s00, s01, s10, s11)                                                  \
  do {                                                                                       \
    uint32_t ae_, ao_, be_, bo_, we_, wo_;                                                   \
    FE_LDRD_POST(ae_, ao_, x);                                                               \
    FE_LDRD_POST(be_, bo_, x);                                                               \
    FE_LDRD_POST(we_, wo_, w);                                                               \
    s00 = __smlad((int16x2_t)ao_, (int16x2_t)wo_, __smlad((int16x2_t)ae_, (int16x2_t)we_, s00)); \
    s10 = __smlad((int16x2_t)bo_, (int16x2_t)wo_, __smlad((int16x2_t)be_, (int16x2_t)we_, s10)); \
    FE_LDRD_POST(we_, wo_, w);                                                               \
    s01 = __smlad((int16x2_t)ao_, (int16x2_t)wo_, __smlad((int16x2_t)ae_, (int16x2_t)we_, s01)); \
    s11 = __smlad((int16x2_t)bo_, (int16x2_t)wo_, __smlad((int16x2_t)be_, (int16x2_t)we_, s11)); \
  } while (0)

/* cg_dot2x2_ww for a constant `groups` of 2 or 4 (where inlined): the groups unrolled, no
 * loop. */
FE_INLINE void cg_dot2x2_ww_fixed(const uint32_t *x, const uint32_t *w, const int32_t groups,
                                  int32_t acc[4]) {
  int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
  CG_WW_GROUP(x, w, s00, s01, s10, s11);
  CG_WW_GROUP(x, w, s00, s01, s10, s11);
  if (groups == 4) {
    CG_WW_GROUP(x, w, s00, s01, s10, s11);
    CG_WW_GROUP(x, w, s00, s01, s10, s11);
  }
  acc[0] = s00;
  acc[1] = s01;
  acc[2] = s10;
  acc[3] = s11;
}

/* 2x2 block on a widened pair against one channel pair of widened weights (filter_wide's
 * layout): `groups` groups of 4 values, adds {a.c, a.(c+1), b.c, b.(c+1)} to acc. Per group
 * 4 LDRD and 8 SMLAD. */
FE_INLINE void cg_dot2x2_ww(const uint32_t *x, const uint32_t *w, int32_t groups,
                            int32_t acc[4]) {
  int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
  const uint32_t *end = x + 4 * groups;
  while (x < end) {
    CG_WW_GROUP(x, w, s00, s01, s10, s11);
  }
  acc[0] = s00;
  acc[1] = s01;
  acc[2] = s10;
  acc[3] = s11;
}

/* Channels c, c + 1 (c even) of a widened pair against int8 weight rows w (channel c's) and
 * w + k: sums, the bias added, into a[4] as cg_dot2x2_wide orders them. */
FE_INLINE void cg_sums2(const cg_call *g, const cg_wide *x, const int8_t *w, int32_t c,
                        int32_t a[4]) {
  if (g->bias != NULL) {
    a[0] = a[2] = g->bias[c];
    a[1] = a[3] = g->bias[c + 1];
  } else {
    a[0] = a[1] = a[2] = a[3] = 0;
  }
  cg_dot2x2_wide(x->v, w, g->k, g->k, a);
}

/* All output channels of a widened pair, int8 weights, into out and out_b (all reads done
 * before): channel quads as two 2x2 blocks and one packed word per pixel, then a pair, then
 * one. */
static void cg_pair_i8(const cg_call *g, const cg_wide *x, int8_t *out, int8_t *out_b) {
  const fe_conv_params *p = g->p;
  const int32_t n = g->k;
  const int32_t oc_n = p->out_c;
  const int8_t *w = g->filter;
  int32_t c = 0;
  for (; c + 4 <= oc_n; c += 4, w += 4 * n) {
    const int32_t *m = p->multiplier + c;
    const int32_t *sh = p->shift + c;
    int32_t a[4], b[4];
    uint32_t v;
    cg_sums2(g, x, w, c, a);
    cg_sums2(g, x, w + 2 * n, c + 2, b);
    v = fe_pack4_clamp(fe_rq8z(a[0], m[0], sh[0], g->zp), fe_rq8z(a[1], m[1], sh[1], g->zp),
                       fe_rq8z(b[0], m[2], sh[2], g->zp), fe_rq8z(b[1], m[3], sh[3], g->zp),
                       g->lo4, g->hi4);
    memcpy(out + c, &v, 4);
    v = fe_pack4_clamp(fe_rq8z(a[2], m[0], sh[0], g->zp), fe_rq8z(a[3], m[1], sh[1], g->zp),
                       fe_rq8z(b[2], m[2], sh[2], g->zp), fe_rq8z(b[3], m[3], sh[3], g->zp),
                       g->lo4, g->hi4);
    memcpy(out_b + c, &v, 4);
  }
  if (c + 2 <= oc_n) {
    int32_t a[4];
    cg_sums2(g, x, w, c, a);
    out[c] = cg_out(g, a[0], c);
    out[c + 1] = cg_out(g, a[1], c + 1);
    out_b[c] = cg_out(g, a[2], c);
    out_b[c + 1] = cg_out(g, a[3], c + 1);
    c += 2;
    w += 2 * n;
  }
  if (c < oc_n) {
    int32_t a[4] = {0, 0, 0, 0};
    cg_dot2x2_wide(x->v, w, 0, n, a); /* the last row twice */
    out[c] = cg_one(g, a[0], c);
    out_b[c] = cg_one(g, a[2], c);
  }
}

/* One output from doubled sum s2 = 2 s with q's requantization (fe_conv_rq): SMMLAR gives
 * SRDHM(s, mult) + round in one step, as fe_rq8z's q + h with the output offset shifted in;
 * [s2 < 0] stands for [q < 0] as there (round is still 2^(r-1) + a multiple of 2^r). Saturated
 * to int8, not yet clamped to the activation range. */
FE_INLINE int32_t cg_rq(int32_t s2, const fe_conv_rq *q) {
  const int32_t v = fe_smmlar(s2, q->mult, q->round);
  return __ssat((v - (int32_t)((uint32_t)s2 >> 31)) >> q->r, 8);
}

/* Two or four int8-saturated outputs (`n`, a constant where inlined) stored as one halfword
 * or word at dst, clamped to the activation range (SSUB8 + SEL, as fe_pack4_clamp) only when
 * `clamp` (also a constant). */
FE_INLINE void cg_store(const cg_call *g, int8_t *dst, int32_t v0, int32_t v1, int32_t v2,
                        int32_t v3, const int n, const int clamp) {
  uint32_t v = (uint32_t)v0;
  FE_BFI8(v, v1, 8);
  if (n == 4) {
    FE_BFI8(v, v2, 16);
    FE_BFI8(v, v3, 24);
  }
  if (clamp) {
    (void)__ssub8((int8x4_t)v, (int8x4_t)g->lo4);
    v = (uint32_t)__sel((uint8x4_t)v, (uint8x4_t)g->lo4);
    (void)__ssub8((int8x4_t)g->hi4, (int8x4_t)v);
    v = (uint32_t)__sel((uint8x4_t)v, (uint8x4_t)g->hi4);
  }
  if (n == 4) {
    memcpy(dst, &v, 4);
  } else {
    const uint16_t h = (uint16_t)v;
    memcpy(dst, &h, 2);
  }
}

/* One int8-saturated output clamped to the activation range. */
FE_INLINE int8_t cg_clamp1(const cg_call *g, int32_t v) {
  return (int8_t)(v < g->p->act_min ? g->p->act_min : (v > g->p->act_max ? g->p->act_max : v));
}

/* All output channels of a widened pair, widened weights (g->ww, g->rq), into out and out_b
 * (all reads done before; `two` 0: only the first pixel is written): per channel pair one
 * 2x2 block started at the doubled biases, one halfword per pixel; an odd last channel's
 * partner has zero weights and record. `fixed` 2 or 4: k is 5..8 or 13..16, the groups of
 * the blocks unrolled; with 2, channel quads first (two blocks, one word per pixel), which
 * measured cheaper there on qemu-m7, while with larger k the pair's fewer live sums are.
 * `two`, `clamp` and `fixed` are constants in each instantiation below, so no loop tests
 * them. */
FE_INLINE void cg_pair_ww_body(const cg_call *g, const cg_wide *x, int8_t *out, int8_t *out_b,
                               const int two, const int clamp, const int32_t fixed) {
  const int32_t oc_n = g->p->out_c;
  const int32_t groups = fixed ? fixed : (g->k + 3) >> 2;
  const uint32_t *w = g->ww;
  const fe_conv_rq *q = g->rq;
  int32_t c = 0;
  for (; fixed == 2 && c + 4 <= oc_n; c += 4, q += 4, w += 16) {
    int32_t a[4] = {q[0].bias2, q[1].bias2, q[0].bias2, q[1].bias2};
    int32_t b[4] = {q[2].bias2, q[3].bias2, q[2].bias2, q[3].bias2};
    cg_dot2x2_ww_fixed(x->v, w, 2, a);
    cg_dot2x2_ww_fixed(x->v, w + 8, 2, b);
    cg_store(g, out + c, cg_rq(a[0], q), cg_rq(a[1], q + 1), cg_rq(b[0], q + 2),
             cg_rq(b[1], q + 3), 4, clamp);
    if (two) {
      cg_store(g, out_b + c, cg_rq(a[2], q), cg_rq(a[3], q + 1), cg_rq(b[2], q + 2),
               cg_rq(b[3], q + 3), 4, clamp);
    }
  }
  for (; c + 2 <= oc_n; c += 2, q += 2, w += 4 * groups) {
    int32_t a[4] = {q[0].bias2, q[1].bias2, q[0].bias2, q[1].bias2};
    if (fixed) {
      cg_dot2x2_ww_fixed(x->v, w, fixed, a);
    } else {
      cg_dot2x2_ww(x->v, w, groups, a);
    }
    cg_store(g, out + c, cg_rq(a[0], q), cg_rq(a[1], q + 1), 0, 0, 2, clamp);
    if (two) {
      cg_store(g, out_b + c, cg_rq(a[2], q), cg_rq(a[3], q + 1), 0, 0, 2, clamp);
    }
  }
  if (c < oc_n) {
    int32_t a[4] = {q[0].bias2, 0, q[0].bias2, 0};
    cg_dot2x2_ww(x->v, w, groups, a);
    out[c] = cg_clamp1(g, cg_rq(a[0], q));
    if (two) {
      out_b[c] = cg_clamp1(g, cg_rq(a[2], q));
    }
  }
}

static void cg_pair_ww(const cg_call *g, const cg_wide *x, int8_t *out, int8_t *out_b) {
  cg_pair_ww_body(g, x, out, out_b, 1, 0, 0);
}

static void cg_pair_ww_k8(const cg_call *g, const cg_wide *x, int8_t *out, int8_t *out_b) {
  cg_pair_ww_body(g, x, out, out_b, 1, 0, 2);
}

static void cg_pair_ww_k16(const cg_call *g, const cg_wide *x, int8_t *out, int8_t *out_b) {
  cg_pair_ww_body(g, x, out, out_b, 1, 0, 4);
}

static void cg_pair_ww_clamp(const cg_call *g, const cg_wide *x, int8_t *out, int8_t *out_b) {
  cg_pair_ww_body(g, x, out, out_b, 1, 1, 0);
}

/* All output channels of a widened pair with the call's weights. */
FE_INLINE void cg_pair_wide(const cg_call *g, const cg_wide *x, int8_t *out, int8_t *out_b) {
  if (g->ww == NULL) {
    cg_pair_i8(g, x, out, out_b);
  } else if (g->clamp) {
    cg_pair_ww_clamp(g, x, out, out_b);
  } else if (g->k > 4 && g->k <= 8) {
    cg_pair_ww_k8(g, x, out, out_b);
  } else if (g->k > 12 && g->k <= 16) {
    cg_pair_ww_k16(g, x, out, out_b);
  } else {
    cg_pair_ww(g, x, out, out_b);
  }
}

/* One output pixel from its k values at x (a row of the input or of im2col), widened into
 * both slots of the caller's `wide` and run as a pair written twice to out (the same bytes):
 * no call deeper than a pair's, so the widened buffer's frame has no deeper path under it
 * than the pairs' own (cg_single's unwidened blocks would add theirs). */
FE_INLINE void cg_single_wide(const cg_call *g, const int8_t *x, int16x2_t off, int8_t *out,
                              cg_wide *wide) {
  cg_widen(x, g->k, off, wide->v);
  cg_widen(x, g->k, off, wide->v + 2);
  cg_pair_wide(g, wide, out, out);
}

/* Pointwise (1x1, no padding) over widened pairs: `count` pixels in raster order, inputs xs
 * bytes apart, both of a pair's inputs widened before its writes; an odd last pixel alone
 * (cg_single_wide). */
static void cg_run_wide(const cg_call *g, const int8_t *x, int32_t xs, int32_t count,
                        int8_t *out) {
  const int16x2_t off = fe_dup16(g->x_off);
  const int32_t oc_n = g->p->out_c;
  cg_wide wide;
  for (; count >= 2; count -= 2, x += 2 * xs, out += 2 * oc_n) {
    cg_widen(x, g->k, off, wide.v);
    cg_widen(x + xs, g->k, off, wide.v + 2);
    cg_pair_wide(g, &wide, out, out + oc_n);
  }
  if (count == 1) {
    cg_single_wide(g, x, off, out, &wide);
  }
}

/* Output pixel (oy, ox)'s window as one row of k values in filter order (OHWI's HWI), padded
 * taps filled with -input_offset, which contributes (x + offset) * w = 0. */
static void cg_im2col(const fe_conv_params *p, const int8_t *input, int32_t oy, int32_t ox,
                      int8_t *row) {
  const int32_t y0 = oy * p->stride_h - p->pad_h;
  const int32_t x0 = ox * p->stride_w - p->pad_w;
  const int8_t pad = (int8_t)-p->input_offset;
  const int32_t span = p->filter_w * p->in_c;
  int32_t fy, fx;
  for (fy = 0; fy < p->filter_h; ++fy) {
    const int32_t iy = y0 + fy * p->dilation_h;
    if (p->dilation_w == 1 && iy >= 0 && iy < p->in_h && x0 >= 0 && x0 + p->filter_w <= p->in_w) {
      cg_copy(row, input + (iy * p->in_w + x0) * p->in_c, span); /* whole filter row */
      row += span;
      continue;
    }
    for (fx = 0; fx < p->filter_w; ++fx, row += p->in_c) {
      const int32_t ix = x0 + fx * p->dilation_w;
      if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
        memset(row, pad, (size_t)p->in_c);
      } else {
        cg_copy(row, input + (iy * p->in_w + ix) * p->in_c, p->in_c);
      }
    }
  }
}

/* Any CONV_2D with k <= CG_MAX_K: the output pixels in raster order, two at a time (a pair
 * may span the end of one output row and the start of the next), each gathered (one int8 row
 * at a time) and widened, all of the pair's reads before its writes (slid outputs stay safe),
 * then cg_pair_wide; an odd last pixel as cg_single_wide. */
static void cg_conv_im2col(const cg_call *g, const int8_t *input, int8_t *output) {
  const fe_conv_params *p = g->p;
  const int16x2_t off = fe_dup16(g->x_off);
  const int32_t count = p->out_h * p->out_w;
  int8_t row[CG_MAX_K];
  cg_wide wide;
  int32_t i, oy = 0, ox = 0;
  int8_t *out = output;
  for (i = 0; i + 2 <= count; i += 2, out += 2 * p->out_c) {
    cg_im2col(p, input, oy, ox, row);
    cg_widen(row, g->k, off, wide.v);
    if (++ox == p->out_w) {
      ox = 0;
      ++oy;
    }
    cg_im2col(p, input, oy, ox, row);
    cg_widen(row, g->k, off, wide.v + 2);
    if (++ox == p->out_w) {
      ox = 0;
      ++oy;
    }
    cg_pair_wide(g, &wide, out, out + p->out_c);
  }
  if (i < count) {
    cg_im2col(p, input, oy, ox, row);
    cg_single_wide(g, row, off, out, &wide);
  }
}

#endif /* FE_KERNELS_ACLE */

#endif /* FE_CONV_GEMM_H */
