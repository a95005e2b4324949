"""foley-edge SRAM / flash / latency benchmarks."""

from __future__ import annotations

import argparse

from edge.cli._pending import add_pending


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    add_pending(sub, "bench", 7, "SRAM / flash / latency benchmarks")
