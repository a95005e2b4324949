"""A worst-case stack bound from GCC's ``-fcallgraph-info=su`` files (one ``.ci`` per object).

Each ``.ci`` file is a VCG graph: ``node:`` entries carry a function's own frame ("24 bytes
(static)") and ``edge:`` entries its direct calls. The bound is the deepest path from the reset
handler plus, for exceptions, the deepest handler path and the hardware-stacked frame (with the
FPU's lazy state: 26 words + alignment). Steps: parse all files (O(lines)), then a depth-first
search with memoisation (O(nodes + edges)).

Limits, stated honestly: functions without a frame record (newlib's memcpy/memset, compiler
helpers) are charged :data:`LIBRARY_FRAME_BYTES` each; recursion or dynamic (unbounded) frames
make the bound unknown (:attr:`StackBound.bounded` is False) and the offender is named;
indirect calls are not followed (the firmware makes none in the loop).

:func:`worst_path` / :func:`format_worst_path` say which calls set the bound, each with its own
frame; ``python -m firmware_bridge.boards.callgraph FOLDER...`` prints them for the ``.ci``
files under the folders (e.g. a bench image's work folder).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

LIBRARY_FRAME_BYTES = 64
"""Charged for a callee without a frame record (small newlib routines)."""
EXCEPTION_FRAME_BYTES = 108
"""Hardware-stacked exception frame with FP context (26 words) plus 4 bytes of alignment."""
RESET_ROOT = "Reset_Handler"
HANDLER_ROOTS = ("fe_fault_handler", "fe_default_handler", "SysTick_Handler", "irq_dispatch")

_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*?\\n[^"]*?(?:\\n(\d+) bytes \(([a-z,]+)\))?"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


@dataclass(frozen=True)
class StackBound:
    """The worst-case stack use of a firmware image."""

    bytes: int  # bound in bytes (meaningful only when bounded)
    bounded: bool  # False when recursion or a dynamic frame defeats the analysis
    path: tuple[str, ...]  # the deepest call chain from the reset handler
    unknown_callees: tuple[str, ...]  # callees charged LIBRARY_FRAME_BYTES
    problem: str  # why the bound is unknown ("" when bounded)
    handler_path: tuple[str, ...] = ()  # the deepest exception handler chain (() when none)


@dataclass(frozen=True)
class CallGraph:
    """Frames and direct calls of every function compiled with -fcallgraph-info=su."""

    frames: dict[str, tuple[int, str]]  # function -> (own frame bytes, "static"/"dynamic"...)
    calls: dict[str, tuple[str, ...]]  # function -> direct callees


def _short(name: str) -> str:
    """GCC titles static functions ``/path/file.c:name``; keep the function name."""
    return name.rsplit(":", 1)[-1]


def read_callgraph(paths: Iterable[Path]) -> CallGraph:
    """Parse ``.ci`` files into one call graph.

    Static functions are keyed by their bare name; two with the same name merge (the larger
    frame and the union of callees), which can only over-estimate the bound.
    """
    frames: dict[str, tuple[int, str]] = {}
    calls: dict[str, list[str]] = {}
    for path in paths:
        text = path.read_text(errors="replace")
        for title, size, kind in _NODE.findall(text):
            name = _short(title)
            if size:
                old = frames.get(name, (0, "static"))
                frames[name] = max(old, (int(size), kind))
        for src, dst in _EDGE.findall(text):
            calls.setdefault(_short(src), []).append(_short(dst))
    return CallGraph(frames, {k: tuple(dict.fromkeys(v)) for k, v in calls.items()})


class _Unbounded(Exception):
    """Recursion or a dynamic frame on some path."""


def _deepest(graph: CallGraph, root: str, unknown: set[str]) -> tuple[int, tuple[str, ...]]:
    memo: dict[str, tuple[int, tuple[str, ...]]] = {}
    active: list[str] = []

    def visit(fn: str) -> tuple[int, tuple[str, ...]]:
        if fn in memo:
            return memo[fn]
        if fn in active:
            cycle = " -> ".join(active[active.index(fn) :] + [fn])
            raise _Unbounded(f"recursion: {cycle}")
        if fn not in graph.frames:
            unknown.add(fn)
            return LIBRARY_FRAME_BYTES, (fn,)
        own, kind = graph.frames[fn]
        if "dynamic" in kind and "bounded" not in kind:
            raise _Unbounded(f"{fn} has a dynamic stack frame (alloca or VLA)")
        active.append(fn)
        best: tuple[int, tuple[str, ...]] = (0, ())
        for callee in graph.calls.get(fn, ()):
            best = max(best, visit(callee))
        active.pop()
        memo[fn] = (own + best[0], (fn, *best[1]))
        return memo[fn]

    return visit(root)


def stack_bound(graph: CallGraph) -> StackBound:
    """Worst-case stack bytes: reset path + deepest handler + one exception frame."""
    unknown: set[str] = set()
    try:
        depth, path = _deepest(graph, RESET_ROOT, unknown)
        handlers = [_deepest(graph, h, unknown) for h in HANDLER_ROOTS if h in graph.frames]
    except _Unbounded as e:
        return StackBound(0, False, (), tuple(sorted(unknown)), str(e))
    handler, handler_path = max(handlers, default=(0, ()))
    total = depth + handler + EXCEPTION_FRAME_BYTES
    return StackBound(total, True, path, tuple(sorted(unknown)), "", handler_path)


@dataclass(frozen=True)
class WorstPath:
    """The calls that set a :class:`StackBound`, each with its own frame in bytes."""

    reset: tuple[tuple[str, int], ...]  # deepest chain from the reset handler
    handler: tuple[tuple[str, int], ...]  # deepest exception handler chain (() when none)
    exception_frame: int  # the hardware-stacked frame charged once

    @property
    def bytes(self) -> int:
        """The bound these frames add up to (:attr:`StackBound.bytes` when bounded)."""
        return sum(b for _, b in self.reset) + sum(b for _, b in self.handler) + self.exception_frame


def _frames(graph: CallGraph, path: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    return tuple((fn, graph.frames[fn][0] if fn in graph.frames else LIBRARY_FRAME_BYTES)
                 for fn in path)


def worst_path(graph: CallGraph, bound: StackBound | None = None) -> WorstPath | None:
    """The chains :func:`stack_bound` found (``bound``, computed when not given) with their
    frames, or None when the bound is unknown (recursion, dynamic frames:
    :attr:`StackBound.problem` says where)."""
    bound = stack_bound(graph) if bound is None else bound
    if not bound.bounded:
        return None
    return WorstPath(_frames(graph, bound.path), _frames(graph, bound.handler_path),
                     EXCEPTION_FRAME_BYTES)


def format_worst_path(graph: CallGraph) -> str:
    """:func:`worst_path` as text: one line per call (own frame, running total, name)."""
    bound = stack_bound(graph)
    worst = worst_path(graph, bound)
    if worst is None:
        return f"stack bound unknown: {bound.problem}"
    lines = [f"stack bound {worst.bytes} B"]
    total = 0
    for title, chain in (("from " + RESET_ROOT, worst.reset), ("deepest handler", worst.handler)):
        lines.append(f"  {title}:")
        for fn, own in chain:
            total += own
            lines.append(f"    {own:>6} B  {total:>6} B  {fn}")
    lines.append(f"  exception frame: {worst.exception_frame} B")
    if bound.unknown_callees:
        lines.append(f"  charged {LIBRARY_FRAME_BYTES} B each (no frame record): "
                     + ", ".join(bound.unknown_callees))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the worst stack path of the ``.ci`` files under each folder given."""
    folders = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    if not folders:
        print("usage: python -m firmware_bridge.boards.callgraph FOLDER...", file=sys.stderr)
        return 2
    cis = sorted(c for f in folders for c in f.rglob("*.ci"))
    if not cis:
        print(f"no .ci files under {', '.join(map(str, folders))}", file=sys.stderr)
        return 1
    print(format_worst_path(read_callgraph(cis)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
