"""``foley-edge plan --patches`` and a float-I/O model through ``plan``, ``codegen`` and ``infer``.

A small Keras CNN converted with float32 input and output (QUANTIZE first, DEQUANTIZE last):
the JSON report of a 2x2-patched plan (grid, recompute share, MAC counts, the caller's
buffers), the text summary, and ``infer --backend c`` (input read from and output written to
the caller's buffers) byte for byte against ``--backend tflm``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from foley_edge.cli import main

SHAPE = (1, 32, 32, 3)


def _float_io_cnn() -> bytes:
    import keras
    import tensorflow as tf
    from keras import layers

    keras.utils.set_random_seed(3)
    inp = keras.Input(SHAPE[1:], batch_size=1, name="image")
    y = layers.Conv2D(16, 3, padding="same", activation="relu")(inp)
    y = layers.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
    y = layers.Conv2D(8, 1)(y)
    y = layers.MaxPooling2D(2)(y)
    y = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(y)
    y = layers.GlobalAveragePooling2D()(y)
    model = keras.Model(inp, layers.Dense(3)(y))

    def data():  # type: ignore[no-untyped-def]
        rng = np.random.default_rng(0)
        for _ in range(16):
            yield [rng.uniform(-1, 1, SHAPE).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = data
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return bytes(conv.convert())  # (no inference_input_type: float32 I/O)


@pytest.fixture(scope="module")
def cnn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("float_io") / "cnn.tflite"
    path.write_bytes(_float_io_cnn())
    return path


def _plan(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    assert main(["plan", *args, "--json", "--no-tflm"]) == 0
    return json.loads(capsys.readouterr().out)


def test_plan_json_of_a_patched_plan(cnn: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from export.tflite_reader import read_tflite

    graph = read_tflite(cnn)
    assert graph.operators[0].op == "QUANTIZE" and graph.operators[-1].op == "DEQUANTIZE"
    doc = _plan(capsys, str(cnn), "--patches", "2")
    p = doc["patching"]
    assert doc["banding"] is None and p is not None
    assert p["grid"] == [2, 2] and p["tiles"] == 4 and p["segment_operators"] >= 2
    assert p["macs_computed"] > p["macs_original"] > 0
    assert p["recompute"] == round(p["macs_computed"] / p["macs_original"] - 1, 4) > 0
    assert p["pixels_computed"] >= p["pixels_original"] > 0 and p["copied_bytes"] > 0
    (inp,), (out,) = graph.inputs, graph.outputs
    assert [(c["index"], c["input"], c["output"], c["bytes"]) for c in doc["caller_tensors"]] \
        == sorted([(inp, 0, None, 32 * 32 * 3 * 4), (out, None, 0, 3 * 4)])
    areas = {t["index"]: (t["area"], t["offset"]) for t in doc["tensors"]}
    assert areas[inp] == ("caller", None) and areas[out] == ("caller", None)
    assert "input 0 (float32, 12,288 B) read from the caller's buffer by QUANTIZE, not in " \
           "the arena" in doc["notes"]
    whole = _plan(capsys, str(cnn), "--patches", "off")
    assert whole["patching"] is None and doc["peak_bytes"] < whole["peak_bytes"]
    assert main(["plan", str(cnn), "--no-tflm", "--patches", "2"]) == 0
    text = capsys.readouterr().out
    assert f"operators run in 2x2 tiles (recompute {100 * p['recompute']:.1f} %)" in text
    assert "caller's buffers      12,300 B" in text
    assert main(["plan", str(cnn), "--no-tflm", "--patches", "1"]) == 2


def test_infer_c_reads_and_writes_the_callers_buffers(cnn: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["codegen", str(cnn), "--out", str(tmp_path / "c")]) == 0
    assert "caller's buffers 12300 B (model_set_input / _set_output)" in capsys.readouterr().out
    header = (tmp_path / "c" / "model.h").read_text()
    assert "#define MODEL_INPUT0_FROM_CALLER 1" in header
    assert "#define MODEL_OUTPUT0_FROM_CALLER 1" in header
    assert "#define MODEL_CALLER_BYTES 12304u" in header
    _check_missing_buffers_fail(tmp_path / "c")
    rng = np.random.default_rng(11)
    for k in range(3):
        x = tmp_path / f"x{k}.npy"
        np.save(x, rng.uniform(-1.2, 1.2, SHAPE).astype(np.float32))
        outs = []
        for backend in ("c", "tflm"):
            y = tmp_path / f"y{k}_{backend}.npy"
            assert main(["infer", str(cnn), "--input", str(x), "--output", str(y),
                         "--backend", backend]) == 0
            outs.append(np.load(y))
        assert outs[0].dtype == np.float32 and outs[0].shape == (1, 3)
        assert outs[0].tobytes() == outs[1].tobytes(), f"sample {k}: {outs[0]} vs {outs[1]}"


MAIN = r"""
#include "model.h"
static float x[32 * 32 * 3];
static float y[3];
int main(void) {
  if (model_init() != 0 || model_input(0) != NULL || model_output(0) != NULL) return 1;
  if (model_invoke() != -1) return 2; /* operator 0, the QUANTIZE, has no input */
  if (model_set_input(0, x) != 0 || model_input(0) != (int8_t *)x) return 3;
  if (model_invoke() >= 0) return 4; /* the DEQUANTIZE has no output buffer */
  if (model_set_output(0, NULL) != -1 || model_set_output(1, y) != -1) return 5;
  if (model_set_output(0, y) != 0 || model_output(0) != (int8_t *)y) return 6;
  return model_invoke() == 0 ? 0 : 7;
}
"""


def _check_missing_buffers_fail(folder: Path) -> None:
    """The generated API: invoke fails while a caller buffer is missing, then runs."""
    import subprocess

    from export.codegen import KERNEL_DIR
    from export.host_runner import HOST_CFLAGS, kernel_library

    (folder / "main.c").write_text(MAIN)
    exe = folder / "api"
    subprocess.run(["gcc", *HOST_CFLAGS, f"-I{KERNEL_DIR}", f"-I{folder}", str(folder / "model.c"),
                    str(folder / "main.c"), str(kernel_library()), "-lm", "-o", str(exe)],
                   check=True)
    assert subprocess.run([str(exe)], check=False).returncode == 0
