/* Helpers private to the kernel library's .c files. */
#ifndef FE_INTERNAL_H
#define FE_INTERNAL_H

#include <stdint.h>

#include "fe_fixedpoint.h"
#include "fe_kernels.h"

/* 1 when the byte ranges [a, a + na) and [b, b + nb) do not overlap. The memory planner may
 * place an operator's output partly over its dying input 0 ("slides", export/planner/
 * overlap.py), which is safe for kernels that write their outputs in raster order with each
 * output's reads done before its write. Kernels that block several output rows or pixels
 * together take that path only when the output is disjoint from the input, or when all the
 * block writes lies below every input byte still to be read (fe_below). */
static inline int fe_disjoint(const void *a, int32_t na, const void *b, int32_t nb) {
  const uintptr_t x = (uintptr_t)a;
  const uintptr_t y = (uintptr_t)b;
  return x + (uintptr_t)na <= y || y + (uintptr_t)nb <= x;
}

/* 1 when the bytes [out, out + n) all lie below `in` (they may be written while every byte
 * from `in` up is still to be read). */
static inline int fe_below(const void *out, int32_t n, const void *in) {
  return (uintptr_t)out + (uintptr_t)n <= (uintptr_t)in;
}

#if FE_KERNELS_ACLE
/* CONV_2D's pointwise GEMM family on DSP cores (conv2d.c, fe_conv_gemm.h): 1 when it took the
 * call (a 1x1 filter without padding or input offset, every channel's requantization in
 * fe_rq8's range), 0 when nothing was written. FULLY_CONNECTED hands it its rows as pixels. */
int fe_conv2d_pointwise(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                        const int32_t *bias, int8_t *output);
#endif

/* Visit every output element of a 6-D broadcast in row-major order; BODY sees the output
 * index `o_` and the input element indices `i1_` and `i2_`. */
#define FE_BCAST_LOOP(s, BODY)                                                              \
  do {                                                                                      \
    int32_t o_ = 0;                                                                         \
    int32_t a_, b_, c_, d_, e_, f_;                                                         \
    for (a_ = 0; a_ < (s)->dims[0]; ++a_) {                                                 \
      for (b_ = 0; b_ < (s)->dims[1]; ++b_) {                                               \
        for (c_ = 0; c_ < (s)->dims[2]; ++c_) {                                             \
          for (d_ = 0; d_ < (s)->dims[3]; ++d_) {                                           \
            for (e_ = 0; e_ < (s)->dims[4]; ++e_) {                                         \
              const int32_t base1_ = a_ * (s)->stride1[0] + b_ * (s)->stride1[1] +          \
                                     c_ * (s)->stride1[2] + d_ * (s)->stride1[3] +          \
                                     e_ * (s)->stride1[4];                                  \
              const int32_t base2_ = a_ * (s)->stride2[0] + b_ * (s)->stride2[1] +          \
                                     c_ * (s)->stride2[2] + d_ * (s)->stride2[3] +          \
                                     e_ * (s)->stride2[4];                                  \
              for (f_ = 0; f_ < (s)->dims[5]; ++f_, ++o_) {                                 \
                const int32_t i1_ = base1_ + f_ * (s)->stride1[5];                          \
                const int32_t i2_ = base2_ + f_ * (s)->stride2[5];                          \
                BODY                                                                        \
              }                                                                             \
            }                                                                               \
          }                                                                                 \
        }                                                                                   \
      }                                                                                     \
    }                                                                                       \
  } while (0)

/* Visit the rows of a 6-D broadcast: dims[0..4] in row-major order, each row being dims[5]
 * output elements. ROW sees the output index `o_` of the row's first element, the input
 * element indices `i1_`, `i2_` of its first elements, the row length `n_` and the inputs'
 * strides along the row `st1_`, `st2_` (1 contiguous, 0 broadcast, other: strided). With
 * dimensions merged by the code generator, most ops are one long row. */
#define FE_BCAST_ROWS(s, ROW)                                                               \
  do {                                                                                      \
    const int32_t n_ = (s)->dims[5];                                                        \
    const int32_t st1_ = (s)->stride1[5];                                                   \
    const int32_t st2_ = (s)->stride2[5];                                                   \
    int32_t o_ = 0;                                                                         \
    int32_t a_, b_, c_, d_, e_;                                                             \
    for (a_ = 0; a_ < (s)->dims[0]; ++a_) {                                                 \
      for (b_ = 0; b_ < (s)->dims[1]; ++b_) {                                               \
        for (c_ = 0; c_ < (s)->dims[2]; ++c_) {                                             \
          for (d_ = 0; d_ < (s)->dims[3]; ++d_) {                                           \
            for (e_ = 0; e_ < (s)->dims[4]; ++e_, o_ += n_) {                               \
              const int32_t i1_ = a_ * (s)->stride1[0] + b_ * (s)->stride1[1] +             \
                                  c_ * (s)->stride1[2] + d_ * (s)->stride1[3] +             \
                                  e_ * (s)->stride1[4];                                     \
              const int32_t i2_ = a_ * (s)->stride2[0] + b_ * (s)->stride2[1] +             \
                                  c_ * (s)->stride2[2] + d_ * (s)->stride2[3] +             \
                                  e_ * (s)->stride2[4];                                     \
              ROW                                                                           \
            }                                                                               \
          }                                                                                 \
        }                                                                                   \
      }                                                                                     \
    }                                                                                       \
  } while (0)

#endif /* FE_INTERNAL_H */
