/* MAX_POOL_2D, AVERAGE_POOL_2D, TRANSPOSE and CONCATENATION on a board (Helium on Cortex-M55,
 * DSP on M4/M7, plain C with -DFE_KERNELS_PORTABLE) against naive loops on random int8 data
 * from a fixed LCG. Pools: 1..2 batches of 1..6 x 1..7 pixels, 1..37 channels (word and
 * 16-lane tails), filters 1..3 x 1..3, strides 1..3, padding 0..2 (empty windows included),
 * full and narrow activation ranges, windows of 256+ taps (the DSP path's int16 limit).
 * Copies, built as export/codegen/ops_data.py builds them: every permutation of 2-, 3- and
 * 4-D shapes (int8, and int32 elements), 2-D transposes from 1x1 to 45x45 (4x4 blocks and
 * their tails, 8- and 16-bit Helium gather offsets, scatters), channel concatenations of 1..9
 * byte runs and long runs, a backwards strided slice. Pools and transposes also run with the
 * output slid below the input in one buffer by the planner's smallest safe shift (computed
 * here as export/planner/overlap.py does: output raster order, each element's lowest read).
 * main returns the number of mismatching cases (0: QEMU exits 0). */
#include <stdint.h>
#include <string.h>

#include "fe_kernels.h"
#include "semihost.h"

#define MAX_BYTES 8192

static uint32_t lcg_state = 2024u;

static uint32_t next_u32(void) {
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return lcg_state;
}

static int32_t rnd(int32_t n) { return (int32_t)((next_u32() >> 8) % (uint32_t)n); }

static int8_t src[MAX_BYTES], want[MAX_BYTES], buf[3 * MAX_BYTES];
static int32_t reads[MAX_BYTES]; /* lowest input byte read by each output element */

static void fill(int8_t *p, int32_t n) {
  int32_t i;
  for (i = 0; i < n; ++i) {
    p[i] = (int8_t)(next_u32() >> 24);
  }
}

/* overlap.py's min_shift: least bytes the output must start below the input. */
static int32_t min_shift(int32_t n_out, int32_t out_bytes, int32_t in_bytes) {
  int32_t j, later = in_bytes, shift = -0x7FFFFFFF;
  for (j = n_out - 1; j >= 0; --j) {
    const int32_t s = (j + 1) * out_bytes - later;
    shift = s > shift ? s : shift;
    later = reads[j] < later ? reads[j] : later;
  }
  return shift;
}

/* ---- pools ---- */
static int8_t pool_ref(const fe_pool_params *p, const int8_t *in, int32_t b, int32_t oy,
                       int32_t ox, int32_t c, int average, int32_t *first) {
  int32_t y, x, n = 0, acc = average ? 0 : -128;
  *first = 0x7FFFFFFF;
  for (y = oy * p->stride_h - p->pad_h; y < oy * p->stride_h - p->pad_h + p->filter_h; ++y) {
    for (x = ox * p->stride_w - p->pad_w; x < ox * p->stride_w - p->pad_w + p->filter_w; ++x) {
      if (y >= 0 && y < p->in_h && x >= 0 && x < p->in_w) {
        const int32_t at = ((b * p->in_h + y) * p->in_w + x) * p->channels + c;
        const int32_t v = in[at];
        *first = at < *first ? at : *first;
        acc = average ? acc + v : (v > acc ? v : acc);
        ++n;
      }
    }
  }
  if (average) {
    if (n == 0) return 0;
    acc = acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n;
  }
  acc = acc < p->act_min ? p->act_min : acc;
  return (int8_t)(acc > p->act_max ? p->act_max : acc);
}

/* One pool case, output disjoint (slide < 0) or slid below the input by the least safe shift
 * plus `slide` bytes. */
static int pool_case(const fe_pool_params *p, int average, int32_t slide) {
  const int32_t in_n = p->batches * p->in_h * p->in_w * p->channels;
  const int32_t out_n = p->batches * p->out_h * p->out_w * p->channels;
  int32_t b, y, x, c, i = 0, shift;
  int8_t *in, *out;
  fill(src, in_n);
  for (b = 0; b < p->batches; ++b)
    for (y = 0; y < p->out_h; ++y)
      for (x = 0; x < p->out_w; ++x)
        for (c = 0; c < p->channels; ++c, ++i) want[i] = pool_ref(p, src, b, y, x, c, average,
                                                                  &reads[i]);
  shift = slide < 0 ? MAX_BYTES : min_shift(out_n, 1, in_n) + slide;
  in = buf + MAX_BYTES;
  out = in - shift;
  memcpy(in, src, (size_t)in_n);
  (average ? fe_avg_pool : fe_max_pool)(p, in, out);
  if (memcmp(out, want, (size_t)out_n) != 0) {
    semihost_write0(average ? "avg pool mismatch\n" : "max pool mismatch\n");
    return 1;
  }
  return 0;
}

static int pool_cases(void) {
  static const int32_t channels[] = {1, 2, 3, 4, 5, 6, 7, 8, 12, 15, 16, 17, 20, 31, 32, 37};
  int32_t k, bad = 0;
  fe_pool_params p;
  for (k = 0; k < 400; ++k) {
    p.batches = 1 + rnd(2);
    p.in_h = 1 + rnd(6);
    p.in_w = 1 + rnd(7);
    p.channels = channels[rnd(16)];
    p.filter_h = 1 + rnd(3);
    p.filter_w = 1 + rnd(3);
    p.stride_h = 1 + rnd(3);
    p.stride_w = 1 + rnd(3);
    p.pad_h = rnd(p.filter_h);
    p.pad_w = rnd(p.filter_w);
    p.out_h = (p.in_h + 2 * p.pad_h - p.filter_h) / p.stride_h + 1 + rnd(2);
    p.out_w = (p.in_w + 2 * p.pad_w - p.filter_w) / p.stride_w + 1 + rnd(2);
    if (p.out_h < 1) p.out_h = 1;
    if (p.out_w < 1) p.out_w = 1;
    p.act_min = (k & 3) == 1 ? -20 - rnd(50) : -128;
    p.act_max = (k & 3) == 2 ? 10 + rnd(50) : 127;
    bad += pool_case(&p, k & 1, (k & 4) ? -1 : rnd(3));
  }
  /* one big window each way of the DSP int16 limit (256 taps), all channels at -128 / 127 */
  for (k = 0; k < 2; ++k) {
    p.batches = 1;
    p.in_h = 16 + k;
    p.in_w = 16 + k;
    p.channels = 5;
    p.filter_h = p.in_h;
    p.filter_w = p.in_w;
    p.stride_h = p.stride_w = 1;
    p.pad_h = p.pad_w = 0;
    p.out_h = p.out_w = 1;
    p.act_min = -128;
    p.act_max = 127;
    bad += pool_case(&p, 1, -1);
  }
  return bad;
}

/* ---- strided copies ---- */
static void params_for(fe_copy_params *p, int32_t rank, const int32_t *dims, const int32_t *is,
                       const int32_t *os, int32_t in_start, int32_t out_start, int32_t eb) {
  int32_t d, k = FE_MAX_DIMS - rank;
  for (d = 0; d < FE_MAX_DIMS; ++d) {
    p->dims[d] = d < k ? 1 : dims[d - k];
    p->in_stride[d] = d < k ? 0 : is[d - k];
    p->out_stride[d] = d < k ? 0 : os[d - k];
  }
  p->in_start = in_start;
  p->out_start = out_start;
  p->elem_bytes = eb;
}

/* Naive copy of the element at every index (output raster order), recording each element's
 * input byte in reads[] when the output is the whole raster. */
static void copy_ref(const fe_copy_params *p, const int8_t *in, int8_t *out) {
  int32_t idx[FE_MAX_DIMS] = {0, 0, 0, 0, 0, 0}, n = 1, e, d;
  for (d = 0; d < FE_MAX_DIMS; ++d) n *= p->dims[d];
  for (e = 0; e < n; ++e) {
    int32_t i = p->in_start, o = p->out_start, r = e;
    for (d = FE_MAX_DIMS - 1; d >= 0; --d) {
      idx[d] = r % p->dims[d];
      r /= p->dims[d];
      i += idx[d] * p->in_stride[d];
      o += idx[d] * p->out_stride[d];
    }
    memcpy(out + o * p->elem_bytes, in + i * p->elem_bytes, (size_t)p->elem_bytes);
    if (e < MAX_BYTES) reads[e] = i * p->elem_bytes;
  }
}

/* Copy with the output disjoint (slide < 0: bytes the copy does not write must keep their
 * value) or, for a permutation of the whole input, slid below it by the least safe shift plus
 * `slide` bytes. */
static int copy_case(const fe_copy_params *p, int32_t in_bytes, int32_t out_bytes,
                     int32_t slide, const char *what) {
  static int8_t pre[MAX_BYTES];
  int32_t shift;
  int8_t *in, *out;
  fill(src, in_bytes);
  fill(pre, out_bytes);
  memcpy(want, pre, (size_t)out_bytes);
  copy_ref(p, src, want);
  shift = slide < 0 ? MAX_BYTES
                    : min_shift(out_bytes / p->elem_bytes, p->elem_bytes, in_bytes) + slide;
  in = buf + MAX_BYTES;
  out = in - shift;
  memcpy(out, pre, (size_t)out_bytes);
  memcpy(in, src, (size_t)in_bytes);
  fe_copy_nd(p, in, out);
  if (memcmp(out, want, (size_t)out_bytes) != 0) {
    semihost_write0(what);
    return 1;
  }
  return 0;
}

/* shape (rank dims) permuted by perm: out[i0..] = in[i_perm...] */
static int transpose_case(int32_t rank, const int32_t *shape, const int32_t *perm, int32_t eb,
                          int32_t slide) {
  int32_t in_st[4], is[4], os[4], dims[4], d, n = 1;
  for (d = rank - 1; d >= 0; --d) {
    in_st[d] = n;
    n *= shape[d];
  }
  for (d = rank - 1, n = 1; d >= 0; --d) {
    dims[d] = shape[perm[d]];
    is[d] = in_st[perm[d]];
    os[d] = n;
    n *= dims[d];
  }
  {
    fe_copy_params p;
    params_for(&p, rank, dims, is, os, 0, 0, eb);
    return copy_case(&p, n * eb, n * eb, slide, "transpose mismatch\n");
  }
}

static int transpose_cases(void) {
  static const int32_t perms3[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                       {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  int32_t k, bad = 0, shape[4], perm[4];
  for (k = 0; k < 2 * 46 * 46; k += 7) { /* 2-D: every tail of the 4x4 blocks and gathers */
    shape[0] = 1 + (k / 2) % 46;
    shape[1] = 1 + (k / 2) / 46;
    perm[0] = 1;
    perm[1] = 0;
    if (shape[0] * shape[1] <= MAX_BYTES) bad += transpose_case(2, shape, perm, 1, (k & 1) ? -1 : 0);
  }
  for (k = 0; k < 120; ++k) { /* 3-D, int8 and int32 */
    shape[0] = 1 + rnd(6);
    shape[1] = 1 + rnd(20);
    shape[2] = 1 + rnd(20);
    bad += transpose_case(3, shape, perms3[k % 6], (k % 5) == 4 ? 4 : 1, (k & 1) ? -1 : rnd(2));
  }
  for (k = 0; k < 96; ++k) { /* 4-D: all 24 permutations */
    int32_t used = 0, d, j = k % 24;
    for (d = 0; d < 4; ++d) {
      int32_t pick = j % (4 - d), q;
      j /= 4 - d;
      for (q = 0; q < 4; ++q) {
        if (!(used & (1 << q)) && pick-- == 0) break;
      }
      perm[d] = q;
      used |= 1 << q;
      shape[d] = 1 + rnd(7);
    }
    bad += transpose_case(4, shape, perm, 1, (k & 1) ? -1 : rnd(3));
  }
  return bad;
}

/* CONCATENATION of `n` inputs of runs[k] bytes each along the last axis, `outer` rows; the
 * output holds the whole result after all calls. */
static int concat_case(int32_t n, const int32_t *runs, int32_t outer) {
  int32_t k, row = 0, off = 0, bad = 0;
  for (k = 0; k < n; ++k) row += runs[k];
  fill(src, n * MAX_BYTES / 4);
  for (k = 0; k < n; ++k, off += runs[k - 1]) {
    const int32_t dims[2] = {outer, runs[k]}, is[2] = {runs[k], 1}, os[2] = {row, 1};
    fe_copy_params p;
    int32_t r;
    params_for(&p, 2, dims, is, os, 0, off, 1);
    for (r = 0; r < outer; ++r) memcpy(want + r * row + off, src + k * MAX_BYTES / 4 + r * runs[k],
                                       (size_t)runs[k]);
    fe_copy_nd(&p, src + k * MAX_BYTES / 4, buf);
  }
  if (memcmp(buf, want, (size_t)(row * outer)) != 0) {
    semihost_write0("concat mismatch\n");
    ++bad;
  }
  return bad;
}

static int concat_cases(void) {
  int32_t k, bad = 0, runs[3];
  for (k = 0; k < 200; ++k) {
    runs[0] = 1 + rnd(9);
    runs[1] = 1 + rnd(9);
    runs[2] = 1 + rnd(9);
    bad += concat_case(2 + (k & 1), runs, 1 + rnd(40));
  }
  for (k = 0; k < 40; ++k) { /* long runs (a concatenation along an outer axis) */
    runs[0] = 1 + rnd(600);
    runs[1] = 1 + rnd(600);
    bad += concat_case(2, runs, 1 + rnd(3));
  }
  {
    /* STRIDED_SLICE [::-1, 1::2] of a 9x10 int8 array: negative row stride */
    const int32_t dims[2] = {9, 5}, is[2] = {-10, 2}, os[2] = {5, 1};
    fe_copy_params p;
    params_for(&p, 2, dims, is, os, 81, 0, 1);
    bad += copy_case(&p, 90, 45, -1, "strided slice mismatch\n");
  }
  return bad;
}

int main(void) {
  const int bad = pool_cases() + transpose_cases() + concat_cases();
  semihost_write0(bad == 0 ? "copy board cases: all equal\n" : "copy board cases: MISMATCH\n");
  return bad;
}
