"""Flash a firmware image onto a real board through a debug probe with pyocd's Python API.

Steps: find the probe (the ST-LINK of an STM32F746G-DISCO, or the one named by ``probe_id``),
open a session for the board's pyocd target, program the ELF (erasing the sectors it
covers), reset and run. pyocd has no built-in STM32F746 target: install its CMSIS pack once
with ``pyocd pack install stm32f746ng`` (needs network access), or pass ``target`` for a part
pyocd already knows. Every failure is a :class:`BoardError` saying what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

from firmware_bridge.boards.registry import Board
from firmware_bridge.errors import BoardError


def _session(target: str, probe_id: str | None):  # type: ignore[no-untyped-def]
    from pyocd.core.helpers import ConnectHelper
    from pyocd.target import TARGET

    session = ConnectHelper.session_with_chosen_probe(
        blocking=False, unique_id=probe_id, target_override=target, auto_open=False
    )
    if session is None:
        which = f"probe {probe_id!r}" if probe_id else "any debug probe"
        raise BoardError(f"no debug probe found ({which}): connect the board's ST-LINK USB port")
    if target not in TARGET and not _pack_knows(session, target):
        raise BoardError(
            f"pyocd does not know target {target!r}: run `pyocd pack install stm32f746ng` "
            "once, or pass a target pyocd lists in `pyocd list --targets`"
        )
    return session


def _pack_knows(session, target: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        from pyocd.target.pack import pack_target

        return target in {t.lower() for t in pack_target.ManagedPacks.get_installed_targets()}
    except (ImportError, AttributeError, OSError):
        return False


def flash_elf(
    board: Board, elf: str | os.PathLike[str], *, probe_id: str | None = None,
    target: str | None = None,
) -> None:  # fmt: skip
    """Program ``elf`` into ``board`` through pyocd, then reset the board so it runs."""
    path = Path(elf)
    if not path.is_file():
        raise BoardError(f"{path}: firmware image not found (run foley-edge build first)")
    if board.emulated:
        raise BoardError(f"board {board.name!r} is emulated: it boots in QEMU, nothing to flash")
    name = target or board.pyocd_target
    if name is None:
        raise BoardError(f"board {board.name!r} has no pyocd target")
    from pyocd.flash.file_programmer import FileProgrammer

    session = _session(name, probe_id)
    try:
        session.open()
        FileProgrammer(session, chip_erase="sector").program(str(path), file_format="elf")
        session.board.target.reset()
    except Exception as e:  # pyocd raises many unrelated types; report them as one failure
        raise BoardError(f"flashing {path} onto {board.name} ({name}) failed: {e}") from e
    finally:
        session.close()
