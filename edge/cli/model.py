"""foley-edge train|distill|evaluate."""

from __future__ import annotations

import argparse

from edge.cli._pending import add_pending


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    add_pending(sub, "train", 3, "train|distill|evaluate")
    add_pending(sub, "distill", 3, "train|distill|evaluate")
    add_pending(sub, "evaluate", 3, "train|distill|evaluate")
