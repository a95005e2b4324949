"""Band streaming (``export.planner.bands``) and contiguous slice views: the rewritten graph
computes exactly what tflite-micro computes, in less arena, without recomputing rows."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest

from export.backends import run_model_many
from export.codegen import emit_c
from export.host_runner import build_host
from export.ir import IRError
from export.planner import PlanError
from export.planner.bands import band_graph, plan_model, segment_ends
from export.planner.lifetimes import compute_lifetimes
from export.planner.memory import plan_memory
from export.planner.verify import verify_plan
from export.slices import contiguous_offset
from export.tflite_reader import read_tflite
from foley_edge.cli import main

SAMPLES = 8


def _samples(graph, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.integers(-128, 128, graph.tensors[i].shape, dtype=np.int8) for i in graph.inputs]
            for _ in range(SAMPLES)]


def _row_end(graph) -> int:
    """The gcn's last row-wise tensor: the input of its global average pooling (MEAN)."""
    return next(op.inputs[0] for op in graph.operators if op.op == "MEAN")


@pytest.mark.parametrize("bands", [2, 3, 8])
def test_banded_gcn_is_bit_exact_vs_tflm_and_computes_each_row_once(zoo, bands: int) -> None:
    path = zoo["gcn"]
    graph = read_tflite(path)
    banded, info = band_graph(graph, _row_end(graph), bands)
    assert info.bands == bands and len(info.segment) == len(graph.operators) - 2
    assert info.rows_computed == info.rows_original  # halos are kept, never recomputed
    ops = {op.op for op in banded.operators}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D"} <= ops
    assert any("fe_pad_h" in op.options for op in banded.operators)  # SAME windows at an edge
    plan = plan_memory(banded, strategy="model")
    verify_plan(banded, plan)
    samples = _samples(graph, bands)
    ours = build_host(banded, plan).run(samples)
    ref = run_model_many(path, samples, "tflm")
    for k, (o, r) in enumerate(zip(ours, ref, strict=True)):
        np.testing.assert_array_equal(o[0], r[0], err_msg=f"sample {k}, {bands} bands")


@pytest.mark.parametrize("name", ["cnn", "attention"])
def test_band_rewrite_of_other_zoo_segments_is_bit_exact(zoo, name: str) -> None:
    """Row-wise segments that are no encoder's (a CNN's first stages; an attention block's
    per-token and per-head chains) stream exactly too, even where banding does not pay."""
    path = zoo[name]
    graph = read_tflite(path)
    cuts = segment_ends(graph)
    assert cuts
    samples = _samples(graph, 5)
    ref = run_model_many(path, samples, "tflm")
    for cut in cuts[:3]:
        banded, _ = band_graph(graph, cut, 2)
        plan = plan_memory(banded, strategy="model")
        verify_plan(banded, plan)
        for o, r in zip(build_host(banded, plan).run(samples), ref, strict=True):
            np.testing.assert_array_equal(o[0], r[0], err_msg=f"{name} cut {cut}")


def test_plan_model_streams_the_gcn_in_less_arena_and_leaves_the_mlp(zoo) -> None:
    gcn = read_tflite(zoo["gcn"])
    whole = plan_memory(gcn)
    banded, plan, info = plan_model(gcn)
    assert info is not None and banded is not gcn
    verify_plan(banded, plan)
    assert plan.arena_bytes <= 0.9 * whole.arena_bytes
    assert any(n.startswith("bands: ") for n in plan.notes)
    assert banded.inputs == gcn.inputs and banded.outputs == gcn.outputs
    same, off, none = plan_model(gcn, bands="off")
    assert same is gcn and none is None and off.arena_bytes == whole.arena_bytes
    mlp = read_tflite(zoo["mlp"])
    assert plan_model(mlp)[2] is None  # nothing row-wise: the graph as it is


def test_auto_bands_try_band_heights_and_stay_bit_exact(zoo) -> None:
    """``bands="auto"`` also tries one band per 2, 3 or 4 input rows (capped): on the gcn's
    32 frames, 11 bands of 3 rows plan below the powers of two up to 8 (16 bands of 2 rows,
    lower still, are past the cap: each band adds its calls), and the chosen rewrite is exact."""
    from export.planner.bands import MAX_AUTO_BANDS, _counts

    path = zoo["gcn"]
    gcn = read_tflite(path)
    counts = _counts(gcn, _row_end(gcn))
    assert set(counts) == {2, 4, 8, 11} and MAX_AUTO_BANDS < 16  # 16 = 32 rows / 2: past the cap
    banded, plan, info = plan_model(gcn)
    verify_plan(banded, plan)
    assert info is not None and info.bands > 8
    assert plan.arena_bytes < plan_model(gcn, bands=8)[1].arena_bytes
    samples = _samples(gcn, 16)
    ours = build_host(banded, plan).run(samples)
    for k, (o, r) in enumerate(zip(ours, run_model_many(path, samples, "tflm"), strict=True)):
        np.testing.assert_array_equal(o[0], r[0], err_msg=f"sample {k}, {info.bands} bands")


def test_banded_c_declares_shared_tables_once(zoo) -> None:
    gcn = read_tflite(zoo["gcn"])
    banded, _ = band_graph(gcn, _row_end(gcn), 8)
    text = emit_c(banded, plan_memory(banded, strategy="model"), prefix="gcn")["gcn.c"]
    tables = re.findall(r"static const int32_t (\w+_mult)\[", text)
    with_tables = sum(op.op in ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")
                      for op in gcn.operators)
    assert len(tables) <= with_tables  # not one per band
    assert len(set(tables)) == len(tables)


def test_band_graph_errors_name_the_problem(zoo) -> None:
    gcn = read_tflite(zoo["gcn"])
    pooled = next(op.outputs[0] for op in gcn.operators if op.op == "MEAN")
    with pytest.raises(IRError, match="not the end of a row-wise segment"):
        band_graph(gcn, pooled, 2)
    with pytest.raises(IRError, match="expected 2 to 32"):
        band_graph(gcn, _row_end(gcn), 33)
    with pytest.raises(IRError, match="bands must be"):
        plan_model(gcn, bands="many")


def test_contiguous_offset_of_slices() -> None:
    shape = [1, 10, 4, 3]
    assert contiguous_offset(shape, [0, 2, 0, 0], [1, 7, 4, 3], [1] * 4, 1) == 2 * 12
    assert contiguous_offset(shape, [0, 2, 1, 0], [1, 3, 3, 3], [1] * 4, 1) == 2 * 12 + 3
    assert contiguous_offset(shape, [0, 2, 1, 0], [1, 4, 3, 3], [1] * 4, 1) is None  # 2 rows, 2 of 4 cols
    assert contiguous_offset(shape, [0, 0, 0, 0], [1, 10, 4, 3], [1, 2, 1, 1], 1) is None
    assert contiguous_offset(shape, [0, 0, 0, 1], [1, 10, 4, 3], [1] * 4, 2) is None


def test_slice_views_are_read_at_their_offset_and_checked(zoo) -> None:
    gcn = read_tflite(zoo["gcn"])
    order = tuple(op.index for op in gcn.operators)
    lt = compute_lifetimes(gcn, order)
    later = gcn.operators[0].outputs[0]  # frames 1..31 of the input: a view 39 bytes in
    assert lt.aliases.get(later) == gcn.inputs[0] and lt.offsets[later] == 13 * 3
    banded, _ = band_graph(gcn, _row_end(gcn), 4)
    plan = plan_memory(banded, strategy="model")
    views = [t for t, src in plan.aliases.items() if plan.tensor_offsets[t] != plan.tensor_offsets[src]]
    assert views  # the bands read their rows of the input in place
    t = views[0]
    bad = dataclasses.replace(plan, tensor_offsets={**plan.tensor_offsets,
                                                    t: plan.tensor_offsets[plan.aliases[t]]})
    with pytest.raises(PlanError, match="expected its storage root"):
        verify_plan(banded, bad)


def test_plan_cli_bands_option(zoo, capsys) -> None:
    assert main(["plan", str(zoo["gcn"]), "--bands", "4", "--json", "--no-tflm"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["banding"]["bands"] == 4 and doc["banding"]["rows_computed_over_original"] == 1.0
    assert len(doc["schedule"]) > len(read_tflite(zoo["gcn"]).operators)
    assert main(["plan", str(zoo["gcn"]), "--bands", "off", "--json", "--no-tflm"]) == 0
    assert json.loads(capsys.readouterr().out)["banding"] is None
    assert main(["plan", str(zoo["gcn"]), "--bands", "1", "--no-tflm"]) == 2
    assert "expected auto, off or a band count" in capsys.readouterr().err
