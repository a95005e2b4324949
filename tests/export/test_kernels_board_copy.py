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

import shutil
import subprocess
from pathlib import Path

import pytest

from export.codegen import KERNEL_DIR

CASES = Path(__file__).resolve().parent / "c" / "kernel_board_copy_cases.c"
KERNELS = ("pooling", "copy")

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="arm-none-eabi-gcc or qemu-system-arm missing (make setup installs them)")


def _image(board_name: str, tmp: Path, *, portable: bool) -> Path:
    from firmware_bridge.boards.registry import FIRMWARE_DIR, get_board
    from firmware_bridge.build import LINK_FLAGS

    board = get_board(board_name)
    common = FIRMWARE_DIR / "common"
    srcs = [common / "startup.c", common / "semihost.c", *(FIRMWARE_DIR / s for s in board.sources),
            CASES, *(KERNEL_DIR / f"{k}.c" for k in KERNELS)]
    flags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections",
             *(["-DFE_KERNELS_PORTABLE"] if portable else [])]
    elf = tmp / f"{board_name}-copy.elf"
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
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-400:]
    return proc.stdout + proc.stderr


@pytest.mark.parametrize(("board_name", "portable"), [("qemu-m4", False), ("qemu-m7", False),
                                                      ("qemu-m7", True), ("qemu-m55", False)])
def test_pool_transpose_concat_equal_naive_on_board(tmp_path: Path, board_name: str,
                                                    portable: bool) -> None:
    out = _run(board_name, _image(board_name, tmp_path, portable=portable))
    assert "copy board cases: all equal" in out, out[-400:]
