"""`foley-edge bench MODEL.tflite ... --board B`: any int8 model a user brings, side by side with
TFLite Micro + CMSIS-NN on the board (issue #15). Two tiny models made here from stock Keras
layers: one we compile, one we cannot (RESIZE_BILINEAR has no kernel of ours yet): its error is
reported and the peer's row is still there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.firmware]


def _int8(model, shape: tuple[int, ...], path: Path) -> Path:  # noqa: ANN001 - keras.Model
    import tensorflow as tf

    def samples():  # noqa: ANN202
        rng = np.random.default_rng(0)
        for _ in range(8):
            yield [rng.standard_normal((1, *shape)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = samples
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    path.write_bytes(conv.convert())
    return path


def test_bench_user_models_on_qemu_m7(tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    from firmware_bridge.tflm.sources import peer_missing

    if (why := peer_missing()) is not None:
        pytest.skip(why)
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm not installed (make setup)")
    from foley_edge.cli import main

    layers = tf.keras.layers
    x = inp = tf.keras.Input((12, 12, 4))
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = layers.Conv2D(8, 1)(x)
    x = layers.GlobalAveragePooling2D()(x)
    net = _int8(tf.keras.Model(inp, layers.Dense(5)(x)), (12, 12, 4), tmp_path / "dwnet.tflite")
    y = inp2 = tf.keras.Input((6, 6, 3))
    y = layers.Conv2D(4, 3, padding="same")(y)
    y = layers.Resizing(12, 12, interpolation="bilinear")(y)
    up = _int8(tf.keras.Model(inp2, y), (6, 6, 3), tmp_path / "upnet.tflite")

    out = tmp_path / "bench"
    assert main(["bench", str(net), str(up), "--board", "qemu-m7", "--no-host",
                 "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    rows = {(r["model"], r["runtime"]): r for r in res["rows"]}
    assert set(rows) == {("dwnet", "foley-edge"), ("dwnet", "tflm-cmsis-nn"),
                         ("upnet", "tflm-cmsis-nn")}
    for r in rows.values():
        assert r["board"] == "qemu-m7"
        assert r["instructions"] > 0 and r["sram_bytes"] > 0 and r["flash_bytes"] > 0
    assert any("upnet" in u["what"] and "RESIZE_BILINEAR" in u["reason"]
               for u in res["unavailable"])
    peer = next(p for p in res["peer"] if p["model"] == "dwnet")
    assert {o["op"] for o in peer["ops"]} >= {"DEPTHWISE_CONV_2D", "CONV_2D", "MEAN"}
    md = (out / "results.md").read_text()
    assert "| dwnet | qemu-m7 |" in md and "| upnet | qemu-m7 | — |" in md
    assert (out / "board_ops_vs_tflm_dwnet.png").stat().st_size > 1000
