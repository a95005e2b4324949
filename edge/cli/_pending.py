"""Sub-commands whose implementation has not landed yet: they say so and exit non-zero."""

from __future__ import annotations

import argparse

from edge.errors import FoleyEdgeError


def add_pending(sub: argparse._SubParsersAction, name: str, issue: int, help_text: str) -> None:
    """Register ``name`` as a command that reports it is not implemented yet."""
    p = sub.add_parser(name, help=f"{help_text} (not implemented yet, issue #{issue})")
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def run(args: argparse.Namespace) -> int:
        raise FoleyEdgeError(f"'{name}' is not implemented yet (issue #{issue})")

    p.set_defaults(func=run)
