"""CONV_2D's Helium gathered-window family (``fe_conv_mve.h``) on the emulated boards.

``c/kernel_board_conv_mve_cases.c`` runs fe_conv2d on windows of 1..49 values (3x3 stride 2
padded after only, dilation 2, 1x3 / 3x1 / 2x2 / 4x4, 1x1 over 8-33 channels), input offsets 0, 1,
128 and -127, 1..17 output channels, with and without bias, and outputs slid below their input
as closely as raster order allows, against a naive loop with TFLite's requantization. On
qemu-m55 those calls take the Helium gather path; qemu-m55 with ``-DFE_KERNELS_PORTABLE`` and
qemu-m7 run the same cases on the portable and DSP paths. QEMU's exit status is the image's
mismatch count (0 or 1).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from board_image import build_image, needs_arm, run_image

CASES = Path(__file__).resolve().parent / "c" / "kernel_board_conv_mve_cases.c"
KERNELS = ("conv2d", "dot", "fixedpoint")

pytestmark = needs_arm


@pytest.mark.parametrize(("board_name", "portable"), [("qemu-m55", False), ("qemu-m55", True),
                                                      ("qemu-m7", False)])
def test_conv_gather_equal_naive_on_board(tmp_path: Path, board_name: str,
                                          portable: bool) -> None:
    out = run_image(board_name, build_image(board_name, tmp_path, CASES, KERNELS, portable=portable),
                    timeout=120)
    assert "conv mve board cases: all equal" in out, out[-400:]
