"""A tiny student converts to full int8 TFLite with TFLM-only ops and runs in tflite-micro."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
runtime = pytest.importorskip("tflite_micro").runtime

from edge.model.build import build_models  # noqa: E402
from edge.model.config import StudentConfig  # noqa: E402
from edge.model.kv import empty_cache, step_inputs  # noqa: E402

TFLM_OPS = {
    "FULLY_CONNECTED", "BATCH_MATMUL", "SOFTMAX", "GATHER", "MEAN", "RSQRT",
    "SQUARED_DIFFERENCE", "ADD", "SUB", "MUL", "RESHAPE", "TRANSPOSE", "STRIDED_SLICE",
    "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D",
}  # fmt: skip
CFG = StudentConfig(
    window_frames=12, hop_frames=6, gcn_channels=(6, 8), gcn_strides=(2, 1), d_model=16,
    heads=2, layers=1, ffn=24, max_tokens=8, joint_groups=2,
)


def _int8(model, samples: list[dict[str, np.ndarray]]) -> bytes:
    import tf_keras  # noqa: F401  (registers the Keras call context from_keras_model needs)

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: iter(samples)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def _ops(flat: bytes) -> set[str]:
    from ai_edge_litert.interpreter import Interpreter

    return {d["op_name"] for d in Interpreter(model_content=flat)._get_ops_details()}


def _run_tflm(flat: bytes, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Quantize ``feeds`` by name, invoke tflite-micro, dequantize every output by name."""
    from ai_edge_litert.interpreter import Interpreter

    ref = Interpreter(model_content=flat)
    ip = runtime.Interpreter.from_bytes(flat, arena_size=400_000)
    for i, d in enumerate(ref.get_input_details()):
        x = feeds[d["name"].split("serving_default_")[-1].split(":")[0]]
        s, z = d["quantization"]
        if d["dtype"] == np.int8:
            x = np.clip(np.round(x / s + z), -128, 127)
        ip.set_input(x.astype(d["dtype"]), i)
    ip.invoke()
    out = {}
    for i, d in enumerate(ref.get_output_details()):
        s, z = d["quantization"]
        out[d["name"]] = (ip.get_output(i).astype(np.float32) - z) * s
    return out


def test_tiny_student_converts_to_int8_and_runs_in_tflite_micro() -> None:
    rng = np.random.default_rng(0)
    free = build_models(CFG)
    fixed = build_models(CFG, batch_size=1)
    fixed.train.set_weights(free.train.get_weights())
    kps = [rng.random((1, CFG.window_frames, 65, 3), np.float32) for _ in range(6)]
    enc = _int8(fixed.encoder, [{"keypoints": k} for k in kps])
    assert _ops(enc) <= TFLM_OPS
    cross = {k: np.asarray(v) for k, v in fixed.encoder(kps[0]).items()}
    steps = []
    for p in range(CFG.max_tokens):
        cache = empty_cache(CFG, 1)
        for v in cache.values():
            v[:, :p] = rng.normal(0, 1, v[:, :p].shape)
        steps.append(step_inputs(CFG, rng.integers(0, 240, 1), p, cache, cross, np.array([p * 16_000])))
    step = _int8(fixed.step, steps)
    assert _ops(step) <= TFLM_OPS and "GATHER" in _ops(step)

    got = _run_tflm(enc, {"keypoints": kps[0]})
    assert len(got) == len(cross) == 2 * CFG.layers
    for v in got.values():  # output names are not Keras's: match each to its best float twin
        best = max(np.corrcoef(v.ravel(), w.ravel())[0, 1] for w in cross.values())
        assert best > 0.9
    feeds = steps[3]
    ref_logits = np.asarray(fixed.step(feeds)["logits"])[0]
    q = _run_tflm(step, feeds)
    logits = next(v for v in q.values() if v.size == 243).ravel()
    assert np.corrcoef(logits, ref_logits)[0, 1] > 0.9
