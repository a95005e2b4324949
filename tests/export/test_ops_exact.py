"""Op by op: generated C vs tflite-micro on single-layer int8 models, max LSB diff 0.

Every model is converted once per session; each runs 30 random inputs through one host
process (``HostModel.run``) and one tflite-micro interpreter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from export.backends import run_model_many
from export.host_runner import build_host
from export.planner.memory import plan_memory
from export.planner.verify import verify_plan
from export.tflite_reader import read_tflite

SAMPLES = 30

CASE_NAMES = (
    "conv_s2_same_relu", "conv_dilated_valid_relu6", "conv_1x3_s1x2_same",
    "depthwise_mult2_s2_same", "depthwise_mult1_dilated_valid", "depthwise_inplace_valid",
    "depthwise_inplace_same_s2", "fully_connected_relu", "fully_connected_sparse",
    "fully_connected_wide_tail",
    "batch_matmul_bcast", "batch_matmul_adj_x", "batch_matmul_adj_y", "max_pool_same_s2",
    "max_pool_valid", "avg_pool_same_s2", "avg_pool_valid_s1",
    "add_bcast_relu", "add_relu6", "sub_bcast", "add_equal_scales", "sub_equal_scales_bcast", "mul_bcast", "mul_const", "squared_difference",
    "rsqrt", "softmax", "mean_hw_keepdims", "mean_last", "mean_axis1",
    "quantize_dequantize_float_io",
    "pack_axis1", "slice", "strided_slice_step_neg", "strided_slice_shrink", "pad", "padv2",
    "transpose", "concatenation", "gather_table", "gather_axis1",
    "relu", "relu6", "logistic", "tanh", "leaky_relu", "hard_swish", "maximum_minimum", "arg_max", "split",
    "unpack", "inplace_chain", "sum_last", "sum_hw_keepdims",
    "resize_nearest_2x", "resize_nearest_2x_half_pixel", "resize_nearest_up_frac",
    "resize_nearest_up_frac_align", "resize_nearest_up_frac_half_pixel", "resize_nearest_down_frac",
    "resize_nearest_down_frac_align", "resize_nearest_down_half_pixel_to_1",
    "resize_nearest_align_to_1",
    "conv_wide_pointwise_odd", "conv_wide_3x3_k27_same", "conv_wide_k360_valid",
    "conv_wide_pointwise_k8_k16", "conv_pairs_pointwise_k196_k200",
)


def _inputs(graph, rng: np.random.Generator, n: int, int_high: int = 16) -> list[list[np.ndarray]]:
    samples = []
    for _ in range(n):
        sample = []
        for i in graph.inputs:
            t = graph.tensors[i]
            if t.dtype == "int8":
                sample.append(rng.integers(-128, 128, t.shape, dtype=np.int8))
            elif t.dtype == "int32":
                sample.append(rng.integers(0, int_high, t.shape, dtype=np.int32))
            else:
                sample.append(rng.uniform(-4.0, 4.0, t.shape).astype(np.float32))
        samples.append(sample)
    return samples


def test_cases_cover_every_name(op_models: dict[str, tuple[Path, frozenset[str]]]) -> None:
    assert sorted(op_models) == sorted(CASE_NAMES)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_op_bit_exact_vs_tflm(name: str, op_models: dict[str, tuple[Path, frozenset[str]]]) -> None:
    path, ops = op_models[name]
    graph = read_tflite(path)
    found = {op.op for op in graph.operators}
    assert ops <= found, f"{name}: converter produced {sorted(found)}, expected {sorted(ops)}"
    # The in-place depthwise cases pin the TinyEngine kernel (the planner may otherwise prefer a
    # partial overlap, which the other depthwise cases exercise).
    inplace = name.startswith("depthwise_inplace")
    plan = plan_memory(graph, slides=not inplace, inplace_depthwise=True if inplace else None)
    verify_plan(graph, plan)
    if name.startswith("depthwise_inplace"):  # TinyEngine in-place depthwise, one-channel scratch
        dw = next(op for op in graph.operators if op.op == "DEPTHWISE_CONV_2D")
        out = graph.tensors[dw.outputs[0]]
        assert plan.aliases.get(dw.outputs[0]) == dw.inputs[0]
        assert plan.scratch[dw.index].size >= out.shape[1] * out.shape[2]
    if name == "inplace_chain":  # every pointwise op after the first runs in place
        inplace = {graph.operators[k].op for k in plan.order
                   if graph.operators[k].outputs[0] in plan.aliases}
        assert {"TANH", "LEAKY_RELU", "HARD_SWISH", "MAXIMUM", "RELU"} <= inplace, inplace
    if name == "fully_connected_sparse":  # the compressed-row kernel, the dense weights dropped
        from export.codegen.emit import emit_c

        code = emit_c(graph, plan, prefix="m")["m.c"]
        assert "fe_fully_connected_sparse(" in code and "fe_fully_connected(" not in code
    samples = _inputs(graph, np.random.default_rng(len(name)), SAMPLES)
    ours = build_host(graph, plan).run(samples)
    ref = run_model_many(path, samples, "tflm")
    for k, (o, r) in enumerate(zip(ours, ref, strict=True)):
        assert len(o) == len(r)
        for j, (a, b) in enumerate(zip(o, r, strict=True)):
            assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
            if a.dtype == np.float32:
                np.testing.assert_array_equal(a, b, err_msg=f"{name} sample {k} output {j}")
                continue
            diff = int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())
            assert diff == 0, f"{name} sample {k} output {j}: max LSB diff {diff}"


def test_reader_and_codegen_support_the_same_ops() -> None:
    from export.codegen.emit import PLANNER_OPS
    from export.codegen.emit import SUPPORTED_OPS as CODEGEN_OPS
    from export.planner.aliasing import INPLACE_OPS
    from export.tflite_reader import SUPPORTED_OPS as READER_OPS

    assert READER_OPS == CODEGEN_OPS - PLANNER_OPS  # the rest only the planner's rewrites emit
    assert not READER_OPS & PLANNER_OPS
    assert INPLACE_OPS <= CODEGEN_OPS


def test_gelu_refused_at_read_time(tmp_path: Path) -> None:
    import tensorflow as tf
    from op_models import OpCase, convert_case

    from export.tflite_reader import ReaderError

    case = OpCase("gelu", frozenset({"GELU"}), ((1, 8),), lambda a: tf.nn.gelu(a))
    with pytest.raises(ReaderError, match=r"operator 0 GELU .*unsupported operator"):
        read_tflite(convert_case(case))


@pytest.mark.parametrize("name", ["depthwise_inplace_valid", "depthwise_inplace_same_s2",
                                  "quantize_dequantize_float_io", "inplace_chain"])
def test_band_rewrite_of_every_segment_bit_exact_vs_tflm(
        name: str, op_models: dict[str, tuple[Path, frozenset[str]]]) -> None:
    """Every row-wise segment these multi-op cases have (in-place depthwise, SAME stride 2,
    float I/O through QUANTIZE/DEQUANTIZE, a pointwise chain), streamed in 2 and 3 bands."""
    from export.planner.bands import band_graph, segment_ends

    path, _ = op_models[name]
    graph = read_tflite(path)
    cuts = segment_ends(graph)
    assert cuts, f"{name}: expected a row-wise segment"
    samples = _inputs(graph, np.random.default_rng(3), 6)
    ref = run_model_many(path, samples, "tflm")
    for cut in cuts:
        for bands in (2, 3):
            banded, info = band_graph(graph, cut, bands)
            assert info.rows_computed == info.rows_original
            plan = plan_memory(banded, strategy="model")
            verify_plan(banded, plan)
            for k, (o, r) in enumerate(zip(build_host(banded, plan).run(samples), ref, strict=True)):
                for a, b in zip(o, r, strict=True):
                    np.testing.assert_array_equal(a, b, err_msg=f"{name} cut {cut} {bands} bands "
                                                                f"sample {k}")


@pytest.mark.parametrize(("size_in", "size_out", "align", "half", "expected"), [
    (4, 8, False, False, [0, 0, 1, 1, 2, 2, 3, 3]),  # 2x: floor(i * 0.5)
    (7, 8, False, False, [0, 0, 1, 2, 3, 4, 5, 6]),  # floor(i * 0.875)
    (5, 9, True, False, [0, 1, 1, 2, 2, 3, 3, 4, 4]),  # round(i * 0.5), halves away from zero
    (4, 8, False, True, [0, 0, 1, 1, 2, 2, 3, 3]),  # floor((i + 0.5) * 0.5)
    (9, 4, False, True, [1, 3, 5, 7]),  # floor((i + 0.5) * 2.25)
    (3, 1, True, False, [0]),  # align_corners with one output: scale in / out, round(0)
])
def test_resize_nearest_source_indices_by_hand(size_in: int, size_out: int, align: bool,
                                               half: bool, expected: list[int]) -> None:
    from export.codegen.ops_resize import nearest_sources

    found = nearest_sources(size_in, size_out, align_corners=align, half_pixel_centers=half)
    assert found == expected


def test_resize_nearest_output_shape_checked_at_read_time(
        op_models: dict[str, tuple[Path, frozenset[str]]]) -> None:
    """The reader's shape rule: output [N, height, width, C] with (height, width) the size."""
    from dataclasses import replace

    from export.op_shapes import operator_problem

    graph = read_tflite(op_models["resize_nearest_up_frac"][0])
    op = next(op for op in graph.operators if op.op == "RESIZE_NEAREST_NEIGHBOR")
    assert operator_problem(graph, op) is None
    tensors = list(graph.tensors)
    tensors[op.outputs[0]] = replace(tensors[op.outputs[0]], shape=(1, 8, 12, 1))
    problem = operator_problem(replace(graph, tensors=tuple(tensors)), op)
    assert problem == (f"output tensor {op.outputs[0]} [1, 8, 12, 1] should have shape "
                       "[1, 8, 11, 1] (input resized to [8, 11])")
