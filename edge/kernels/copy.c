/* Strided N-D copy: TRANSPOSE, STRIDED_SLICE, SLICE, CONCATENATION, PACK, SPLIT, PAD and
 * DYNAMIC_UPDATE_SLICE are all one of these. The code generator merges dimensions, so the two
 * innermost dimensions carry the shape of the work: fe_copy_nd walks dims[0..3] and hands each
 * 2-D plane (dims[4] rows of dims[5] elements) to one plane kernel, chosen once per call:
 *
 *  - runs (both rows contiguous: CONCATENATION, PAD, slices): forward word copies; the short
 *    rows of a channel concatenation (1..8 bytes, e.g. 3 + 3 -> 6 channels) get a loop each with
 *    the length a constant, so a row costs a few instructions instead of a library call;
 *  - transpose (int8, input rows are the output's columns: TRANSPOSE's last two dimensions):
 *    4x4 byte blocks transposed in registers (four word loads, eight mask-and-merge steps,
 *    four word stores), or on Helium VLDRB gathers / VSTRB scatters (fe_copy_mve.h);
 *  - gather (int8, strided input row into a contiguous output row): four bytes to one word
 *    store;
 *  - anything else (wider elements, strided output rows) element by element.
 *
 * Access order (the planner may slide a TRANSPOSE's output partly below its dying input,
 * export/planner/overlap.py, assuming output raster order with each element written after its
 * reads): runs, gathers and Helium gathers write each output row front to back, a group of
 * elements only after all of its reads, in raster order. The block transposes and scatters
 * write four (sixteen) output rows at a time, so they run only when the plane's input and
 * output bytes are disjoint: the model guarantees that once a plane is complete its bytes lie
 * below every later plane's reads, whatever the order inside it. Forward word copies of a run
 * run when the output starts at or below the input or is disjoint from it; else memmove.
 * All of this is plain C but the Helium planes (-DFE_KERNELS_PORTABLE turns those off); a
 * big-endian core takes the reference: one memmove per row or element.
 */
#include <string.h>

#include "fe_copy_mve.h"
#include "fe_internal.h"


#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FE_COPY_FAST 1 /* word loads and stores of unaligned int8 groups (little-endian) */
#else
#define FE_COPY_FAST 0
#endif

/* One plane: rows of n elements; byte strides between rows and between a row's elements. */
typedef struct {
  int32_t rows, n, eb;
  int32_t in_row, out_row;
  int32_t in_step, out_step;
} plane_shape;

typedef void (*plane_fn)(const plane_shape *s, const uint8_t *in, uint8_t *out);

#if FE_COPY_FAST
/* Lowest byte a plane touches, relative to its first element (strides may be negative:
 * STRIDED_SLICE steps backwards), and the number of bytes from there to its highest byte. */
static int32_t plane_low(int32_t rows, int32_t row, int32_t n, int32_t step) {
  return (row < 0 ? (rows - 1) * row : 0) + (step < 0 ? (n - 1) * step : 0);
}

static int32_t plane_span(int32_t rows, int32_t row, int32_t n, int32_t step, int32_t eb) {
  return (rows - 1) * (row < 0 ? -row : row) + (n - 1) * (step < 0 ? -step : step) + eb;
}

static int plane_disjoint(const plane_shape *s, const uint8_t *in, const uint8_t *out) {
  return fe_disjoint(in + plane_low(s->rows, s->in_row, s->n, s->in_step),
                     plane_span(s->rows, s->in_row, s->n, s->in_step, s->eb),
                     out + plane_low(s->rows, s->out_row, s->n, s->out_step),
                     plane_span(s->rows, s->out_row, s->n, s->out_step, s->eb));
}
#endif

/* Reference: element by element in raster order (any element size, any strides). */
static void plane_elements(const plane_shape *s, const uint8_t *in, uint8_t *out) {
  int32_t r, f;
  for (r = 0; r < s->rows; ++r, in += s->in_row, out += s->out_row) {
    for (f = 0; f < s->n; ++f) {
      memmove(out + f * s->out_step, in + f * s->in_step, (size_t)s->eb);
    }
  }
}

#if FE_COPY_FAST
FE_INLINE uint32_t ld32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

FE_INLINE void st32(uint8_t *p, uint32_t v) { memcpy(p, &v, sizeof v); }

/* n bytes front to back; each group of words is loaded before it is stored, so an output at
 * or below the input is safe */
FE_INLINE void copy_forward(const uint8_t *in, uint8_t *out, int32_t n) {
  for (; n >= 16; n -= 16, in += 16, out += 16) {
    const uint32_t a = ld32(in), b = ld32(in + 4), c = ld32(in + 8), d = ld32(in + 12);
    st32(out, a);
    st32(out + 4, b);
    st32(out + 8, c);
    st32(out + 12, d);
  }
  for (; n >= 4; n -= 4, in += 4, out += 4) {
    st32(out, ld32(in));
  }
  if (n & 2) {
    uint16_t h;
    memcpy(&h, in, sizeof h);
    memcpy(out, &h, sizeof h);
    in += 2;
    out += 2;
  }
  if (n & 1) {
    *out = *in;
  }
}

/* rows of n bytes; always inlined so the switch below gets one loop per constant n */
FE_INLINE void runs_of(const uint8_t *in, int32_t is, uint8_t *out, int32_t os, int32_t rows,
                       int32_t n) {
  int32_t r;
  for (r = 0; r < rows; ++r, in += is, out += os) {
    copy_forward(in, out, n);
  }
}

/* Rows of a length without a case below (disjoint planes): Helium vector copies; else word
 * copies, or the C library's memcpy for long rows (its unrolled loop costs about half an
 * instruction a byte on the M4/M7, ours about one). */
static void runs_long(const uint8_t *in, int32_t is, uint8_t *out, int32_t os, int32_t rows,
                      int32_t n) {
#if FE_KERNELS_MVE
  fe_copy_runs_mve(in, is, out, os, rows, n);
#else
  int32_t r;
  if (n < 48) {
    runs_of(in, is, out, os, rows, n);
    return;
  }
  for (r = 0; r < rows; ++r, in += is, out += os) {
    memcpy(out, in, (size_t)n);
  }
#endif
}
#endif

/* Contiguous rows (in_step == out_step == element size). */
static void plane_runs(const plane_shape *s, const uint8_t *in, uint8_t *out) {
  const int32_t n = s->n * s->eb;
  int32_t r;
#if FE_COPY_FAST
  if (plane_disjoint(s, in, out)) {
    switch (n) {
      case 1: runs_of(in, s->in_row, out, s->out_row, s->rows, 1); return;
      case 2: runs_of(in, s->in_row, out, s->out_row, s->rows, 2); return;
      case 3: runs_of(in, s->in_row, out, s->out_row, s->rows, 3); return;
      case 4: runs_of(in, s->in_row, out, s->out_row, s->rows, 4); return;
      case 6: runs_of(in, s->in_row, out, s->out_row, s->rows, 6); return;
      case 8: runs_of(in, s->in_row, out, s->out_row, s->rows, 8); return;
      default: runs_long(in, s->in_row, out, s->out_row, s->rows, n); return;
    }
  }
  for (r = 0; r < s->rows; ++r, in += s->in_row, out += s->out_row) {
    if ((uintptr_t)out <= (uintptr_t)in) {
      copy_forward(in, out, n);
    } else {
      memmove(out, in, (size_t)n);
    }
  }
#else
  for (r = 0; r < s->rows; ++r, in += s->in_row, out += s->out_row) {
    memmove(out, in, (size_t)n);
  }
#endif
}

#if FE_COPY_FAST
/* Gathers s->n int8 elements of stride s->in_step into each contiguous output row, four at a
 * time into one word store (raster order). */
static void gather_rows(const plane_shape *s, const uint8_t *in, uint8_t *out) {
  const int32_t st = s->in_step, n = s->n, rows = s->rows, in_row = s->in_row;
  const int32_t out_row = s->out_row;
  int32_t r, f;
  for (r = 0; r < rows; ++r, in += in_row, out += out_row) {
    const uint8_t *p = in;
    for (f = 0; f + 4 <= n; f += 4, p += 4 * st) {
      st32(out + f, (uint32_t)p[0] | ((uint32_t)p[st] << 8) | ((uint32_t)p[2 * st] << 16) |
                        ((uint32_t)p[3 * st] << 24));
    }
    for (; f < n; ++f, p += st) {
      out[f] = *p;
    }
  }
}

/* 4x4 bytes: a..d hold input rows (byte k = column k); afterwards they hold the columns.
 * Pairs of rows swap bytes, then pairs of pairs swap halfwords, each swap a masked exchange
 * x ^ ((x ^ shifted y) & mask): three instructions with the shift folded into the EOR. */
FE_INLINE void transpose4x4(uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d) {
  const uint32_t ab02 = *a ^ ((*a ^ (*b << 8)) & 0xFF00FF00u);    /* b2 a2 b0 a0 */
  const uint32_t ab13 = *b ^ ((*b ^ (*a >> 8)) & 0x00FF00FFu);    /* b3 a3 b1 a1 */
  const uint32_t cd02 = *c ^ ((*c ^ (*d << 8)) & 0xFF00FF00u);    /* d2 c2 d0 c0 */
  const uint32_t cd13 = *d ^ ((*d ^ (*c >> 8)) & 0x00FF00FFu);    /* d3 c3 d1 c1 */
  *a = ab02 ^ ((ab02 ^ (cd02 << 16)) & 0xFFFF0000u);              /* d0 c0 b0 a0 */
  *b = ab13 ^ ((ab13 ^ (cd13 << 16)) & 0xFFFF0000u);
  *c = cd02 ^ ((cd02 ^ (ab02 >> 16)) & 0x0000FFFFu);
  *d = cd13 ^ ((cd13 ^ (ab13 >> 16)) & 0x0000FFFFu);
}

/* out row r, element c = input row c, element r (input rows s->in_step apart, contiguous):
 * 4x4 blocks, then the last rows % 4 output rows, then the last n % 4 output columns. The
 * output rows are written four at a time: only for disjoint planes. Two pointers per block
 * (rows 0-1 and 2-3 at +stride) keep the loop in registers. */
static void transpose_blocks(const plane_shape *s, const uint8_t *in, uint8_t *out) {
  const int32_t is = s->in_step, os = s->out_row, rows = s->rows, n = s->n;
  int32_t r, c;
  for (c = 0; c + 4 <= n; c += 4) {
    const uint8_t *i = in + c * is;
    uint8_t *o = out + c;
    for (r = 0; r + 4 <= rows; r += 4, i += 4, o += 4 * os) {
      const uint8_t *i2 = i + 2 * is;
      uint8_t *o2 = o + 2 * os;
      uint32_t a = ld32(i), b = ld32(i + is), x = ld32(i2), d = ld32(i2 + is);
      transpose4x4(&a, &b, &x, &d);
      st32(o, a);
      st32(o + os, b);
      st32(o2, x);
      st32(o2 + os, d);
    }
    for (; r < rows; ++r, ++i, o += os) {
      st32(o, (uint32_t)i[0] | ((uint32_t)i[is] << 8) | ((uint32_t)i[2 * is] << 16) |
                  ((uint32_t)i[3 * is] << 24));
    }
  }
  for (; c < n; ++c) {
    const uint8_t *i = in + c * is;
    uint8_t *o = out + c;
    for (r = 0; r < rows; ++r, o += os) {
      *o = i[r];
    }
  }
}

static void plane_gather(const plane_shape *s, const uint8_t *in, uint8_t *out) {
  const int transposing = s->in_row == 1 && s->rows >= 4 && s->n >= 4;
#if FE_KERNELS_MVE
  if (fe_copy_gather_mve(s->rows, s->in_row, s->n, s->in_step, s->out_row, in, out,
                         transposing && plane_disjoint(s, in, out))) {
    return;
  }
#endif
  if (transposing && plane_disjoint(s, in, out)) {
    transpose_blocks(s, in, out);
    return;
  }
  gather_rows(s, in, out);
}
#endif

static plane_fn choose(const plane_shape *s) {
  if (s->in_step == s->eb && s->out_step == s->eb) {
    return plane_runs;
  }
#if FE_COPY_FAST
  if (s->eb == 1 && s->out_step == 1 && s->in_step > 0 && s->in_row >= 0 && s->out_row >= 0) {
    return plane_gather;
  }
#endif
  return plane_elements;
}

void fe_copy_nd(const fe_copy_params *p, const void *input, void *output) {
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  const int32_t eb = p->elem_bytes;
  const plane_shape s = {p->dims[4], p->dims[5], eb, p->in_stride[4] * eb,
                         p->out_stride[4] * eb, p->in_stride[5] * eb, p->out_stride[5] * eb};
  const plane_fn fn = choose(&s);
  int32_t a, b, c, d;
  if (s.rows <= 0 || s.n <= 0) {
    return;
  }
  for (a = 0; a < p->dims[0]; ++a) {
    for (b = 0; b < p->dims[1]; ++b) {
      for (c = 0; c < p->dims[2]; ++c) {
        for (d = 0; d < p->dims[3]; ++d) {
          const int32_t ib = p->in_start + a * p->in_stride[0] + b * p->in_stride[1] +
                             c * p->in_stride[2] + d * p->in_stride[3];
          const int32_t ob = p->out_start + a * p->out_stride[0] + b * p->out_stride[1] +
                             c * p->out_stride[2] + d * p->out_stride[3];
          fn(&s, in + ib * eb, out + ob * eb);
        }
      }
    }
  }
}

void fe_fill_s8(int8_t *output, int32_t size, int8_t value) {
  memset(output, (unsigned char)value, (size_t)size);
}
