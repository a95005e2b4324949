/* NEG on float32 (Keras LayerNormalization lowers to DEQUANTIZE -> NEG -> QUANTIZE). */
#include "fe_internal.h"

void fe_neg_f32(int32_t size, const float *input, float *output) {
  int32_t i;
  for (i = 0; i < size; ++i) {
    output[i] = -input[i];
  }
}
