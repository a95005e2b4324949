/* foley-edge int8 kernel library: the operators generated model code calls directly.
 *
 * Every kernel reproduces TFLite Micro's reference integer arithmetic bit for bit. Parameters
 * arrive in const structs the code generator fills in at build time (shapes, strides, offsets,
 * requantization multipliers and shifts); nothing is allocated or parsed at run time.
 * Tensors are row-major (NHWC for images). Shapes of up to FE_MAX_DIMS dimensions are passed
 * padded on the left with 1s. Kernels that the planner may run in place (output == input 0)
 * read every element before writing it.
 * On Cortex-M cores with the DSP extension (__ARM_FEATURE_DSP) the int8 inner products use the
 * ACLE SIMD intrinsics __sxtb16/__smlad; results are identical to the portable C path.
 * Define FE_KERNELS_PORTABLE (e.g. -DFE_KERNELS_PORTABLE) to force the portable C path even
 * where __ARM_FEATURE_DSP is defined (to compare both on the same board).
 * On cores with Helium (__ARM_FEATURE_MVE: Cortex-M55) FULLY_CONNECTED, BATCH_MATMUL and CONV_2D
 * take the MVE paths of fe_gemm_mve.h instead, ADD / SUB / MUL those of fe_eltwise_mve.h and
 * DEPTHWISE_CONV_2D (16 channels or more) that of fe_dw_mve.h (same results);
 * FE_KERNELS_PORTABLE turns them off too.
 */
#ifndef FE_KERNELS_H
#define FE_KERNELS_H

/* 1 when the kernels use the ACLE DSP SIMD path, 0 for portable C. */
#if defined(__ARM_FEATURE_DSP) && !defined(FE_KERNELS_PORTABLE)
#define FE_KERNELS_ACLE 1
#else
#define FE_KERNELS_ACLE 0
#endif

/* 1 when the Helium (MVE) paths are compiled (Cortex-M55: integer MVE), 0 otherwise: GEMM
 * (fe_gemm_mve.h), elementwise (fe_eltwise_mve.h), depthwise (fe_dw_mve.h); each operator's
 * dispatch tests it once per call. The other kernels keep the DSP path. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(FE_KERNELS_PORTABLE)
#define FE_KERNELS_MVE 1
#else
#define FE_KERNELS_MVE 0
#endif

/* 1 when CONV_2D and single-row FULLY_CONNECTED take weights the code generator widened to
 * int16 (fe_conv_params.filter_wide: the DSP cores' GEMM family, fe_conv_gemm.h;
 * fe_fully_connected_wide); the generated C then links only one copy of the weights. */
#define FE_CONV_WIDE (FE_KERNELS_ACLE && !FE_KERNELS_MVE)

#include <stddef.h>
#include <stdint.h>

#define FE_MAX_DIMS 6

/* ---- inner product shared by FULLY_CONNECTED, BATCH_MATMUL and CONV_2D ---- */
/* sum_k (a[k] + a_offset) * (b[k] + b_offset) over n contiguous int8 pairs. */
int32_t fe_dot_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t a_offset, int32_t b_offset);

/* ---- FULLY_CONNECTED ---- */
typedef struct {
  int32_t batches;        /* rows of the input */
  int32_t accum_depth;    /* input features */
  int32_t output_depth;   /* output features (rows of the weights) */
  int32_t input_offset;   /* -input zero point */
  int32_t filter_offset;  /* -weights zero point */
  int32_t output_offset;  /* output zero point */
  const int32_t *multiplier; /* one per output feature, or one when per_channel == 0 */
  const int32_t *shift;
  int32_t per_channel;
  int32_t act_min;
  int32_t act_max;
  /* requantization as fe_rq8z (DSP cores), checked by the code generator: 1 exact for every
   * feature (shift -31..-1, multiplier >= 0, |bias| + accum_depth * 255 * 128 < 2^30),
   * -1 not; 0 unknown: the kernel checks per call */
  int32_t rq8;
} fe_fc_params;
void fe_fully_connected(const fe_fc_params *p, const int8_t *input, const int8_t *weights,
                        const int32_t *bias, int8_t *output);
/* One input row (batches 1) on FE_CONV_WIDE builds, the weights widened by the code generator:
 * per 4 output features and 4 inputs, 8 words, for each feature its inputs {0, 2} then {1, 3}
 * as int16 pairs (first in the low half), features past output_depth zero. Needs accum_depth a
 * multiple of 4, the input offset folded into bias (input_offset 0), filter_offset 0, rq8 1. */
void fe_fully_connected_wide(const fe_fc_params *p, const int8_t *input, const uint32_t *weights,
                             const int32_t *bias, int8_t *output);
/* The same for batches > 1 (the code generator's choice): may take CONV_2D's pointwise GEMM. */
void fe_fully_connected_rows(const fe_fc_params *p, const int8_t *input, const int8_t *weights,
                             const int32_t *bias, int8_t *output);

/* Weights of a FULLY_CONNECTED stored sparse (compressed rows), re-laid by the code generator
 * when most are zero (a skeleton's adjacency): output feature o's nonzero weights are
 * val[start[o] .. start[o + 1]) at input features col[...]. Same result as the dense weights
 * (the zeros add nothing; the input offset is folded into the bias over all weights). */
typedef struct {
  const uint16_t *start; /* output_depth + 1 entries */
  const uint16_t *col;   /* input feature of each nonzero */
  const int8_t *val;     /* the nonzero weights */
} fe_sparse_s8;
void fe_fully_connected_sparse(const fe_fc_params *p, const fe_sparse_s8 *w, const int8_t *input,
                               const int32_t *bias, int8_t *output);

/* ---- BATCH_MATMUL: out[b,i,j] = sum_k (lhs[b,i,k] + lo) * (rhs[b,k,j] + ro) ---- */
typedef struct {
  int32_t batch_dims[3];   /* broadcast batch shape of the output */
  int32_t lhs_batch_stride[3]; /* element strides of lhs per batch dim (0 = broadcast) */
  int32_t rhs_batch_stride[3];
  int32_t rows;            /* lhs rows (i) */
  int32_t cols;            /* rhs cols (j) */
  int32_t depth;           /* accumulation depth (k) */
  int32_t adj_x;           /* lhs stored [k][i] */
  int32_t adj_y;           /* rhs stored [j][k] */
  int32_t lhs_row_stride;  /* elements between stored lhs rows (depth, or rows when adj_x) */
  int32_t rhs_row_stride;  /* elements between stored rhs rows (cols, or depth when adj_y) */
  int32_t lhs_offset;
  int32_t rhs_offset;
  int32_t output_offset;
  int32_t multiplier;
  int32_t shift;
} fe_bmm_params;
void fe_batch_matmul(const fe_bmm_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *output);

/* ---- CONV_2D (per-channel) and DEPTHWISE_CONV_2D, NHWC ---- */
/* One output channel's bias and requantization for CONV_2D's widened weights
 * (fe_conv_params.wide_rq), precomputed by the code generator: the kernel's sums are doubled
 * (the widened weights are 2 w), and out = SSAT(((SMMLAR(2 s, mult, round) - [s < 0]) >> r), 8)
 * is TFLite's MultiplyByQuantizedMultiplier(s, mult, -r) + output_offset, saturated to int8
 * (fe_conv_gemm.h, cg_rq). */
typedef struct {
  int32_t bias2; /* 2 * bias (the input offset folded in where the generator folds it) */
  int32_t mult;  /* multiplier, >= 0 */
  int32_t round; /* 2^(r - 1) + output_offset * 2^r: |round| + |the largest product| < 2^31 */
  int32_t r;     /* -shift, 1..31 */
} fe_conv_rq;

/* One output channel's bias and requantization for CONV_2D on Helium builds
 * (fe_conv_params.mve_rq), precomputed by the code generator for fe_conv_px4_mve.h: with v =
 * VQRDMULH(sum + bias, mult) (TFLite's SaturatingRoundingDoublingHighMul) and r = -shift
 * (1..24), out = (VQSHL(v + [v < 0 ? -1 : 0] + round, lsh) >> 24) is TFLite's
 * MultiplyByQuantizedMultiplier(sum + bias, mult, -r) + output_offset, saturated to int8: the
 * left shift by 24 - r saturates exactly where the result leaves int8. */
typedef struct {
  int32_t bias;  /* bias + input_offset * (sum of the channel's weights) */
  int32_t mult;  /* multiplier */
  int32_t round; /* 2^(r - 1) + output_offset * 2^r */
  int32_t lsh;   /* 24 - r, 0..23 */
} fe_conv_rq_mve;

typedef struct {
  int32_t in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  /* padding before the first row / column: SAME's, or any explicit pads (a folded PAD,
   * export/planner/fold_pad.py); the padding after is whatever out_h / out_w imply (every
   * tap outside the input is skipped: a tap on the zero point adds nothing) */
  int32_t pad_h, pad_w;
  int32_t depth_multiplier; /* depthwise only */
  int32_t input_offset;
  int32_t output_offset;
  const int32_t *multiplier; /* one per output channel */
  const int32_t *shift;
  int32_t act_min;
  int32_t act_max;
  /* CONV_2D on FE_CONV_WIDE builds, or NULL: the weights widened to int16 and re-laid by the
   * code generator (export/codegen/ops_linear.py, _wide_weights) for fe_conv_gemm.h's 2x2
   * blocks: per pair of output channels and per group of 4 values, 4 words {channel c values
   * 0,2; values 1,3; channel c + 1 values 0,2; values 1,3} (int16 pairs, low half first);
   * values past filter_h * filter_w * in_c and an odd last channel's partner are 0; each
   * int16 is twice the weight (so the sums come doubled, as SMMLAR wants them). Set only when
   * that count is at most 192 and the requantization fits fe_rq8z (the generator checks
   * both); the int8 filter argument is then NULL, the bias argument is not read, and wide_rq
   * is set. */
  const uint32_t *filter_wide;
  /* with filter_wide: per output channel (an odd count padded by one with zeros) its bias and
   * requantization; multiplier, shift and output_offset are then not read */
  const fe_conv_rq *wide_rq;
  /* CONV_2D on FE_CONV_WIDE builds, or NULL: a pointwise call (1x1, no padding, input offset
   * folded) with in_c over fe_conv_gemm.h's CG_MAX_K, a multiple of 4, and requantization in
   * fe_rq8z's range, its int8 weights re-laid by the code generator
   * (export/codegen/ops_linear.py, _pair_filter) for fe_conv_gemm.h's cg_dot2x2_pairs: per
   * pair of output channels (an odd last one paired with zeros) and per group of 4 values, 2
   * words {channel c's 4 values; channel c + 1's 4}, so one LDRD fetches both rows. The int8
   * filter argument is then NULL. */
  const uint32_t *filter_pairs;
  /* CONV_2D on FE_KERNELS_MVE builds, or NULL: per output channel its requantization record
   * (fe_conv_rq_mve), set by the code generator when the activation range is the whole int8
   * range and every shift is in -24..-1; fe_conv_px4_mve.h then takes pointwise calls and
   * gathered windows (multiplier, shift and the bias argument are not read there) */
  const fe_conv_rq_mve *mve_rq;
} fe_conv_params;
void fe_conv2d(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
               const int32_t *bias, int8_t *output);
void fe_depthwise_conv2d(const fe_conv_params *p, const int8_t *input, const int8_t *filter,
                         const int32_t *bias, int8_t *output);
/* In place (depth multiplier 1, output no larger than the input): the output ends up NHWC at
 * the front of buf; scratch holds export/scratch.py's scratch_bytes: out_h * out_w bytes, or
 * more for the Helium paths (one channel's padded input plane; 16 channels of small planes). */
void fe_depthwise_conv2d_inplace(const fe_conv_params *p, int8_t *buf, const int8_t *filter,
                                 const int32_t *bias, int8_t *scratch);

/* ---- AVERAGE_POOL_2D / MAX_POOL_2D ---- */
typedef struct {
  int32_t batches;
  int32_t in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w;
  int32_t pad_h, pad_w;
  int32_t act_min;
  int32_t act_max;
} fe_pool_params;
void fe_avg_pool(const fe_pool_params *p, const int8_t *input, int8_t *output);
void fe_max_pool(const fe_pool_params *p, const int8_t *input, int8_t *output);

/* ---- broadcast walk shared by the binary elementwise ops ---- */
typedef struct {
  int32_t dims[FE_MAX_DIMS];     /* output shape */
  int32_t stride1[FE_MAX_DIMS];  /* element strides of input 1 (0 where broadcast) */
  int32_t stride2[FE_MAX_DIMS];  /* element strides of input 2 (0 where broadcast) */
} fe_bcast;

/* ---- ADD / SUB (TFLite: inputs rescaled to 2*max scale with a left shift of 20) ---- */
typedef struct {
  fe_bcast shape;
  int32_t sign;          /* +1 for ADD, -1 for SUB */
  int32_t left_shift;
  int32_t input1_offset, input2_offset, output_offset;
  int32_t input1_multiplier, input1_shift;
  int32_t input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift;
  int32_t act_min, act_max;
} fe_add_params;
void fe_add(const fe_add_params *p, const int8_t *in1, const int8_t *in2, int8_t *output);

/* ---- MUL ---- */
typedef struct {
  fe_bcast shape;
  int32_t input1_offset, input2_offset, output_offset;
  int32_t output_multiplier, output_shift;
  int32_t act_min, act_max;
} fe_mul_params;
void fe_mul(const fe_mul_params *p, const int8_t *in1, const int8_t *in2, int8_t *output);

/* ---- SQUARED_DIFFERENCE (left shift 7, as TFLite) ---- */
typedef struct {
  fe_bcast shape;
  int32_t left_shift;
  int32_t input1_offset, input2_offset, output_offset;
  int32_t input1_multiplier, input1_shift;
  int32_t input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift;
} fe_sqdiff_params;
void fe_squared_difference(const fe_sqdiff_params *p, const int8_t *in1, const int8_t *in2,
                           int8_t *output);

/* ---- RSQRT ---- */
typedef struct {
  int32_t size;
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t multiplier;
  int32_t shift;
} fe_rsqrt_params;
void fe_rsqrt(const fe_rsqrt_params *p, const int8_t *input, int8_t *output);

/* ---- SOFTMAX over the last dimension (int8 out, scale 1/256, zero point -128) ---- */
typedef struct {
  int32_t outer;
  int32_t depth;
  const int32_t *exp_table; /* [d]: TFLite's Q0.31 exp of the scaled difference -d to the row
                               maximum (generated; see export/codegen/fixedpoint.py) */
  int32_t table_size;       /* entries; differences -d with d >= table_size are below diff_min */
} fe_softmax_params;
void fe_softmax(const fe_softmax_params *p, const int8_t *input, int8_t *output);

/* ---- MEAN over any axes (TFLite Micro: integer sum, multiplier folded with 1/count) ---- */
typedef struct {
  int32_t keep_dims[FE_MAX_DIMS];    /* kept dimensions, in output order */
  int32_t keep_stride[FE_MAX_DIMS];  /* their input element strides */
  int32_t red_dims[FE_MAX_DIMS];     /* reduced dimensions */
  int32_t red_stride[FE_MAX_DIMS];   /* their input element strides */
  int32_t count;                     /* elements per mean */
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t multiplier;                /* (s_in / s_out) / count as multiplier and shift */
  int32_t shift;
} fe_mean_params;
void fe_mean(const fe_mean_params *p, const int8_t *input, int8_t *output);

/* ---- QUANTIZE int8 -> int8 (requantize) ---- */
typedef struct {
  int32_t size;
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t multiplier;
  int32_t shift;
} fe_requant_params;
void fe_requantize(const fe_requant_params *p, const int8_t *input, int8_t *output);

/* ---- QUANTIZE float -> int8 and DEQUANTIZE int8 -> float ---- */
typedef struct {
  int32_t size;
  float scale;
  int32_t zero_point;
} fe_affine_params;
void fe_quantize_f32(const fe_affine_params *p, const float *input, int8_t *output);
void fe_dequantize_f32(const fe_affine_params *p, const int8_t *input, float *output);

/* ---- NEG (float32) ---- */
void fe_neg_f32(int32_t size, const float *input, float *output);

/* ---- data movement: TRANSPOSE, STRIDED_SLICE, CONCATENATION, PAD, GATHER ---- */
typedef struct {
  int32_t dims[FE_MAX_DIMS];        /* shape of the block copied */
  int32_t in_stride[FE_MAX_DIMS];   /* input element strides (may be permuted / stepped) */
  int32_t out_stride[FE_MAX_DIMS];  /* output element strides */
  int32_t in_start;                 /* element offset of the first input element */
  int32_t out_start;                /* element offset of the first output element */
  int32_t elem_bytes;
} fe_copy_params;
void fe_copy_nd(const fe_copy_params *p, const void *input, void *output);
void fe_fill_s8(int8_t *output, int32_t size, int8_t value);

typedef struct {
  int32_t outer;        /* product of dims before the axis */
  int32_t axis_size;    /* size of the gathered axis in the params tensor */
  int32_t inner_bytes;  /* bytes per gathered slice */
  int32_t n_indices;
} fe_gather_params;
/* Returns 0, or -1 when an index is out of range (the output is then incomplete). */
int fe_gather(const fe_gather_params *p, const void *params, const int32_t *indices, void *output);

/* ---- RESIZE_NEAREST_NEIGHBOR (NHWC) ---- */
typedef struct {
  int32_t batches;
  int32_t input_height;
  int32_t input_width;
  int32_t output_height;
  int32_t output_width;
  int32_t depth_bytes;       /* channels * element size */
  const int32_t *source_y;   /* [output_height] input row of each output row */
  const int32_t *source_x;   /* [output_width] input column of each output column */
} fe_resize_nearest_params;
/* Output must not overlap the input. */
void fe_resize_nearest(const fe_resize_nearest_params *p, const void *input, void *output);

/* ---- RELU (requantized), RELU6 (clamp), LEAKY_RELU ---- */
typedef struct {
  int32_t size;
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t multiplier;       /* s_in / s_out */
  int32_t shift;
  int32_t act_min;          /* max(-128, output zero point) */
  int32_t act_max;
} fe_relu_params;
void fe_relu(const fe_relu_params *p, const int8_t *input, int8_t *output);
/* out = clamp(in, lo, hi) on raw int8 values (RELU6 with one quantization on both sides). */
void fe_clamp_s8(int32_t size, int32_t lo, int32_t hi, const int8_t *input, int8_t *output);

typedef struct {
  int32_t size;
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t identity_multiplier; /* s_in / s_out, for x >= 0 */
  int32_t identity_shift;
  int32_t alpha_multiplier;    /* s_in * alpha / s_out, for x < 0 */
  int32_t alpha_shift;
} fe_leaky_relu_params;
void fe_leaky_relu(const fe_leaky_relu_params *p, const int8_t *input, int8_t *output);

/* ---- LOGISTIC / TANH (gemmlowp fixed point, input rescaled to Q4.27) ---- */
typedef struct {
  int32_t size;
  int32_t input_zero_point;
  int32_t input_range_radius;  /* |x - zp| at or beyond this saturates */
  int32_t input_multiplier;
  int32_t input_left_shift;
} fe_sigmoid_params;
void fe_logistic(const fe_sigmoid_params *p, const int8_t *input, int8_t *output);
void fe_tanh(const fe_sigmoid_params *p, const int8_t *input, int8_t *output);

/* ---- HARD_SWISH (TFLite's 16-bit fixed-point reference) ---- */
typedef struct {
  int32_t size;
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t output_multiplier;   /* int16 Q0.15: (s_in / 128) / s_out */
  int32_t output_exponent;     /* <= 0 */
  int32_t reluish_multiplier;  /* int16 Q0.15: (s_in / 128) / (3 / 32768) */
  int32_t reluish_exponent;
} fe_hard_swish_params;
void fe_hard_swish(const fe_hard_swish_params *p, const int8_t *input, int8_t *output);

/* ---- MAXIMUM / MINIMUM with broadcast (raw int8 comparison) ---- */
void fe_maximum(const fe_bcast *s, const int8_t *in1, const int8_t *in2, int8_t *output);
void fe_minimum(const fe_bcast *s, const int8_t *in1, const int8_t *in2, int8_t *output);

/* ---- ARG_MAX over one axis ---- */
typedef struct {
  int32_t outer;      /* product of dims before the axis */
  int32_t axis_size;
  int32_t inner;      /* product of dims after the axis */
  int32_t out_int64;  /* 1: int64 output, 0: int32 */
} fe_arg_max_params;
void fe_arg_max(const fe_arg_max_params *p, const int8_t *input, void *output);

#endif /* FE_KERNELS_H */
