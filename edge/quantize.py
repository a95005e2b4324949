"""The int8 quantisation of a keypoint frame, bit-exact with TFLite's QUANTIZE kernel.

TFLite's reference ``AffineQuantize`` computes, per value::

    q = clamp(round(float32(x) / float32(scale)) + zero_point, -128, 127)

with a float32 division and ``round`` = C's ``std::round`` (half away from zero, not numpy's
half-to-even). Shared by the host's keypoint sources (``firmware_bridge.sources``), the export's
calibration front end and the host reference decoding, so it lives at the bottom layer. This
module does the same: the division in float32, the rounding in float64
(``floor(|v| + 0.5)`` is exact there for every float32 ``v``, whereas in float32 ``0.49999997 +
0.5`` would round up to 1), then the clamp.
"""

from __future__ import annotations

import math

import numpy as np

from edge.errors import FoleyEdgeError
from edge.skeleton import N_CHANNELS, N_JOINTS

INT8_MIN, INT8_MAX = -128, 127


class QuantizeError(FoleyEdgeError, ValueError):
    """A frame, scale or zero point that cannot be quantised."""


def round_half_away(values: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, ties away from zero (C ``round``), as float64."""
    v = values.astype(np.float64)
    return np.copysign(np.floor(np.abs(v) + 0.5), v)


def quantize_frame(frame: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Quantise a float32 [65, 3] frame to int8 [65, 3] with ``scale`` and ``zero_point``."""
    expected = (N_JOINTS, N_CHANNELS)
    if not isinstance(frame, np.ndarray) or frame.shape != expected:
        found = list(getattr(frame, "shape", [])) or type(frame).__name__
        raise QuantizeError(f"quantize_frame: frame must have shape {list(expected)}, found {found}")
    if not np.issubdtype(frame.dtype, np.floating):
        raise QuantizeError(f"quantize_frame: frame must be floating point, found {frame.dtype}")
    if not (isinstance(scale, int | float | np.floating) and math.isfinite(scale) and scale > 0):
        raise QuantizeError(f"quantize_frame: scale must be a finite number > 0, found {scale!r}")
    if not (isinstance(zero_point, int | np.integer) and INT8_MIN <= zero_point <= INT8_MAX):
        raise QuantizeError(
            f"quantize_frame: zero_point must be an integer in {INT8_MIN}..{INT8_MAX}, "
            f"found {zero_point!r}"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = frame.astype(np.float32) / np.float32(scale)
    if not np.isfinite(scaled).all():
        raise QuantizeError(
            f"quantize_frame: frame holds {int((~np.isfinite(scaled)).sum())} values that are "
            f"NaN/inf or overflow float32 at scale {scale!r}"
        )
    q = round_half_away(scaled) + int(zero_point)
    return np.clip(q, INT8_MIN, INT8_MAX).astype(np.int8)
