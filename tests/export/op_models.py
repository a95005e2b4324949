"""Single-operator int8 models for the op-by-op exactness tests, built with TensorFlow.

Each :class:`OpCase` is a small ``tf.function`` (one or a few builtin operators around constant
weights drawn from a fixed seed) converted to full int8 with a representative dataset.
:func:`convert_case` returns the ``.tflite`` bytes; the tests cache them per session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

CALIBRATION = 24
"""Representative samples per model."""


@dataclass(frozen=True)
class OpCase:
    """One single-layer model."""

    name: str  # test id
    ops: frozenset[str]  # builtin operators the converted model must contain
    shapes: tuple[tuple[int, ...], ...]  # input shapes (batch 1)
    fn: Callable[..., Any]  # the TensorFlow body over the inputs
    int_inputs: tuple[int, ...] = ()  # positions of int32 inputs (indices in [0, int_high))
    int_high: int = 8  # exclusive upper bound of int32 inputs
    float_io: bool = False  # keep float32 inputs/outputs (QUANTIZE / DEQUANTIZE at the edges)
    span: float = 3.0  # calibration inputs are uniform in [-span, span]


def w(shape: tuple[int, ...], seed: int, scale: float = 0.5) -> np.ndarray:
    """Constant weights of ``shape`` from a fixed seed."""
    return np.random.default_rng(seed).normal(0, scale, shape).astype(np.float32)


def _sparse(shape: tuple[int, int], seed: int, density: float) -> np.ndarray:
    """Weights [in, out] with about ``density`` of them nonzero and the first two outputs all
    zero (a skeleton-adjacency-like FULLY_CONNECTED)."""
    rng = np.random.default_rng(seed)
    keep = rng.random(shape) < density
    keep[:, :2] = False
    return (w(shape, seed) * keep).astype(np.float32)


def _tf() -> Any:
    import tensorflow as tf

    return tf


def _conv(x: Any, fh: int, fw: int, cout: int, seed: int, **kw: Any) -> Any:
    tf = _tf()
    k = w((fh, fw, int(x.shape[-1]), cout), seed)
    return tf.nn.bias_add(tf.nn.conv2d(x, k, **kw), w((cout,), seed + 1, 0.1))


def _dw(x: Any, mult: int, seed: int, **kw: Any) -> Any:
    tf = _tf()
    k = w((3, 3, int(x.shape[-1]), mult), seed)
    return tf.nn.bias_add(tf.nn.depthwise_conv2d(x, k, **kw), w((int(x.shape[-1]) * mult,), seed + 1, 0.1))


def _hswish(x: Any) -> Any:
    tf = _tf()
    return x * tf.nn.relu6(x + 3.0) / 6.0


def _cases_linear() -> list[OpCase]:
    tf = _tf()
    img = ((1, 9, 9, 4),)
    return [
        OpCase("conv_s2_same_relu", frozenset({"CONV_2D"}), img,
               lambda x: tf.nn.relu(_conv(x, 3, 3, 6, 1, strides=2, padding="SAME"))),
        OpCase("conv_dilated_valid_relu6", frozenset({"CONV_2D"}), img,
               lambda x: tf.nn.relu6(_conv(x, 3, 3, 5, 2, strides=1, padding="VALID",
                                           dilations=2))),
        OpCase("conv_1x3_s1x2_same", frozenset({"CONV_2D"}), img,
               lambda x: _conv(x, 1, 3, 8, 3, strides=[1, 1, 2, 1], padding="SAME")),
        OpCase("depthwise_mult2_s2_same", frozenset({"DEPTHWISE_CONV_2D"}), img,
               lambda x: tf.nn.relu6(_dw(x, 2, 4, strides=[1, 2, 2, 1], padding="SAME"))),
        OpCase("depthwise_mult1_dilated_valid", frozenset({"DEPTHWISE_CONV_2D"}), img,
               lambda x: tf.nn.relu(_dw(x, 1, 5, strides=[1, 1, 1, 1], padding="VALID",
                                        dilations=[2, 2]))),
        OpCase("depthwise_inplace_valid", frozenset({"DEPTHWISE_CONV_2D"}), img,
               lambda x: _conv(tf.nn.relu6(_dw(_conv(x, 1, 1, 6, 12, strides=1, padding="VALID"),
                                               1, 13, strides=[1, 1, 1, 1], padding="VALID")),
                               1, 1, 4, 14, strides=1, padding="VALID")),
        OpCase("depthwise_inplace_same_s2", frozenset({"DEPTHWISE_CONV_2D"}), img,
               lambda x: _conv(_dw(_conv(x, 1, 1, 5, 15, strides=1, padding="VALID"),
                                   1, 16, strides=[1, 2, 2, 1], padding="SAME"),
                               1, 1, 3, 17, strides=1, padding="VALID")),
        OpCase("fully_connected_relu", frozenset({"FULLY_CONNECTED"}), ((1, 12),),
               lambda x: tf.nn.relu(tf.matmul(x, w((12, 7), 6)) + w((7,), 7, 0.1))),
        # 13 features over 24 inputs: widened on DSP builds, the last group of four holds one
        OpCase("fully_connected_wide_tail", frozenset({"FULLY_CONNECTED"}), ((1, 24),),
               lambda x: tf.matmul(x, w((24, 13), 10)) + w((13,), 11, 0.1)),
        # ~6 % nonzero, two all-zero rows: the code generator stores it as compressed rows
        OpCase("fully_connected_sparse", frozenset({"FULLY_CONNECTED"}), ((1, 6, 40),),
               lambda x: tf.nn.relu(tf.matmul(x, _sparse((40, 30), 8, 0.06)) + w((30,), 9, 0.1))),
        OpCase("batch_matmul_bcast", frozenset({"BATCH_MATMUL"}), ((1, 2, 4, 8), (1, 1, 8, 5)),
               lambda a, b: tf.matmul(a, b)),
        OpCase("batch_matmul_adj_x", frozenset({"BATCH_MATMUL"}), ((1, 3, 8, 4), (1, 3, 8, 5)),
               lambda a, b: tf.matmul(a, b, adjoint_a=True)),
        OpCase("batch_matmul_adj_y", frozenset({"BATCH_MATMUL"}), ((2, 4, 8), (2, 6, 8)),
               lambda a, b: tf.matmul(a, b, adjoint_b=True)),
        OpCase("max_pool_same_s2", frozenset({"MAX_POOL_2D"}), img,
               lambda x: tf.nn.max_pool2d(x, 3, 2, "SAME")),
        OpCase("max_pool_valid", frozenset({"MAX_POOL_2D"}), img,
               lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID")),
        OpCase("avg_pool_same_s2", frozenset({"AVERAGE_POOL_2D"}), img,
               lambda x: tf.nn.avg_pool2d(x, 3, 2, "SAME")),
        OpCase("avg_pool_valid_s1", frozenset({"AVERAGE_POOL_2D"}), img,
               lambda x: tf.nn.avg_pool2d(x, [2, 3], 1, "VALID")),
    ]


def _cases_elementwise() -> list[OpCase]:
    tf = _tf()
    return [
        OpCase("add_bcast_relu", frozenset({"ADD"}), ((1, 4, 6, 8), (1, 1, 6, 1)),
               lambda a, b: tf.nn.relu(a + b)),
        OpCase("add_relu6", frozenset({"ADD"}), ((1, 5, 8), (1, 5, 8)),
               lambda a, b: tf.nn.relu6(a + b)),
        OpCase("sub_bcast", frozenset({"SUB"}), ((1, 4, 8), (1, 1, 8)), lambda a, b: a - b),
        # equal input scales (a slice keeps its input's quantization): the exact-shift ADD path
        OpCase("add_equal_scales", frozenset({"ADD"}), ((1, 4, 8),), lambda a: a + a[:, ::-1, :]),
        OpCase("sub_equal_scales_bcast", frozenset({"SUB"}), ((1, 4, 8),),
               lambda a: a - a[:, 1:2, :]),
        OpCase("mul_bcast", frozenset({"MUL"}), ((1, 4, 8), (1, 4, 1)), lambda a, b: a * b),
        OpCase("mul_const", frozenset({"MUL"}), ((1, 3, 8),), lambda a: a * w((8,), 8)),
        OpCase("squared_difference", frozenset({"SQUARED_DIFFERENCE"}), ((1, 4, 8), (1, 1, 8)),
               lambda a, b: tf.math.squared_difference(a, b)),
        OpCase("rsqrt", frozenset({"RSQRT"}), ((1, 16),),
               lambda a: tf.math.rsqrt(a * a + 0.1)),
        OpCase("softmax", frozenset({"SOFTMAX"}), ((1, 3, 10),), lambda a: tf.nn.softmax(a)),
        OpCase("mean_hw_keepdims", frozenset({"MEAN"}), ((1, 5, 6, 8),),
               lambda a: tf.reduce_mean(a, axis=[1, 2], keepdims=True)),
        OpCase("mean_last", frozenset({"MEAN"}), ((1, 4, 10),),
               lambda a: tf.reduce_mean(a, axis=-1)),
        OpCase("mean_axis1", frozenset({"MEAN"}), ((1, 7, 5),),
               lambda a: tf.reduce_mean(a, axis=1, keepdims=True)),
        OpCase("quantize_dequantize_float_io", frozenset({"QUANTIZE", "DEQUANTIZE"}),
               ((1, 4, 8),), lambda a: a * w((8,), 9), float_io=True),
    ]


def _cases_data() -> list[OpCase]:
    tf = _tf()
    table = w((16, 6), 10)
    return [
        OpCase("pack_axis1", frozenset({"PACK"}), ((1, 4, 6), (1, 4, 6)),
               lambda a, b: tf.stack([a, b], axis=1)),
        OpCase("slice", frozenset({"SLICE"}), ((1, 6, 8),),
               lambda a: tf.slice(a, [0, 1, 2], [1, 3, 5])),
        OpCase("strided_slice_step_neg", frozenset({"STRIDED_SLICE"}), ((1, 9, 8),),
               lambda a: a[:, 1:8:2, ::-1]),
        OpCase("strided_slice_shrink", frozenset({"STRIDED_SLICE"}), ((1, 6, 8),),
               lambda a: a[:, 2, 1:7]),
        OpCase("pad", frozenset({"PAD"}), ((1, 4, 5, 3),),
               lambda a: tf.pad(a, [[0, 0], [1, 2], [0, 1], [0, 0]])),
        OpCase("padv2", frozenset({"PADV2"}), ((1, 4, 6),),
               lambda a: tf.pad(a, [[0, 0], [2, 1], [1, 0]], constant_values=1.5)),
        OpCase("transpose", frozenset({"TRANSPOSE"}), ((1, 3, 4, 5),),
               lambda a: tf.transpose(a, [0, 2, 3, 1])),
        OpCase("concatenation", frozenset({"CONCATENATION"}), ((1, 4, 3), (1, 4, 5)),
               lambda a, b: tf.concat([a, b], axis=-1)),
        OpCase("gather_table", frozenset({"GATHER"}), ((1, 5),),
               lambda i: tf.gather(table, i), int_inputs=(0,), int_high=16),
        OpCase("gather_axis1", frozenset({"GATHER"}), ((1, 6, 4),),
               lambda a: tf.gather(a, [5, 0, 2, 2], axis=1)),
    ]


def _cases_new_kernels() -> list[OpCase]:
    tf = _tf()
    x = ((1, 4, 16),)
    return [
        OpCase("logistic", frozenset({"LOGISTIC"}), x, lambda a: tf.sigmoid(a), span=6.0),
        OpCase("tanh", frozenset({"TANH"}), x, lambda a: tf.tanh(a), span=4.0),
        OpCase("relu", frozenset({"RELU"}), x, lambda a: tf.nn.relu(a)),
        OpCase("relu6", frozenset({"RELU6"}), x, lambda a: tf.nn.relu6(a), span=8.0),
        OpCase("leaky_relu", frozenset({"LEAKY_RELU"}), x, lambda a: tf.nn.leaky_relu(a, 0.2)),
        OpCase("hard_swish", frozenset({"HARD_SWISH"}), x,
               lambda a: a * tf.nn.relu6(a + 3.0) / 6.0, span=5.0),
        OpCase("maximum_minimum", frozenset({"MAXIMUM", "MINIMUM", "QUANTIZE"}), ((1, 4, 8), (1, 1, 8)),
               lambda a, b: (tf.maximum(a, b), tf.minimum(a, b))),
        OpCase("arg_max", frozenset({"ARG_MAX"}), ((1, 5, 9),),
               lambda a: tf.argmax(a, axis=-1, output_type=tf.int32)),
        OpCase("split", frozenset({"SPLIT"}), ((1, 4, 12),),
               lambda a: tuple(tf.split(a, 3, axis=-1))),
        OpCase("unpack", frozenset({"UNPACK"}), ((1, 3, 8),),
               lambda a: tuple(tf.unstack(a, axis=1))),
        OpCase("inplace_chain", frozenset({"TANH", "LEAKY_RELU", "HARD_SWISH", "LOGISTIC",
                                           "MAXIMUM", "RELU"}), ((1, 4, 16), (1, 4, 16)),
               lambda a, b: tf.sigmoid(tf.nn.relu(tf.maximum(
                   _hswish(tf.nn.leaky_relu(tf.tanh(a * w((16,), 11)), 0.1) * 4.0), b))),
               span=4.0),
        OpCase("sum_last", frozenset({"SUM"}), ((1, 4, 10),),
               lambda a: tf.reduce_sum(a, axis=-1)),
        OpCase("sum_hw_keepdims", frozenset({"SUM"}), ((1, 3, 4, 5),),
               lambda a: tf.reduce_sum(a, axis=[1, 2], keepdims=True)),
    ]


def _resize(size: tuple[int, int], *, align_corners: bool = False,
            half_pixel_centers: bool = False) -> Callable[[Any], Any]:
    tf = _tf()
    return lambda a: tf.raw_ops.ResizeNearestNeighbor(
        images=a, size=list(size), align_corners=align_corners,
        half_pixel_centers=half_pixel_centers)


def _cases_resize() -> list[OpCase]:
    """RESIZE_NEAREST_NEIGHBOR: 2x (the FPN upsampling), non-integer up and down scales, each
    of the three source-index rules (plain floor, align_corners, half_pixel_centers), channel
    counts 1 to 16."""
    op = frozenset({"RESIZE_NEAREST_NEIGHBOR"})
    return [
        OpCase("resize_nearest_2x", op, ((1, 4, 5, 8),), _resize((8, 10))),
        OpCase("resize_nearest_2x_half_pixel", op, ((1, 4, 5, 3),),
               _resize((8, 10), half_pixel_centers=True)),
        OpCase("resize_nearest_up_frac", op, ((1, 5, 7, 1),), _resize((8, 11))),
        OpCase("resize_nearest_up_frac_align", op, ((1, 5, 7, 16),),
               _resize((9, 12), align_corners=True)),
        OpCase("resize_nearest_up_frac_half_pixel", op, ((1, 5, 7, 5),),
               _resize((9, 13), half_pixel_centers=True)),
        OpCase("resize_nearest_down_frac", op, ((1, 9, 10, 2),), _resize((4, 7))),
        OpCase("resize_nearest_down_frac_align", op, ((1, 9, 10, 6),),
               _resize((4, 7), align_corners=True)),
        OpCase("resize_nearest_down_half_pixel_to_1", op, ((1, 7, 9, 4),),
               _resize((1, 4), half_pixel_centers=True)),
        OpCase("resize_nearest_align_to_1", op, ((1, 6, 5, 3),),
               _resize((3, 1), align_corners=True)),
    ]


def _cases_conv_wide() -> list[OpCase]:
    """CONV_2D shapes around the DSP cores' widened weights (fe_conv_params.filter_wide): an
    odd pixel count and an odd channel count, values per output not a multiple of 4 (18, 17, 27),
    strided pointwise, a window with padding (input offset not folded), k = 360 > 192
    (int8 weights kept), k = 8 and 13 (the kernel's instances for k 5..8 by channel quads,
    with a pair and an odd channel after them, and for k 13..16 unrolled), and pointwise
    k = 196, 200 (int8 weights re-laid by channel pairs, fe_conv_params.filter_pairs)."""
    tf = _tf()
    op = frozenset({"CONV_2D"})
    return [
        OpCase("conv_wide_pointwise_odd", op, ((1, 9, 9, 18),),
               lambda x: tf.nn.relu(_conv(tf.nn.relu(_conv(x, 1, 1, 17, 21, strides=1,
                                                             padding="VALID")),
                                          1, 1, 6, 23, strides=2, padding="VALID"))),
        OpCase("conv_wide_3x3_k27_same", op, ((1, 7, 7, 3),),
               lambda x: _conv(x, 3, 3, 5, 25, strides=1, padding="SAME")),
        OpCase("conv_wide_k360_valid", op, ((1, 5, 5, 40),),
               lambda x: _conv(x, 3, 3, 4, 27, strides=1, padding="VALID")),
        OpCase("conv_wide_pointwise_k8_k16", op, ((1, 5, 5, 8),),
               lambda x: _conv(_conv(x, 1, 1, 13, 31, strides=1, padding="VALID"),
                               1, 1, 7, 33, strides=1, padding="VALID")),
        # in_c 196 and 200 > 192: int8 weights re-laid by channel pairs (filter_pairs), strided
        # rows of 3 (a pair and a single), then 9 pixels into 7 channels (a quad, a pair, one)
        OpCase("conv_pairs_pointwise_k196_k200", op, ((1, 5, 5, 196),),
               lambda x: _conv(tf.nn.relu(_conv(x, 1, 1, 200, 35, strides=2, padding="VALID")),
                               1, 1, 7, 37, strides=1, padding="VALID")),
    ]


def op_cases() -> list[OpCase]:
    """Every single-layer case (imports TensorFlow)."""
    return [*_cases_linear(), *_cases_elementwise(), *_cases_data(), *_cases_new_kernels(),
            *_cases_resize(), *_cases_conv_wide()]


def _data(case: OpCase) -> Callable[[], Iterator[list[np.ndarray]]]:
    def gen() -> Iterator[list[np.ndarray]]:
        rng = np.random.default_rng(99)
        for _ in range(CALIBRATION):
            yield [rng.integers(0, case.int_high, s).astype(np.int32) if k in case.int_inputs
                   else rng.uniform(-case.span, case.span, s).astype(np.float32)
                   for k, s in enumerate(case.shapes)]

    return gen


def convert_case(case: OpCase) -> bytes:
    """Full-int8 .tflite bytes of ``case``."""
    tf = _tf()
    specs = [tf.TensorSpec(s, tf.int32 if k in case.int_inputs else tf.float32)
             for k, s in enumerate(case.shapes)]
    fn = tf.function(case.fn, input_signature=specs, autograph=False)
    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = _data(case)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not case.float_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return bytes(conv.convert())
