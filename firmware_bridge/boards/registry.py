"""The boards the firmware builds for: CPU flags, QEMU machine, memory budgets, UART addresses.

One :class:`Board` per name accepted by ``--board``. Two board classes, each a real board and
emulated twins linked under the real board's budgets, so what links for QEMU fits the real one:

* STM32F746 class (Cortex-M7, 216 MHz, 1 MB flash, 320 KB SRAM): ``stm32f746-disco``, twins
  ``qemu-m7`` (same core), ``qemu-m4`` and ``qemu-m55`` (other cores, same budgets).
* STM32F411 class (Cortex-M4F, 100 MHz, 512 KB flash, 128 KB SRAM, the NUCLEO-F411RE):
  ``nucleo-f411re``, twin ``qemu-f411`` (QEMU's Cortex-M4F machine under the F411's limits).

Each board also states its real-time requirement: the model must keep up with live decoding at
:data:`RTF_LIMIT` of the real chip's clock (``target_hz``), with the bench's arithmetic (one
encoder hop per second of music plus 85 decoder tokens per second; instructions as cycles).
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
STM32F746_HZ = 216_000_000
STM32F411_FLASH = 512 * KIB
STM32F411_SRAM = 128 * KIB
STM32F411_HZ = 100_000_000
RTF_LIMIT = 0.5
"""Real-time requirement: compute seconds per second of music at the board's real clock."""
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
    target_hz: int = STM32F746_HZ  # clock of the real chip whose budgets it has (RTF estimates)
    twin: str | None = None  # real boards: the emulated board with the same core and budgets
    rtf_limit: float = RTF_LIMIT  # real-time factor the model must stay at or below
    student: str = "student"  # the shipped student of its class (edge/model/shipped/<student>)
    # the class's short-hop student for live playing (`play`'s default), None: play `student`
    live_student: str | None = "student-hop4"

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
_STACK_F411 = 8 * KIB

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
              ("boards/stm32f746_disco/board.c", "common/board_stm32.c"), None, "stm32f746nghx",
              STM32F746_FLASH, STM32F746_SRAM, _STACK, 0x40011000, 0x40011400, STM32F746_HZ,
              False, twin="qemu-m7"),
        Board("qemu-f411", "qemu_f411", "Cortex-M4F", _M4, _CMSDK, "mps2-an386", None,
              STM32F411_FLASH, STM32F411_SRAM, _STACK_F411, 0x40004000, 0x40005000, 25_000_000,
              True, target_hz=STM32F411_HZ, student="student-f411", live_student=None),
        Board("nucleo-f411re", "nucleo_f411re", "Cortex-M4F", _M4,
              ("boards/nucleo_f411re/board.c", "common/board_stm32.c"), None, "stm32f411retx",
              STM32F411_FLASH, STM32F411_SRAM, _STACK_F411, 0x40004400, 0x40011000, STM32F411_HZ,
              False, target_hz=STM32F411_HZ, twin="qemu-f411", student="student-f411",
              live_student=None),
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


def emulated_twin(board: Board) -> Board:
    """The emulated board that stands for ``board``: itself when emulated, else its twin."""
    if board.emulated:
        return board
    if board.twin is None:
        raise BoardError(f"board {board.name!r} has no emulated twin")
    return get_board(board.twin)


def real_board(board: Board) -> Board:
    """The real board whose budgets and clock ``board`` has: itself when real, the real board
    naming it as twin, else the real board of its class (same budgets and clock)."""
    if not board.emulated:
        return board
    real = [b for b in BOARDS.values() if not b.emulated]
    for b in real:
        if b.twin == board.name:
            return b
    for b in real:
        if (b.flash_budget, b.sram_budget, b.target_hz) == \
                (board.flash_budget, board.sram_budget, board.target_hz):
            return b
    raise BoardError(f"board {board.name!r} stands for no real board")
