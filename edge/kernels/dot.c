/* int8 inner product with zero-point offsets: portable C and the Cortex-M DSP (ACLE) path. */
#include <string.h>

#include "fe_kernels.h"

#if FE_KERNELS_ACLE
#include <arm_acle.h>

static inline uint32_t fe_load4(const int8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

int32_t fe_dot_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t a_offset,
                  int32_t b_offset) {
  const int16x2_t a_off2 = (int16x2_t)(((uint32_t)a_offset & 0xFFFFu) | ((uint32_t)a_offset << 16));
  const int16x2_t b_off2 = (int16x2_t)(((uint32_t)b_offset & 0xFFFFu) | ((uint32_t)b_offset << 16));
  int32_t acc = 0;
  int32_t k = 0;
  for (; k + 4 <= n; k += 4) {
    const uint32_t va = fe_load4(a + k);
    const uint32_t vb = fe_load4(b + k);
    const int16x2_t a02 = __sxtab16(a_off2, (int8x4_t)va);
    const int16x2_t a13 = __sxtab16(a_off2, (int8x4_t)((va >> 8) | (va << 24)));
    const int16x2_t b02 = __sxtab16(b_off2, (int8x4_t)vb);
    const int16x2_t b13 = __sxtab16(b_off2, (int8x4_t)((vb >> 8) | (vb << 24)));
    acc = __smlad(a02, b02, acc);
    acc = __smlad(a13, b13, acc);
  }
  for (; k < n; ++k) {
    acc += ((int32_t)a[k] + a_offset) * ((int32_t)b[k] + b_offset);
  }
  return acc;
}

#else

int32_t fe_dot_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t a_offset,
                  int32_t b_offset) {
  int32_t acc = 0;
  int32_t k;
  for (k = 0; k < n; ++k) {
    acc += ((int32_t)a[k] + a_offset) * ((int32_t)b[k] + b_offset);
  }
  return acc;
}

#endif
