"""Measure TFLite Micro's arena for a model with the real ``tflite-micro`` runtime.

Steps: create a ``tflite_micro.runtime.Interpreter`` with a generous arena (it allocates every
tensor at creation), call ``print_allocations()`` while C-level fd 2 is redirected to a
temporary file, and parse the RecordingMicroAllocator's "Arena allocation total/head/tail"
lines. The total is what a firmware must reserve: the head (TFLM's planned tensors and kernel
scratch) plus the tail (interpreter bookkeeping, persistent buffers). Cost: one interpreter
creation (milliseconds for our models).
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import re
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from export.tflm import TflmError

_LINE = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")


@dataclass(frozen=True)
class TflmArena:
    """What tflite-micro allocated for one model."""

    total_bytes: int  # head + tail: the arena size a firmware needs
    head_bytes: int  # non-persistent area: planned tensors and kernel scratch
    tail_bytes: int  # persistent area: interpreter structures, quantization data, ...


@contextlib.contextmanager
def capture_fd2() -> Iterator[list[str]]:
    """Collect what C code writes to file descriptor 2 inside the block (one string)."""
    out: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode("utf-8", "replace"))


def tflm_interpreter(model: bytes, arena_size: int | None = None):  # noqa: ANN201 - tflite_micro type
    """A tflite-micro interpreter over ``model`` (raises :class:`TflmError` on refusal)."""
    from tflite_micro import runtime

    size = arena_size if arena_size is not None else 4 * len(model) + (1 << 20)
    try:
        return runtime.Interpreter.from_bytes(model, arena_size=size)
    except (RuntimeError, ValueError) as e:
        raise TflmError(f"tflite-micro refused the model: {e}") from e


def _allocation_text(model: bytes) -> str:
    """What ``print_allocations()`` writes for ``model`` (in the calling process)."""
    interp = tflm_interpreter(model)
    with capture_fd2() as text:
        interp.print_allocations()
    return "".join(text)


def _in_child(fn: Callable[[], str], what: str) -> str:
    """``fn()`` run in a forked child, its text returned through a pipe.

    The tflite-micro wheel aborts or crashes (SIGABRT, SIGSEGV) on a few models it should refuse
    and on too-small arenas; in a child that is a :class:`TflmError` naming the signal, not the
    end of the caller. A Python error in the child comes back as its message."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write "ok\n" + text or "error\n" + message, never return
        code = 0
        try:
            faulthandler.disable()  # a crash here is an answer, not a report
            os.close(read_fd)
            try:
                payload = "ok\n" + fn()
            except BaseException as e:  # noqa: BLE001 - reported to the parent as text
                payload = f"error\n{type(e).__name__}: {e}"
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload.encode("utf-8", "replace"))
        except BaseException:  # noqa: BLE001 - the exit status says it failed
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as inp:
        data = inp.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        raise TflmError(f"tflite-micro crashed ({signal.Signals(os.WTERMSIG(status)).name}) "
                        f"while {what}")
    head, _, body = data.partition("\n")
    if head != "ok":
        raise TflmError(f"tflite-micro failed while {what}: {body or 'no answer'}")
    return body


def measure_tflm_arena(model: bytes) -> TflmArena:
    """TFLM's arena (total, head, tail) for ``model``, from ``print_allocations()``; measured in
    a forked child, so a model that crashes the wheel is a :class:`TflmError`."""
    text = _in_child(lambda: _allocation_text(model), "measuring its arena")
    found = dict((k, int(v)) for k, v in _LINE.findall(text))
    if set(found) != {"total", "head", "tail"}:
        raise TflmError("tflite-micro print_allocations(): expected 'Arena allocation "
                        f"total/head/tail' lines, found {sorted(found)}")
    return TflmArena(found["total"], found["head"], found["tail"])


def _creates(model: bytes, arena_size: int) -> bool:
    """True when tflite-micro creates an interpreter for ``model`` in ``arena_size`` bytes
    (tried in a forked child: on some too-small arenas the wheel crashes instead of failing)."""
    from tflite_micro import runtime

    def create() -> str:
        with capture_fd2():
            runtime.Interpreter.from_bytes(model, arena_size=arena_size)
        return ""

    try:
        _in_child(create, f"creating an interpreter in {arena_size} B")
    except TflmError:
        return False
    return True


def working_arena_bytes(model: bytes) -> int:
    """The smallest arena with which tflite-micro creates an interpreter for ``model``.

    ``arena_used_bytes`` and ``print_allocations`` report what is held after allocation, not
    the temporary peak during it: an arena of that size can fail (a KV-cache step here needs
    52,144 B where the total says 39,440 B). Binary search over the arena size (about 20
    interpreter creations, each in a forked child); measured on the 64-bit host, so an upper
    bound for a 32-bit core, where TFLM's bookkeeping structures are smaller.
    """
    lo, hi = 1, measure_tflm_arena(model).total_bytes
    while not _creates(model, hi):  # the reported total may be too small
        if hi > 1 << 30:
            raise TflmError(f"tflite-micro creates no interpreter for this model with any arena "
                            f"up to {hi} B")
        lo, hi = hi + 1, 2 * hi
    while lo < hi:
        mid = (lo + hi) // 2
        if _creates(model, mid):
            hi = mid
        else:
            lo = mid + 1
    return hi
