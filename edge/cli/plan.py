"""foley-edge memory plan of a .tflite."""

from __future__ import annotations

import argparse

from edge.cli._pending import add_pending


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    add_pending(sub, "plan", 5, "memory plan of a .tflite")
