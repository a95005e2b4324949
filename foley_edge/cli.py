"""Entry point of the ``foley-edge`` command: one sub-command module per area.

Every module in :data:`COMMAND_MODULES` exposes ``register(subparsers)``, which adds its
sub-commands and sets ``func(args) -> int`` on each. Registering imports nothing heavy; the
handlers import their dependencies (TensorFlow, numpy, music21, matplotlib, ...) when they run,
so ``foley-edge --help``, ``midi`` and ``data show`` never load TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from edge.errors import FoleyEdgeError

COMMAND_MODULES: tuple[str, ...] = (
    "foley_edge.commands.data",
    "foley_edge.commands.midi",
    "foley_edge.commands.keypoints",
    "foley_edge.commands.model",
    "foley_edge.commands.export",
    "foley_edge.commands.plan",
    "foley_edge.commands.codegen",
    "foley_edge.commands.board",
    "foley_edge.commands.bench",
    "foley_edge.commands.demo",
    "foley_edge.commands.search",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="foley-edge",
        description="Music from motion on microcontrollers: keypoints in, MIDI out.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except FoleyEdgeError as e:
        print(f"foley-edge {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"foley-edge {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
