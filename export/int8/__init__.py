"""Full-integer int8 export of a trained encoder/decoder-step pair, with its self-checks.

Stages (each a module): :mod:`calibration` (real activations: keypoint windows and
teacher-forced decoder states) -> :mod:`convert` (TFLiteConverter, int8 in/out, per-channel
weights) -> :mod:`pin` (make fed-back / passed-on tensors share one quantization) ->
:mod:`gate` (refuse ops or dtypes TFLite Micro or our code generator cannot run) ->
:mod:`checks` (int8 vs float, LiteRT vs TFLM) -> :mod:`report` (report.json + report.md).
:func:`export.int8.pipeline.export_run` ties them together for ``foley-edge export``.
"""

from export.int8.errors import ExportError, TargetError, UnsupportedOpError

__all__ = ["ExportError", "TargetError", "UnsupportedOpError"]
