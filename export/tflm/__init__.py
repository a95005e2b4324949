"""TensorFlow Lite Micro side of the export: arena measurement, offline memory plan, bundle, and
the generated-C model API over a TFLM interpreter (runtime.py, for `--runtime tflm` and the bench)."""

from __future__ import annotations

from edge.errors import FoleyEdgeError


class TflmError(FoleyEdgeError, RuntimeError):
    """tflite-micro refused a model, or its output could not be understood."""
