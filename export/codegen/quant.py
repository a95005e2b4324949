"""Requantization constants, computed exactly as TFLite (Micro) computes them.

Scales in a .tflite are float32; TFLite widens them to double before dividing, except where
noted. :func:`quantize_multiplier` is TFLite's ``QuantizeMultiplier`` (frexp, round half away
from zero to Q0.31, renormalise 2^31, flush shifts below -31 to zero).
"""

from __future__ import annotations

import math

import numpy as np

from export.ir import Quantization, Tensor

INT8_MIN, INT8_MAX = -128, 127


def round_half_away(x: float) -> int:
    """``std::round``: nearest integer, ties away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(Q0.31 multiplier, power-of-two shift) with real ~= multiplier * 2^(shift - 31)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def quant_of(t: Tensor, where: str) -> Quantization:
    """The tensor's quantization, or a clear error naming it."""
    from export.codegen import CodegenError

    if t.quant is None:
        raise CodegenError(f"{where}: tensor {t.index} '{t.name}' has no quantization "
                           f"(expected an int8 affine-quantized tensor)")
    return t.quant


def scale_zp(t: Tensor, where: str) -> tuple[float, int]:
    """Per-tensor (scale, zero point) of ``t``."""
    q = quant_of(t, where)
    return float(q.scale[0]), int(q.zero_point[0])


def activation_range(act: str, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite's ``CalculateActivationRangeQuantized`` for int8 (f / scale in float32)."""
    def quantize(f: float) -> int:
        with np.errstate(over="ignore"):  # a tiny scale: f / scale is inf in float32
            q = float(np.float32(f) / np.float32(scale))
        return zero_point + round_half_away(min(max(q, -2.0**31), 2.0**31))  # inf: no bound

    if act == "RELU":
        return max(INT8_MIN, quantize(0.0)), INT8_MAX
    if act == "RELU6":
        return max(INT8_MIN, quantize(0.0)), min(INT8_MAX, quantize(6.0))
    if act == "RELU_N1_TO_1":
        return max(INT8_MIN, quantize(-1.0)), min(INT8_MAX, quantize(1.0))
    return INT8_MIN, INT8_MAX


def float_literal(x: float | np.floating) -> str:
    """An exact C float literal (hexadecimal) for a float32 value."""
    v = float(np.float32(x))
    if v == 0.0:
        return "0.0f"
    return f"{v.hex()}f"
