"""The architecture picture holds in the import graph: ``edge`` at the bottom, then ``export``,
``firmware_bridge``, ``benchmarks``, and the command line (``foley_edge``) on top.

Every ``import``, ``from ... import`` and ``importlib.import_module("...")`` of the sources is
read with :mod:`ast` (function-level imports included, since those are how the lazy ones hide).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAYERS = ("edge", "export", "firmware_bridge", "benchmarks", "foley_edge")
"""Bottom to top: a package may import the packages before it, never those after it."""
KNOWN_UPWARD: set[tuple[str, str]] = set()
"""Upward imports allowed (none: the protocol spec and the keypoint quantisation, shared
constants, moved down into edge); a new upward import fails the test."""


def _imported(tree: ast.AST) -> Iterator[str]:
    """Absolute module names a source imports, anywhere in it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"):
            yield node.args[0].value


def _sources(*roots: str) -> Iterator[tuple[str, ast.AST]]:
    """(path relative to the repo, syntax tree) of every .py file under ``roots``."""
    for root in roots:
        for path in sorted((REPO / root).rglob("*.py")):
            yield path.relative_to(REPO).as_posix(), ast.parse(path.read_text(), str(path))


def _cross_imports() -> set[tuple[str, str, str]]:
    """(file, its package, imported package) for every import between two layers."""
    out = set()
    for f, tree in _sources(*LAYERS):
        pkg = f.split("/")[0]
        for name in _imported(tree):
            top = name.split(".")[0]
            if top in LAYERS and top != pkg:
                out.add((f, pkg, top))
    return out


def test_nothing_below_the_command_line_imports_it() -> None:
    below = [(f, top) for f, pkg, top in _cross_imports() if top == "foley_edge"]
    assert below == []


def test_the_old_command_line_package_is_gone() -> None:
    assert not (REPO / "edge" / "cli").exists()
    stale = [f for f, tree in _sources(*LAYERS, "tests")
             if any(n == "edge.cli" or n.startswith("edge.cli.") for n in _imported(tree))]
    assert stale == []


def test_layers_only_point_down() -> None:
    upward = {(f, top) for f, pkg, top in _cross_imports()
              if LAYERS.index(top) > LAYERS.index(pkg)}
    assert upward - KNOWN_UPWARD == set(), "new upward imports"
    assert KNOWN_UPWARD - upward == set(), "fixed: remove these from KNOWN_UPWARD"


def test_the_command_line_reaches_every_layer_below() -> None:
    reached = {top for _, pkg, top in _cross_imports() if pkg == "foley_edge"}
    assert reached == set(LAYERS[:-1])
