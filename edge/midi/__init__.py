"""MIDI <-> event tokens: the Foley Music / Performance-RNN codec of foley-edge.

- :mod:`edge.midi.reader` reads a Standard MIDI File (path, bytes, ``mido.MidiFile``) or a
  ``pretty_midi.PrettyMIDI`` into instruments of notes, handling what real files contain;
  :mod:`edge.midi.pairing` pairs each track's note-ons and note-offs (odd files included).
- :mod:`edge.midi.clean` merges instruments into one playable note list and counts every change.
- :mod:`edge.midi.codec` encodes notes to tokens (carrying the time-rounding residual forward)
  and decodes tokens back to ``pretty_midi``.
- :mod:`edge.midi.stream` is the incremental decoder the firmware mirrors in C.

The vocabulary itself lives in :mod:`edge.vocab` (the single source of truth).
"""

from edge.errors import FoleyEdgeError


class MidiError(FoleyEdgeError, ValueError):
    """A MIDI file or token file is missing, corrupt, empty or holds nothing playable."""


__all__ = ["MidiError"]
