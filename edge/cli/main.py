"""Entry point of the ``foley-edge`` command: one sub-command module per area.

Every module in :data:`COMMAND_MODULES` exposes ``register(subparsers)``, which adds its
sub-commands and sets ``func(args) -> int`` on each. Modules import their heavy dependencies
(TensorFlow, music21, ...) inside the handlers, so ``foley-edge --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from edge.errors import FoleyEdgeError

COMMAND_MODULES: tuple[str, ...] = (
    "edge.cli.data",
    "edge.cli.midi",
    "edge.cli.keypoints",
    "edge.cli.model",
    "edge.cli.export",
    "edge.cli.plan",
    "edge.cli.codegen",
    "edge.cli.board",
    "edge.cli.bench",
    "edge.cli.demo",
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
