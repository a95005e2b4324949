"""Pooling and data-movement kernels on the emulated boards against naive C.

The host tests prove the generated C bit-exact against tflite-micro on x86; the DSP (Cortex-M4/
M7) and Helium (Cortex-M55) paths of ``fe_max_pool`` / ``fe_avg_pool`` (pooling.c) and of
``fe_copy_nd`` (copy.c, fe_copy_mve.h: TRANSPOSE, CONCATENATION, slices) only run on a board.
A bare-metal image (firmware startup + semihosting exit + the two kernel files +
``c/kernel_board_copy_cases.c``) runs under QEMU and compares them with naive loops on random
data, including outputs slid below their input by the planner's smallest safe shift; QEMU's
exit status is the number of mismatching cases.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from board_image import build_image, needs_arm, run_image

CASES = Path(__file__).resolve().parent / "c" / "kernel_board_copy_cases.c"
KERNELS = ("pooling", "copy")

pytestmark = needs_arm


@pytest.mark.parametrize(("board_name", "portable"), [("qemu-m4", False), ("qemu-m7", False),
                                                      ("qemu-m7", True), ("qemu-m55", False)])
def test_pool_transpose_concat_equal_naive_on_board(tmp_path: Path, board_name: str,
                                                    portable: bool) -> None:
    out = run_image(board_name, build_image(board_name, tmp_path, CASES, KERNELS, portable=portable))
    assert "copy board cases: all equal" in out, out[-400:]
