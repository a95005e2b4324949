"""The encoder's keypoint front end is exact int8 arithmetic after the export (export.int8.front)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tflite_micro")

from test_int8_tiny import CFG, tiny_export  # noqa: E402

from export.int8.convert import convert_int8  # noqa: E402
from export.int8.errors import ExportError  # noqa: E402
from export.int8.flat import op_name, unpack  # noqa: E402
from export.int8.front import exact_keypoint_front  # noqa: E402


def _quant(t) -> tuple[float, int]:  # noqa: ANN001 - a flatbuffer TensorT
    return float(t.quantization.scale[0]), int(t.quantization.zeroPoint[0])


def _features(flat: bytes, codes: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The (dequantized) motion features the first graph convolution reads, their scale and
    the scale of the confidence product that gates the velocities."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    model = unpack(flat)
    sg = model.subgraphs[0]
    cat = next(op for op in sg.operators if op_name(model, op) == "CONCATENATION")
    out = int(cat.outputs[0])
    gate = next(op for op in sg.operators if op_name(model, op) == "MUL"
                and int(op.outputs[0]) in [int(i) for i in cat.inputs])
    conf_scale = max(_quant(sg.tensors[int(i)])[0] for i in gate.inputs)
    interp = Interpreter(model_content=flat, experimental_preserve_all_tensors=True,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], codes)
    interp.invoke()
    scale, zp = _quant(sg.tensors[out])
    return (interp.get_tensor(out).astype(np.float64) - zp) * scale, scale, conf_scale


def test_velocities_are_exact_functions_of_the_input_codes(tmp_path_factory: pytest.TempPathFactory) -> None:
    _, out = tiny_export(tmp_path_factory.getbasetemp())
    flat = (out / "encoder.tflite").read_bytes()
    s, z = _quant(unpack(flat).subgraphs[0].tensors[0])
    rng = np.random.default_rng(3)
    codes = rng.integers(-128, 128, (1, CFG.window_frames, 65, 3)).astype(np.int8)
    # mostly small moves (the ones the calibrated scales used to round away), some large
    codes[0, 1:, :, :2] = np.clip(codes[0, :1, :, :2] + np.cumsum(
        rng.integers(-2, 3, (CFG.window_frames - 1, 65, 2)), axis=0), -128, 127)
    feats, step, conf_step = _features(flat, codes)
    x = (codes.astype(np.float64) - z) * s
    conf = x[0, 1:, :, 2:3] * x[0, :-1, :, 2:3]
    vel = np.clip(CFG.motion_gain * 2.0 * (x[0, 1:, :, :2] - x[0, :-1, :, :2]), -1, 1)
    want = vel * conf
    err = np.abs(feats[0, ..., 2:] - want)
    # exact up to two roundings: the confidence product's and the gated velocity's (|v| <= 1)
    bound = 0.5 * step + 0.5 * conf_step * np.abs(vel)
    assert np.all(err <= bound + 1e-6), f"velocity off by {err.max() / step:.2f} steps"
    pos = feats[0, ..., :2] - (2.0 * x[0, 1:, :, :2] - 1.0)
    assert np.ptp(pos) <= step + 1e-6, "positions must keep the input's lattice (a constant offset)"


def test_a_difference_without_its_clipped_gain_is_refused(tmp_path: Path) -> None:
    import keras

    kp = keras.Input((4, 65, 3), 1, name="keypoints")
    d = kp[:, 1:, :, :2] - kp[:, :-1, :, :2]
    model = keras.Model(kp, keras.layers.Dense(3, name="head")(d))
    rng = np.random.default_rng(0)
    flat = convert_int8(model, [{"keypoints": rng.uniform(0, 1, (1, 4, 65, 3)).astype(np.float32)}
                                for _ in range(4)], name="front.tflite")
    with pytest.raises(ExportError, match=r"front.tflite: keypoint front end: the frame difference "
                       r"\(tensor \d+\) must feed exactly one MUL by a constant gain"):
        exact_keypoint_front(flat, where="front.tflite")


def test_a_model_without_motion_features_passes_unchanged() -> None:
    import keras

    kp = keras.Input((4, 65, 3), 1, name="keypoints")
    model = keras.Model(kp, keras.layers.Dense(3, name="head")(kp * 2.0 - 1.0))
    rng = np.random.default_rng(0)
    flat = convert_int8(model, [{"keypoints": rng.uniform(0, 1, (1, 4, 65, 3)).astype(np.float32)}
                                for _ in range(4)], name="plain.tflite")
    assert exact_keypoint_front(flat, where="plain.tflite") == flat
