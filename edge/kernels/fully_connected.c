/* FULLY_CONNECTED int8 (per-tensor or per-channel weights), as TFLite's reference kernel.
 * Output features four at a time (fe_dot4_s8: each input element widened once for 4 weight
 * rows); on Cortex-M DSP cores (FE_DOT2X2), with the input offset folded, two input rows
 * against two weight rows (fe_dot2x2_s8), which keeps every operand in a register, when the
 * pair's outputs cannot land on input bytes still to be read (pairs leave raster order, which
 * the planner's slides assume; see fe_disjoint). The code
 * generator usually folds the input offset into the bias (bias' = bias + input_offset *
 * sum_k w[o][k], exact in int32) and passes input_offset 0. Parameters are read into locals
 * once: an int8 output store may alias the params struct. On Helium cores (FE_KERNELS_MVE)
 * symmetric weights go to fe_gemm_mve.h instead. */
#include "fe_dot.h"
#include "fe_gemm_mve.h"
#include "fe_internal.h"

typedef struct {
  const int32_t *mult;  /* per output feature, or one */
  const int32_t *shift;
  const int32_t *bias;  /* or NULL */
  int32_t per_channel;  /* 1: mult/shift indexed by feature, 0: entry 0 for all */
  int32_t out_offset, lo, hi;
#if FE_WIDE_REQUANT
  fe_rq tensor_rq;      /* per-tensor requantization, unpacked once (64-bit hosts) */
  const fe_rq *channel_rq; /* per-channel, unpacked once per call when it fits, or NULL */
#endif
#if FE_KERNELS_ACLE
  int32_t rq8;          /* 1: every channel's requantization is exact as fe_rq8z */
#endif
} fc_consts;

#if FE_WIDE_REQUANT
/* Output features whose per-channel requantization a call unpacks on the stack (64-bit hosts:
 * with shallow accumulations, unpacking the shift per output costs as much as the dot). */
#define FE_FC_RQ_MAX 256
#endif

FE_INLINE int8_t fc_requant(const fc_consts *k, int32_t acc, int32_t o) {
  acc += k->bias != NULL ? k->bias[o] : 0;
#if FE_KERNELS_ACLE
  if (k->rq8) {
    const int32_t c = k->per_channel ? o : 0;
    return (int8_t)fe_clamp(fe_rq8z(acc, k->mult[c], k->shift[c], k->out_offset), k->lo, k->hi);
  }
#endif
#if FE_WIDE_REQUANT /* the unpacked form pays off on 64-bit hosts; 32-bit cores: two steps */
  acc = k->channel_rq != NULL ? fe_rq_apply(&k->channel_rq[o], acc)
        : k->per_channel ? fe_mbqm(acc, k->mult[o], (int)k->shift[o])
                         : fe_rq_apply(&k->tensor_rq, acc);
#else
  acc = fe_mbqm(acc, k->mult[k->per_channel ? o : 0], (int)k->shift[k->per_channel ? o : 0]);
#endif
  return (int8_t)fe_clamp(acc + k->out_offset, k->lo, k->hi);
}

/* Room for fc_setup's unpacked per-channel requantizations (64-bit hosts only). */
#if FE_WIDE_REQUANT
typedef fe_rq fc_rq_room[FE_FC_RQ_MAX];
#else
typedef char fc_rq_room[1];
#endif

/* The constants of one call. ``channel_rq`` (64-bit hosts): room for FE_FC_RQ_MAX unpacked
 * per-channel requantizations, filled when the call has several rows to amortise them. */
static void fc_setup(fc_consts *k, const fe_fc_params *p, const int32_t *bias,
                     int32_t max_terms, void *channel_rq) {
  const int32_t depth = p->output_depth;
  int32_t o;
  k->mult = p->multiplier;
  k->shift = p->shift;
  k->bias = bias;
  k->per_channel = p->per_channel;
  k->out_offset = p->output_offset;
  k->lo = p->act_min;
  k->hi = p->act_max;
#if FE_WIDE_REQUANT
  k->tensor_rq = fe_rq_make(p->multiplier[0], (int)p->shift[0]);
  k->channel_rq = NULL;
  if (p->per_channel && depth <= FE_FC_RQ_MAX && p->batches > 1) {
    fe_rq *rq = (fe_rq *)channel_rq;
    for (o = 0; o < depth; ++o) {
      rq[o] = fe_rq_make(p->multiplier[o], (int)p->shift[o]);
    }
    k->channel_rq = rq;
  }
#else
  (void)channel_rq;
#endif
#if FE_KERNELS_ACLE
  /* |sum| <= |bias| + terms * 255 * 128 (|x + input offset| <= 255, |w| <= 128) */
  k->rq8 = p->rq8 >= 0;
  for (o = 0; o < depth && k->rq8 && p->rq8 == 0; ++o) {
    const int32_t c = p->per_channel ? o : 0;
    const int64_t b = bias != NULL ? bias[o] : 0;
    k->rq8 = fe_rq8z_ok(p->multiplier[c], p->shift[c],
                       (b < 0 ? -b : b) + (int64_t)max_terms * 255 * 128);
  }
#else
  (void)depth;
  (void)max_terms;
  (void)o;
#endif
}

FE_INLINE void fc_row(const fc_consts *k, int32_t n, int32_t depth, int32_t x_off,
                   const int8_t *row, const int8_t *weights, int8_t *out) {
  int32_t o = 0;
  for (; o + 4 <= depth; o += 4) {
    int32_t acc[4] = {0, 0, 0, 0};
    int32_t r;
    fe_dot4_s8(row, weights + o * n, n, n, x_off, acc);
    for (r = 0; r < 4; ++r) {
      out[o + r] = fc_requant(k, acc[r], o + r);
    }
  }
  for (; o < depth; ++o) {
    out[o] = fc_requant(k, fe_dot1_s8(row, weights + o * n, n, x_off), o);
  }
}

#if FE_KERNELS_ACLE
#if defined(__GNUC__)
#define FC_NOINLINE __attribute__((noinline))
#else
#define FC_NOINLINE
#endif

/* Four features' sums requantized (fe_rq8z with channel constants m, sh every mstep entries),
 * clamped to [lo, hi] a byte each and packed into one word (fe_pack4_clamp). A macro: as an
 * inline function taking the sums' array GCC keeps them in memory (+0.3 % on the zoo mlp). */
#define FC_RQ8_PACK4(acc, m, sh, mstep, zp, lo4, hi4)                                    \
  fe_pack4_clamp(fe_rq8z((acc)[0], (m)[0], (sh)[0], zp),                                     \
                 fe_rq8z((acc)[1], (m)[mstep], (sh)[mstep], zp),                             \
                 fe_rq8z((acc)[2], (m)[2 * (mstep)], (sh)[2 * (mstep)], zp),                 \
                 fe_rq8z((acc)[3], (m)[3 * (mstep)], (sh)[3 * (mstep)], zp), lo4, hi4)

/* The common case on Cortex-M DSP cores, with nothing left to decide per output: symmetric
 * weights, the input offset folded into a bias the sums start from, every channel's
 * requantization exact as fe_rq8z. Row by row (raster order, each row read before its outputs
 * are written: the planner's slides hold), four output features at a time (fe_dot4_s8), their
 * four bytes clamped and stored as one word (fe_pack4_clamp). Out of line, so the loop gets
 * every register. */
static FC_NOINLINE void fc_rows_rq8(const fc_consts *k, int32_t n, int32_t depth, int32_t batches,
                                    const int8_t *input, const int8_t *weights, int8_t *output) {
  const int32_t *bias = k->bias;
  const int32_t mstep = k->per_channel ? 1 : 0;
  const int32_t zp = k->out_offset;
  const uint32_t lo4 = 0x01010101u * (uint8_t)k->lo;
  const uint32_t hi4 = 0x01010101u * (uint8_t)k->hi;
  int32_t b, o;
  for (b = 0; b < batches; ++b) {
    const int8_t *row = input + b * n;
    int8_t *out = output + b * depth;
    const int32_t *m = k->mult;
    const int32_t *sh = k->shift;
    for (o = 0; o + 4 <= depth; o += 4) {
      int32_t acc[4] = {bias[o], bias[o + 1], bias[o + 2], bias[o + 3]};
      uint32_t v;
      fe_dot4_s8(row, weights + o * n, n, n, 0, acc);
      v = FC_RQ8_PACK4(acc, m, sh, mstep, zp, lo4, hi4);
      memcpy(out + o, &v, sizeof v);
      m += 4 * mstep;
      sh += 4 * mstep;
    }
    for (; o < depth; ++o, m += mstep, sh += mstep) {
      const int32_t acc = bias[o] + fe_dot1_s8(row, weights + o * n, n, 0);
      out[o] = (int8_t)fe_clamp(fe_rq8z(acc, m[0], sh[0], zp), k->lo, k->hi);
    }
  }
}

#if !FE_KERNELS_MVE /* Helium cores keep fe_gemm_mve.h's row pairs */
/* The rows of a per-channel FULLY_CONNECTED are the pixels of a 1x1 CONV_2D with in_c =
 * accum_depth and out_c = output_depth (weights [out][in] are its OHWI filter): CONV_2D's
 * pointwise family widens each pair of rows once and runs 2x2 blocks on them (about one
 * instruction per MAC). 0 when that family declines (requantization out of its range). */
static int fc_as_pointwise(const fe_fc_params *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, int8_t *output) {
  fe_conv_params c;
  memset(&c, 0, sizeof c);
  c.in_h = c.out_h = 1;
  c.in_w = c.out_w = p->batches;
  c.in_c = p->accum_depth;
  c.out_c = p->output_depth;
  c.filter_h = c.filter_w = c.stride_h = c.stride_w = c.dilation_h = c.dilation_w = 1;
  c.output_offset = p->output_offset;
  c.multiplier = p->multiplier;
  c.shift = p->shift;
  c.act_min = p->act_min;
  c.act_max = p->act_max;
  return fe_conv2d_pointwise(&c, input, weights, bias, output);
}
#endif

/* fe_fully_connected_sparse's loop for the same case (input offset folded, fe_rq8z exact). */
static FC_NOINLINE void fc_sparse_rq8(const fc_consts *k, const fe_sparse_s8 *w, int32_t n,
                                      int32_t depth, int32_t batches, const int8_t *input,
                                      int8_t *output) {
  const uint16_t *start = w->start;
  const uint16_t *col = w->col;
  const int8_t *val = w->val;
  const int32_t *bias = k->bias;
  const int32_t mstep = k->per_channel ? 1 : 0;
  const int32_t zp = k->out_offset;
  const int32_t lo = k->lo;
  const int32_t hi = k->hi;
  int32_t b, o;
  for (b = 0; b < batches; ++b) {
    const int8_t *row = input + b * n;
    int8_t *out = output + b * depth;
    const int32_t *m = k->mult;
    const int32_t *sh = k->shift;
    int32_t j = 0;
    for (o = 0; o < depth; ++o, m += mstep, sh += mstep) {
      const int32_t end = start[o + 1];
      int32_t acc = bias[o];
      for (; j < end; ++j) {
        acc = __smlabb((int32_t)row[col[j]], (int32_t)val[j], acc);
      }
      out[o] = (int8_t)fe_clamp(fe_rq8z(acc, m[0], sh[0], zp), lo, hi);
    }
  }
}
#endif

#if FE_KERNELS_SSE2
/* Shallow dot products on SSE2 hosts (accum depth <= FE_FC_NARROW_N): the weights repacked once
 * per call as int16 pairs wt[j][o] = (w[o][2j], w[o][2j+1]), so one _mm_madd_epi16 adds two
 * inputs' products to four features at once (the row-major form spends more on sign
 * extension, horizontal sums and tails than on products when the depth is a few elements; from
 * 32 on, measured on the zoo, the row-major form is the faster). Each row is read whole before
 * its outputs are written, in raster order. */
#define FE_FC_NARROW_N 16
#define FE_FC_NARROW_DEPTH 256

static void fc_narrow(const fc_consts *k, int32_t n, int32_t depth, int32_t batches,
                      int32_t x_off, const int8_t *input, const int8_t *weights, int8_t *output) {
  int16_t wt[FE_FC_NARROW_N / 2][FE_FC_NARROW_DEPTH][2];
  uint32_t xs[FE_FC_NARROW_N / 2];
  const int32_t pairs = (n + 1) / 2;
  const int32_t padded = (depth + 3) & ~3;
  int32_t j, o, b, r;
  for (j = 0; j < pairs; ++j) {
    for (o = 0; o < padded; ++o) {
      wt[j][o][0] = (int16_t)(o < depth ? weights[o * n + 2 * j] : 0);
      wt[j][o][1] = (int16_t)(o < depth && 2 * j + 1 < n ? weights[o * n + 2 * j + 1] : 0);
    }
  }
  for (b = 0; b < batches; ++b) {
    const int8_t *row = input + b * n;
    int8_t *out = output + b * depth;
    for (j = 0; j < pairs; ++j) {
      const int32_t x0 = (int32_t)row[2 * j] + x_off;
      const int32_t x1 = 2 * j + 1 < n ? (int32_t)row[2 * j + 1] + x_off : 0;
      xs[j] = (uint32_t)(uint16_t)x0 | ((uint32_t)(uint16_t)x1 << 16);
    }
    for (o = 0; o < depth; o += 4) {
      __m128i acc = _mm_setzero_si128();
      int32_t sums[4];
      for (j = 0; j < pairs; ++j) {
        acc = _mm_add_epi32(acc, _mm_madd_epi16(_mm_set1_epi32((int32_t)xs[j]),
                                                _mm_loadu_si128((const __m128i *)(const void *)wt[j][o])));
      }
      _mm_storeu_si128((__m128i *)(void *)sums, acc);
      for (r = 0; r < 4 && o + r < depth; ++r) {
        out[o + r] = fc_requant(k, sums[r], o + r);
      }
    }
  }
}
#endif

#if defined(FE_DOT2X2)
/* Two input rows at once: outputs in pairs of features (fe_dot2x2_s8), an odd last one alone. */
static void fc_rows2(const fc_consts *k, int32_t n, int32_t depth, const int8_t *row,
                     const int8_t *weights, int8_t *out) {
  int32_t o = 0;
  for (; o + 2 <= depth; o += 2) {
    int32_t acc[4] = {0, 0, 0, 0};
    fe_dot2x2_s8(row, n, weights + o * n, n, n, acc);
    out[o] = fc_requant(k, acc[0], o);
    out[o + 1] = fc_requant(k, acc[1], o + 1);
    out[depth + o] = fc_requant(k, acc[2], o);
    out[depth + o + 1] = fc_requant(k, acc[3], o + 1);
  }
  if (o < depth) {
    out[o] = fc_requant(k, fe_dot1_s8(row, weights + o * n, n, 0), o);
    out[depth + o] = fc_requant(k, fe_dot1_s8(row + n, weights + o * n, n, 0), o);
  }
}
#endif

void fe_fully_connected(const fe_fc_params *p, const int8_t *input, const int8_t *weights,
                        const int32_t *bias, int8_t *output) {
  const int32_t n = p->accum_depth;
  const int32_t depth = p->output_depth;
  const int32_t batches = p->batches;
  const int32_t x_off = p->input_offset;
  const int32_t w_off = p->filter_offset;
  fc_consts k;
  int32_t b = 0;
  int32_t o;
#if FE_KERNELS_MVE
  if (w_off == 0) {
    fe_mve_fully_connected(p, input, weights, bias, output);
    return;
  }
#endif
  fc_rq_room room;
  fc_setup(&k, p, bias, n, room);
#if FE_KERNELS_SSE2
  if (w_off == 0 && n <= FE_FC_NARROW_N && depth <= FE_FC_NARROW_DEPTH && batches >= 4) {
    fc_narrow(&k, n, depth, batches, x_off, input, weights, output);
    return;
  }
#endif
#if FE_KERNELS_ACLE
  if (k.rq8 && w_off == 0 && x_off == 0 && bias != NULL) {
    fc_rows_rq8(&k, n, depth, batches, input, weights, output);
    return;
  }
#endif
#if defined(FE_DOT2X2)
  if (w_off == 0 && x_off == 0) {
    const int disjoint = fe_disjoint(input, batches * n, output, batches * depth);
    while (b + 2 <= batches) { /* a pair writes both output rows while input row b is read */
      if (disjoint || fe_below(output + b * depth, 2 * depth, input + b * n)) {
        fc_rows2(&k, n, depth, input + b * n, weights, output + b * depth);
        b += 2;
      } else {
        fc_row(&k, n, depth, 0, input + b * n, weights, output + b * depth);
        b += 1;
      }
    }
  }
#endif
  for (; b < batches; ++b) {
    const int8_t *row = input + b * n;
    int8_t *out = output + b * depth;
    if (w_off == 0) {
      fc_row(&k, n, depth, x_off, row, weights, out);
      continue;
    }
    for (o = 0; o < depth; ++o) {
      out[o] = fc_requant(&k, fe_dot_s8(row, weights + o * n, n, x_off, w_off), o);
    }
  }
}

#if FE_CONV_WIDE
/* Four features' sums over the whole row x..end against widened weights w (fe_kernels.h's
 * layout): per 16 MACs one LDR and two SXTB16 for the input, 4 LDRD and 8 SMLAD; returns w
 * past the group. */
FE_INLINE const uint32_t *fc_wide_dot4(const int8_t *x, const int8_t *end, const uint32_t *w,
                                       int32_t acc[4]) {
  int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
  for (; x < end; x += 4) {
    const uint32_t xv = fe_ld4(x);
    const int16x2_t xe = __sxtb16((int8x4_t)xv);
    const int16x2_t xo = fe_sxtb16_odd(xv);
    uint32_t we, wo;
    FE_LDRD_POST(we, wo, w);
    s0 = __smlad(xo, (int16x2_t)wo, __smlad(xe, (int16x2_t)we, s0));
    FE_LDRD_POST(we, wo, w);
    s1 = __smlad(xo, (int16x2_t)wo, __smlad(xe, (int16x2_t)we, s1));
    FE_LDRD_POST(we, wo, w);
    s2 = __smlad(xo, (int16x2_t)wo, __smlad(xe, (int16x2_t)we, s2));
    FE_LDRD_POST(we, wo, w);
    s3 = __smlad(xo, (int16x2_t)wo, __smlad(xe, (int16x2_t)we, s3));
  }
  acc[0] = s0;
  acc[1] = s1;
  acc[2] = s2;
  acc[3] = s3;
  return w;
}

void fe_fully_connected_wide(const fe_fc_params *p, const int8_t *input, const uint32_t *weights,
                             const int32_t *bias, int8_t *output) {
  const int32_t depth = p->output_depth;
  const int32_t mstep = p->per_channel ? 1 : 0;
  const int32_t zp = p->output_offset;
  const int32_t lo = p->act_min;
  const int32_t hi = p->act_max;
  const uint32_t lo4 = 0x01010101u * (uint8_t)lo;
  const uint32_t hi4 = 0x01010101u * (uint8_t)hi;
  const int32_t *m = p->multiplier;
  const int32_t *sh = p->shift;
  const int8_t *end = input + p->accum_depth;
  const uint32_t *w = weights;
  int32_t o = 0;
  for (; o + 4 <= depth; o += 4) {
    int32_t acc[4] = {bias[o], bias[o + 1], bias[o + 2], bias[o + 3]};
    uint32_t v;
    w = fc_wide_dot4(input, end, w, acc);
    v = FC_RQ8_PACK4(acc, m, sh, mstep, zp, lo4, hi4);
    memcpy(output + o, &v, sizeof v);
    m += 4 * mstep;
    sh += 4 * mstep;
  }
  if (o < depth) { /* the last 1-3 features: their group's other rows are zeros */
    int32_t acc[4] = {0, 0, 0, 0};
    int32_t r;
    for (r = 0; o + r < depth; ++r) {
      acc[r] = bias[o + r];
    }
    (void)fc_wide_dot4(input, end, w, acc);
    for (r = 0; o + r < depth; ++r) {
      output[o + r] = (int8_t)fe_clamp(fe_rq8z(acc[r], m[r * mstep], sh[r * mstep], zp), lo, hi);
    }
  }
}
#endif

/* Several rows: on DSP cores per-channel rows go through CONV_2D's pointwise GEMM
 * (fc_as_pointwise) when it takes them. A separate entry, called by the code generator only
 * for batches > 1, so a single-row model's static stack bound does not include that family's
 * widened-pair buffer. */
void fe_fully_connected_rows(const fe_fc_params *p, const int8_t *input, const int8_t *weights,
                             const int32_t *bias, int8_t *output) {
#if FE_KERNELS_ACLE && !FE_KERNELS_MVE
  if (p->filter_offset == 0 && p->input_offset == 0 && p->per_channel && p->batches > 1 &&
      fc_as_pointwise(p, input, weights, bias, output)) {
    return;
  }
#endif
  fe_fully_connected(p, input, weights, bias, output);
}

/* FULLY_CONNECTED over compressed-row weights (fe_sparse_s8): per output feature, the products
 * of its nonzero weights only. Events in raster order (each output after the reads of its own
 * row), as the dense kernel's, so the planner's slides hold. The filter offset is 0 (the code
 * generator re-lays only symmetric weights). */
void fe_fully_connected_sparse(const fe_fc_params *p, const fe_sparse_s8 *w, const int8_t *input,
                               const int32_t *bias, int8_t *output) {
  const int32_t n = p->accum_depth;
  const int32_t depth = p->output_depth;
  const int32_t batches = p->batches;
  const int32_t x_off = p->input_offset;
  const uint16_t *start = w->start;
  const uint16_t *col = w->col;
  const int8_t *val = w->val;
  fc_consts k;
  int32_t b, o;
#if FE_KERNELS_MVE
  fe_mve_fc_sparse(p, w, input, bias, output);
  return;
#endif
  fc_rq_room room;
  fc_setup(&k, p, bias, n, room);
#if FE_KERNELS_ACLE
  if (k.rq8 && x_off == 0 && bias != NULL) {
    fc_sparse_rq8(&k, w, n, depth, batches, input, output);
    return;
  }
#endif
  for (b = 0; b < batches; ++b) {
    const int8_t *row = input + b * n;
    int8_t *out = output + b * depth;
    int32_t j = 0;
    for (o = 0; o < depth; ++o) {
      const int32_t end = start[o + 1];
      int32_t acc = 0;
      if (x_off == 0) {
        for (; j < end; ++j) {
          acc += (int32_t)row[col[j]] * val[j];
        }
      } else {
        for (; j < end; ++j) {
          acc += ((int32_t)row[col[j]] + x_off) * val[j];
        }
      }
      out[o] = fc_requant(&k, acc, o);
    }
  }
}
