"""The MIDI sink base (held notes, panic, close) through MemorySink, the port sink through a
stand-in at the mido port boundary, and open_sink's spec parsing."""

from __future__ import annotations

import mido
import pytest

from firmware_bridge.errors import SinkError
from firmware_bridge.playout import VirtualClock
from firmware_bridge.sinks import (
    DinSink,
    MemorySink,
    MidiFileSink,
    MidiSink,
    PortSink,
    WavSink,
    open_sink,
)


def on(note: int, channel: int = 0, velocity: int = 90) -> mido.Message:
    return mido.Message("note_on", channel=channel, note=note, velocity=velocity)


def off(note: int, channel: int = 0) -> mido.Message:
    return mido.Message("note_off", channel=channel, note=note, velocity=0)


def cc123(channel: int) -> mido.Message:
    return mido.Message("control_change", channel=channel, control=123, value=0)


def panic_tail(sink: MemorySink, n_before: int) -> list[mido.Message]:
    return sink.messages[n_before:]


def test_held_notes_follow_note_on_and_both_kinds_of_note_off() -> None:
    sink = MemorySink()
    sink.send(on(60))
    sink.send(on(64, channel=3))
    sink.send(on(67))
    assert sink.held_notes == {(0, 60), (3, 64), (0, 67)}
    sink.send(off(60))
    sink.send(on(67, velocity=0))  # note_on velocity 0 is a note-off
    assert sink.held_notes == {(3, 64)}
    sink.send(mido.Message("program_change", channel=5, program=10))
    sink.send(mido.Message("control_change", channel=5, control=7, value=100))
    assert sink.held_notes == {(3, 64)}
    sink.close()


def test_panic_releases_every_held_note_then_all_notes_off_per_used_channel() -> None:
    sink = MemorySink()
    for msg in (
        on(62, 2),
        on(60, 0),
        on(61, 0),
        off(61, 0),
        mido.Message("program_change", channel=9),
    ):
        sink.send(msg)
    n = len(sink.messages)
    sink.panic()
    assert panic_tail(sink, n) == [off(60, 0), off(62, 2), cc123(0), cc123(2), cc123(9)]
    assert sink.held_notes == frozenset()
    assert not sink.closed  # panic does not close
    sink.send(on(70))
    sink.close()
    assert sink.messages[-4:] == [off(70), cc123(0), cc123(2), cc123(9)]


def test_stop_mid_note_via_close_leaves_nothing_held() -> None:
    sink = MemorySink()
    sink.send(on(60))
    sink.send(on(72, channel=1))
    n = len(sink.messages)
    sink.close()
    assert panic_tail(sink, n) == [off(60), off(72, 1), cc123(0), cc123(1)]
    assert sink.held_notes == frozenset() and sink.closed


def test_close_twice_panics_and_closes_once() -> None:
    sink = MemorySink()
    sink.send(on(60))
    sink.close()
    n = len(sink.messages)
    sink.close()
    assert len(sink.messages) == n
    assert sink.closed_count == 1


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt])
def test_exception_inside_with_mid_note_panics_before_propagating(
    exc_type: type[BaseException],
) -> None:
    with pytest.raises(exc_type), MemorySink() as sink:
        sink.send(on(48, channel=4))
        raise exc_type("boom")
    assert sink.closed and sink.closed_count == 1
    assert sink.messages[-2:] == [off(48, 4), cc123(4)]
    assert sink.held_notes == frozenset()


def test_panic_with_nothing_sent_sends_nothing() -> None:
    with MemorySink() as sink:
        pass
    assert sink.messages == []


def test_send_after_close_is_refused() -> None:
    sink = MemorySink()
    sink.close()
    with pytest.raises(SinkError, match="closed"):
        sink.send(on(60))


@pytest.mark.parametrize(
    "msg",
    [
        mido.Message("pitchwheel", pitch=100),
        mido.Message("sysex", data=[1, 2]),
        mido.MetaMessage("set_tempo", tempo=500000),
        "note_on 60",
    ],
)
def test_unsupported_messages_are_refused_with_the_accepted_types(msg: object) -> None:
    with MemorySink() as sink:
        with pytest.raises(SinkError, match="note_on"):
            sink.send(msg)  # type: ignore[arg-type]
    assert sink.messages == []


class FailingSink(MidiSink):
    """Fails on one note number, to check panic keeps going and close still closes."""

    def __init__(self, bad_note: int) -> None:
        self.bad_note = bad_note
        self.sent: list[mido.Message] = []
        self.closes = 0
        self.armed = False
        super().__init__(name="failing")

    def _send(self, msg: mido.Message) -> None:
        if self.armed and msg.type == "note_off" and msg.note == self.bad_note:
            raise SinkError(f"cannot send note {msg.note}")
        self.sent.append(msg)

    def _close(self) -> None:
        self.closes += 1


def test_a_failing_note_off_does_not_stop_the_other_note_offs_or_the_close() -> None:
    sink = FailingSink(bad_note=61)
    for note in (60, 61, 62):
        sink.send(on(note))
    sink.armed = True
    with pytest.raises(SinkError, match="note 61"):
        sink.close()
    assert sink.sent[-3:] == [off(60), off(62), cc123(0)]
    assert sink.closed and sink.closes == 1


# -- the port sink, through a stand-in at the mido port boundary --------------------------------
class StandInPort:
    """What mido.open_output returns: an object with send() and close()."""

    def __init__(self) -> None:
        self.sent: list[mido.Message] = []
        self.closed = 0

    def send(self, msg: mido.Message) -> None:
        self.sent.append(msg)

    def close(self) -> None:
        self.closed += 1


class StandInBackend:
    """Stands in for mido's rtmidi backend: lists names, opens StandInPorts."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.opened: dict[str, StandInPort] = {}

    def get_output_names(self) -> list[str]:
        return list(self.names)

    def open_output(self, name: str) -> StandInPort:
        self.opened[name] = StandInPort()
        return self.opened[name]


def test_port_sink_sends_through_the_port_and_panics_before_closing_it() -> None:
    backend = StandInBackend(
        ["Midi Through:Midi Through Port-0 14:0", "MicroFreak:MicroFreak 20:0"]
    )
    with open_sink("MicroFreak", port_backend=backend) as sink:
        assert isinstance(sink, PortSink)
        sink.send(on(60, 1))
        sink.send(mido.Message("control_change", channel=1, control=74, value=3))
    port = backend.opened["MicroFreak:MicroFreak 20:0"]
    assert port.sent == [
        on(60, 1),
        mido.Message("control_change", channel=1, control=74, value=3),
        off(60, 1),
        cc123(1),
    ]
    assert port.closed == 1


def test_port_sink_unknown_name_lists_the_available_ports() -> None:
    backend = StandInBackend(["Synth A", "Synth B"])
    with pytest.raises(
        SinkError, match=r"'Nope' not found; available output ports: 'Synth A', 'Synth B'"
    ):
        PortSink("Nope", backend=backend)
    with pytest.raises(SinkError, match="ambiguous"):
        PortSink("Synth", backend=backend)
    assert backend.opened == {}


def test_port_sink_real_rtmidi_path_fails_clearly_without_a_midi_system() -> None:
    try:
        names = mido.get_output_names()
    except OSError:
        names = None
    if names is None:  # no ALSA sequencer (these containers): a SinkError, not an rtmidi error
        with pytest.raises(SinkError, match="cannot list MIDI ports"):
            PortSink("Any Synth")
    else:
        with pytest.raises(SinkError, match="not found; available output ports"):
            PortSink("no such port \u2603")


def test_open_sink_dispatches_on_the_spec(tmp_path) -> None:
    clock = VirtualClock()
    mid = open_sink(str(tmp_path / "a.MID"), clock=clock)
    assert type(mid) is MidiFileSink and mid.clock is clock
    mid.close()
    wav = open_sink(str(tmp_path / "a.wav"), clock=clock)
    assert type(wav) is WavSink
    wav.close()
    din = open_sink("din:loop://")
    assert type(din) is DinSink
    din.close()
    with pytest.raises(SinkError, match="found ''"):
        open_sink("  ")
    with pytest.raises(SinkError, match="expected a serial URL"):
        open_sink("din:")
