"""The streaming encoder under TFLite Micro (``export.tflm.stream``): the stream graph written as
a .tflite with each ring's state an explicit input and its next state an output, run hop by hop
by the ``tflite-micro`` wheel with the state carried by the caller; after the warm-up every hop
equals tflite-micro's windowed encoder on the window ending at that hop, and every hop (warm-up
included) equals our streamed generated C, bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from stream_data import STREAM_WINDOW, stream_frames

from export.backends import run_model_many
from export.tflite_reader import read_tflite
from export.tflite_writer import WriterError, write_tflite
from export.tflm.stream import StreamModel, run_stream_tflm, stream_tflite

WINDOW = STREAM_WINDOW


@pytest.fixture(scope="session")
def encoder(stream_encoder: Path) -> Path:
    """The tiny streaming-test encoder (conftest.stream_encoder), WINDOW frames."""
    return stream_encoder


def _hops(frames: np.ndarray, hop: int) -> list[np.ndarray]:
    return [frames[j * hop:(j + 1) * hop][None] for j in range(len(frames) // hop)]


def _windowed(encoder: Path, frames: np.ndarray, hop: int) -> tuple[list[int], list]:
    """(1-based hops whose window is all real frames, the windowed encoder's outputs on them
    under tflite-micro)."""
    ends = [j for j in range(1, len(frames) // hop + 1) if j * hop >= WINDOW]
    return ends, run_model_many(encoder, [[frames[e * hop - WINDOW:e * hop][None]]
                                          for e in ends], "tflm")


def _assert_equal(outs: list, ends: list[int], ref: list, hop: int) -> None:
    for e, r in zip(ends, ref, strict=True):
        for k, (o, want) in enumerate(zip(outs[e - 1], r, strict=True)):
            np.testing.assert_array_equal(o, want, err_msg=f"hop {e} (of {hop} frames), output {k}")


@pytest.mark.parametrize("hop", [4, 8])
def test_tflm_stream_equals_the_windowed_encoder_after_warmup(encoder: Path, hop: int) -> None:
    model = stream_tflite(encoder.read_bytes(), hop)
    frames = stream_frames(hop * 3 * model.streaming.warmup_hops, seed=hop)
    outs = run_stream_tflm(model, _hops(frames, hop))
    ends, ref = _windowed(encoder, frames, hop)
    assert ends[0] == model.streaming.warmup_hops
    _assert_equal(outs, ends, ref, hop)
    assert not np.array_equal(ref[0][0], ref[-1][0])  # the windows differ: the state matters


def test_without_the_state_carried_the_stream_is_wrong(encoder: Path) -> None:
    """The same hops, every one from the zero states (no copy of next states to inputs): the
    encoder sees only the hop's frames, and no hop after the warm-up matches its window."""
    model = stream_tflite(encoder.read_bytes(), 4)
    frames = stream_frames(4 * 2 * model.streaming.warmup_hops, seed=4)
    outs = run_stream_tflm(model, _hops(frames, 4), carry=False)
    ends, ref = _windowed(encoder, frames, 4)
    with pytest.raises(AssertionError, match="hop 6 \\(of 4 frames\\), output 0"):
        _assert_equal(outs, ends, ref, 4)
    for e, r in zip(ends, ref, strict=True):
        assert not np.array_equal(outs[e - 1][0], r[0]), f"hop {e}"


def test_tflm_stream_equals_the_streamed_generated_c_on_every_hop(encoder: Path) -> None:
    """Same zero states at the reset, same rows: equal from the first hop, warm-up included."""
    from export.host_stream import build_stream_host
    from export.planner.stream import plan_stream
    from export.planner.verify import verify_plan

    g2, plan, info = plan_stream(read_tflite(encoder), 4)
    verify_plan(g2, plan)
    hops = _hops(stream_frames(4 * 2 * info.warmup_hops, seed=7), 4)
    c_outs = build_stream_host(g2, plan, info, prefix="enc").run([[h] for h in hops])
    tflm_outs = run_stream_tflm(stream_tflite(encoder.read_bytes(), 4), hops)
    assert len(c_outs) == len(tflm_outs) == len(hops)
    for j, (c, t) in enumerate(zip(c_outs, tflm_outs, strict=True)):
        for k, (a, b) in enumerate(zip(c, t, strict=True)):
            np.testing.assert_array_equal(a, b, err_msg=f"hop {j + 1}, output {k}")


def test_the_stream_model_has_explicit_state_and_only_tflm_operators(encoder: Path) -> None:
    model = stream_tflite(encoder.read_bytes(), 4)
    assert isinstance(model, StreamModel) and model.outputs == 2
    graph = read_tflite(model.flatbuffer)  # also: every operator is one our reader knows
    info = model.streaming
    assert model.states == len(info.rings) == 5
    assert len(graph.inputs) == 1 + model.states
    assert len(graph.outputs) == model.outputs + model.states
    assert graph.tensors[graph.inputs[0]].shape == (1, 4, 65, 3)
    assert not any(t.is_variable for t in graph.tensors)
    for k, r in enumerate(info.rings):
        s_in = graph.tensors[graph.inputs[1 + k]]
        s_out = graph.tensors[graph.outputs[model.outputs + k]]
        assert s_in.shape == s_out.shape and s_in.shape[1] == r.keep
        assert s_in.quant == s_out.quant and s_in.dtype == s_out.dtype == "int8"
        assert np.all(model.initial_states[k] == s_in.quant.zero_point[0])
        assert model.initial_states[k].shape == s_in.shape
    assert {op.op for op in graph.operators} <= {op.op for op in read_tflite(encoder).operators}
    assert not any(k.startswith("fe_") for op in graph.operators for k in op.options)


def test_the_writer_round_trips_the_windowed_encoder_under_tflm(encoder: Path, tmp_path: Path) -> None:
    raw = encoder.read_bytes()
    again = tmp_path / "again.tflite"
    again.write_bytes(write_tflite(read_tflite(raw), like=raw))
    x = [[stream_frames(WINDOW, seed=3)[None]]]
    for a, b in zip(run_model_many(encoder, x, "tflm")[0], run_model_many(again, x, "tflm")[0],
                    strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_writer_refuses_variables_and_planner_padding(encoder: Path) -> None:
    import dataclasses

    from export.planner.stream import stream_graph

    raw = encoder.read_bytes()
    g2, info = stream_graph(read_tflite(raw), 4)
    state = g2.tensors[info.rings[0].state]
    with pytest.raises(WriterError, match=f"tensor {state.index} '.*' is a variable: expected "
                                          "the state as an explicit input"):
        write_tflite(g2, like=raw)
    k = next(op.index for op in g2.operators if "fe_pad_h" in op.options)
    op = g2.operators[k]
    padded = dataclasses.replace(op, options={**op.options, "fe_pad_h": 1})
    ops = tuple(padded if o.index == k else o for o in g2.operators)
    tensors = tuple(dataclasses.replace(t, is_variable=False) for t in g2.tensors)
    with pytest.raises(WriterError, match=f"operator {k} CONV_2D pads 1 row\\(s\\)"):
        write_tflite(dataclasses.replace(g2, operators=ops, tensors=tensors), like=raw)


def test_plan_cli_writes_the_tflm_stream(encoder: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from foley_edge.cli import main

    out = tmp_path / "enc_stream4.tflite"
    assert main(["plan", str(encoder), "--stream", "4", "--stream-tflite", str(out),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert out.read_bytes() == stream_tflite(encoder.read_bytes(), 4).flatbuffer
    assert doc["stream_tflite"] == {"path": str(out), "bytes": out.stat().st_size,
                                    "state_inputs": 5, "encoder_outputs": 2}
    assert main(["plan", str(encoder), "--stream-tflite", str(out)]) == 2
    assert "expected --stream H too" in capsys.readouterr().err
