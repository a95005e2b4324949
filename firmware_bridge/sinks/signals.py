"""Termination signals as Ctrl-C, so a killed stream unwinds its ``with`` blocks and panics.

Python runs ``finally`` and ``__exit__`` for ``KeyboardInterrupt`` (SIGINT, Ctrl-C) but not for
SIGTERM or SIGHUP, which end the process at once — with notes left sounding on the synth.
Inside :func:`interrupt_on_termination` those signals raise ``KeyboardInterrupt`` instead, so
every open sink closes and sends its panic on the way out. SIGINT is handled here too: a process
started in the background by a non-interactive shell (``cmd &``, nohup, many CI runners) inherits
SIGINT *ignored*, and Python then never installs its own KeyboardInterrupt handler — Ctrl-C or
``kill -INT`` would do nothing and the notes would stay on.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

DEFAULT_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")


@contextmanager
def interrupt_on_termination(
    signals: tuple[signal.Signals, ...] = DEFAULT_SIGNALS,
) -> Iterator[None]:
    """Within the block, ``signals`` raise ``KeyboardInterrupt`` (handlers restored after).

    Signal handlers can only be installed from the main thread; elsewhere this is a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_interrupt) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
