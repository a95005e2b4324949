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

import shutil
import subprocess
from pathlib import Path

import pytest

from export.codegen import KERNEL_DIR

CASES = Path(__file__).resolve().parent / "c" / "kernel_board_conv_mve_cases.c"

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="arm-none-eabi-gcc or qemu-system-arm missing (make setup installs them)")


def _image(board_name: str, tmp: Path, *, portable: bool) -> Path:
    from firmware_bridge.boards.registry import FIRMWARE_DIR, get_board
    from firmware_bridge.build import LINK_FLAGS

    board = get_board(board_name)
    common = FIRMWARE_DIR / "common"
    srcs = [common / "startup.c", common / "semihost.c", *(FIRMWARE_DIR / s for s in board.sources),
            CASES, *(KERNEL_DIR / f"{k}.c" for k in ("conv2d", "dot", "fixedpoint"))]
    flags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections",
             *(["-DFE_KERNELS_PORTABLE"] if portable else [])]
    elf = tmp / f"{board_name}-conv-mve.elf"
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


@pytest.mark.parametrize(("board_name", "portable"), [("qemu-m55", False), ("qemu-m55", True),
                                                      ("qemu-m7", False)])
def test_conv_gather_equal_naive_on_board(tmp_path: Path, board_name: str,
                                          portable: bool) -> None:
    out = _run(board_name, _image(board_name, tmp_path, portable=portable))
    assert "conv mve board cases: all equal" in out, out[-400:]
