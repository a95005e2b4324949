"""Quantization-aware training: the simulated int8 weights are the converter's, fine-tuning runs
on a tiny model and data, and the fake-quant graph never reaches what the export converts."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from test_train_helpers import TINY_STUDENT, fake_dataset  # noqa: E402

from edge import vocab  # noqa: E402
from edge.model.build import build_models  # noqa: E402
from edge.model.layers import GraphAggregate, LayerNorm  # noqa: E402
from edge.model.qat import (  # noqa: E402
    WEIGHT_MAX_CODE,
    FakeQuant,
    QatError,
    calibrate,
    fake_quant,
    fake_quant_layers,
    quantize_per_channel,
    quantized_weights,
    simulate_norms,
)
from edge.train import TrainError  # noqa: E402
from edge.train.api import _run, copy_weights_by_name  # noqa: E402
from edge.train.loop import TrainSettings  # noqa: E402
from edge.train.qat import QatSettings, qat_finetune  # noqa: E402
from edge.train.run import load_run  # noqa: E402
from export.int8.convert import convert_int8  # noqa: E402
from export.tflite_reader import read_tflite  # noqa: E402

FAST = TrainSettings(epochs=1, batch_size=8, warmup=10, lr_factor=2.0, seed=0)


def _windows(cfg: object, n: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    kp = rng.uniform(0, 1, (n, cfg.window_frames, 65, 3)).astype(np.float32)  # type: ignore[attr-defined]
    tokens = rng.integers(0, 243, (n, cfg.max_tokens)).astype(np.int32)  # type: ignore[attr-defined]
    return kp, tokens


def _per_channel_codes(graph: object) -> list[np.ndarray]:
    """int8 codes of every per-channel constant (FULLY_CONNECTED / CONV_2D weights)."""
    out = []
    for t in graph.tensors:  # type: ignore[attr-defined]
        if t.data is not None and t.dtype == "int8" and t.quant is not None and t.quant.per_channel:
            out.append(np.frombuffer(t.data, np.int8).reshape(t.shape).astype(np.int32))
    return out


def _to_tflite_layout(x: np.ndarray) -> np.ndarray:
    """Keras [in, out] (Dense, the aggregation) -> [out, in]; [kh, kw, in, out] -> [out, kh, kw, in]."""
    return x.T if x.ndim == 2 else np.transpose(x, (3, 0, 1, 2))


def test_weight_fake_quant_is_the_converters_per_channel_int8() -> None:
    # per channel: scale max|w|/127, codes in [-127, 127], hand-computed
    w = np.array([[0.5, -0.02], [-1.0, 0.011], [0.26, 0.0]], np.float32)
    q = np.asarray(quantize_per_channel(w))
    np.testing.assert_allclose(q[:, 0], np.array([64, -127, 33]) / 127.0, rtol=1e-6)
    np.testing.assert_allclose(q[:, 1], np.array([-127, 70, 0]) * 0.02 / 127, rtol=1e-5)
    # a folded multiplier (a LayerNorm's gamma) changes the codes: Q(f*w)/f, not Q(w)
    f = np.array([[1.0], [0.1], [2.0]], np.float32)
    qf = np.asarray(quantize_per_channel(w, f))
    assert not np.allclose(qf, q)
    np.testing.assert_allclose((f * qf)[:, 0], np.array([122, -24, 127]) * 0.52 / 127, rtol=1e-5)

    # the converter's own int8 weights: every FULLY_CONNECTED / CONV_2D weight of the converted
    # models carries exactly the codes of one simulated weight (gamma and adjacency folded)
    cfg = TINY_STUDENT
    models, fixed = build_models(cfg, train_activations=fake_quant), build_models(cfg, batch_size=1)
    rng = np.random.default_rng(3)
    for layer in models.train.layers:  # gammas far from 1 so a missed fold shows
        if isinstance(layer, LayerNorm):
            layer.gamma.assign(rng.uniform(0.2, 3.0, layer.gamma.shape).astype(np.float32))
        if isinstance(layer, GraphAggregate):  # (equal constants would be stored once)
            layer.importance.assign(rng.uniform(0.5, 1.5, layer.importance.shape).astype(np.float32))
    copy_weights_by_name(models.train, fixed.train, "qat graph")
    kp, _ = _windows(cfg, 4)
    enc = read_tflite(convert_int8(fixed.encoder, [{"keypoints": kp[i : i + 1]} for i in range(4)],
                                   name="encoder.tflite"))
    got = _per_channel_codes(enc)
    sims = [w for w in quantized_weights(models.train) if w.per_channel]
    encoder_paths = {v.path for v in models.encoder.weights}
    checked = 0
    for w in sims:
        if w.variable.path not in encoder_paths:
            continue
        f = 1.0 if w.fold is None else np.reshape(np.asarray(w.fold), w.fold_shape)
        folded = np.broadcast_to(f, w.variable.shape) * np.asarray(w.quantized())
        scale = np.abs(folded).reshape(-1, folded.shape[-1]).max(axis=0) / WEIGHT_MAX_CODE
        scale[scale == 0] = 1.0  # an all-zero channel (adjacency column) has codes 0
        codes = _to_tflite_layout(np.round(folded / scale).astype(np.int32))
        assert any(c.shape == codes.shape and np.array_equal(c, codes) for c in got), w.variable.path
        checked += 1
    assert checked == len(got) >= 6  # every per-channel weight of the encoder, each matched


def test_fake_quant_rounds_to_the_calibrated_range_in_training_only() -> None:
    cfg = TINY_STUDENT
    models = build_models(cfg, train_activations=fake_quant)
    layers = fake_quant_layers(models.train)
    assert len(layers) > 10 and not fake_quant_layers(models.encoder) and not fake_quant_layers(models.step)
    assert not any(isinstance(v, FakeQuant) for v in models.train.weights)  # ranges are untracked
    kp, tokens = _windows(cfg)
    with pytest.raises(QatError, match="expected N >= 1 windows with as many token rows, found 4 windows and 3"):
        calibrate(models.train, kp, tokens[:3])
    assert calibrate(models.train, kp, tokens) == len(layers)
    logits_fq = layers[-1]
    lo, hi = float(logits_fq.range.low.numpy()), float(logits_fq.range.high.numpy())
    assert lo <= 0.0 <= hi and hi - lo > 0
    x = np.linspace(lo - 1, hi + 1, 50).astype(np.float32)
    y = np.asarray(logits_fq(x, training=True))
    step = (hi - lo) / 255
    assert len(np.unique(np.round(y / step, 3))) <= 256 and y.min() >= lo - step and y.max() <= hi + step
    np.testing.assert_array_equal(np.asarray(logits_fq(x, training=False)), x)
    float_logits = np.asarray(models.train([kp, tokens], training=False))
    plain = build_models(cfg)
    copy_weights_by_name(models.train, plain.train, "qat graph")
    np.testing.assert_allclose(float_logits, np.asarray(plain.train([kp, tokens], training=False)),
                               atol=1e-5)
    with pytest.raises(QatError, match="no FakeQuant layers"):
        calibrate(plain.train, kp, tokens)


def test_norm_internals_are_rounded_on_the_converters_ranges() -> None:
    cfg = TINY_STUDENT
    models, fixed = build_models(cfg, train_activations=fake_quant), build_models(cfg, batch_size=1)
    rng = np.random.default_rng(5)
    norms = [layer for layer in models.train.layers if isinstance(layer, LayerNorm)]
    for layer in models.train.layers:  # gammas, betas and biases away from 1 and 0, as after
        # training (a zero bias is dropped, and then the converter cannot fold a beta into it)
        if isinstance(layer, LayerNorm):
            layer.gamma.assign(rng.uniform(0.5, 2.0, layer.gamma.shape).astype(np.float32))
            layer.beta.assign(rng.uniform(-0.3, 0.3, layer.beta.shape).astype(np.float32))
        if isinstance(layer, keras.layers.Dense) and layer.use_bias:
            layer.bias.assign(rng.uniform(-0.1, 0.1, layer.bias.shape).astype(np.float32))
    copy_weights_by_name(models.train, fixed.train, "qat graph")
    kp, tokens = _windows(cfg, 4)
    before = np.asarray(models.train([kp, tokens], training=True))

    hooks = simulate_norms(models.train)
    assert len(hooks) == len(norms) >= 3
    assert all(n.internals is h for n, h in zip(norms, hooks, strict=True))
    # every norm here feeds Dense layers only: gamma/beta are folded, no post-gamma rounding
    assert sum(layer.bypass for layer in fake_quant_layers(models.train)) == len(norms)
    assert calibrate(models.train, kp, tokens) == (len(fake_quant_layers(models.train))
                                                   + len(norms) * len(LayerNorm.INTERNALS))
    # the converter's int8 scales of the memory norm's seven tensors are the calibrated ranges
    # (its centred input takes the normalised output's range, being narrower: the converter's rule)
    memory = next(layer for layer in norms if "memory_norm" in layer.name)
    enc = read_tflite(convert_int8(fixed.encoder, [{"keypoints": kp[i : i + 1]} for i in range(4)],
                                   name="encoder.tflite"))
    ops = [op for op in enc.operators if "memory_norm" in enc.tensors[op.outputs[0]].name]
    assert [op.op for op in ops] == ["MEAN", "SQUARED_DIFFERENCE", "MEAN", "ADD", "RSQRT", "SUB",
                                     "MUL"]
    sub, mul = (enc.tensors[op.outputs[0]].quant for op in ops[5:])
    assert (sub.scale[0], sub.zero_point[0]) == (mul.scale[0], mul.zero_point[0])
    for op, r in zip(ops, memory.internals.ranges, strict=True):
        scale = (float(r.high.numpy()) - float(r.low.numpy())) / 255
        assert enc.tensors[op.outputs[0]].quant.scale[0] == pytest.approx(scale, rel=2e-3), op.op
    # training passes round them (a different output), inference passes do not (export unchanged)
    after = np.asarray(models.train([kp, tokens], training=True))
    assert np.abs(after - before).max() > 1e-3
    plain = build_models(cfg)
    copy_weights_by_name(models.train, plain.train, "qat graph")
    np.testing.assert_allclose(np.asarray(models.train([kp, tokens], training=False)),
                               np.asarray(plain.train([kp, tokens], training=False)), atol=1e-5)
    var = memory.internals.ranges[2]
    x = np.linspace(0, float(var.high.numpy()), 1000).astype(np.float32)[:, None]
    step = float(var.high.numpy() - var.low.numpy()) / 255
    y = np.asarray(memory.internals(2, x, True))
    np.testing.assert_allclose(y / step, np.round(y / step), atol=1e-3)  # on the int8 grid
    np.testing.assert_array_equal(np.asarray(memory.internals(2, x, False)), x)


def test_margin_term_is_the_shortfall_of_the_chosen_tokens_lead() -> None:
    from edge.train.losses import bound_sum, margin_sum

    logits = np.array([[[2.0, 1.8, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 0.9]]], np.float32)
    top = np.array([[0, 1, 2]], np.int32)
    targets = np.array([[1, 1, vocab.PAD]], np.int32)  # the last position is PAD: not counted
    # leads 0.2 (short by 0.3), 2.0 (none): 0.3
    assert float(margin_sum(logits, top, targets, 0.5)) == pytest.approx(0.3, abs=1e-6)
    # a token that is not the argmax: lead 1.8 - 2.0 = -0.2, short by 0.7
    assert float(margin_sum(logits[:, :1], np.array([[1]], np.int32), targets[:, :1], 0.5)) == \
        pytest.approx(0.7, abs=1e-6)
    # per-position weights: 3 x the first position's shortfall, the second has none
    assert float(margin_sum(logits, top, targets, 0.5, np.array([[3.0, 5.0, 7.0]], np.float32))) == \
        pytest.approx(0.9, abs=1e-6)
    # bound 1.5: |z| beyond it, squared, averaged over the vocabulary: (0.5² + 0.3²) / 3 + 1.5² / 3
    assert float(bound_sum(logits, targets, 1.5)) == pytest.approx((0.25 + 0.09 + 2.25) / 3, abs=1e-6)
    with pytest.raises(TrainError, match="QAT setting 'margin' must be > 0, found 0.0"):
        QatSettings(margin=0.0).validate()


def test_onset_neutral_pairs_leave_the_onsets_as_they_are() -> None:
    from edge.train.losses import onset_neutral

    K = vocab.EventKind
    tokens = np.arange(vocab.VOCAB_SIZE, dtype=np.int32)
    first, second = np.meshgrid(tokens, tokens, indexing="ij")
    got = np.asarray(onset_neutral(first, second))
    kind = [vocab.describe(int(t)).kind for t in tokens]
    neutral = [{K.NOTE_OFF}, {K.VELOCITY}, {K.NOTE_OFF, K.VELOCITY}, {K.NOTE_OFF, K.TIME_SHIFT}]
    want = np.array([[{kind[i], kind[j]} in neutral for j in tokens] for i in tokens])
    np.testing.assert_array_equal(got, want)


def test_margin_anchors_pick_the_documented_token() -> None:
    """Each anchor's token at three positions: a pitch tie the truth is part of, a velocity tie,
    and a pitch the model prefers that RUN does not rank in its two best."""
    from edge.train.losses import anchor_tokens

    on_a, on_b, on_c = vocab.note_on(60), vocab.note_on(62), vocab.note_on(64)
    vel_a, vel_b = vocab.VELOCITY_OFFSET + 10, vocab.VELOCITY_OFFSET + 11

    def logits(*rows: dict[int, float]) -> np.ndarray:
        z = np.zeros((1, len(rows), vocab.VOCAB_SIZE), np.float32)
        for i, row in enumerate(rows):
            for t, v in row.items():
                z[0, i, t] = v
        return z

    ref = logits({on_a: 3.0, on_b: 2.9}, {vel_a: 3.0, vel_b: 2.9}, {on_c: 3.0, on_a: 1.0})
    run = logits({on_b: 3.0, on_a: 2.9}, {vel_b: 3.0, vel_a: 2.9}, {on_a: 3.0, on_b: 2.0})
    truth = np.array([[on_b, vel_b, on_c]], np.int32)
    want = {"self": [on_a, vel_a, on_c], "teacher": [on_b, vel_b, on_a],
            "teacher2": [on_a, vel_a, on_a], "target": [on_b, vel_b, on_c],
            "neutral": [on_a, vel_a, on_a], "guided": [on_b, vel_a, on_a]}
    for anchor, tokens in want.items():
        top, free = anchor_tokens(anchor, ref, run, truth)
        assert np.asarray(top).tolist() == [tokens], anchor
        if anchor in ("neutral", "guided"):
            assert np.asarray(free).tolist() == [[False, True, False]]
        else:
            assert free is None


def _ops(flat: bytes) -> Counter[str]:
    return Counter(op.op for op in read_tflite(flat).operators)


def test_qat_finetune_tiny_run_exports_the_same_graphs(tmp_path: Path) -> None:
    data = fake_dataset(tmp_path / "d", 3, 1, 1)
    base = tmp_path / "base"
    _run(TINY_STUDENT, data, base, FAST, resume=False, progress=False)
    out = tmp_path / "qat"
    q = QatSettings(calib_windows=8, margin_weight=0.5, bound_weight=0.1)
    m = qat_finetune(base, data, out, FAST, q, progress=False)
    assert [h["epoch"] for h in m["history"]] == [1] and np.isfinite(m["history"][-1]["train_loss"])
    assert m["history"][0]["train_margin"] > 0
    meta = json.loads((out / "config.json").read_text())
    assert meta["qat"] == asdict(q) and meta["teacher"] == str(base)
    assert meta["model"]["dropout"] == 0.0
    assert 0 < meta["train"]["input_step"] < 0.01  # the int8 input's grid
    cfg, models = load_run(out)  # an ordinary run folder: plain graphs load its weights
    assert cfg == replace(TINY_STUDENT, dropout=0.0) and not fake_quant_layers(models.train)
    for w in quantized_weights(models.train):  # snapped: the weights are their own int8 values
        np.testing.assert_allclose(np.asarray(w.quantized()), np.asarray(w.variable), atol=1e-6)
    kp, tokens = _windows(cfg, 2)
    ops = []
    for run in (base, out):
        _, fixed = load_run(run, batch_size=1)
        ops.append([_ops(convert_int8(fixed.encoder, [{"keypoints": kp[i : i + 1]} for i in range(2)],
                                      name="encoder.tflite"))])
    assert ops[0] == ops[1]
    # what export converts is built without the hook, whatever the run: same layer classes
    qat_models = build_models(cfg, train_activations=fake_quant)
    for a, b in ((qat_models.encoder, models.encoder), (qat_models.step, models.step)):
        assert [type(x).__name__ for x in a.layers] == [type(x).__name__ for x in b.layers]


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(dataset, finished tiny student run) shared by the fine-tuning tests below."""
    root = tmp_path_factory.mktemp("tiny_base")
    data = fake_dataset(root / "d", 3, 1, 1)
    _run(TINY_STUDENT, data, root / "base", FAST, resume=False, progress=False)
    return data, root / "base"


@pytest.mark.parametrize("anchor", ["teacher", "teacher2", "target", "neutral", "guided"])
def test_qat_margin_anchor_is_trained_and_recorded(tmp_path: Path, anchor: str,
                                                   tiny_base: tuple[Path, Path]) -> None:
    data, base = tiny_base
    norms = anchor == "neutral"  # one of them with the LayerNorm internals simulated too
    q = QatSettings(calib_windows=8, margin=2.0, margin_weight=0.5, margin_anchor=anchor,
                    simulate_norms=norms)
    m = qat_finetune(base, data, tmp_path / "qat", FAST, q, progress=False)
    assert m["history"][0]["train_margin"] > 0 and np.isfinite(m["history"][0]["train_loss"])
    meta = json.loads((tmp_path / "qat" / "config.json").read_text())["qat"]
    assert meta["margin_anchor"] == anchor and meta["simulate_norms"] == norms
    _, models = load_run(tmp_path / "qat")  # a plain run: its norms carry no hook
    assert all(layer.internals is None for layer in models.train.layers
               if isinstance(layer, LayerNorm))


def test_soup_averages_fine_tunes_of_one_run_and_refuses_others(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_base: tuple[Path, Path]) -> None:
    import shutil

    from edge.train.soup import average_runs
    from foley_edge.cli import main

    data, base = tiny_base
    for name, seed in (("a", 1), ("b", 2)):  # two fine-tunes of base (different data order)
        _run(TINY_STUDENT, data, tmp_path / name, replace(FAST, seed=seed), resume=False,
             progress=False, init=base)
    assert main(["soup", "--run", str(tmp_path / "a"), "--run", str(tmp_path / "b"), "--out",
                 str(tmp_path / "soup")]) == 0
    (_, a), (_, b), (_, soup) = (load_run(tmp_path / n) for n in ("a", "b", "soup"))
    moved = 0
    for va, vb, vs in zip(a.train.weights, b.train.weights, soup.train.weights, strict=True):
        np.testing.assert_allclose(np.asarray(vs), (np.asarray(va) + np.asarray(vb)) / 2, atol=1e-6)
        moved += not np.allclose(np.asarray(va), np.asarray(vb))
    assert moved > 5  # the two fine-tunes differ, so the soup is neither
    meta = json.loads((tmp_path / "soup" / "config.json").read_text())
    assert meta["soup"] == [str(tmp_path / "a"), str(tmp_path / "b")] and meta["init"] == str(base)
    with pytest.raises(TrainError, match="at least 2 runs"):
        average_runs([tmp_path / "a"], tmp_path / "x")

    def variant(name: str, edit: object) -> Path:
        """A copy of run a with its config.json edited."""
        run = tmp_path / name
        shutil.copytree(tmp_path / "a", run)
        meta = json.loads((run / "config.json").read_text())
        edit(meta)  # type: ignore[operator]
        (run / "config.json").write_text(json.dumps(meta))
        return run

    elsewhere = variant("elsewhere", lambda m: m.update(init=str(tmp_path / "other")))
    with pytest.raises(TrainError, match="different weights"):
        average_runs([tmp_path / "b", elsewhere], tmp_path / "x")
    wider = variant("wider", lambda m: m["model"].update(d_model=2 * m["model"]["d_model"]))
    assert main(["soup", "--run", str(tmp_path / "a"), "--run", str(wider), "--out",
                 str(tmp_path / "x")]) == 2
    assert "model config differs" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_qat_margin_anchor_must_be_known() -> None:
    with pytest.raises(TrainError, match=r"QAT setting 'margin_anchor' must be one of .*found 'best'"):
        QatSettings(margin_anchor="best").validate()


def test_qat_float_input_must_be_known() -> None:
    with pytest.raises(TrainError, match=r"QAT setting 'float_input' must be one of .*found 'grid'"):
        QatSettings(float_input="grid").validate()


class GridSpy(keras.Model):
    """Logits from the tokens alone; records, per pass, how far its keypoints lie off the grid
    of ``step`` (the simulated int8 pass is the ``training=True`` one)."""

    def __init__(self, step: float) -> None:
        super().__init__(name="grid_spy")
        self.step = step
        self.table = keras.layers.Embedding(vocab.VOCAB_SIZE, vocab.VOCAB_SIZE)
        self.off_int8 = tf.Variable(-1.0, trainable=False)
        self.off_float = tf.Variable(-1.0, trainable=False)

    def call(self, inputs: list[tf.Tensor], training: bool = False) -> tf.Tensor:
        kp, tokens = inputs
        off = tf.reduce_max(tf.abs(kp - tf.round(kp / self.step) * self.step))
        (self.off_int8 if training else self.off_float).assign(off)
        return self.table(tokens)


@pytest.mark.parametrize("float_input", ["raw", "rounded"])
def test_qat_float_passes_read_the_raw_keypoints(float_input: str) -> None:
    """With ``float_input='raw'`` the batch stays as the windows are and only the simulated int8
    pass reads it on the input's grid; ``rounded`` rounds the batch for every pass."""
    from types import SimpleNamespace

    from edge.train.loop import _dataset, _step_function
    from edge.train.windows import Windows

    step = 0.01
    s = replace(FAST, input_step=step, augment=False)
    rng = np.random.default_rng(0)
    w = Windows(keypoints=rng.uniform(0, 1, (8, 4, 65, 3)).astype(np.float32),
                inputs=rng.integers(0, 240, (8, 6)).astype(np.int32),
                targets=rng.integers(0, 240, (8, 6)).astype(np.int32),
                clip_index=np.zeros(8, np.int32), hop_end=np.full(8, 4, np.int32), truncated=0)
    raw = float_input == "raw"
    kp, inp, tgt = next(iter(_dataset(w, s, 8, round_inputs=not raw)))
    off_batch = float(np.max(np.abs(kp - np.round(kp / step) * step)))
    assert (off_batch > step / 10) if raw else (off_batch < 1e-6)
    model = GridSpy(step)
    model([kp, inp])
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    q = SimpleNamespace(raw_float=raw, margin_weight=1.0, margin=1.0, margin_anchor="self",
                        bound_weight=0.0, swap_in=lambda: [], swap_out=lambda saved: None)
    stats = _step_function(tf.distribute.get_strategy(), model, None, optimizer, s, q)((kp, inp, tgt))
    assert np.isfinite(stats.numpy()).all()
    assert float(model.off_int8.numpy()) < 1e-6  # the simulated int8 pass: on the grid
    assert (float(model.off_float.numpy()) > step / 10) if raw else (float(model.off_float.numpy()) < 1e-6)
