"""foley-edge build|flash|play: firmware images, boards (QEMU or pyocd), streaming.

``build --board B [--model DIR] [--out DIR]`` compiles the firmware and prints its size
report (size.json beside firmware.elf). ``flash --board B`` programs a real board through
pyocd, or boots an emulated one in QEMU, checks the HELLO handshake and keeps it running
(``--check``: handshake, PING, then stop). ``play`` is wired by the host streaming work.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edge.cli._pending import add_pending

DEFAULT_OUT = Path("out") / "firmware"


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    from firmware_bridge.boards.registry import BOARDS, DEFAULT_BOARD

    boards = sorted(BOARDS)
    p = sub.add_parser("build", help="build the firmware for a board (firmware.elf + size.json)")
    p.add_argument("--board", default=DEFAULT_BOARD, choices=boards)
    p.add_argument("--model", type=Path, default=None, help="folder of the model's C sources")
    p.add_argument("--out", type=Path, default=None, help=f"default {DEFAULT_OUT}/BOARD")
    p.set_defaults(func=_build)

    p = sub.add_parser("flash", help="flash a real board (pyocd) or boot an emulated one (QEMU)")
    p.add_argument("--board", default=DEFAULT_BOARD, choices=boards)
    p.add_argument("--model", type=Path, default=None, help="build with this model first")
    p.add_argument("--elf", type=Path, default=None, help="flash this image instead of building")
    p.add_argument("--out", type=Path, default=None, help=f"default {DEFAULT_OUT}/BOARD")
    p.add_argument("--probe", default=None, help="pyocd probe unique id (real boards)")
    p.add_argument("--target", default=None, help="pyocd target override (real boards)")
    p.add_argument("--check", action="store_true", help="QEMU: handshake, PING, then stop")
    p.set_defaults(func=_flash)

    add_pending(sub, "play", 6, "stream keypoints to a board and play its MIDI")


def _out_dir(args: argparse.Namespace) -> Path:
    return args.out if args.out is not None else DEFAULT_OUT / args.board


def _print_size(result) -> None:  # type: ignore[no-untyped-def]
    s = result.size
    kib = 1024
    print(f"board      {s.board}  ({result.board.cpu})")
    print(f"model      {s.model or 'none (model_none.c)'}")
    print(f"flash      {s.flash_bytes / kib:8.1f} KiB of {s.flash_budget / kib:.0f} KiB")
    print(f"SRAM       {s.sram_bytes / kib:8.1f} KiB of {s.sram_budget / kib:.0f} KiB  "
          f"(static {s.static_sram_bytes / kib:.1f} KiB + stack {s.stack_reserved_bytes / kib:.1f}"
          f" KiB)")  # fmt: skip
    print(f"  arena    {s.arena_bytes / kib:8.1f} KiB")
    print(f"  persist  {s.persistent_bytes / kib:8.1f} KiB")
    print(f"stack      bound {s.stack_bound_bytes} B via {' -> '.join(s.stack_path)}")
    print(f"wrote      {result.elf}, {result.bin.name}, {result.size_json.name}")


def _build(args: argparse.Namespace) -> int:
    from firmware_bridge.build import build_firmware

    result = build_firmware(args.board, model_dir=args.model, out_dir=_out_dir(args))
    _print_size(result)
    return 0


def _flash(args: argparse.Namespace) -> int:
    from firmware_bridge.boards.registry import get_board
    from firmware_bridge.build import build_firmware

    board = get_board(args.board)
    elf = args.elf
    if elf is None:
        result = build_firmware(board, model_dir=args.model, out_dir=_out_dir(args))
        _print_size(result)
        elf = result.elf
    if not board.emulated:
        from firmware_bridge.boards.pyocd_flash import flash_elf

        flash_elf(board, elf, probe_id=args.probe, target=args.target)
        print(f"flashed {elf} onto {board.name}; host link: the ST-LINK virtual COM port")
        return 0
    return _boot_qemu(board, elf, check=args.check)


def _boot_qemu(board, elf: Path, *, check: bool) -> int:  # type: ignore[no-untyped-def]
    from firmware_bridge.boards.console import BoardConsole
    from firmware_bridge.boards.qemu import QemuBoard
    from firmware_bridge.protocol import messages as m

    with QemuBoard(board, elf, din="tcp") as q:
        with BoardConsole(q.url) as c:
            hello = c.expect(m.Hello, 20)
            c.send(m.Ping(b"foley-edge"))
            c.expect(m.Pong)
        print(f"booted {hello.board} (qemu-system-arm pid {q.pid}): firmware {hello.fw_version}, "
              f"protocol {hello.protocol_version}, model 0x{hello.model_hash:08X}, "
              f"hop {hello.hop}/{hello.context_frames} frames at {hello.fps:g} fps")  # fmt: skip
        print(f"host link  {q.url}")
        print(f"DIN MIDI   {q.din_url}")
        if check:
            return 0
        print("running; Ctrl-C stops the emulator")
        while q.returncode() is None:
            time.sleep(0.5)
        print(f"qemu-system-arm exited with status {q.returncode()}")
    return 0
