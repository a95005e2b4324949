"""foley-edge C sources for a .tflite."""

from __future__ import annotations

import argparse

from edge.cli._pending import add_pending


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    add_pending(sub, "codegen", 5, "C sources for a .tflite")
    add_pending(sub, "infer", 5, "C sources for a .tflite")
