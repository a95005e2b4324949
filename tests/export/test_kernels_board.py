"""Kernels on the emulated boards: the ACLE SIMD paths (Cortex-M DSP) against naive C.

The host tests prove the generated C bit-exact against tflite-micro on x86, where the kernels
take the SSE2 or portable path; the Cortex-M SIMD paths only run on a board. Here a bare-metal
image (firmware startup + semihosting exit + the kernels + ``c/kernel_board_cases.c``) runs under
QEMU and compares fe_fully_connected and fe_conv2d (2x2 and 4x1 blocked SMLAD loops, pixel
pairs, their tails) and fe_depthwise_conv2d / fe_depthwise_conv2d_inplace (quad passes, raster
order under a slid output, in-place rings, tails and fallbacks) with naive loops; QEMU's exit
status is the image's mismatch count (0 or 1). On qemu-m55 (Cortex-M55) FULLY_CONNECTED,
CONV_2D and DEPTHWISE_CONV_2D with 16 channels or more take the Helium (MVE) paths; ``c/kernel_board_gemm_cases.c`` adds FULLY_CONNECTED,
BATCH_MATMUL and CONV_2D cases aimed at them (16-lane tails, offset 128, im2col limits, slid
pointwise outputs) and ``c/kernel_board_eltwise_cases.c`` ADD / SUB / MUL rows (4-lane tails,
broadcasts, in place); both run on qemu-m55, qemu-m55 with -DFE_KERNELS_PORTABLE and qemu-m7.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from board_image import build_image, needs_arm, run_image

from export.codegen import KERNEL_DIR

CASES = Path(__file__).resolve().parent / "c" / "kernel_board_cases.c"
GEMM_CASES = Path(__file__).resolve().parent / "c" / "kernel_board_gemm_cases.c"
ELTWISE_CASES = Path(__file__).resolve().parent / "c" / "kernel_board_eltwise_cases.c"

pytestmark = needs_arm
KERNELS = ("fully_connected", "conv2d", "depthwise_conv2d", "dot", "batch_matmul", "add", "mul",
           "quantize")


@pytest.mark.parametrize(("board_name", "portable"), [("qemu-m4", False), ("qemu-m7", False),
                                                      ("qemu-m7", True), ("qemu-m55", False)])
def test_fc_conv_depthwise_simd_equal_naive_on_board(tmp_path: Path, board_name: str,
                                                    portable: bool) -> None:
    out = run_image(board_name, build_image(board_name, tmp_path, CASES, KERNELS, portable=portable),
                    timeout=120)
    assert "kernel board cases: all equal" in out, out[-400:]


@pytest.mark.parametrize(("board_name", "portable"), [("qemu-m55", False), ("qemu-m55", True),
                                                      ("qemu-m7", False)])
@pytest.mark.parametrize(("cases", "family"), [(GEMM_CASES, "gemm"), (ELTWISE_CASES, "eltwise")])
def test_mve_families_equal_naive_on_board(tmp_path: Path, board_name: str, portable: bool,
                                           cases: Path, family: str) -> None:
    out = run_image(board_name, build_image(board_name, tmp_path, cases, KERNELS, portable=portable),
                    timeout=120)
    assert f"{family} board cases: all equal" in out, out[-400:]


@pytest.mark.parametrize("defines", [(), ("-DFE_KERNELS_PORTABLE",)])
def test_mve_switch_selects_path(tmp_path: Path, defines: tuple[str, ...]) -> None:
    """On the M55 FULLY_CONNECTED compiles to Helium (VMLADAV); -DFE_KERNELS_PORTABLE: none."""
    from firmware_bridge.boards.registry import get_board

    asm = tmp_path / "fully_connected.s"
    subprocess.run(["arm-none-eabi-gcc", *get_board("qemu-m55").cpu_flags, "-std=c99", "-O2",
                    *defines, f"-I{KERNEL_DIR}", "-S", str(KERNEL_DIR / "fully_connected.c"),
                    "-o", str(asm)], check=True, capture_output=True)
    assert ("vmladava" in asm.read_text()) == (not defines)
