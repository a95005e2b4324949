"""foley-edge midi encode|decode|show."""

from __future__ import annotations

import argparse

from edge.cli._pending import add_pending


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    add_pending(sub, "midi", 2, "midi encode|decode|show")
