/* Strided N-D copy: TRANSPOSE, STRIDED_SLICE, CONCATENATION and PAD are all one of these.
 * The code generator merges dimensions, so the innermost run is as long as the layouts allow.
 * Elements are written in output raster order, each after its read (the planner may slide the
 * output partly below the input, export/planner/overlap.py): contiguous runs are copied
 * forward in words when that is safe, strided bytes are gathered four at a time into one word
 * store (little-endian cores). */
#include <string.h>

#include "fe_internal.h"

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FE_COPY_LE 1
#else
#define FE_COPY_LE 0
#endif

/* n strided single bytes (int8 / uint8 / bool elements) into consecutive or strided bytes */
static void copy_bytes(const uint8_t *in, int32_t is, uint8_t *out, int32_t os, int32_t n) {
  int32_t f = 0;
#if FE_COPY_LE
  if (os == 1) {
    for (; f + 4 <= n; f += 4, in += 4 * is) {
      const uint32_t v = (uint32_t)in[0] | ((uint32_t)in[is] << 8) |
                         ((uint32_t)in[2 * is] << 16) | ((uint32_t)in[3 * is] << 24);
      memcpy(out + f, &v, sizeof v);
    }
    for (; f < n; ++f, in += is) {
      out[f] = *in;
    }
    return;
  }
#endif
  for (; f < n; ++f) {
    out[f * os] = in[f * is];
  }
}

/* n contiguous bytes: forward word copy when the output starts at or below the input or is
 * disjoint from it (short runs, where a library call costs more than the copy), else memmove */
static void copy_run(const uint8_t *in, uint8_t *out, int32_t n) {
  if (n <= 64 && ((uintptr_t)out <= (uintptr_t)in || fe_disjoint(in, n, out, n))) {
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
      uint32_t v;
      memcpy(&v, in + k, sizeof v);
      memcpy(out + k, &v, sizeof v);
    }
    for (; k < n; ++k) {
      out[k] = in[k];
    }
    return;
  }
  memmove(out, in, (size_t)n);
}

void fe_copy_nd(const fe_copy_params *p, const void *input, void *output) {
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  const int32_t eb = p->elem_bytes;
  const int32_t n = p->dims[5];
  const int32_t is = p->in_stride[5];
  const int32_t os = p->out_stride[5];
  int32_t a, b, c, d, e, f;
  for (a = 0; a < p->dims[0]; ++a) {
    for (b = 0; b < p->dims[1]; ++b) {
      for (c = 0; c < p->dims[2]; ++c) {
        for (d = 0; d < p->dims[3]; ++d) {
          for (e = 0; e < p->dims[4]; ++e) {
            const int32_t ib = p->in_start + a * p->in_stride[0] + b * p->in_stride[1] +
                               c * p->in_stride[2] + d * p->in_stride[3] + e * p->in_stride[4];
            const int32_t ob = p->out_start + a * p->out_stride[0] + b * p->out_stride[1] +
                               c * p->out_stride[2] + d * p->out_stride[3] +
                               e * p->out_stride[4];
            if (is == 1 && os == 1) {
              copy_run(in + ib * eb, out + ob * eb, n * eb);
              continue;
            }
            if (eb == 1) {
              copy_bytes(in + ib, is, out + ob, os, n);
              continue;
            }
            for (f = 0; f < n; ++f) {
              memmove(out + (ob + f * os) * eb, in + (ib + f * is) * eb, (size_t)eb);
            }
          }
        }
      }
    }
  }
}

void fe_fill_s8(int8_t *output, int32_t size, int8_t value) {
  memset(output, (unsigned char)value, (size_t)size);
}
