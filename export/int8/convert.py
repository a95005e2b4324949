"""Full-integer int8 conversion of a functional Keras model with a real representative dataset.

int8 inputs and outputs (int32 id inputs stay int32), int8 weights with per-channel scales
(the converter's default for FULLY_CONNECTED and CONV_2D), int32 biases, builtin int8 ops only.
The representative dataset yields dicts keyed by input name (a multi-input model's order is
not the converter's).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from export.int8.errors import ExportError


def _full_int8(conv: Any, samples: Sequence[dict[str, np.ndarray]], *, name: str) -> bytes:
    """Configure ``conv`` for full-integer int8 (int8 in/out), calibrate on ``samples``, convert."""
    import tensorflow as tf

    if not samples:
        raise ExportError(f"{name}: no calibration samples (expected >= 1 representative input)")
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: iter(samples)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return bytes(conv.convert())
    except Exception as e:  # noqa: BLE001 - the converter raises ConverterError, RuntimeError, ...
        raise ExportError(f"{name}: int8 conversion failed: {type(e).__name__}: {e}") from e


def convert_int8(model: Any, samples: Sequence[dict[str, np.ndarray]], *, name: str) -> bytes:
    """The .tflite bytes of ``model`` (Keras 3 or tf_keras, static batch 1) calibrated on ``samples``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import tf_keras  # noqa: F401  (registers the call context from_keras_model needs for Keras 3)

    return _full_int8(tf.lite.TFLiteConverter.from_keras_model(model), samples, name=name)


def convert_saved_model_int8(folder: str, samples: Sequence[dict[str, np.ndarray]], *,
                             name: str) -> bytes:
    """Like :func:`convert_int8` for a SavedModel folder (the ONNX import path)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return _full_int8(tf.lite.TFLiteConverter.from_saved_model(folder), samples, name=name)
