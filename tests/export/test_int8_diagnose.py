"""export.int8.diagnose finds the tensor whose int8 scale throws the signal away."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from export.int8.convert import convert_int8  # noqa: E402
from export.int8.diagnose import TensorError, diagnose, markdown  # noqa: E402


def test_the_badly_scaled_tensor_has_the_largest_jump() -> None:
    import keras

    keras.utils.set_random_seed(0)
    x = keras.Input((16,), 1, name="x")
    h = keras.layers.Dense(32, name="wide")(x)
    # a spike only one calibration sample triggers: it sets the sum's int8 range ~100x too wide
    # (the converter may fold the ADD into the FULLY_CONNECTED before it)
    spike = 500.0 * keras.ops.relu(x[:, :1] - 4.0)
    y = keras.layers.Dense(8, name="head")(keras.ops.relu(h + spike))
    model = keras.Model(x, y)
    rng = np.random.default_rng(0)
    normal = [{"x": np.clip(rng.normal(0, 1, (1, 16)), -3, 3).astype(np.float32)} for _ in range(16)]
    spiky = {"x": np.full((1, 16), 2.0, np.float32)}
    spiky["x"][0, 0] = 10.0
    flat = convert_int8(model, [*normal, spiky], name="diag.tflite")
    rows = diagnose(model, flat, normal)
    assert rows and all(np.isfinite(r.rel_rms) for r in rows)
    worst = max((r for r in rows if np.isfinite(r.jump)), key=lambda r: r.jump)
    # the culprit: its int8 range (set by the spike) dwarfs what normal inputs put in it
    assert worst.rel_rms > 0.05 and worst.jump > 5.0, worst
    assert 127 * worst.scale > 10 * worst.float_max, worst
    assert "head" not in worst.tensor
    table = "\n".join(markdown("diag.tflite", rows))
    assert "| rel. rms error | jump |" in table and worst.tensor[-60:] in table


def test_rows_carry_what_the_table_shows() -> None:
    r = TensorError(op=3, op_name="ADD", tensor="a/b", rel_rms=0.25, jump=5.0, scale=0.01,
                    float_max=2.0)
    lines = markdown("m", [r])
    assert lines[-1] == "| 3 | ADD | `a/b` | 0.250 | 5.0× | 0.01 | 2 |"
