"""Boards: the registry (:mod:`.registry`), the QEMU launcher (:mod:`.qemu`) and pyocd flashing."""

from firmware_bridge.boards.registry import BOARDS, DEFAULT_BOARD, Board, get_board

__all__ = ["BOARDS", "DEFAULT_BOARD", "Board", "get_board"]
