"""Scaling figure: memory and instructions over a sweep of generated student sizes.

Each axis varies one field of the default :class:`edge.model.config.StudentConfig` and keeps
the rest: decoder width (``d_model``), depth (``layers``), context (``max_tokens``: the KV
cache length) and encoder window (``window_frames``). The decoder axes measure the decoder
step, the window axis the encoder. Every point is a real int8 model (untrained weights: sizes
and operators are what matter), planned, measured in tflite-micro, and run on the emulated M7.
A point crosses the reference budget when its SRAM (planned peak + persistent) or model flash
exceeds the STM32F746's, or when its real-time factor at 216 MHz exceeds 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

AXES: dict[str, tuple[str, tuple[int, ...]]] = {
    "d_model": ("step", (32, 64, 128)),
    "layers": ("step", (1, 2, 4)),
    "max_tokens": ("step", (32, 64, 128)),
    "window_frames": ("encoder", (22, 44, 88)),
}
"""Axis -> (model role it changes, values swept)."""

QUICK_AXES: dict[str, tuple[str, tuple[int, ...]]] = {"d_model": ("step", (16, 32))}
"""A two-point sweep for the smoke run."""


@dataclass(frozen=True)
class ScalingPoint:
    """One student size on one axis."""

    axis: str  # the StudentConfig field varied
    value: int  # its value at this point
    role: str  # "step" or "encoder"
    planned_peak_bytes: int  # our arena
    persistent_bytes: int  # our persistent area
    tflm_total_bytes: int  # tflite-micro's arena
    model_flash_bytes: int  # generated model + kernels on the M7
    instructions: int  # one invoke on the emulated M7 (0 when not run)
    realtime_factor: float  # at 216 MHz: step x tokens/s, or encoder / hop seconds (0: not run)
    over_budget: tuple[str, ...]  # "sram", "flash", "time" where the point crosses the budget


def sweep_configs(axes: dict[str, tuple[str, tuple[int, ...]]],
                  base: Any = None) -> list[tuple[str, int, str, Any]]:
    """(axis, value, role, config) for every point of ``axes`` around ``base``."""
    from edge.model.config import StudentConfig

    base = base or StudentConfig()
    return [(axis, v, role, replace(base, **{axis: v}))
            for axis, (role, values) in axes.items() for v in values]


def scaling_point(axis: str, value: int, role: str, *, peak: int, persistent: int, tflm: int,
                  flash: int, instructions: int, rtf: float, sram_budget: int,
                  flash_budget: int) -> ScalingPoint:
    """A :class:`ScalingPoint` with its budget crossings."""
    over = tuple(name for name, bad in (("sram", peak + persistent > sram_budget),
                                        ("flash", flash > flash_budget), ("time", rtf > 1.0))
                 if bad)
    return ScalingPoint(axis, value, role, peak, persistent, tflm, flash, instructions, rtf, over)
