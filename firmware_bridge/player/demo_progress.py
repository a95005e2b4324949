"""The demo's progress display: one rich line per step, a frame bar while streaming."""

from __future__ import annotations

from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from firmware_bridge.player.demo import STEPS
from firmware_bridge.player.stream import StreamProgress


class DemoProgress:
    """Shows ``[k/4] step: detail`` with a spinner; during the stream, frames/hops/tokens."""

    def __init__(self, stream: TextIO) -> None:
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
            console=Console(file=stream), transient=False,
        )  # fmt: skip
        self._task: TaskID | None = None

    def __enter__(self) -> DemoProgress:
        self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._finish_task()
        self._progress.stop()

    def _finish_task(self) -> None:
        if self._task is not None:
            task = self._progress.tasks[-1]
            self._progress.update(self._task, completed=task.total or 1, total=task.total or 1)

    def step(self, name: str, detail: str) -> None:
        """A new step starts (``name`` is one of STEPS)."""
        self._finish_task()
        k = STEPS.index(name) + 1 if name in STEPS else 0
        self._task = self._progress.add_task(f"[{k}/{len(STEPS)}] {detail}", total=None,
                                             info="")

    def status(self, p: StreamProgress) -> None:
        """Stream counters: frames sent, hops and tokens received, resets."""
        if self._task is None:
            return
        info = f"{p.frames_sent} frames, {p.hops} hops, {p.events} tokens"
        if p.resets:
            info += f", {p.resets} resets"
        self._progress.update(self._task, info=info)
