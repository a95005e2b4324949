"""foley-edge video to body65 keypoints."""

from __future__ import annotations

import argparse

from edge.cli._pending import add_pending


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    add_pending(sub, "keypoints", 8, "video to body65 keypoints")
