"""Streaming encoder (``export.planner.stream`` + ``export.codegen.stream``): per hop only the
fresh rows, past rows kept in the persistent area, and after the warm-up the memory of every
hop equals tflite-micro's windowed encoder on the window ending at that hop, bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from stream_data import STREAM_WINDOW, stream_frames

from export.backends import run_model_many
from export.codegen.stream import emit_stream_c
from export.host_stream import build_stream_host
from export.planner import PlanError
from export.planner.stream import graph_macs, plan_stream, stream_graph
from export.planner.verify import verify_plan
from export.tflite_reader import read_tflite

WINDOW = STREAM_WINDOW


@pytest.fixture(scope="session")
def encoder(stream_encoder: Path) -> Path:
    """The tiny streaming-test encoder (conftest.stream_encoder), WINDOW frames."""
    return stream_encoder


@pytest.mark.parametrize("hop", [4, 8])
def test_stream_equals_the_windowed_encoder_after_warmup(encoder: Path, hop: int) -> None:
    graph = read_tflite(encoder)
    g2, plan, info = plan_stream(graph, hop)
    verify_plan(g2, plan)
    assert info.window == WINDOW and info.warmup_hops == -(-WINDOW // hop)
    assert g2.tensors[g2.inputs[0]].shape == (1, hop, 65, 3)
    hops = 3 * info.warmup_hops
    frames = stream_frames(hop * hops, seed=hop)
    outs = build_stream_host(g2, plan, info, prefix="enc").run(
        [[frames[j * hop:(j + 1) * hop][None]] for j in range(hops)])
    ends = [j for j in range(1, hops + 1) if j * hop >= WINDOW]
    assert ends[0] == info.warmup_hops
    ref = run_model_many(encoder, [[frames[e * hop - WINDOW:e * hop][None]] for e in ends], "tflm")
    for e, r in zip(ends, ref, strict=True):
        for k, (o, want) in enumerate(zip(outs[e - 1], r, strict=True)):
            np.testing.assert_array_equal(o, want, err_msg=f"hop {e} (of {hop} frames), output {k}")
    assert not np.array_equal(ref[0][0], ref[-1][0])  # the windows differ: the state matters


def test_each_hop_computes_only_its_rows_and_keeps_the_rest_persistent(encoder: Path) -> None:
    graph = read_tflite(encoder)
    g2, plan, info = plan_stream(graph, 4)
    # rows per hop: each segment tensor advances by 4 / its stride (never recomputed)
    rows = {graph.operators[k].outputs[0]: graph.tensors[graph.operators[k].outputs[0]].shape[1]
            for k in info.segment}
    assert info.rows_window == sum(rows.values()) and info.rows_hop < info.rows_window / 4
    assert info.macs_hop == graph_macs(g2) and info.macs_hop < info.macs_window / 3
    cut = graph.tensors[info.cut]
    assert cut.shape[1] == 3 and info.cut not in graph.outputs  # the memory rows, read by the tail
    by_tensor = {r.tensor: r for r in info.rings}
    assert by_tensor[info.cut].keep == 2 and by_tensor[info.cut].fresh == 1
    assert by_tensor[graph.inputs[0]].keep == 1  # the motion front end's frame t - 1
    for r in info.rings:  # every state is a variable at the front of its persistent block
        assert g2.tensors[r.state].is_variable and plan.grown[r.block] == r.state
        assert plan.persistent_offsets[r.state] == plan.persistent_offsets[r.block]
        assert r.state not in plan.tensor_offsets and r.block not in plan.tensor_offsets
    assert plan.persistent_bytes >= info.state_bytes > 0
    assert any(n.startswith("stream: ") for n in plan.notes)


def test_generated_stream_api_shifts_each_ring_through_the_state_api(encoder: Path) -> None:
    graph = read_tflite(encoder)
    g2, plan, info = plan_stream(graph, 4)
    files = emit_stream_c(g2, plan, info, prefix="enc")
    assert {"enc.c", "enc.h", "enc_stream.c", "enc_stream.h"} <= set(files)
    header, body = files["enc_stream.h"], files["enc_stream.c"]
    assert "void enc_stream_reset(void);" in header and "int enc_stream_invoke(void);" in header
    assert "#define ENC_STREAM_HOP_FRAMES 4" in header
    assert f"#define ENC_STREAM_STATE_BYTES {info.state_bytes}u" in header
    for r in info.rings:
        k = plan.state_tensors.index(r.state)
        assert f"{{ {k}, {r.fresh * r.row_bytes}u, {r.keep * r.row_bytes}u }}" in body
    assert "memmove(block, block + r->fresh_bytes, r->keep_bytes);" in body


def test_a_hop_off_the_stride_streams_a_shorter_segment_or_is_refused(encoder: Path) -> None:
    graph = read_tflite(encoder)
    g2, info = stream_graph(graph, 2)  # stride 4 at the end: only up to the stride-2 rows stream
    full = stream_graph(graph, 4)[1]
    assert set(info.segment) < set(full.segment) and info.hop == 2
    with pytest.raises(PlanError, match="hop of 3 frames is not a multiple of the row stride 2 of tensor .*: expected a multiple of 4"):
        stream_graph(graph, 3)
    with pytest.raises(PlanError, match="not a multiple of the row stride 4 of tensor"):
        stream_graph(graph, 2, cut=full.cut)
    with pytest.raises(PlanError, match="hop within the window"):
        stream_graph(graph, 4 * WINDOW)
    with pytest.raises(PlanError, match="hop must be at least 1 frame"):
        stream_graph(graph, 0)


def test_padded_windows_are_refused_with_the_reason(zoo) -> None:  # noqa: ANN001 - fixture
    """The zoo's gcn pads its second temporal convolution (SAME): its rows depend on where the
    window starts, so a stream would compute another function."""
    graph = read_tflite(zoo["gcn"])
    with pytest.raises(PlanError, match="expected a valid \\(unpadded\\) window"):
        stream_graph(graph, 2, cut=next(op.inputs[0] for op in graph.operators
                                        if op.op == "MEAN"))


def test_plan_cli_prints_the_stream_cost_and_refuses_a_bad_hop(encoder: Path, capsys) -> None:  # noqa: ANN001
    from foley_edge.cli import main

    assert main(["plan", str(encoder), "--stream", "4", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    info = stream_graph(read_tflite(encoder), 4)[1]
    assert doc["hop_frames"] == 4 and doc["macs_per_hop"] == info.macs_hop
    assert doc["macs_windowed"] == info.macs_window and doc["state_bytes"] == info.state_bytes
    assert [r["keep_rows"] for r in doc["rings"]] == [r.keep for r in info.rings]
    assert main(["plan", str(encoder), "--stream", "4"]) == 0
    assert "MACs per hop" in capsys.readouterr().out
    assert main(["plan", str(encoder), "--stream", "0"]) == 2
    assert "--stream '0': expected a hop in frames" in capsys.readouterr().err
    assert main(["plan", str(encoder), "--stream", "3"]) == 2
    assert "expected a multiple of 4" in capsys.readouterr().err
