"""Bare-metal kernel test images on the emulated boards, shared by the board test files.

An image is the firmware's startup and semihosting exit, the board's own sources, one C file
of cases and the kernels it exercises, compiled warning-free for the board's core; QEMU's exit
status is the image's mismatch count (0: every case equal).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from export.codegen import KERNEL_DIR

needs_arm = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="arm-none-eabi-gcc or qemu-system-arm missing (make setup installs them)")


def build_image(board_name: str, tmp: Path, cases: Path, kernels: Sequence[str], *,
                portable: bool, extra: Sequence[Path] = ()) -> Path:
    """Link ``cases`` with the kernel sources ``kernels`` (names without .c) for the board;
    ``portable`` adds -DFE_KERNELS_PORTABLE. Returns the ELF."""
    from firmware_bridge.boards.registry import FIRMWARE_DIR, get_board
    from firmware_bridge.build import LINK_FLAGS

    board = get_board(board_name)
    common = FIRMWARE_DIR / "common"
    srcs = [common / "startup.c", common / "semihost.c", *(FIRMWARE_DIR / s for s in board.sources),
            cases, *extra, *(KERNEL_DIR / f"{k}.c" for k in kernels)]
    flags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections",
             *(["-DFE_KERNELS_PORTABLE"] if portable else [])]
    elf = tmp / f"{board_name}-{cases.stem}{'-portable' if portable else ''}.elf"
    subprocess.run(["arm-none-eabi-gcc", *board.cpu_flags, *flags, *LINK_FLAGS,
                    f"-I{KERNEL_DIR}", f"-I{common}", f"-I{FIRMWARE_DIR}", f"-I{board.board_dir}",
                    f"-L{board.board_dir}", f"-L{common}", "-T", "linker.ld",
                    f"-Wl,--defsym=__stack_size={board.stack_size}", *map(str, srcs), "-o",
                    str(elf)], check=True, capture_output=True, text=True)
    return elf


def run_image(board_name: str, elf: Path, *, timeout: int = 300) -> str:
    """Boot ``elf`` in QEMU; assert it exits 0 (no mismatch) and return what it printed."""
    from firmware_bridge.boards.registry import get_board

    proc = subprocess.run(["qemu-system-arm", "-machine", get_board(board_name).qemu_machine,
                           "-display", "none", "-monitor", "none", "-serial", "null",
                           "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-400:]
    return proc.stdout + proc.stderr


def build_model_image(board_name: str, folder: Path, files: dict[str, str],
                      extra: Sequence[Path] = (), defines: Sequence[str] = ()) -> Path:
    """Write generated sources ``files`` (name -> text) into ``folder`` and link them, the C
    files in ``extra`` and every kernel source for the board, warning-free, with the ``-D``
    flags ``defines``. Returns the ELF."""
    from firmware_bridge.boards.registry import FIRMWARE_DIR, get_board
    from firmware_bridge.build import LINK_FLAGS

    board = get_board(board_name)
    common = FIRMWARE_DIR / "common"
    for name, text in files.items():
        (folder / name).write_text(text)
    srcs = [common / "startup.c", common / "semihost.c", *(FIRMWARE_DIR / s for s in board.sources),
            *extra, *(folder / n for n in files if n.endswith(".c")),
            *sorted(KERNEL_DIR.glob("*.c"))]
    elf = folder / f"{board_name}.elf"
    subprocess.run(["arm-none-eabi-gcc", *board.cpu_flags, "-std=c99", "-O2", "-Wall", "-Wextra",
                    "-Werror", "-ffunction-sections", "-fdata-sections", *LINK_FLAGS, *defines,
                    f"-I{KERNEL_DIR}", f"-I{common}", f"-I{FIRMWARE_DIR}", f"-I{board.board_dir}",
                    f"-I{folder}", f"-L{board.board_dir}", f"-L{common}", "-T", "linker.ld",
                    f"-Wl,--defsym=__stack_size={board.stack_size}", *map(str, srcs), "-o",
                    str(elf)], check=True, capture_output=True, text=True)
    return elf
