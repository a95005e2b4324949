"""The export package's exception tree (rooted at :class:`edge.errors.FoleyEdgeError`)."""

from __future__ import annotations

from edge.errors import FoleyEdgeError


class ExportError(FoleyEdgeError, ValueError):
    """An export could not be produced or failed one of its self-checks."""


class UnsupportedOpError(ExportError):
    """A converted model holds an operator or dtype TFLite Micro or our code generator lacks."""


class TargetError(ExportError):
    """A self-check measured a value outside its target (int8 agreement, F1 drop, TFLM parity)."""
