"""Run many fuzz cases in worker processes that may hang or die, and tally what happened.

``run_fuzz({"model": 2000, "clip": 300}, seed=0, jobs=2) -> FuzzReport``. Steps:

1. Each target's seeds are made here first (building and caching the zoo models outside any
   worker's memory cap).
2. ``jobs`` workers (:mod:`export.fuzz.worker`) start; a thread per worker hands it one case
   at a time, cases of all targets interleaved.
3. A case that outlives ``limit_s`` inside the worker comes back as ``hang`` (SIGALRM); a
   worker that gives no answer ``limit_s + GRACE_S`` seconds after a case began (stuck in C)
   is killed and the case is a ``hang``; a worker that dies (a signal, an abort, the OOM
   killer) makes the case a ``crash``, with the end of its stderr. Either way a fresh worker
   takes the next case.

The report is a pure function of (seed, cases) except for timings, whatever ``jobs`` is.
"""

from __future__ import annotations

import json
import os
import queue
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from export.fuzz import FuzzError
from export.fuzz.case import FAILURES, OUTCOMES, CaseResult, case_input
from export.fuzz.targets import resolve_target
from export.fuzz.worker import READY

GRACE_S = 10.0
"""Default seconds past a case's limit before its worker is killed."""

START_TIMEOUT_S = 300.0
"""Most seconds a worker may take to import, run its seeds and say ready."""

DEFAULT_LIMIT_S = 30.0
"""Default time limit of one case (a plan of the zoo's cnn takes well under a second)."""

DEFAULT_MEMORY_BYTES = 1 << 30
"""Default memory a case may allocate on top of a warm worker."""


@dataclass(frozen=True)
class FuzzReport:
    """Every case of a run and how long the run took."""

    seed: int  # the run's seed
    results: tuple[CaseResult, ...]  # sorted by (target, index)
    seconds: float  # wall time of the run (reported, never asserted)
    jobs: int  # worker processes used

    @property
    def failures(self) -> tuple[CaseResult, ...]:
        """Cases whose outcome is in FAILURES."""
        return tuple(r for r in self.results if r.outcome in FAILURES)

    def counts(self, target: str | None = None) -> Counter[str]:
        """Outcome -> number of cases (of ``target``, or of all)."""
        return Counter(r.outcome for r in self.results if target in (None, r.target))

    def summary(self, *, max_kinds: int = 30) -> str:
        """A readable report: counts per target, clear errors per stage and type, and each kind
        of failure (target, outcome, exception, where raised) with its count and a replay."""
        lines = [f"fuzz seed {self.seed}: {len(self.results)} cases in {self.seconds:.1f} s "
                 f"({self.jobs} worker{'s' * (self.jobs != 1)})"]
        for target in sorted({r.target for r in self.results}):
            c = self.counts(target)
            lines.append(f"  {target:6s} {sum(c.values()):6d} cases: "
                         + ", ".join(f"{o} {c[o]}" for o in OUTCOMES))
            errs = Counter(f"{r.stage}/{r.error}" for r in self.results
                           if r.target == target and r.outcome == "error")
            shown = ", ".join(f"{k} {v}" for k, v in errs.most_common())
            lines.append(f"         clear errors: {shown or 'none'}")
            slow = max((r for r in self.results if r.target == target), key=lambda r: r.seconds)
            lines.append(f"         slowest: {target}:{slow.index} {slow.seconds:.2f} s ({slow.outcome} "
                         f"at {slow.stage})")
        kinds: dict[tuple[str, str, str, str], list[CaseResult]] = {}
        for r in self.failures:
            kinds.setdefault(_kind(r), []).append(r)
        for (target, outcome, error, where), rs in list(kinds.items())[:max_kinds]:
            r = rs[0]
            lines.append(f"  FAIL x{len(rs)} {target} {outcome} at {r.stage}: {error}{where}\n"
                         f"       first: {target}:{r.index}: {r.message}\n"
                         f"       mutant: {r.mutation}\n       replay: python -m export.fuzz "
                         f"--seed {self.seed} --replay {target}:{r.index}")
        if len(kinds) > max_kinds:
            lines.append(f"  ... and {len(kinds) - max_kinds} more kinds of failure")
        return "\n".join(lines)


def _kind(r: CaseResult) -> tuple[str, str, str, str]:
    """What makes two failures the same bug: target, outcome, exception and where raised."""
    at = r.message.rfind(" (at ")
    return r.target, r.outcome, r.error, r.message[at:] if at >= 0 else ""


class _Died(Exception):
    """The worker's stdout closed."""


class _Worker:
    """One worker process and a line reader over its stdout with a timeout."""

    def __init__(self, targets: list[str], seed: int, limit_s: float, memory_bytes: int,
                 env: Mapping[str, str]) -> None:
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "export.fuzz.worker", *targets, "--seed", str(seed),
             "--limit-s", str(limit_s), "--memory-bytes", str(memory_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, env=dict(env))
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        self.buf = b""
        self.err_start = 0
        try:
            line = self.read_line(START_TIMEOUT_S)
        except _Died:
            line = None
        if line != READY:
            tail = self.stderr_tail()
            self.close()
            raise FuzzError(f"fuzz worker did not start (expected {READY!r}, found {line!r}): "
                            f"{tail}")

    def read_line(self, timeout: float) -> str | None:
        """The next line, None after ``timeout`` seconds; raises _Died at end of stream."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                return None
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)  # type: ignore[union-attr]
            if not chunk:
                raise _Died()
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def ask(self, target: str, index: int, timeout: float) -> str | None:
        """Send one case; its JSON line, or None on timeout; raises _Died."""
        self.err.seek(0, os.SEEK_END)
        self.err_start = self.err.tell()  # stderr of this case only, in a crash report
        try:
            self.proc.stdin.write(f"{target} {index}\n".encode())  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except BrokenPipeError as e:
            raise _Died() from e
        return self.read_line(timeout)

    def stderr_tail(self, n: int = 600) -> str:
        """The end of what the worker wrote to stderr since the current case began."""
        self.err.seek(self.err_start)
        text = self.err.read().decode(errors="replace").strip()
        return text[-n:].replace("\n", " | ") or "(no stderr)"

    def status(self) -> str:
        """How the process ended, e.g. ``killed by SIGSEGV`` or ``exit status 1``."""
        rc = self.proc.wait()
        if rc < 0:
            return f"killed by {signal.Signals(-rc).name}"
        return f"exit status {rc}"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.sel.close()
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()
        self.err.close()


def _serve(cases: queue.Queue, out: list[CaseResult], lock: threading.Lock,
           start: Callable[[], _Worker], describe: Callable[[str, int], str], wait_s: float,
           on_result: Callable[[CaseResult], None] | None) -> None:
    """Feed cases from ``cases`` to one worker (restarted after it was killed or died);
    ``describe(target, index)`` names the mutant of a case the worker could not report."""
    worker: _Worker | None = None
    try:
        while True:
            try:
                target, index = cases.get_nowait()
            except queue.Empty:
                return
            worker = worker or start()
            began = time.monotonic()
            try:
                line = worker.ask(target, index, wait_s)
                res = CaseResult(**json.loads(line)) if line is not None else CaseResult(
                    target, index, "hang", "?", "Killed", f"no answer after {wait_s:g} s "
                    "(stuck outside Python); worker killed", describe(target, index),
                    round(time.monotonic() - began, 4))
            except _Died:
                res = CaseResult(target, index, "crash", "?", "WorkerDied",
                                 f"{worker.status()}: {worker.stderr_tail()}",
                                 describe(target, index), round(time.monotonic() - began, 4))
            if res.outcome in ("crash", "hang") and res.stage == "?":
                worker.close()
                worker = None
            with lock:
                out.append(res)
                if on_result is not None:
                    on_result(res)
    finally:
        if worker is not None:
            worker.close()


def run_fuzz(cases: Mapping[str, int], *, seed: int = 0, jobs: int = 1, first: int = 0,
             limit_s: float = DEFAULT_LIMIT_S, grace_s: float = GRACE_S,
             memory_bytes: int = DEFAULT_MEMORY_BYTES, env: Mapping[str, str] | None = None,
             on_result: Callable[[CaseResult], None] | None = None) -> FuzzReport:
    """Run ``cases[target]`` cases of each target (indices ``first`` onward) in ``jobs``
    worker processes; a worker silent for ``limit_s + grace_s`` seconds is killed; ``env``
    replaces the workers' environment (default: this one, BLAS limited to one thread);
    ``on_result`` sees each result as it arrives (progress)."""
    if jobs < 1:
        raise FuzzError(f"jobs must be at least 1, found {jobs}")
    cases = {name: count for name, count in cases.items() if count > 0}
    targets = {name: resolve_target(name) for name in cases}
    seeds = {name: t.seeds() for name, t in targets.items()}

    def describe(name: str, index: int) -> str:
        return case_input(name, targets[name], seeds[name], seed, index)[1]
    names = list(cases)
    todo: queue.Queue = queue.Queue()
    for i in range(max(cases.values(), default=0)):
        for n in names:
            if i < cases[n]:
                todo.put((n, first + i))
    base = dict(os.environ if env is None else env)
    if env is None:
        base.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out: list[CaseResult] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def start() -> _Worker:
        return _Worker(names, seed, limit_s, memory_bytes, base)

    def serve() -> None:
        try:
            _serve(todo, out, lock, start, describe, limit_s + grace_s, on_result)
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread below
            errors.append(e)
            while not todo.empty():  # let the other workers stop too
                try:
                    todo.get_nowait()
                except queue.Empty:
                    break

    began = time.monotonic()
    threads = [threading.Thread(target=serve, daemon=True) for _ in range(min(jobs, todo.qsize() or 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return FuzzReport(seed=seed, results=tuple(sorted(out, key=lambda r: (r.target, r.index))),
                      seconds=time.monotonic() - began, jobs=len(threads))
