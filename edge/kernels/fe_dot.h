/* int8 dot-product micro-kernels shared by FULLY_CONNECTED, CONV_2D and BATCH_MATMUL.
 *
 * fe_dot4_s8: four weight rows against one input vector (4x1 output blocking: each input
 * element is loaded and widened once and used four times); fe_dot1_s8: one row. Weights carry
 * no offset (TFLite int8 weights are symmetric); the input offset is added after widening,
 * and is 0 when the code generator has folded it into the bias (bias' = bias + x_off * sum w).
 *
 * Three bit-identical paths (int32 sums of exact int16 products, order-independent):
 * - ACLE (Cortex-M DSP, FE_KERNELS_ACLE): 4 int8 a word. SXTB16 widens the even bytes
 *   (0, 2) and SXTB16 ROR #8 the odd bytes (1, 3) to int16 pairs; SMLAD multiplies the pairs
 *   and adds both products. Both operands are split the same way, so even lanes meet even
 *   lanes and odd meet odd: the pairing CMSIS-NN gets by re-ordering its weights at build time
 *   (it widens the input once to q15 in natural order, so its weights must be stored
 *   [w0 w2 w1 w3]); here the input stays int8 in a register and is widened once per 4 output
 *   rows, so the weights need no re-ordering and the flash layout stays TFLite's. GCC does
 *   not fold a rotate into SXTB16, so the rotated form is one inline instruction.
 *   Per 4 MACs of one row: LDR, SXTB16, SXTB16 ROR, 2 x SMLAD.
 * - SSE2 (x86-64 hosts, baseline ISA): 8 int8 widened to int16 (unpack + arithmetic shift),
 *   PMADDWD (8 products, pairwise added into 4 int32 lanes), one horizontal sum per row.
 * - portable C99: the plain loop, 4 rows at once.
 * FE_KERNELS_PORTABLE forces the portable path on every target.
 */
#ifndef FE_DOT_H
#define FE_DOT_H

#include <stdint.h>
#include <string.h>

#include "fe_kernels.h"

#if !FE_KERNELS_ACLE && defined(__SSE2__) && !defined(FE_KERNELS_PORTABLE)
#define FE_KERNELS_SSE2 1
#include <emmintrin.h>
#else
#define FE_KERNELS_SSE2 0
#endif

#if FE_KERNELS_ACLE
#include <arm_acle.h>

static inline uint32_t fe_ld4(const int8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* Two words at p into A, B, p advanced by 8 (one LDRD; widened weights, fe_conv_gemm.h and
 * fully_connected.c). */
#define FE_LDRD_POST(A, B, P) __asm__("ldrd %0, %1, [%2], #8" : "=r"(A), "=r"(B), "+r"(P) : \
                                      "m"(*(const uint64_t *)(P)))

/* One word at p into A, p advanced by 4 (one LDR; as asm, so GCC keeps it where it stands
 * instead of hoisting it into a spill: fe_conv_gemm.h's cg_dot2x2_pairs). */
#define FE_LDR_POST(A, P) __asm__("ldr %0, [%1], #4" : "=r"(A), "+r"(P) : \
                                  "m"(*(const uint32_t *)(P)))

/* bytes 1 and 3 of v, sign-extended to two int16 (SXTB16 with ROR #8) */
static inline int16x2_t fe_sxtb16_odd(uint32_t v) {
  int16x2_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}

/* SXTAB16 rd, a, v, ROR #8: bytes 1 and 3 of v sign-extended and added to a's halves */
static inline int16x2_t fe_sxtab16_odd(int16x2_t a, uint32_t v) {
  int16x2_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
  return r;
}

/* (a * b + 2^31) >> 32 (SMMULR) */
static inline int32_t fe_smmulr(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}

/* (a * b + 2^31) >> 32, plus c (SMMLAR: c + SMMULR(a, b), exactly: c * 2^32 is added before
 * the rounding) */
static inline int32_t fe_smmlar(int32_t a, int32_t b, int32_t c) {
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}

/* q + h - [q < 0] for q = SRDHM(s, m) (= SMMULR(2s, m), below), m >= 0: one SMMLAR and one
 * SUB with a shifted operand. [s < 0] stands for [q < 0]: they differ only when q = 0 and
 * s < 0 (a product too small to round away from 0), and there the two sums give the same
 * result once shifted right by r (h = 2^(r-1) + a multiple of 2^r: (h - 1) >> r = h >> r for
 * r >= 1). */
#define FE_RQ_NUDGED(S, M, H) \
  (fe_smmlar((int32_t)((uint32_t)(S) << 1), (M), (H)) - (int32_t)((uint32_t)(S) >> 31))

/* TFLite's per-channel requantization (two roundings) plus the output zero point zp, as
 * SMMULR, two adds, one shift, one add and one SSAT: exact for shifts -31..-1, multipliers
 * >= 0 and sums |s| < 2^30 (fe_rq8z_ok). TFLite computes q = SRDHM(s, m) =
 * floor((s m + 2^30) / 2^31), which is SMMULR(2s, m), then rounds q / 2^r half away from zero
 * (r = -shift): (q + 2^(r-1) - [q < 0]) >> r; nothing leaves int32 (|q| < 2^30,
 * 2^(r-1) <= 2^30). The result is saturated to int8, not yet clamped to the activation range.
 * Shifts below -23 occur: an all-zero weight row (a skeleton adjacency's padding) or a first
 * layer's small input scale (mcunet-vww1: -24). (FE_RQ_NUDGED's shorter form keeps s live
 * past the multiply: in the GEMM epilogues, short of registers already, it measured slower on
 * qemu-m7.) */
static inline __attribute__((always_inline)) int32_t fe_rq8z(int32_t s, int32_t m, int32_t shift,
                                                             int32_t zp) {
  const int32_t q = fe_smmulr((int32_t)((uint32_t)s << 1), m);
  const int32_t h = (int32_t)(1u << (-shift - 1));
  return __ssat(((q + h - (int32_t)((uint32_t)q >> 31)) >> -shift) + zp, 8);
}

/* TFLite's MultiplyByQuantizedMultiplier (two roundings) for a multiplier >= 0, a shift
 * -31..0 and |s| < 2^30, unpacked once (fe_rqd_make) for the elementwise kernels: SMMULR gives
 * SRDHM(s, m) as in fe_rq8z, then the rounding shift (none for shift 0). */
typedef struct {
  int32_t m;   /* multiplier */
  int32_t h;   /* 2^(r-1), or 0 when r = 0 */
  int32_t neg; /* 1 when r > 0: negative values round half away from zero */
  int32_t r;   /* -shift */
} fe_rqd;

/* q for (m, shift); 1 when that is in fe_rqd's range (the caller bounds the sums), else 0
 * (q then holds a harmless identity). */
static inline int fe_rqd_make(int32_t m, int32_t shift, fe_rqd *q) {
  if (m < 0 || shift > 0 || shift < -31) {
    q->m = q->h = q->neg = q->r = 0;
    return 0;
  }
  q->m = m;
  q->r = -shift;
  q->h = shift < 0 ? (int32_t)(1u << (-shift - 1)) : 0;
  q->neg = shift < 0;
  return 1;
}

static inline __attribute__((always_inline)) int32_t fe_rqd_apply(const fe_rqd *q, int32_t s) {
  /* FE_RQ_NUDGED's form where r > 0; r = 0 adds and subtracts nothing */
  const int32_t v = fe_smmlar((int32_t)((uint32_t)s << 1), q->m, q->h);
  return (v - (q->neg & (int32_t)((uint32_t)s >> 31))) >> q->r;
}

/* 1 when fe_rq8z is exact for channel (m, shift) with sums bounded by |s| <= max_abs_sum. */
static inline int fe_rq8z_ok(int32_t m, int32_t shift, int64_t max_abs_sum) {
  return m >= 0 && shift <= -1 && shift >= -31 && max_abs_sum < ((int64_t)1 << 30);
}

static inline int16x2_t fe_dup16(int32_t v) {
  return (int16x2_t)(((uint32_t)v & 0xFFFFu) | ((uint32_t)v << 16));
}

/* byte LSB / 8 of V = the low byte of B (one BFI) */
#define FE_BFI8(V, B, LSB) __asm__("bfi %0, %1, #" #LSB ", #8" : "+r"(V) : "r"(B))

/* Four outputs (each already in int8 range) as one little-endian word, clamped to
 * [lo, hi] (each repeated in the four bytes of lo4, hi4) by SSUB8 + SEL: the packed store
 * shared by the depthwise and convolution DSP paths. */
static inline __attribute__((always_inline)) uint32_t fe_pack4_clamp(
    int32_t v0, int32_t v1, int32_t v2, int32_t v3, uint32_t lo4, uint32_t hi4) {
  uint32_t v = (uint32_t)v0;
  FE_BFI8(v, v1, 8);
  FE_BFI8(v, v2, 16);
  FE_BFI8(v, v3, 24);
  (void)__ssub8((int8x4_t)v, (int8x4_t)lo4);
  v = (uint32_t)__sel((uint8x4_t)v, (uint8x4_t)lo4);
  (void)__ssub8((int8x4_t)hi4, (int8x4_t)v);
  return (uint32_t)__sel((uint8x4_t)v, (uint8x4_t)hi4);
}

/* One row of fe_dot4_s8's loop: weight word at P widened and multiplied into S. */
#define FE_DOT4_ROW(S, P)                                                  \
  do {                                                                     \
    const uint32_t wv_ = fe_ld4(P);                                        \
    S = __smlad(xo, fe_sxtb16_odd(wv_), __smlad(xe, __sxtb16((int8x4_t)wv_), S)); \
  } while (0)

/* Rows w, w + ws, w + 2 ws, w + 3 ws are read as [wa], [wa + ws], [wb], [wb + ws] with two
 * post-incremented pointers and one stride register, so the loop (x, wa, wb, ws, end, 4 sums,
 * 2 widened inputs, 1 weight word) fits the Thumb-2 registers without spills. The input
 * offset, when not folded into the bias, is added while widening (SXTAB16). */
static inline void fe_dot4_s8(const int8_t *x, const int8_t *w, int32_t ws, int32_t n,
                              int32_t x_off, int32_t acc[4]) {
  const int8_t *wa = w;
  const int8_t *wb = w + 2 * ws;
  const int8_t *end = x + (n & ~3);
  int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
  int32_t k;
  if (x_off == 0) {
    for (; x < end; x += 4, wa += 4, wb += 4) {
      const uint32_t xv = fe_ld4(x);
      const int16x2_t xe = __sxtb16((int8x4_t)xv);
      const int16x2_t xo = fe_sxtb16_odd(xv);
      FE_DOT4_ROW(s0, wa);
      FE_DOT4_ROW(s1, wa + ws);
      FE_DOT4_ROW(s2, wb);
      FE_DOT4_ROW(s3, wb + ws);
    }
  } else {
    const int16x2_t off = fe_dup16(x_off);
    for (; x < end; x += 4, wa += 4, wb += 4) {
      const uint32_t xv = fe_ld4(x);
      const int16x2_t xe = __sxtab16(off, (int8x4_t)xv);
      const int16x2_t xo = __sxtab16(off, (int8x4_t)((xv >> 8) | (xv << 24)));
      FE_DOT4_ROW(s0, wa);
      FE_DOT4_ROW(s1, wa + ws);
      FE_DOT4_ROW(s2, wb);
      FE_DOT4_ROW(s3, wb + ws);
    }
  }
  for (k = 0; k < (n & 3); ++k) {
    const int32_t xk = (int32_t)x[k] + x_off;
    s0 += xk * wa[k];
    s1 += xk * wa[ws + k];
    s2 += xk * wb[k];
    s3 += xk * wb[ws + k];
  }
  acc[0] = s0;
  acc[1] = s1;
  acc[2] = s2;
  acc[3] = s3;
}

/* 2x2 blocking, no input offset: input rows x, x + xs against weight rows w, w + ws, each of
 * length n; adds {x.w, x.(w+ws), (x+xs).w, (x+xs).(w+ws)} to acc. Each loaded word is widened
 * once and used twice: 4 LDR + 8 SXTB16 + 8 SMLAD per 16 MACs. The second rows are addressed
 * as base + stride, so the loop keeps 2 pointers, 2 strides and the end, 4 sums, 4 widened
 * weights and 2 widened inputs (one spill at most on Thumb-2). FULLY_CONNECTED passes
 * xs = ws = n; CONV_2D two neighbouring output pixels and two output channels. */
#define FE_DOT2X2 1
static inline void fe_dot2x2_s8(const int8_t *x, int32_t xs, const int8_t *w, int32_t ws,
                                int32_t n, int32_t acc[4]) {
  int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
  const int8_t *end = x + (n & ~3);
  int32_t k;
  for (; x < end; x += 4, w += 4) {
    const uint32_t a = fe_ld4(w);
    const uint32_t b = fe_ld4(w + ws);
    const int16x2_t ae = __sxtb16((int8x4_t)a), ao = fe_sxtb16_odd(a);
    const int16x2_t be = __sxtb16((int8x4_t)b), bo = fe_sxtb16_odd(b);
    uint32_t xv = fe_ld4(x);
    int16x2_t xe = __sxtb16((int8x4_t)xv), xo = fe_sxtb16_odd(xv);
    s00 = __smlad(xo, ao, __smlad(xe, ae, s00));
    s01 = __smlad(xo, bo, __smlad(xe, be, s01));
    xv = fe_ld4(x + xs);
    xe = __sxtb16((int8x4_t)xv);
    xo = fe_sxtb16_odd(xv);
    s10 = __smlad(xo, ao, __smlad(xe, ae, s10));
    s11 = __smlad(xo, bo, __smlad(xe, be, s11));
  }
  for (k = 0; k < (n & 3); ++k) {
    s00 += (int32_t)x[k] * w[k];
    s01 += (int32_t)x[k] * w[ws + k];
    s10 += (int32_t)x[xs + k] * w[k];
    s11 += (int32_t)x[xs + k] * w[ws + k];
  }
  acc[0] = s00;
  acc[1] = s01;
  acc[2] = s10;
  acc[3] = s11;
}

static inline int32_t fe_dot1_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t x_off) {
  const int16x2_t off = fe_dup16(x_off);
  int32_t s = 0;
  int32_t k = 0;
  for (; k + 4 <= n; k += 4) {
    const uint32_t xv = fe_ld4(x + k);
    const uint32_t wv = fe_ld4(w + k);
    s = __smlad(__sxtab16(off, (int8x4_t)xv), __sxtb16((int8x4_t)wv), s);
    s = __smlad(__sxtab16(off, (int8x4_t)((xv >> 8) | (xv << 24))), fe_sxtb16_odd(wv), s);
  }
  for (; k < n; ++k) {
    s += ((int32_t)x[k] + x_off) * w[k];
  }
  return s;
}

#elif FE_KERNELS_SSE2

/* 8 int8 at p, sign-extended to 8 int16 */
static inline __m128i fe_sse_ld8(const int8_t *p) {
  const __m128i v = _mm_loadl_epi64((const __m128i *)(const void *)p);
  return _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8);
}

/* 4 int8 at p, sign-extended to the low 4 int16 lanes (the high 4 are 0); reads 4 bytes only */
static inline __m128i fe_sse_ld4(const int8_t *p) {
  int32_t word;
  __m128i v;
  memcpy(&word, p, sizeof word);
  v = _mm_cvtsi32_si128(word);
  return _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8);
}

/* the 4 int32 lanes of a, b, c, d summed: {sum a, sum b, sum c, sum d} */
static inline __m128i fe_sse_hsum4(__m128i a, __m128i b, __m128i c, __m128i d) {
  const __m128i ab = _mm_add_epi32(_mm_unpacklo_epi32(a, b), _mm_unpackhi_epi32(a, b));
  const __m128i cd = _mm_add_epi32(_mm_unpacklo_epi32(c, d), _mm_unpackhi_epi32(c, d));
  return _mm_add_epi32(_mm_unpacklo_epi64(ab, cd), _mm_unpackhi_epi64(ab, cd));
}

/* fe_dot4_s8 split for several runs into the same 4 sums (CONV_2D's filter rows): the SIMD
 * partial sums stay in v across runs (fe_sse_acc4_add), one horizontal sum at the end
 * (fe_sse_acc4_sum); elements past the last multiple of 8 go straight into acc. */
typedef struct {
  __m128i a0, a1, a2, a3;
} fe_sse_acc4;

static inline void fe_sse_acc4_zero(fe_sse_acc4 *v) {
  v->a0 = _mm_setzero_si128();
  v->a1 = v->a0;
  v->a2 = v->a0;
  v->a3 = v->a0;
}

static inline void fe_sse_acc4_add(fe_sse_acc4 *v, const int8_t *x, const int8_t *w, int32_t ws,
                                   int32_t n, int32_t x_off, int32_t acc[4]) {
  const __m128i off = _mm_set1_epi16((int16_t)x_off);
  const int8_t *w1 = w + ws;
  const int8_t *w2 = w1 + ws;
  const int8_t *w3 = w2 + ws;
  int32_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m128i xv = _mm_add_epi16(fe_sse_ld8(x + k), off);
    v->a0 = _mm_add_epi32(v->a0, _mm_madd_epi16(xv, fe_sse_ld8(w + k)));
    v->a1 = _mm_add_epi32(v->a1, _mm_madd_epi16(xv, fe_sse_ld8(w1 + k)));
    v->a2 = _mm_add_epi32(v->a2, _mm_madd_epi16(xv, fe_sse_ld8(w2 + k)));
    v->a3 = _mm_add_epi32(v->a3, _mm_madd_epi16(xv, fe_sse_ld8(w3 + k)));
  }
  if (k + 4 <= n) { /* 4 more: x's high lanes hold x_off, the weights' are 0 */
    const __m128i xv = _mm_add_epi16(fe_sse_ld4(x + k), off);
    v->a0 = _mm_add_epi32(v->a0, _mm_madd_epi16(xv, fe_sse_ld4(w + k)));
    v->a1 = _mm_add_epi32(v->a1, _mm_madd_epi16(xv, fe_sse_ld4(w1 + k)));
    v->a2 = _mm_add_epi32(v->a2, _mm_madd_epi16(xv, fe_sse_ld4(w2 + k)));
    v->a3 = _mm_add_epi32(v->a3, _mm_madd_epi16(xv, fe_sse_ld4(w3 + k)));
    k += 4;
  }
  for (; k < n; ++k) {
    const int32_t xk = (int32_t)x[k] + x_off;
    acc[0] += xk * w[k];
    acc[1] += xk * w1[k];
    acc[2] += xk * w2[k];
    acc[3] += xk * w3[k];
  }
}

static inline void fe_sse_acc4_sum(const fe_sse_acc4 *v, int32_t acc[4]) {
  const __m128i sum = _mm_add_epi32(fe_sse_hsum4(v->a0, v->a1, v->a2, v->a3),
                                    _mm_loadu_si128((const __m128i *)(const void *)acc));
  _mm_storeu_si128((__m128i *)(void *)acc, sum);
}

/* One run: the 4 sums of fe_sse_acc4 over a single stretch of x. */
static inline void fe_dot4_s8(const int8_t *x, const int8_t *w, int32_t ws, int32_t n,
                              int32_t x_off, int32_t acc[4]) {
  fe_sse_acc4 v;
  fe_sse_acc4_zero(&v);
  fe_sse_acc4_add(&v, x, w, ws, n, x_off, acc);
  fe_sse_acc4_sum(&v, acc);
}

static inline int32_t fe_dot1_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t x_off) {
  const __m128i off = _mm_set1_epi16((int16_t)x_off);
  __m128i a = _mm_setzero_si128();
  int32_t s;
  int32_t k = 0;
  for (; k + 8 <= n; k += 8) {
    a = _mm_add_epi32(a, _mm_madd_epi16(_mm_add_epi16(fe_sse_ld8(x + k), off),
                                        fe_sse_ld8(w + k)));
  }
  if (k + 4 <= n) {
    a = _mm_add_epi32(a, _mm_madd_epi16(_mm_add_epi16(fe_sse_ld4(x + k), off),
                                        fe_sse_ld4(w + k)));
    k += 4;
  }
  a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0x4E));
  a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0xB1));
  s = _mm_cvtsi128_si32(a);
  for (; k < n; ++k) {
    s += ((int32_t)x[k] + x_off) * w[k];
  }
  return s;
}

#else

static inline void fe_dot4_s8(const int8_t *x, const int8_t *w, int32_t ws, int32_t n,
                              int32_t x_off, int32_t acc[4]) {
  const int8_t *w1 = w + ws;
  const int8_t *w2 = w1 + ws;
  const int8_t *w3 = w2 + ws;
  int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
  int32_t k;
  for (k = 0; k < n; ++k) {
    const int32_t xk = (int32_t)x[k] + x_off;
    s0 += xk * w[k];
    s1 += xk * w1[k];
    s2 += xk * w2[k];
    s3 += xk * w3[k];
  }
  acc[0] = s0;
  acc[1] = s1;
  acc[2] = s2;
  acc[3] = s3;
}

static inline int32_t fe_dot1_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t x_off) {
  int32_t s = 0;
  int32_t k;
  for (k = 0; k < n; ++k) {
    s += ((int32_t)x[k] + x_off) * w[k];
  }
  return s;
}

#endif

#endif /* FE_DOT_H */
