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
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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
    handler = max((d for d, _ in handlers), default=0)
    total = depth + handler + EXCEPTION_FRAME_BYTES
    return StackBound(total, True, path, tuple(sorted(unknown)), "")
