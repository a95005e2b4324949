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

import shutil
import subprocess
from pathlib import Path

import pytest

from export.codegen import KERNEL_DIR

CASES = Path(__file__).resolve().parent / "c" / "kernel_board_cases.c"
GEMM_CASES = Path(__file__).resolve().parent / "c" / "kernel_board_gemm_cases.c"
ELTWISE_CASES = Path(__file__).resolve().parent / "c" / "kernel_board_eltwise_cases.c"

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="arm-none-eabi-gcc or qemu-system-arm missing (make setup installs them)")


def _image(board_name: str, tmp: Path, *, portable: bool, cases: Path = CASES) -> Path:
    from firmware_bridge.boards.registry import FIRMWARE_DIR, get_board
    from firmware_bridge.build import LINK_FLAGS

    board = get_board(board_name)
    common = FIRMWARE_DIR / "common"
    srcs = [common / "startup.c", common / "semihost.c", *(FIRMWARE_DIR / s for s in board.sources),
            cases, *(KERNEL_DIR / f"{k}.c" for k in ("fully_connected", "conv2d", "depthwise_conv2d",
                                                     "dot", "batch_matmul", "add", "mul", "quantize"))]
    flags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections",
             *(["-DFE_KERNELS_PORTABLE"] if portable else [])]
    elf = tmp / f"{board_name}-{cases.stem}.elf"
    subprocess.run(["arm-none-eabi-gcc", *board.cpu_flags, *flags, *LINK_FLAGS,
                    f"-I{KERNEL_DIR}", f"-I{common}", f"-I{FIRMWARE_DIR}", f"-I{board.board_dir}",
                    f"-L{board.board_dir}", f"-L{common}", "-T", "linker.ld",
                    f"-Wl,--defsym=__stack_size={board.stack_size}", *map(str, srcs), "-o",
                    str(elf)], check=True, capture_output=True, text=True)
    return elf


def _run(board_name: str, elf: Path) -> str:
    from firmware_bridge.boards.registry import get_board

    proc = subprocess.run(["qemu-system-arm", "-machine", get_board(board_name).qemu_machine,
                           "-display", "none", "-monitor", "none", "-serial", "null",
                           "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-400:]
    return proc.stdout + proc.stderr


@pytest.mark.parametrize(("board_name", "portable"), [("qemu-m4", False), ("qemu-m7", False),
                                                      ("qemu-m7", True), ("qemu-m55", False)])
def test_fc_conv_depthwise_simd_equal_naive_on_board(tmp_path: Path, board_name: str,
                                                    portable: bool) -> None:
    out = _run(board_name, _image(board_name, tmp_path, portable=portable))
    assert "kernel board cases: all equal" in out, out[-400:]


@pytest.mark.parametrize(("board_name", "portable"), [("qemu-m55", False), ("qemu-m55", True),
                                                      ("qemu-m7", False)])
@pytest.mark.parametrize(("cases", "family"), [(GEMM_CASES, "gemm"), (ELTWISE_CASES, "eltwise")])
def test_mve_families_equal_naive_on_board(tmp_path: Path, board_name: str, portable: bool,
                                           cases: Path, family: str) -> None:
    out = _run(board_name, _image(board_name, tmp_path, portable=portable, cases=cases))
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
