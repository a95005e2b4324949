"""foley-edge int8 TFLite / ONNX export."""

from __future__ import annotations

import argparse

from edge.cli._pending import add_pending


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands."""
    add_pending(sub, "export", 4, "int8 TFLite / ONNX export")
