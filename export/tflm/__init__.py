"""TensorFlow Lite Micro side of the export: arena measurement, offline memory plan, bundle."""

from __future__ import annotations

from edge.errors import FoleyEdgeError


class TflmError(FoleyEdgeError, RuntimeError):
    """tflite-micro refused a model, or its output could not be understood."""
