"""Flash figure: generated model code + weights per board vs the .tflite and a TFLM estimate.

Ours is measured: the generated model and the kernels it calls, linked alone with
``--gc-sections`` for the board (:func:`benchmarks.toolchain.model_size`), text + rodata +
data from ``arm-none-eabi-size``. The firmware around it (board layer, protocol, loop) is the
no-model firmware's flash from ``build_firmware`` (its size.json); their sum is what a firmware
with the model will need, until the model is linked into the firmware itself.

TFLM is an ESTIMATE (no TFLM build for Cortex-M exists in this environment): the .tflite
flatbuffer (which TFLM reads in place from flash) + :data:`TFLM_RUNTIME_BYTES` for the
interpreter, allocator and flatbuffer reader + :data:`TFLM_KERNEL_BYTES` per distinct operator
type registered in a MicroMutableOpResolver. Public figures put the TFLM runtime at about
20-50 KB of flash depending on the operators registered; the constants sit at the low end, so
the estimate favours TFLM.
"""

from __future__ import annotations

from dataclasses import dataclass

TFLM_RUNTIME_BYTES = 20 * 1024
"""Estimated flash of TFLM's interpreter core (low end of the public 20-50 KB range)."""

TFLM_KERNEL_BYTES = 2 * 1024
"""Estimated flash of one TFLM reference kernel (per distinct operator type)."""


@dataclass(frozen=True)
class FlashRow:
    """Flash of one model on one board."""

    model: str  # bench model name
    board: str  # board name
    code_bytes: int  # text of the generated model + used kernels (+ the libc they call)
    const_bytes: int  # rodata + data: weights, biases, operator parameters
    model_flash_bytes: int  # code + const
    tflite_bytes: int  # the .tflite file
    tflm_estimate_bytes: int  # .tflite + TFLM runtime + kernels (an estimate, see module doc)
    firmware_base_bytes: int  # the no-model firmware's flash on this board (0: not built)
    firmware_total_bytes: int  # base + model (0 when the base is unknown)
    ratio_vs_tflite: float  # model_flash / tflite
    ratio_vs_tflm_estimate: float  # model_flash / tflm_estimate


def tflm_flash_estimate(tflite_bytes: int, op_types: int) -> int:
    """The TFLM estimate of the module docstring."""
    return tflite_bytes + TFLM_RUNTIME_BYTES + TFLM_KERNEL_BYTES * op_types


def flash_row(model: str, board: str, size: object, tflite_bytes: int, op_types: int,
              firmware_base: int) -> FlashRow:
    """The flash figure of one model on one board (``size``: a toolchain ImageSize)."""
    code = size.text_bytes  # type: ignore[attr-defined]
    const = size.rodata_bytes + size.data_bytes  # type: ignore[attr-defined]
    est = tflm_flash_estimate(tflite_bytes, op_types)
    return FlashRow(model=model, board=board, code_bytes=code, const_bytes=const,
                    model_flash_bytes=code + const, tflite_bytes=tflite_bytes,
                    tflm_estimate_bytes=est, firmware_base_bytes=firmware_base,
                    firmware_total_bytes=firmware_base + code + const if firmware_base else 0,
                    ratio_vs_tflite=round((code + const) / tflite_bytes, 4),
                    ratio_vs_tflm_estimate=round((code + const) / est, 4))


def firmware_base_flash(board: str, work: object) -> int:
    """Flash of the no-model firmware on ``board`` (build_firmware's size report)."""
    from firmware_bridge.build import build_firmware

    return build_firmware(board, out_dir=work).size.flash_bytes  # type: ignore[arg-type]
