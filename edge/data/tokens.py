"""MIDI → event tokens for a clip's time span, through the project's codec (``edge.midi.codec``)."""

from __future__ import annotations

from typing import Any

import numpy as np


def tokens_for_span(pm: Any, start_s: float, end_s: float) -> np.ndarray:
    """int16 [N]: tokens of the notes of ``pm`` with onsets between the two times.

    ``pm`` is anything :func:`edge.midi.reader.read_midi` reads (PrettyMIDI, bytes, path).

    Uses :func:`edge.midi.codec.encode_window`, so clips and the trainer share one tokenizer.
    """
    from edge.midi import codec  # imported late: the codec pulls in the MIDI stack

    encoded = codec.encode_window(pm, float(start_s), float(end_s))
    tokens = getattr(encoded, "tokens", encoded)
    return np.asarray(tokens, dtype=np.int16)
