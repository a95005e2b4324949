"""Partial overlap ("slides"): hand-computed access models, verify's safety check, the lower
bound, and bit-exact runs vs tflite-micro of models planned with overlapping buffers."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import numpy as np
import pytest

from export.backends import run_model
from export.ir import Graph, Operator, Tensor
from export.planner import PlanError
from export.planner.lifetimes import compute_lifetimes, live_bytes
from export.planner.memory import plan_memory
from export.planner.overlap import allowance_for, min_shift, overlap_allowance, slide_pairs
from export.planner.verify import verify_plan
from export.tflite_reader import read_tflite


def _t(i: int, shape: tuple[int, ...], data: bytes | None = None, dtype: str = "int8") -> Tensor:
    return Tensor(index=i, name=f"t{i}", shape=shape, dtype=dtype, data=data)


def _one_op(op: str, in_shape: tuple[int, ...], out_shape: tuple[int, ...],
            consts: tuple[Tensor, ...] = (), **options: object) -> tuple[Graph, Operator]:
    tensors = (_t(0, in_shape), _t(1, out_shape),
               *(replace(c, index=2 + k) for k, c in enumerate(consts)))
    o = Operator(0, op, (0, *range(2, 2 + len(consts))), (1,), MappingProxyType(dict(options)))
    return Graph("g", tensors, (o,), (0,), (1,)), o


def _const(shape: tuple[int, ...], dtype: str = "int8", values: list[int] | None = None) -> Tensor:
    arr = np.array(values, dtype=dtype) if values is not None else np.zeros(shape, dtype=dtype)
    return Tensor(0, "c", shape, dtype, data=arr.reshape(shape).tobytes())


def test_min_shift_hand_computed() -> None:
    # FC 8 -> 16 over 4 rows: element (b, o) ends at 16b+o+1; the next read is row b (o < 15)
    # or row b+1: max(3*8 + 15, 4*8) = 39.
    g, op = _one_op("FULLY_CONNECTED", (4, 8), (4, 16), (_const((16, 8)),))
    assert min_shift(g, op) == 39
    # TRANSPOSE (2,3) -> (3,2): reads 0,3,1,4,2,5; worst write end - later min: 4 - 2 = 2.
    g, op = _one_op("TRANSPOSE", (2, 3), (3, 2), (_const((2,), "int32", [1, 0]),))
    assert min_shift(g, op) == 2
    # MAX_POOL 2x2 stride 2 on 4x4x1: windows start at 0, 2, 8, 10 -> shift -1 (inside input)
    g, op = _one_op("MAX_POOL_2D", (1, 4, 4, 1), (1, 2, 2, 1), filter_height=2, filter_width=2,
                    stride_h=2, stride_w=2, padding="VALID")
    assert min_shift(g, op) == -1
    assert overlap_allowance(g, op) == 4  # the whole output inside its input
    # elementwise: in place (shift 0); a broadcast input 0 is re-read: no useful overlap.
    g, op = _one_op("RELU", (4, 8), (4, 8))
    assert min_shift(g, op) == 0 and overlap_allowance(g, op, 16) == 32
    g, op = _one_op("ADD", (1, 8), (4, 8), (_const((4, 8)),))
    assert min_shift(g, op) == 3 * 8  # every row re-reads input 0: 3 rows written before the last
    # depthwise never gets 0 (equal offsets would select the in-place kernel)
    g, op = _one_op("DEPTHWISE_CONV_2D", (1, 4, 4, 2), (1, 4, 4, 2), (_const((1, 1, 1, 2)),),
                    stride_h=1, stride_w=1, padding="VALID")
    assert min_shift(g, op) == 1
    g, op = _one_op("GATHER", (4, 8), (4, 8))
    assert min_shift(g, op) is None and overlap_allowance(g, op) == 0


def test_allowance_for() -> None:
    assert allowance_for(39, 32, 64, 16) == 64 - 48  # shift rounded up to 48
    assert allowance_for(-5, 64, 32, 16) == 32  # output fits inside the input
    assert allowance_for(100, 64, 32, 16) == 0  # disjoint anyway


def _cnn(zoo) -> tuple[Graph, object]:
    g = read_tflite(zoo["cnn"])
    return g, plan_memory(g)


def _overlapping_slides(g: Graph, plan) -> list[tuple[int, int, int, int]]:
    """(src, dst, shift, least) of slides whose buffers really overlap in the plan."""
    from export.planner.aliasing import alias_roots
    from export.planner.lifetimes import persistent_set

    roots = alias_roots(plan.aliases)
    out = []
    for src, dst, least in slide_pairs(g, plan.order, roots, persistent_set(g)).values():
        a, b = plan.buffers[src], plan.buffers[dst]
        if a.offset < b.offset + b.size and b.offset < a.offset + a.size:
            out.append((src, dst, a.offset - b.offset, least))
    return out


def test_verify_accepts_safe_and_rejects_unsafe_slides(zoo) -> None:
    g, plan = _cnn(zoo)
    verify_plan(g, plan)
    used = _overlapping_slides(g, plan)
    assert used and all(shift >= least for _, _, shift, least in used)
    # FC 8 -> 16 over 4 rows (least shift 39): output 48 below its input is safe, 32 is not.
    fc, _ = _one_op("FULLY_CONNECTED", (4, 8), (4, 16), (_const((16, 8)),))
    one = plan_memory(fc)
    verify_plan(fc, one)
    for src_off, ok in ((48, True), (32, False), (16, False)):
        moved = replace(one, tensor_offsets=MappingProxyType({0: src_off, 1: 0}), arena_bytes=96)
        if ok:
            verify_plan(fc, moved)
        else:
            with pytest.raises(PlanError, match=r"Unsafe overlap: tensor 1 't1' at 0 starts "
                                                rf"{src_off} bytes below .* at least 39"):
                verify_plan(fc, moved)


def test_lower_bound_is_live_bytes_minus_allowances(zoo) -> None:
    g, plan = _cnn(zoo)
    lt = compute_lifetimes(g, plan.order)
    live = live_bytes(lt.intervals, len(plan.order))
    assert lt.slides
    expected = max(v - sum(s.allowance for s in lt.slides if s.step == k)
                   for k, v in enumerate(live))
    assert plan.lower_bound_bytes <= expected < max(live)
    no_slides = plan_memory(g, slides=False)
    verify_plan(g, no_slides)
    assert plan.arena_bytes <= no_slides.arena_bytes
    assert plan.arena_bytes <= 0.7 * plan_memory(g, slides=False, strategy="model").arena_bytes


def _bit_exact(path, seed: int) -> None:
    g = read_tflite(path)
    rng = np.random.default_rng(seed)
    inputs = [rng.integers(-128, 128, g.tensors[t].shape).astype(np.int8)
              if g.tensors[t].dtype == "int8" else
              rng.uniform(-1, 1, g.tensors[t].shape).astype(g.tensors[t].dtype)
              for t in g.inputs]
    ours, ref = run_model(path, inputs, backend="c"), run_model(path, inputs, backend="tflm")
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["cnn", "attention"])
def test_zoo_with_overlaps_is_bit_exact_vs_tflm(zoo, name: str) -> None:
    g = read_tflite(zoo[name])
    plan = plan_memory(g)
    verify_plan(g, plan)
    assert _overlapping_slides(g, plan), "expected the plan to overlap some output and input"
    for seed in range(2):
        _bit_exact(zoo[name], seed)


@pytest.mark.slow
def test_student_encoder_with_overlaps_is_bit_exact_vs_tflm() -> None:
    from benchmarks.models import config_model
    from edge.model.config import StudentConfig

    path = config_model(StudentConfig(), "encoder", name="student encoder", family="student").path
    g = read_tflite(path)
    plan = plan_memory(g)
    verify_plan(g, plan)
    used = {g.operators[k].op for k in plan.order
            if any(d in g.operators[k].outputs for _, d, _, _ in _overlapping_slides(g, plan))}
    assert {"TRANSPOSE", "FULLY_CONNECTED"} <= used, used
    assert plan.arena_bytes < plan_memory(g, slides=False).arena_bytes
    _bit_exact(path, 3)
