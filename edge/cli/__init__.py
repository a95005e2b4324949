"""The foley-edge command line."""

from edge.cli.main import main

__all__ = ["main"]
