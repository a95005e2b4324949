"""quantize_frame against LiteRT's reference QUANTIZE kernel (the oracle), bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.sources import quantize_frame

tf = pytest.importorskip("tensorflow")
litert = pytest.importorskip("ai_edge_litert.interpreter")


def _model_with_an_input_quantize() -> bytes:
    """A float-input int8 model (Dense on the frame): its first op QUANTIZEs the frame."""
    inp = tf.keras.Input((65, 3), batch_size=1)
    model = tf.keras.Model(inp, tf.keras.layers.Dense(2)(inp))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    rng = np.random.default_rng(0)
    converter.representative_dataset = lambda: (
        [rng.uniform(-0.3, 1.1, (1, 65, 3)).astype(np.float32)] for _ in range(8)
    )
    return converter.convert()


def test_quantize_frame_matches_litert_reference_quantize_bit_for_bit() -> None:
    interpreter = litert.Interpreter(
        model_content=_model_with_an_input_quantize(),
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    quantized = [
        t
        for t in interpreter.get_tensor_details()
        if t["dtype"] == np.int8 and list(t["shape"]) == [1, 65, 3]
    ]
    assert len(quantized) == 1, [t["name"] for t in quantized]
    scale, zero_point = quantized[0]["quantization"]
    assert scale > 0
    rng = np.random.default_rng(7)
    frames = [rng.uniform(-1.0, 2.0, (65, 3)).astype(np.float32) for _ in range(20)]
    # values on and next to rounding ties, and beyond the int8 range on both sides
    k = np.arange(-140, 141, dtype=np.float32).repeat(2)[: 65 * 3] - zero_point
    ties = (k + np.float32(0.5)) * np.float32(scale)
    frames.append(ties.reshape(65, 3).astype(np.float32))
    frames.append(np.nextafter(ties, np.float32(0)).reshape(65, 3).astype(np.float32))
    input_index = interpreter.get_input_details()[0]["index"]
    for frame in frames:
        interpreter.set_tensor(input_index, frame[None])
        interpreter.invoke()
        expected = interpreter.get_tensor(quantized[0]["index"])[0]
        np.testing.assert_array_equal(quantize_frame(frame, scale, zero_point), expected)
