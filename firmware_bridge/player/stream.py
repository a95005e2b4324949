"""Stream keypoint frames to a board and play its events: the loop behind ``foley-edge play``.

:func:`stream` runs one conversation over an open :class:`DeviceLink` (handshake done):

1. each frame is put in the coordinates the HELLO asks for (``input_frame``: as given, or the
   body frame of :mod:`edge.data.bodyframe`, one causal fit over the whole stream), quantized
   with the HELLO's input (scale, zero point) and sent once a credit is free
   (:meth:`DeviceLink.send_keypoints`); paced sources sleep through the playout scheduler, so
   due events play while the host waits for the next frame;
2. every message that arrived is handled: EVENTS parts join into hops (:class:`HopAssembler`),
   each hop's MIDI (TokenToMidi rules) goes to the playout scheduler at its clip time; a HELLO
   means the device restarted: the playout panics (no note stays held), the hop numbering
   restarts at the next frame and streaming carries on; a lost link is reopened
   (:meth:`DeviceLink.reconnect`) after the same panic;
3. after the last frame it waits for the hops still owed (``frames // hop`` per session),
   polling in real time (a :class:`VirtualClock` of an unpaced stream is not advanced while
   waiting, so a rendered .mid/.wav keeps the clip's timing), reads the device's STATS and
   drains the playout.
Whatever ends the loop (the end, an error, Ctrl-C), the caller's ``with`` on the scheduler and
the sink panics the sink: no note is left on.

Latency is measured on the host: for hop ``k`` the time from sending the frame that completes
it to receiving its last EVENTS part; and per note-on, motion to sound (:class:`NoteTiming`:
its onset frame sent -> handed to the sink). With an :class:`AutoMargin` (``play``'s default)
each hop's answer delay sets the playout latency, before the hop's events are queued, to one
hop plus the margin the delays seen so far call for (steady playout), or to the margin alone
(live playout: the hop's events play on arrival, or at their time + the margin when later).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import mido

from edge.data.bodyframe import BodyFrame
from edge.protocol_spec import InputFrame
from firmware_bridge.errors import BridgeError
from firmware_bridge.link import DeviceLink, DisconnectedError
from firmware_bridge.player.hops import Hop, HopAssembler, hop_messages
from firmware_bridge.player.latency import AutoMargin, NoteTiming, onset_frame
from firmware_bridge.playout import Clock, PlayoutScheduler, VirtualClock
from firmware_bridge.protocol import messages as m
from firmware_bridge.sources import Frame, quantize_frame

RECONNECT_S = 15.0
FINISH_POLL_S = 0.005  # real-time poll period while waiting for the last hops
POLL_SLICE_S = 0.005  # a paced source's waits read the link this often


def input_stage(hello: m.Hello) -> BodyFrame | None:
    """What turns the source's image keypoints into the model's input (None: nothing)."""
    if hello.input_frame == InputFrame.IMAGE:
        return None
    if hello.input_frame == InputFrame.BODY:
        return BodyFrame(hello.fps)
    known = ", ".join(f"{f.value} ({f.name.lower()})" for f in InputFrame)
    raise BridgeError(f"HELLO field 'input_frame' must be one of {known}, found {hello.input_frame}")


@dataclass
class StreamProgress:
    """Live counters of a stream (what the status line shows)."""

    frames_sent: int = 0  # KEYPOINTS frames sent
    events: int = 0  # tokens received
    hops: int = 0  # hops received
    resets: int = 0  # device restarts / reconnects survived
    errors: list[str] = field(default_factory=list)  # ERROR messages from the device
    latencies_s: list[float] = field(default_factory=list)  # per hop: frame sent -> events in
    instr_per_token: float = 0.0  # device instructions per decoder step so far (STATS)
    lag_s: float = 0.0  # playout's largest lag so far
    late: int = 0  # events that arrived after their due time (played at once)


@dataclass(frozen=True)
class StreamResult:
    """What one stream produced."""

    hello: m.Hello  # the device's (last) HELLO
    hops: tuple[Hop, ...]  # every hop received, in order
    stats: m.Stats  # the device's STATS at the end
    progress: StreamProgress  # the counters at the end
    playout_latency_s: float = 0.0  # the latency events were played with (the last, if raised)
    notes: tuple[NoteTiming, ...] = ()  # every note-on handed to the sink, with its timing
    margin_auto: bool = False  # the margin was 'auto' (raised from the answer delays)
    answer_delays_s: tuple[float, ...] = ()  # per hop: arrival - hop end, playout clock (auto)
    link_url: str = ""  # the device link's URL (socket:// and loop:// have no baud rate)
    real_time: bool = False  # played on a real clock (paced), not a virtual one
    playout_mode: str = "steady"  # the playout scheduler's mode ("steady" or "live")

    @property
    def tokens(self) -> tuple[tuple[int, ...], ...]:
        """Tokens of every hop, in order."""
        return tuple(h.tokens for h in self.hops)


class _Streamer:
    """State of one :func:`stream` call (kept small: one method per step of the loop)."""

    def __init__(self, link: DeviceLink, playout: PlayoutScheduler,
                 on_status: Callable[[StreamProgress], None] | None,
                 margin: AutoMargin | None) -> None:
        self.link, self.playout, self.on_status, self.margin = link, playout, on_status, margin
        hello = link.hello
        if hello is None:
            raise BridgeError("stream: handshake first (no HELLO from the device)")
        self.hello = hello
        self.to_model = input_stage(hello)
        self.asm = HopAssembler(hop_frames=hello.hop, fps=hello.fps)
        self.progress = StreamProgress()
        self.hops: list[Hop] = []
        self.sent_at: dict[int, float] = {}  # clip frame index -> host time sent
        self.session_frames = 0  # frames sent in the current device session
        self.next_frame = 0  # clip index of the frame after the last one sent
        self.notes: list[NoteTiming] = []  # note-ons handed to the sink, with their timing
        playout.on_play = self._on_play

    def send(self, frame: Frame) -> None:
        if self.progress.frames_sent == 0 and self.hello.fps > 0:
            # the first frame anchors the timeline: frame i happens at t0 + i / fps
            self.playout.start(self.playout.now() - frame.index / self.hello.fps)
        kp = frame.keypoints if self.to_model is None else self.to_model(frame.keypoints)
        q = quantize_frame(kp, self.hello.input_scale, self.hello.input_zero_point)
        try:
            self.link.send_keypoints(frame.index, q)
        except DisconnectedError:
            self._reconnect(frame.index)
            self.link.send_keypoints(frame.index, q)
        self.sent_at[frame.index] = time.monotonic()
        self.next_frame = frame.index + 1
        self.session_frames += 1
        self.progress.frames_sent += 1
        self.pump(next_frame=frame.index + 1)

    def pump(self, *, next_frame: int) -> None:
        try:
            msgs = self.link.poll()
        except DisconnectedError:
            self._reconnect(next_frame)
            return
        for msg in msgs:
            self._handle(msg, next_frame)
        if self.on_status is not None:
            self.sync_playout()
            self.on_status(self.progress)

    def sync_playout(self) -> None:
        """Copy the playout's lag and late count into the progress counters."""
        st = self.playout.stats()
        self.progress.lag_s, self.progress.late = st.max_lag_s, st.late

    def _handle(self, msg: m.Message, next_frame: int) -> None:
        if isinstance(msg, m.Events):
            hop = self.asm.add(msg, time.monotonic())
            if hop is not None:
                self._on_hop(hop)
        elif isinstance(msg, m.Hello):  # the device restarted: what it held is lost
            self._restart(next_frame)
        elif isinstance(msg, m.Error):
            self.progress.errors.append(f"{msg.code}: {msg.detail}")

    def _on_hop(self, hop: Hop) -> None:
        self.hops.append(hop)
        self.progress.hops += 1
        self.progress.events += len(hop.tokens)
        last = hop.first_frame + self.hello.hop - 1
        if last in self.sent_at:
            self.progress.latencies_s.append(hop.received_s - self.sent_at[last])
        if self.margin is not None:
            self._raise_margin(hop, self.margin)
        for t, msg in hop_messages(hop.tokens, hop.start_s):  # in time order
            self.playout.submit(t, msg, tag=len(self.hops) - 1)

    def _raise_margin(self, hop: Hop, margin: AutoMargin) -> None:
        """Auto margin: this hop's answer delay on the playout clock may raise the latency (or,
        with a windowed margin, lower it as far as the queued events allow)."""
        hop_s = self.hello.hop / self.hello.fps
        now = self.playout.now()
        t0 = self.playout.t0 if self.playout.t0 is not None else now
        margin_s = margin.observe(now - t0 - (hop.start_s + hop_s))
        target = margin_s if self.playout.mode == "live" else hop_s + margin_s
        self.playout.retarget_latency(target, from_device_time_s=hop.start_s)

    def _on_play(self, device_time_s: float, msg: mido.Message, tag: object) -> None:
        """The playout handed ``msg`` to the sink: time a note-on (tag: its hop's position)."""
        if msg.type != "note_on" or msg.velocity == 0 or not isinstance(tag, int):
            return
        hop = self.hops[tag]
        j = onset_frame(device_time_s, self.hello.fps, hop.first_frame, self.hello.hop)
        last = hop.first_frame + self.hello.hop - 1
        if last not in self.sent_at:
            return  # sent in another way (a restart): no timing to give
        t0 = self.playout.t0 if self.playout.t0 is not None else 0.0
        self.notes.append(NoteTiming(
            hop=tag, note=msg.note, time_s=device_time_s, frame=j, hop_frame=j - hop.first_frame,
            frame_at_s=t0 + j / self.hello.fps, hop_sent_s=self.sent_at[last],
            received_s=hop.received_s, handed_s=time.monotonic()))  # fmt: skip

    def _restart(self, next_frame: int) -> None:
        self.playout.stop()  # panic: notes of the lost session must not hang
        self.asm.restart(next_frame)
        self.session_frames = 0
        self.progress.resets += 1

    def _reconnect(self, next_frame: int) -> None:
        self.playout.stop()
        self.link.reconnect(within_s=RECONNECT_S)
        self.asm.restart(next_frame)
        self.session_frames = 0
        self.progress.resets += 1

    def _wait_for_input(self, timeout_s: float, next_frame: int) -> None:
        """Block on the link until the device sends something or ``timeout_s`` passed."""
        try:
            msg = self.link.receive(timeout=timeout_s)
        except DisconnectedError:
            self._reconnect(next_frame)
            return
        if msg is not None:
            self._handle(msg, next_frame)

    def finish(self, next_frame: int, timeout_s: float) -> m.Stats:
        owed = self.session_frames // self.hello.hop
        deadline = time.monotonic() + timeout_s
        while sum(h.session == self.asm.session for h in self.hops) < owed:
            if time.monotonic() > deadline:
                raise BridgeError(f"stream: {owed} hops expected from the device, received "
                                  f"{sum(h.session == self.asm.session for h in self.hops)} "
                                  f"within {timeout_s:.0f} s")
            self.pump(next_frame=next_frame)
            self.playout.play_due()  # due on a real clock; a virtual clock only moves with frames
            self._wait_for_input(FINISH_POLL_S, next_frame)
        stats = self.link.request_stats()
        if stats.dec_tokens:
            self.progress.instr_per_token = stats.dec_instr_total / stats.dec_tokens
        return stats


class _PollingClock:
    """The playout scheduler as a source's clock; its waits also read the device link.

    A paced source sleeps between frames; polling the link in ``POLL_SLICE_S`` slices while it
    does stamps each hop when it arrives (not at the next frame), so the measured latency is
    the device's and the link's, not the frame period's.
    """

    def __init__(self, streamer: _Streamer) -> None:
        self._s = streamer

    def now(self) -> float:
        """The playout clock's time."""
        return self._s.playout.now()

    def sleep_until(self, t: float) -> None:
        """Wait until ``t`` on the playout clock, playing due events and reading the link."""
        playout = self._s.playout
        while playout.now() < t:
            playout.sleep_until(min(t, playout.now() + POLL_SLICE_S))
            self._s.pump(next_frame=self._s.next_frame)


def stream(link: DeviceLink, frames: Iterable[Frame] | Callable[[Clock], Iterable[Frame]],
           playout: PlayoutScheduler, *,
           on_status: Callable[[StreamProgress], None] | None = None,
           finish_timeout_s: float = 120.0, margin: AutoMargin | None = None) -> StreamResult:
    """Send ``frames`` over ``link`` and play the events through ``playout`` (module doc).

    ``frames`` may be a function of a clock: a paced source sleeping on it keeps reading the
    link (:class:`_PollingClock`). ``margin``: raise the playout latency from the answer delays
    (None: keep ``playout.latency_s``).
    """
    s = _Streamer(link, playout, on_status, margin)
    if playout.t0 is None:
        playout.start()
    source = frames(_PollingClock(s)) if callable(frames) else frames
    for frame in source:
        s.send(frame)
    stats = s.finish(s.next_frame, finish_timeout_s)
    playout.drain()
    s.sync_playout()
    return StreamResult(link.hello or s.hello, tuple(s.hops), stats, s.progress, playout.latency_s,
                        notes=tuple(s.notes), margin_auto=margin is not None,
                        answer_delays_s=tuple(margin.needs) if margin is not None else (),
                        link_url=link.url, real_time=not isinstance(playout.clock, VirtualClock),
                        playout_mode=playout.mode)
