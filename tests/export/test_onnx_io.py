"""ONNX both ways: float models -> ONNX checked by onnxruntime; ONNX -> int8 via onnx2tf."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
if importlib.util.find_spec("onnx2tf") is None:  # importing it would change os.environ
    pytest.skip("onnx2tf is not installed", allow_module_level=True)

from test_int8_tiny import tiny_dataset, tiny_export  # noqa: E402

from export.int8.errors import ExportError  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tiny_export(tmp_path_factory.getbasetemp())


def test_export_writes_onnx_matching_keras(exported: tuple[Path, Path]) -> None:
    import onnxruntime as ort

    from edge.model.kv import empty_cache, step_inputs
    from edge.train.run import load_run

    run, out = exported
    report = json.loads((out / "report.json").read_text())
    for name in ("encoder.onnx", "decoder_step.onnx"):
        assert report["onnx"][name]["ok"] and report["onnx"][name]["max_abs_diff"] <= 1e-4
    cfg, fixed = load_run(run, batch_size=1)
    rng = np.random.default_rng(3)
    kp = rng.random((1, cfg.window_frames, 65, 3), np.float32)  # an input the export never saw
    enc = ort.InferenceSession(str(out / "encoder.onnx"), providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in enc.get_outputs()], enc.run(None, {"keypoints": kp}), strict=True))
    ref = {k: np.asarray(v) for k, v in fixed.encoder(kp).items()}
    assert set(got) == set(ref)
    assert max(np.abs(got[k] - ref[k]).max() for k in ref) <= 1e-4
    step = ort.InferenceSession(str(out / "decoder_step.onnx"), providers=["CPUExecutionProvider"])
    cache = empty_cache(cfg, 1)
    for v in cache.values():
        v[:, :3] = rng.normal(0, 1, v[:, :3].shape)
    feeds = step_inputs(cfg, np.array([17]), 3, cache, ref, np.array([50_000]))
    names = [i.name for i in step.get_inputs()]
    got = dict(zip([o.name for o in step.get_outputs()], step.run(None, {n: feeds[n] for n in names}),
                   strict=True))
    want = {k: np.asarray(v) for k, v in fixed.step(feeds).items()}
    assert max(np.abs(got[k] - want[k]).max() for k in want) <= 1e-4


def _net(window: int, batch: int | None):  # noqa: ANN202 - keras.Model
    import keras

    inp = keras.Input((window, 65, 3), batch, name="keypoints")
    x = keras.layers.Conv2D(8, (3, 1), strides=(2, 1), activation="relu", name="temporal")(inp)
    x = keras.layers.Reshape((x.shape[1], 65 * 8))(x)
    x = keras.layers.Dense(32, activation="relu", name="mix")(x)
    x = keras.layers.Reshape((x.shape[1] * 32,))(x)
    return keras.Model(inp, keras.layers.Dense(243, name="logits")(x))


def _foley_style_onnx(path: Path, data: Path) -> None:
    """A small Keras motion -> first-event-logits model trained briefly, exported with tf2onnx."""
    import keras
    from test_int8_tiny import CFG

    from edge.data.dataset import load_split
    from edge.train.windows import make_windows
    from export.onnx_io import keras_to_onnx

    keras.utils.set_random_seed(1)
    train = _net(CFG.window_frames, None)
    w = make_windows(load_split(data, "train"), CFG, stride=2)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    train.compile(keras.optimizers.Adam(3e-3), loss)
    train.fit(w.keypoints, w.targets[:, 0], batch_size=16, epochs=40, verbose=0)
    fixed = _net(CFG.window_frames, 1)
    fixed.set_weights(train.get_weights())
    path.write_bytes(keras_to_onnx(fixed).SerializeToString())


def test_onnx_import_runs_the_int8_pipeline(tmp_path_factory: pytest.TempPathFactory,
                                            tmp_path: Path) -> None:
    from export.int8.gate import ALLOWED_OPS
    from foley_edge.cli import main

    data = tiny_dataset(tmp_path_factory.getbasetemp() / "tiny_data")
    onnx_path = tmp_path / "foley.onnx"
    _foley_style_onnx(onnx_path, data)
    out = tmp_path / "imported"
    env = dict(os.environ)
    assert main(["export", "--onnx", str(onnx_path), "--calibration", str(data),
                 "--out", str(out)]) == 0
    assert dict(os.environ) == env  # onnx2tf's import-time settings do not leak
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "PASSED" and report["samples"] > 10
    facts = report["models"]["model.tflite"]
    assert set(facts["ops"]) <= ALLOWED_OPS
    assert facts["inputs"]["keypoints"]["dtype"] == "int8"
    assert facts["inputs"]["keypoints"]["shape"] == [1, 12, 65, 3]  # no NCHW -> NHWC guessing
    (out_name, m), = report["outputs"].items()
    assert m["width"] == 243 and m["top1_agreement"] >= 0.98 and m["tflm_top1_identical"] == 1.0
    assert m["snr_db"] > 20.0


def test_onnx_import_refuses_bad_calibration(tmp_path: Path) -> None:
    from export.onnx_io import calibration_samples

    with pytest.raises(ExportError, match="a dataset folder or a .npz"):
        calibration_samples(str(tmp_path / "x.txt"), {"a": ((1, 4), "float32")}, 4)
    with pytest.raises(ExportError, match="one keypoint input"):
        calibration_samples(str(tmp_path), {"a": ((1, 4), "float32")}, 4)
    np.savez(tmp_path / "c.npz", b=np.zeros((3, 4), np.float32))
    with pytest.raises(ExportError, match=r"arrays \['a'\] missing"):
        calibration_samples(str(tmp_path / "c.npz"), {"a": ((1, 4), "float32")}, 4)
    np.savez(tmp_path / "d.npz", a=np.arange(12, dtype=np.float32).reshape(3, 4))
    samples = calibration_samples(str(tmp_path / "d.npz"), {"a": ((1, 4), "float32")}, 2)
    assert len(samples) == 2 and samples[1]["a"].tolist() == [[4, 5, 6, 7]]
