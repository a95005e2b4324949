"""int8 export of a tiny trained model: artifacts, hand-overs, report, gate, loud failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tflite_micro")

from test_int8_tiny import CFG, tiny_export  # noqa: E402

from edge.model.build import cache_names  # noqa: E402
from export.int8.checks import margins  # noqa: E402
from export.int8.errors import ExportError, TargetError, UnsupportedOpError  # noqa: E402
from export.int8.flat import IOTensor, edit_model, model_io, op_name  # noqa: E402
from export.int8.gate import ALLOWED_OPS, check_ops, layer_of  # noqa: E402
from export.int8.pin import pin_inputs  # noqa: E402
from export.session import open_session  # noqa: E402
from export.tflite_reader import read_tflite  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tiny_export(tmp_path_factory.getbasetemp())


def test_export_writes_a_full_int8_pair_and_a_passing_report(exported: tuple[Path, Path]) -> None:
    _, out = exported
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "PASSED" and report["failures"] == []
    m = report["metrics"]
    assert m["top1_agreement"] >= 0.98 and m["forced_steps"] > 40
    assert m["f1_float"] > 0.5 and m["f1_float"] - m["f1_int8"] <= 0.01  # notes, not silence
    assert m["c_token_agreement"] == 1.0  # the device's code == TFLite Micro, every token
    assert m["tflm_token_agreement"] == 1.0 and m["tflm_top1_identical"] == 1.0
    assert 0 <= m["tflm_max_lsb_logits"] <= 3
    for key in ("top1_logits_only", "near_tie_share", "decisive_share", "top1_decisive"):
        assert 0.0 <= m[key] <= 1.0, key
    assert m["top1_logits_only"] >= m["top1_agreement"] - 0.02  # rounding the output alone costs less
    md = (out / "report.md").read_text()
    assert "FAILED" not in md and "near-ties" not in md  # the explanation only follows a miss
    for name in ("encoder.tflite", "decoder_step.tflite"):
        flat = (out / name).read_bytes()
        facts = report["models"][name]
        graph = read_tflite(flat)
        assert facts["tensors"] == len(graph.tensors) and facts["bytes"] == len(flat)
        assert set(facts["ops"]) <= ALLOWED_OPS
        for io in (*facts["inputs"].items(), *facts["outputs"].items()):
            want = "int32" if io[0] in ("token", "position") else "int8"
            assert io[1]["dtype"] == want, io
        weights = [t for t in graph.tensors if t.data is not None and t.dtype == "int8"
                   and t.quant is not None and t.quant.per_channel]
        assert weights, "per-channel int8 weights expected"


def test_every_handover_copies_int8_bytes(exported: tuple[Path, Path]) -> None:
    _, out = exported
    enc = model_io((out / "encoder.tflite").read_bytes()).outputs
    step = model_io((out / "decoder_step.tflite").read_bytes())
    for name in cache_names(CFG, "cross"):
        assert (enc[name].scale, enc[name].zero_point) == (step.inputs[name].scale,
                                                          step.inputs[name].zero_point)
    for new, cache in zip(cache_names(CFG, "new"), cache_names(CFG, "cache"), strict=True):
        a, b = step.outputs[new], step.inputs[cache]
        assert (a.dtype, a.scale, a.zero_point) == (b.dtype, b.scale, b.zero_point)


def test_pinning_moves_the_whole_same_scale_group(exported: tuple[Path, Path]) -> None:
    _, out = exported
    flat = (out / "decoder_step.tflite").read_bytes()
    io = model_io(flat)
    target = io.inputs["cross_k0"]
    moved = type(target)(**{**target.__dict__, "scale": target.scale * 2, "zero_point": 5})
    pinned = pin_inputs(flat, {"cross_k0": moved}, where="test")
    g = read_tflite(pinned)
    inp = g.tensors[model_io(pinned).inputs["cross_k0"].tensor]
    assert inp.quant.scale[0] == pytest.approx(target.scale * 2) and inp.quant.zero_point == (5,)
    reshape = next(op for op in g.operators if op.inputs[0] == inp.index)
    assert reshape.op == "RESHAPE"
    assert g.tensors[reshape.outputs[0]].quant == inp.quant
    feeds = {n: np.zeros(s.shape, s.dtype) for n, s in model_io(pinned).inputs.items()}
    a = open_session(pinned, "litert").run(feeds)["logits"]
    b = open_session(pinned, "tflm").run(feeds)["logits"]
    assert np.abs(a.astype(int) - b).max() <= 3


def _scramble_logits(model) -> None:  # noqa: ANN001 - ModelT
    sg = model.subgraphs[0]
    for op in sg.operators:
        out = sg.tensors[op.outputs[0]]
        if op_name(model, op) == "FULLY_CONNECTED" and list(out.shape)[-1] == 243:
            buf = model.buffers[sg.tensors[op.inputs[1]].buffer]
            rows = np.asarray(buf.data, np.uint8).reshape(243, -1)
            buf.data = np.ascontiguousarray(np.roll(rows, 17, axis=1)).ravel()


def test_checks_fail_loudly_below_target(exported: tuple[Path, Path], tmp_path: Path) -> None:
    from edge.train.run import load_run
    from export.int8.pipeline import ExportSettings, Int8Pair, finish

    run, out = exported
    cfg, free = load_run(run)
    _, fixed = load_run(run, batch_size=1)
    bad = edit_model((out / "decoder_step.tflite").read_bytes(), _scramble_logits)
    pair = Int8Pair((out / "encoder.tflite").read_bytes(), bad)
    data = json.loads((out / "report.json").read_text())["data"]
    with pytest.raises(TargetError, match=r"top-1 agreement: expected >= 98\.00%, found \d+\.\d+%"):
        finish(tmp_path, {"run": str(run)}, cfg, pair, free, fixed,
               ExportSettings(onnx=False, eval_windows=8, greedy_windows=2), data)
    md = (tmp_path / "report.md").read_text()
    assert md.startswith("# Export report — FAILED") and "**FAILED**: int8 vs float top-1" in md
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "FAILED"
    m = report["metrics"]  # the scrambled logits miss even where the float model is decisive
    assert m["decisive_share"] > 0.2 and m["top1_decisive"] < 0.5
    assert f"the int8 pair agrees on {m['top1_decisive']:.1%}" in md


def _logits_spec(scale: float, zero_point: int) -> IOTensor:
    return IOTensor("logits", 0, 0, "int8", (1, 4), scale, zero_point)


def test_margins_split_agreement_by_the_float_models_own_gaps() -> None:
    f = np.array([[3.00, 3.05, 0.0, -1.0],  # near-tie (gap 0.05 < one LSB of 0.1): int8 ties
                  [2.00, 0.50, 0.0, -1.0],  # decisive (gap 1.5)
                  [0.00, 0.40, 0.1, -2.0],  # neither (gap 0.3)
                  [5.00, 1.00, 0.0, 0.0]])  # decisive (gap 4)
    hits = np.array([False, True, False, False])
    m = margins(f, hits, _logits_spec(0.1, 0))
    assert m.near_tie_share == 0.25 and m.decisive_share == 0.5 and m.top1_decisive == 0.5
    # row 0 rounds to 30 vs 31 (a 0.05 gap still resolves at 0.1 here: 3.05/0.1 = 30.5 -> 31)
    assert m.logits_only == 1.0
    coarse = margins(f, hits, _logits_spec(0.5, 0))  # 3.0 and 3.05 both round to 6: lowest wins
    assert coarse.logits_only == 0.75 and coarse.near_tie_share == 0.5
    with pytest.raises(ValueError, match="3 float logit rows for 4 steps"):
        margins(f[:3], hits, _logits_spec(0.1, 0))


def test_gate_refuses_an_unsupported_op_naming_op_and_layer() -> None:
    import keras

    from export.int8.convert import convert_int8

    ids = keras.Input((4,), 1, dtype="int32", name="ids")
    x = keras.layers.Embedding(243, 8, name="stock_embedding")(ids)
    model = keras.Model(ids, keras.layers.Dense(4, name="head")(x))
    rng = np.random.default_rng(0)
    flat = convert_int8(model, [{"ids": rng.integers(0, 243, (1, 4)).astype(np.int32)}
                                for _ in range(4)], name="bad.tflite")
    with pytest.raises(UnsupportedOpError, match=r"operator \d+ (LESS|SELECT|SELECT_V2|ADD).*"
                       r"layer 'stock_embedding'"):
        check_ops(flat, where="bad.tflite", layer_names=[layer.name for layer in model.layers])


def test_layer_names_are_recovered_from_fused_tensor_names() -> None:
    name = "student_decoder_step_1/student_dec0_self_q_1/Tensordot;student_decoder_step_1/Mul"
    assert layer_of(name, ["student_dec0_self_q", "other"]) == "student_dec0_self_q"
    assert layer_of("x/y", ["nothing"]) == "x/y"


def test_export_cli_errors_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from foley_edge.cli import main

    assert main(["export", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "config.json missing" in capsys.readouterr().err
    assert main(["export", "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert "--calibration is required" in capsys.readouterr().err
    with pytest.raises(ExportError, match="not a .tflite"):
        model_io(b"junkjunkjunk")
