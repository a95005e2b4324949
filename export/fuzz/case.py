"""One fuzz case: the mutant regenerated from (seed, target, index), run under a time limit,
and what came of it.

A case's outcome is one of :data:`OUTCOMES`: ``ok`` (the input went through the whole
pipeline), ``error`` (a :class:`~edge.errors.FoleyEdgeError` with a message: the clear refusal
the project promises), ``traceback`` (any other exception, a :class:`MemoryError` included:
a bug), ``hang`` (over the time limit) or ``crash`` (the process running the case died; set by
:mod:`export.fuzz.harness`). :data:`FAILURES` are the outcomes a fuzz run must not have.
"""

from __future__ import annotations

import signal
import time
import traceback
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.errors import FoleyEdgeError
from export.fuzz.targets import FuzzTarget

OUTCOMES: tuple[str, ...] = ("ok", "error", "traceback", "crash", "hang")
"""Every outcome of a case, in report order."""

FAILURES: frozenset[str] = frozenset({"traceback", "crash", "hang"})
"""Outcomes that fail a fuzz run."""

_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CaseResult:
    """What one mutant did."""

    target: str  # target name as given to the run ("model", "clip", "midi", "module:attr")
    index: int  # case number: with the run's seed it regenerates the mutant
    outcome: str  # one of OUTCOMES
    stage: str  # the last pipeline stage started ("mutate" before the pipeline)
    error: str  # exception class name ("" when ok)
    message: str  # first line of the message; a traceback adds where it was raised
    mutation: str  # what the mutant is (see export.fuzz.mutate / models / clips / midifiles)
    seconds: float  # time the case took (reported, never asserted)


class CaseTimeout(BaseException):
    """The case ran past its limit (a BaseException, so no ``except Exception`` swallows it)."""


def case_input(name: str, target: FuzzTarget, seeds: Sequence[bytes], seed: int,
               index: int) -> tuple[bytes, str]:
    """The mutant of case ``index`` and what it is: a function of (seed, name, index) only."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode()), index])
    k = int(rng.integers(len(seeds)))
    data, what = target.mutate(seeds[k], rng)
    return data, f"seed input {k}: {what}"


def _where(e: BaseException) -> str:
    """``file:line in function`` of the innermost frame in this repository outside this
    module (else the innermost frame)."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename != __file__]
    ours = [f for f in frames if f.filename.startswith(str(_ROOT)) and "/.venv" not in f.filename]
    f = (ours or frames or [None])[-1]
    if f is None:
        return "?"
    name = Path(f.filename)
    shown = name.relative_to(_ROOT) if name.is_relative_to(_ROOT) else name
    return f"{shown}:{f.lineno} in {f.name}"


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[:limit] + "..."


def _on_alarm(signum: int, frame: object) -> None:
    raise CaseTimeout()


def run_case(name: str, target: FuzzTarget, seeds: Sequence[bytes], seed: int, index: int, *,
             limit_s: float) -> CaseResult:
    """Regenerate case ``index`` and run it in this process under ``limit_s`` seconds (SIGALRM:
    the main thread of a Unix process only; code stuck inside a C call is not interrupted,
    which :mod:`export.fuzz.harness` covers by killing the process)."""
    stages = ["mutate"]
    what = ""
    start = time.monotonic()
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit_s)

    def result(outcome: str, error: str = "", message: str = "") -> CaseResult:
        return CaseResult(target=name, index=index, outcome=outcome, stage=stages[-1],
                          error=error, message=message, mutation=what,
                          seconds=round(time.monotonic() - start, 4))

    try:
        data, what = case_input(name, target, seeds, seed, index)
        target.run(data, stages)
        return result("ok")
    except CaseTimeout:
        return result("hang", "CaseTimeout", f"still running after {limit_s:g} s")
    except FoleyEdgeError as e:
        if not str(e).strip():
            return result("traceback", type(e).__name__, f"empty message (at {_where(e)})")
        return result("error", type(e).__name__, _first_line(str(e)))
    except Exception as e:  # noqa: BLE001 - any other exception is the bug being looked for
        return result("traceback", type(e).__name__, f"{_first_line(str(e))} (at {_where(e)})")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
