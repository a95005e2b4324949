"""The boards the firmware builds for: CPU flags, QEMU machine, memory budgets, UART addresses.

One :class:`Board` per name accepted by ``--board``. The emulated boards use the STM32F746
budgets (1 MB flash, 320 KB SRAM) so what links for QEMU fits the real reference board.
Addresses and clocks are those of ``edge/firmware/boards/<dir>/board_config.h`` (QEMU boards)
or ``board.c`` (real boards); this table mirrors them for size reports and launchers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from firmware_bridge.errors import BoardError

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "edge" / "firmware"
"""Root of the firmware's C sources."""

KIB = 1024
STM32F746_FLASH = 1024 * KIB
STM32F746_SRAM = 320 * KIB
DEFAULT_BOARD = "qemu-m7"


@dataclass(frozen=True)
class Board:
    """One target board (emulated or real)."""

    name: str  # command-line name, e.g. "qemu-m7"
    directory: str  # folder under edge/firmware/boards/ with linker.ld, memory.ld, board sources
    cpu: str  # human-readable core, e.g. "Cortex-M7"
    cpu_flags: tuple[str, ...]  # arm-none-eabi-gcc flags selecting core, FPU and float ABI
    sources: tuple[str, ...]  # board-layer C files, relative to edge/firmware
    qemu_machine: str | None  # qemu-system-arm -machine value; None for real boards
    pyocd_target: str | None  # pyocd target name for real boards; None for QEMU boards
    flash_budget: int  # bytes of flash the linker script allows
    sram_budget: int  # bytes of SRAM the linker script allows (static data + stack)
    stack_size: int  # bytes reserved for the main stack
    host_uart: int  # base address of the UART carrying the host link
    din_uart: int  # base address of the UART carrying DIN MIDI
    cpu_hz: int  # core clock: what turns a cycle count into time
    counts_instructions: bool  # True: STATS counts executed instructions (QEMU -icount)

    @property
    def emulated(self) -> bool:
        """True for the QEMU boards."""
        return self.qemu_machine is not None

    @property
    def board_dir(self) -> Path:
        """Absolute folder of this board's linker script and sources."""
        return FIRMWARE_DIR / "boards" / self.directory


_M4 = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")
_M7 = ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16")
_M55 = ("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard")
_CMSDK = ("common/board_cmsdk.c",)
_STACK = 16 * KIB

BOARDS: dict[str, Board] = {
    b.name: b
    for b in (
        Board("qemu-m4", "qemu_m4", "Cortex-M4F", _M4, _CMSDK, "mps2-an386", None,
              STM32F746_FLASH, STM32F746_SRAM, _STACK, 0x40004000, 0x40005000, 25_000_000,
              True),
        Board("qemu-m7", "qemu_m7", "Cortex-M7", _M7, _CMSDK, "mps2-an500", None,
              STM32F746_FLASH, STM32F746_SRAM, _STACK, 0x40004000, 0x40005000, 25_000_000,
              True),
        Board("qemu-m55", "qemu_m55", "Cortex-M55", _M55, _CMSDK, "mps3-an547", None,
              STM32F746_FLASH, STM32F746_SRAM, _STACK, 0x59303000, 0x59304000, 32_000_000,
              True),
        Board("stm32f746-disco", "stm32f746_disco", "Cortex-M7", _M7,
              ("boards/stm32f746_disco/board.c",), None, "stm32f746nghx",
              STM32F746_FLASH, STM32F746_SRAM, _STACK, 0x40011000, 0x40011400, 216_000_000,
              False),
    )
}  # fmt: skip
"""Every board by command-line name."""


def get_board(name: str) -> Board:
    """The board called ``name``; :class:`BoardError` lists the known names otherwise."""
    try:
        return BOARDS[name]
    except KeyError:
        known = ", ".join(sorted(BOARDS))
        raise BoardError(f"unknown board {name!r}: expected one of {known}") from None
