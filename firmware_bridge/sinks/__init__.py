"""MIDI sinks: where the board's events go, with no note ever left stuck on.

``open_sink(spec)`` turns a command-line ``--midi-out`` value into a sink:

==================  ==============================================================
spec                sink
==================  ==============================================================
``din:URL``         :class:`DinSink` — raw MIDI bytes at 31250 baud on a serial URL
``NAME.mid``        :class:`MidiFileSink` — Standard MIDI File written at close
``NAME.wav``        :class:`WavSink` — audio rendered by FluidSynth at close
anything else       :class:`PortSink` — a mido/python-rtmidi output port by name
==================  ==============================================================
"""

from __future__ import annotations

from firmware_bridge.errors import SinkError
from firmware_bridge.playout import Clock
from firmware_bridge.sinks.base import ALL_NOTES_OFF_CC, MidiSink
from firmware_bridge.sinks.din import DIN_BAUDRATE, DinSink
from firmware_bridge.sinks.memory import MemorySink
from firmware_bridge.sinks.midifile import MidiFileSink
from firmware_bridge.sinks.port import PortBackend, PortSink
from firmware_bridge.sinks.signals import interrupt_on_termination
from firmware_bridge.sinks.wav import WavSink

__all__ = [
    "ALL_NOTES_OFF_CC",
    "DIN_BAUDRATE",
    "DinSink",
    "MemorySink",
    "MidiFileSink",
    "MidiSink",
    "PortSink",
    "WavSink",
    "interrupt_on_termination",
    "open_sink",
]


def open_sink(
    spec: str, *, clock: Clock | None = None, port_backend: PortBackend | None = None
) -> MidiSink:
    """Open the sink named by ``spec`` (``PORTNAME``, ``din:URL``, ``x.mid``, ``x.wav``).

    ``clock`` stamps the file sinks' events (share the playout scheduler's clock);
    ``port_backend`` replaces mido's default backend for port names.
    """
    spec = spec.strip()
    if not spec:
        raise SinkError(
            "MIDI output: expected a port name, din:URL, FILE.mid or FILE.wav, found ''"
        )
    lower = spec.lower()
    if lower.startswith("din:"):
        return DinSink(spec[len("din:") :])
    if lower.endswith((".mid", ".midi")):
        return MidiFileSink(spec, clock=clock)
    if lower.endswith(".wav"):
        return WavSink(spec, clock=clock)
    return PortSink(spec, backend=port_backend)
