/* Strided N-D copy: TRANSPOSE, STRIDED_SLICE, CONCATENATION and PAD are all one of these. */
#include <string.h>

#include "fe_internal.h"

/* n strided single bytes (int8 / uint8 / bool elements): a plain loop, no call per byte */
static void copy_bytes(const uint8_t *in, int32_t is, uint8_t *out, int32_t os, int32_t n) {
  int32_t f;
  for (f = 0; f < n; ++f) {
    out[f * os] = in[f * is];
  }
}

void fe_copy_nd(const fe_copy_params *p, const void *input, void *output) {
  const uint8_t *in = (const uint8_t *)input;
  uint8_t *out = (uint8_t *)output;
  const int32_t eb = p->elem_bytes;
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
            if (p->in_stride[5] == 1 && p->out_stride[5] == 1) {
              memmove(out + ob * eb, in + ib * eb, (size_t)(p->dims[5] * eb));
              continue;
            }
            if (eb == 1) {
              copy_bytes(in + ib, p->in_stride[5], out + ob, p->out_stride[5], p->dims[5]);
              continue;
            }
            for (f = 0; f < p->dims[5]; ++f) {
              memmove(out + (ob + f * p->out_stride[5]) * eb, in + (ib + f * p->in_stride[5]) * eb,
                      (size_t)eb);
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
