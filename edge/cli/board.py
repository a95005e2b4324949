"""foley-edge build|flash|play."""

from __future__ import annotations

import argparse

from edge.cli._pending import add_pending


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    add_pending(sub, "build", 6, "build|flash|play")
    add_pending(sub, "flash", 6, "build|flash|play")
    add_pending(sub, "play", 6, "build|flash|play")
