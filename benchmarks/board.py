"""Per-operator executed instructions on the emulated boards (QEMU ``-icount shift=7``).

Steps: build the bench image (:func:`benchmarks.toolchain.build_image`: the generated model
with a tick mark before every operator), boot it with ``qemu-system-arm -icount shift=7`` and
the host UART in a file, parse the lines the bench main prints. Under ``-icount shift=7`` each
instruction takes 128 ns of virtual time, so the board's timer is an exact instruction counter
(PLATFORM.md); counts are deterministic and repeat to the instruction. Each operator's count
is the ticks between two marks minus one mark's own cost (``CAL``, measured back to back).
Instructions are what the emulator measures; the cycle estimate at a real board's clock
assumes one instruction per cycle (an M7 dual-issues some pairs, memory waits add cycles).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import BenchError
from benchmarks.toolchain import Generated, build_image, tool

QEMU_TIMEOUT_S = 240.0
"""Most seconds one bench image may run in QEMU."""

REFERENCE_HZ = 216_000_000
"""Clock of the STM32F746 reference board: instructions -> time estimate."""

FOLEY_TOKENS_PER_S = 85.0
"""Foley Music's worst case event rate: decoder steps per second the board must sustain."""


@dataclass(frozen=True)
class OpCount:
    """Instructions of one operator."""

    position: int  # position in the execution order
    op_index: int  # operator index in the model
    op: str  # builtin name
    instructions: int  # executed instructions (probe overhead removed)


@dataclass(frozen=True)
class BoardRun:
    """One invoke of one model on one emulated board."""

    model: str  # bench model name
    board: str  # board name
    kernels: str  # "acle" (DSP SIMD path where the core has it) or "portable"
    total_instructions: int  # sum of the operators' counts
    ops: tuple[OpCount, ...]  # per operator, in execution order
    image_flash_bytes: int  # the bench image's flash (startup + model + kernels + bench main)
    image_static_ram_bytes: int  # its .data + .bss (arena and persistent areas included), the probe's tables left out
    stack_bound_bytes: int  # its call-graph stack bound (0: unbounded)


def qemu_argv(board: Any, elf: Path, uart_file: Path) -> list[str]:
    """The QEMU command line: -icount shift=7, semihosting exit, UART0 into ``uart_file``."""
    if board.qemu_machine is None:
        raise BenchError(f"board {board.name!r} is not emulated: no QEMU machine")
    return [tool("qemu-system-arm"), "-machine", board.qemu_machine, "-display", "none",
            "-monitor", "none", "-icount", "shift=7", "-semihosting-config",
            "enable=on,target=native", "-kernel", str(elf), "-serial", f"file:{uart_file}",
            "-serial", "null"]


def boot(board: Any, elf: Path, folder: Path, what: str) -> str:
    """Boot ``elf`` on emulated ``board`` until it exits; what it printed on the host UART.

    :class:`BenchError` naming ``what`` when QEMU runs past :data:`QEMU_TIMEOUT_S` or exits
    non-zero (with the end of its stderr and of the UART text)."""
    uart = folder / "uart0.txt"
    try:
        proc = subprocess.run(qemu_argv(board, elf, uart), capture_output=True, text=True,
                              timeout=QEMU_TIMEOUT_S, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise BenchError(f"{what} on {board.name}: QEMU still running after "
                         f"{QEMU_TIMEOUT_S} s") from None
    text = uart.read_text(errors="replace") if uart.exists() else ""
    if proc.returncode != 0:
        raise BenchError(f"{what} on {board.name}: QEMU exited with {proc.returncode}: "
                         f"{proc.stderr.strip()[-500:]} {text[-200:]!r}")
    return text


def parse_output(text: str, n_ops: int) -> tuple[int, list[int], int]:
    """(probe cost, per-mark-interval counts, status) from the bench main's lines."""
    cal, status, ops = None, None, {}
    for line in text.splitlines():
        parts = line.split()
        if parts[:1] == ["CAL"] and len(parts) == 2:
            cal = int(parts[1])
        elif parts[:1] == ["OP"] and len(parts) == 3:
            ops[int(parts[1])] = int(parts[2])
        elif parts[:1] == ["STATUS"] and len(parts) == 2:
            status = int(parts[1])
    if cal is None or status is None or "END" not in text or sorted(ops) != list(range(n_ops)):
        raise BenchError(f"bench image output: expected CAL, {n_ops} OP lines, STATUS and END, "
                         f"found {text[-400:]!r}")
    return cal, [ops[k] for k in range(n_ops)], status


def run_on_board(gen: Generated, model: str, board: Any, *, portable: bool = False,
                 emulator_memory: bool = False, work: Path | None = None) -> BoardRun:
    """Build, boot and measure ``gen`` on emulated ``board`` (``emulator_memory``: the image
    linked over the memory QEMU maps, not the board's budgets; see ``build_image``)."""
    with tempfile.TemporaryDirectory(prefix="foley-bench-") as tmp:
        folder = Path(work) if work is not None else Path(tmp)
        image = build_image(gen, board, folder, portable=portable,
                            emulator_memory=emulator_memory)
        text = boot(board, image.elf, folder, model)
        cal, counts, status = parse_output(text, image.ops)
    if status != 0:
        raise BenchError(f"{model} on {board.name}: invoke returned -{status}, expected 0")
    ops = tuple(OpCount(pos, k, gen.graph.operators[k].op, max(0, c - cal))
                for pos, (k, c) in enumerate(zip(gen.plan.order, counts, strict=True)))
    return BoardRun(model, board.name, "portable" if portable else "acle",
                    sum(o.instructions for o in ops), ops, image.size.flash_bytes,
                    image.model_ram_bytes, image.stack_bound_bytes)
