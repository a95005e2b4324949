"""The int8 quantisation of a keypoint frame for the board (:mod:`edge.quantize`, bit-exact with
TFLite's QUANTIZE kernel), with its errors reported as a keypoint source's."""

from __future__ import annotations

import numpy as np

from edge.quantize import QuantizeError, round_half_away
from edge.quantize import quantize_frame as _quantize_frame
from firmware_bridge.errors import SourceError

__all__ = ["quantize_frame", "round_half_away"]


def quantize_frame(frame: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Quantise a float32 [65, 3] frame to int8 [65, 3]; :class:`SourceError` on bad input."""
    try:
        return _quantize_frame(frame, scale, zero_point)
    except QuantizeError as e:
        raise SourceError(str(e)) from e
