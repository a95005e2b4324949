"""``foley-edge bench``: SRAM, flash and latency of our generated C side by side with TFLM.

One module per figure, each a pure-ish function returning frozen dataclasses (plain data that
:mod:`benchmarks.results` turns into JSON):

- :mod:`benchmarks.models`: which models are benchmarked (zoo, student, teacher, sweep points);
- :mod:`benchmarks.memory`: planned peak, persistent, lower bound, no-reuse plan, TFLM arena;
- :mod:`benchmarks.flash`: generated model code + weights per board vs .tflite and TFLM;
- :mod:`benchmarks.host`: host instructions (callgrind) of the generated C vs tflite-micro;
- :mod:`benchmarks.board`: per-operator instructions on the emulated boards (QEMU -icount);
- :mod:`benchmarks.scaling`: the same numbers over a sweep of student sizes;
- :mod:`benchmarks.runner`: runs everything, writes results.json, results.md and PNGs.

A figure whose prerequisite is missing is recorded as ``Unavailable(reason)``, never invented.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.errors import FoleyEdgeError


class BenchError(FoleyEdgeError, RuntimeError):
    """A benchmark could not be run or its tool's output could not be understood."""


@dataclass(frozen=True)
class Unavailable:
    """A figure (or one row of it) that could not be measured, and why."""

    what: str  # which figure / model / board
    reason: str  # why it is not available (a missing tool, a part not landed yet, an error)
