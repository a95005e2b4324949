"""One ``play`` session end to end: sink, board (booted here or given by URL), link, stream.

:func:`play` opens the sink (``open_sink``), boots the emulated board in QEMU when no URL is
given (the firmware image from ``build_firmware``), opens the link, handshakes, checks the
model hash when one is expected, streams the frames (:func:`firmware_bridge.player.stream`)
and returns the result. The playout latency is one hop (a hop's events describe the music of
its frames, so they exist only once its last frame was sent and the board decoded it) plus a
margin: 'auto' by default (:class:`firmware_bridge.player.latency.AutoMargin` over the last
``AUTO_WINDOW_HOPS`` hops' measured answer delays: it follows their jitter up and down), or a fixed total latency (``PlaySettings.latency_s``; below
one hop, most of every hop plays late, ons and offs bunched together). With
``PlaySettings.playout = "live"`` the latency is L, not one hop + L: every event plays at
``max(arrival, its time + L)`` in time order (:class:`firmware_bridge.playout.PlayoutScheduler`'s
live mode), L 'auto' = the margin alone (the answer delays' median + a safety) or fixed
(``latency_s``): a note early in its hop sounds when the hop's answer arrives, so notes move
against each other by up to a hop, and the latency falls by about half a hop or more
on average. Ctrl-C and SIGTERM
become ``KeyboardInterrupt`` (``interrupt_on_termination``); on any exit the playout scheduler
and the sink panic, so no note is left on, and QEMU is stopped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from firmware_bridge.boards.qemu import QemuBoard
from firmware_bridge.boards.registry import Board
from firmware_bridge.errors import BridgeError
from firmware_bridge.link import DeviceLink
from firmware_bridge.player.latency import (
    AUTO_PERCENTILE,
    AUTO_WINDOW_HOPS,
    LIVE_PERCENTILE,
    AutoMargin,
)
from firmware_bridge.player.stream import StreamProgress, StreamResult, stream
from firmware_bridge.playout import Clock, MonotonicClock, PlayoutScheduler, VirtualClock
from firmware_bridge.sinks import MidiSink, open_sink
from firmware_bridge.sinks.signals import interrupt_on_termination
from firmware_bridge.sources import Frame

LINK_TIMEOUT_S = 60.0  # a hop of a big model takes seconds of emulated time
LIVE_HOP_MAX_S = 0.25
"""Playout 'auto' plays live at hops up to this long (a short-hop model: its notes then sound
within ~a hop of their motion); a longer hop (the 1-s offline student) plays steady, keeping the
rhythm exactly, its latency dominated by the hop either way."""


def resolve_playout(playout: str, hop_s: float) -> str:
    """``steady`` or ``live`` for ``playout`` ('auto': by the hop, :data:`LIVE_HOP_MAX_S`)."""
    if playout != "auto":
        return playout
    return "live" if 0.0 < hop_s <= LIVE_HOP_MAX_S + 1e-9 else "steady"


@dataclass(frozen=True)
class PlayTarget:
    """Where the frames go: a running device by URL, or a QEMU board booted for the session."""

    url: str | None = None  # serial URL of a running device (None: boot `board`)
    board: Board | None = None  # the emulated board to boot when url is None
    elf: Path | None = None  # its firmware image
    din: str = "file"  # QEMU DIN UART: "file" (din.bin in workdir), "tcp" or "none"
    workdir: Path | None = None  # where QEMU keeps din.bin and its stderr (None: a temp dir)


@dataclass(frozen=True)
class PlaySettings:
    """How the session plays."""

    pace: bool = True  # frames at their real rate (False: as fast as possible)
    latency_s: float | None = None  # fixed playout latency (None: 'auto', one hop + AutoMargin)
    # "steady" (hop + margin), "live" (on arrival, at most L late) or "auto": live when the
    # device's hop (from its HELLO) is at most LIVE_HOP_MAX_S, steady for longer hops
    playout: str = "steady"
    expect_model_hash: int | None = None  # refuse a device announcing another model


@contextlib.contextmanager
def _device(target: PlayTarget) -> Iterator[tuple[str, QemuBoard | None]]:
    if target.url is not None:
        yield target.url, None
        return
    if target.board is None or target.elf is None:
        raise BridgeError("play: give a device URL, or a board and its firmware image")
    with QemuBoard(target.board, target.elf, din=target.din, workdir=target.workdir) as q:
        yield q.url, q


def _check_model(link: DeviceLink, settings: PlaySettings) -> None:
    want, hello = settings.expect_model_hash, link.hello
    if want is not None and hello is not None and hello.model_hash != want:
        raise BridgeError(f"device runs model 0x{hello.model_hash:08X}, expected 0x{want:08X} "
                          "(the export given): rebuild or reflash the firmware")


def play(frames: Iterable[Frame] | Callable[[Clock, float], Iterable[Frame]],
         sink: str | MidiSink | Callable[[Clock], MidiSink], target: PlayTarget, settings: PlaySettings = PlaySettings(), *,
         on_status: Callable[[StreamProgress], None] | None = None,
         on_boot: Callable[[QemuBoard | None], None] | None = None) -> StreamResult:
    """Stream ``frames`` to the target and play the events on ``sink`` (module doc).

    ``frames`` may be a function of a clock (the playout's, whose waits also play due events
    and read the link: a paced source sleeps through it) and of the model's fps (from HELLO). ``sink`` is a ``--midi-out``
    spec, a sink, or a function of the session's clock that opens one (file sinks stamp events
    on that clock, so an unpaced run on a virtual clock keeps the clip's timing). ``on_boot``
    sees the QEMU board once it runs (e.g. its DIN file).
    """
    clock = MonotonicClock() if settings.pace else VirtualClock()
    if isinstance(sink, str):
        out = open_sink(sink, clock=clock)
    elif isinstance(sink, MidiSink):
        out = sink
    else:
        out = sink(clock)
    with interrupt_on_termination(), out, \
            PlayoutScheduler(out, latency_s=settings.latency_s or 0.0, clock=clock,
                             mode="steady" if settings.playout == "auto" else settings.playout
                             ) as playout, \
            _device(target) as (url, board), DeviceLink(url, timeout=LINK_TIMEOUT_S) as link:
        if on_boot is not None:
            on_boot(board)
        link.handshake()
        _check_model(link, settings)
        hello = link.hello
        fps = hello.fps if hello is not None else 0.0
        hop_s = hello.hop / fps if hello is not None and fps > 0 else 0.0
        playout.mode = resolve_playout(settings.playout, hop_s)
        q = LIVE_PERCENTILE if playout.mode == "live" else AUTO_PERCENTILE
        margin = AutoMargin(window=AUTO_WINDOW_HOPS, q=q) if settings.latency_s is None else None
        if margin is not None and hop_s > 0 and playout.mode == "steady":
            playout.raise_latency(hop_s)  # + the margin, per hop
        if callable(frames):
            factory = frames
            return stream(link, lambda clock: factory(clock, fps), playout,
                          on_status=on_status, margin=margin)
        return stream(link, frames, playout, on_status=on_status, margin=margin)
