"""The decoder never crashes and always yields valid MIDI, with its documented rules."""

from __future__ import annotations

import io

import mido
import numpy as np
import pretty_midi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge import vocab
from edge.midi.codec import decode, midi_bytes, token_times
from edge.midi.stream import (
    DEFAULT_NOTE_US,
    DEFAULT_VELOCITY,
    MAX_GAP_US,
    MIN_NOTE_US,
    TIME_SHIFT_US,
    TokenToMidi,
)

ON, OFF, SHIFT, VEL = vocab.note_on, vocab.note_off, vocab.time_shift, vocab.velocity


def _notes(tokens: list[int]) -> list[tuple[int, float, float, int]]:
    return [(n.pitch, n.start, n.end, n.velocity) for n in decode(tokens).instruments[0].notes]


def _s(*bins: int) -> float:
    return sum(TIME_SHIFT_US[b] for b in bins) / 1e6


def test_time_shift_table_is_the_c_headers() -> None:
    header = vocab.c_header()
    assert ", ".join(str(us) for us in TIME_SHIFT_US) in header
    assert TIME_SHIFT_US[0] == 15385 and MIN_NOTE_US < TIME_SHIFT_US[0]


def test_well_formed_stream() -> None:
    toks = [VEL(100), ON(60), SHIFT(5), ON(64), SHIFT(5), OFF(60), OFF(64)]
    v = vocab.bin_to_velocity(vocab.velocity_to_bin(100))
    assert _notes(toks) == [(60, 0.0, _s(5, 5), v), (64, _s(5), _s(5, 5), v)]


def test_note_off_without_note_on_is_ignored() -> None:
    assert _notes([OFF(60), SHIFT(3), OFF(61)]) == []


def test_repeated_note_on_closes_the_earlier_note() -> None:
    toks = [ON(60), SHIFT(10), ON(60), SHIFT(10), OFF(60)]
    assert _notes(toks) == [
        (60, 0.0, _s(10), DEFAULT_VELOCITY),
        (60, _s(10), _s(10, 10), DEFAULT_VELOCITY),
    ]


def test_repeated_note_on_at_the_same_instant_is_a_duplicate() -> None:
    assert _notes([ON(60), ON(60), SHIFT(10), OFF(60)]) == [(60, 0.0, _s(10), DEFAULT_VELOCITY)]


def test_note_off_at_its_onset_gets_the_minimum_length() -> None:
    assert _notes([ON(60), OFF(60), SHIFT(0), ON(62)])[0] == (
        60,
        0.0,
        MIN_NOTE_US / 1e6,
        DEFAULT_VELOCITY,
    )
    # and the deferred release comes out of the stream at the right place in time
    s = TokenToMidi()
    assert s.feed(ON(60)) and s.feed(OFF(60)) == []
    out = s.feed(SHIFT(0))
    assert [(t, m.type, m.note) for t, m in out] == [(MIN_NOTE_US / 1e6, "note_off", 60)]


def test_open_notes_close_at_eos_after_the_default_length() -> None:
    short = _notes([ON(60), EOS_ := vocab.EOS, ON(70)])  # after EOS everything is ignored
    assert EOS_ == vocab.EOS and short == [(60, 0.0, DEFAULT_NOTE_US / 1e6, DEFAULT_VELOCITY)]
    held = _notes([ON(60), SHIFT(31), SHIFT(31)])  # no EOS: end of tokens, held 2.34 s
    assert held == [(60, 0.0, _s(31, 31), DEFAULT_VELOCITY)]


def test_runaway_time_is_capped() -> None:
    toks = [ON(60)] + [SHIFT(31)] * 100 + [OFF(60), SHIFT(31), ON(62), OFF(62)]
    notes = _notes(toks)
    assert notes[0][2] == MAX_GAP_US / 1e6
    assert notes[1][1] == MAX_GAP_US / 1e6 + _s(31)
    assert token_times(toks)[100] == MAX_GAP_US / 1e6


def test_junk_ids_sos_pad_are_ignored() -> None:
    toks = [vocab.SOS, -5, 243, 10_000, vocab.PAD, ON(60), vocab.PAD, SHIFT(2), OFF(60)]
    assert _notes(toks) == [(60, 0.0, _s(2), DEFAULT_VELOCITY)]


def test_close_at_a_later_time_and_twice() -> None:
    s = TokenToMidi(channel=3)
    s.feed(ON(60))
    s.feed(SHIFT(31))
    out = s.close(5.0)
    assert [(t, m.type, m.note, m.channel) for t, m in out] == [(5.0, "note_off", 60, 3)]
    assert s.close() == [] and s.feed(ON(61)) == []
    with pytest.raises(ValueError, match="channel must be in 0..15, found 16"):
        TokenToMidi(channel=16)


token_lists = st.lists(
    st.one_of(
        st.integers(0, vocab.VOCAB_SIZE - 1),
        st.integers(vocab.TIME_SHIFT_OFFSET, vocab.SOS - 1),  # more time shifts
        st.integers(-3, 300),
    ),
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(token_lists)
def test_any_stream_decodes_to_valid_midi(tokens: list[int]) -> None:
    pm = decode(tokens)
    notes = pm.instruments[0].notes
    for n in notes:
        assert vocab.PITCH_MIN <= n.pitch <= vocab.PITCH_MAX
        assert 1 <= n.velocity <= 127
        assert n.end - n.start >= MIN_NOTE_US / 1e6 - 1e-9
    by_pitch: dict[int, list] = {}
    for n in notes:
        by_pitch.setdefault(n.pitch, []).append(n)
    for seq in by_pitch.values():  # one channel never overlaps a pitch with itself
        seq.sort(key=lambda n: n.start)
        assert all(a.end <= b.start + 1e-9 for a, b in zip(seq, seq[1:], strict=False))
    # written and read back by pretty_midi: the same notes (1 ms ticks)
    again = pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(pm)))
    assert sum(len(i.notes) for i in again.instruments) == len(notes)
    times = token_times(tokens)
    assert (np.diff(times) >= 0).all()


@settings(max_examples=100, deadline=None)
@given(token_lists)
def test_streaming_events_agree_with_decode_and_are_time_ordered(tokens: list[int]) -> None:
    s = TokenToMidi()
    events: list[tuple[float, mido.Message]] = []
    for t in tokens:
        events.extend(s.feed(t))
    events.extend(s.close())
    times = [t for t, _ in events]
    assert times == sorted(times)
    held: set[int] = set()
    for _, m in events:  # strictly alternating on/off per pitch
        assert (m.note in held) == (m.type == "note_off")
        (held.discard if m.type == "note_off" else held.add)(m.note)
    assert not held
    ons = [(t, m.note) for t, m in events if m.type == "note_on"]
    decoded = [(n.start, n.pitch) for n in decode(tokens).instruments[0].notes]
    assert sorted(ons) == sorted(decoded)


def test_seeded_random_streams_never_crash() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        toks = rng.integers(-10, 260, size=int(rng.integers(0, 400)))
        pm = decode(toks)
        assert all(n.end > n.start for n in pm.instruments[0].notes)
