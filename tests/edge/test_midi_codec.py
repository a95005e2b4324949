"""Encoding real and hand-built MIDI: exact tokens, residual carrying, what real files contain."""

from __future__ import annotations

import io

import mido
import numpy as np
import pretty_midi
import pytest
from test_midi_helpers import TPB, notes_array, off, on, smf

from edge import vocab
from edge.midi import MidiError
from edge.midi.codec import decode, encode, encode_window, token_times
from edge.midi.notes import Note
from edge.midi.reader import read_midi
from edge.midi.stream import TIME_SHIFT_US

HALF_BIN_S = TIME_SHIFT_US[0] / 2e6  # 7.69 ms: the encoder's timing guarantee


def _tempo(tick: int, bpm: float) -> tuple[int, mido.MetaMessage]:
    return tick, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))


def _decoded(tokens: np.ndarray) -> list[pretty_midi.Note]:
    return decode(tokens).instruments[0].notes


def _assert_notes(
    got: list, expected: list[tuple[int, float, float]], tol: float = HALF_BIN_S
) -> None:
    """Same pitches in order, onsets and releases within ``tol`` seconds."""
    assert [n.pitch for n in got] == [e[0] for e in expected]
    for n, (_, start, end) in zip(got, expected, strict=True):
        assert abs(n.start - start) <= tol + 1e-9, (n, start)
        assert abs(n.end - end) <= tol + 1e-9, (n, end)


def test_one_note_gives_hand_computed_tokens() -> None:
    # 0.5 s = 500000 us; the largest bin <= 500000 + 7692 is k=25 (1.15**25/65 s = 506446 us),
    # leaving -6446 us, inside half a bin, so no second shift. VEL bin of 100: 99*32//127 = 24.
    data = smf([[_tempo(0, 120), on(0, 60, 100), off(TPB, 60)]])
    enc = encode(data)
    assert enc.tokens.dtype == np.int16
    assert enc.tokens.tolist() == [176 + 24, 39, 208 + 25, 88 + 39]
    assert enc.report.notes_kept == 1
    assert enc.report.max_onset_error_s == 0
    assert enc.report.max_offset_error_s == pytest.approx(0.006446, abs=1e-6)


def test_residual_is_carried_so_timing_never_drifts() -> None:
    # 2000 notes 20 ms apart: dropping each gap's remainder (15.4 ms emitted per 20 ms) would
    # drift 4.6 ms a note; carrying it keeps every onset within half the smallest bin.
    notes = [pretty_midi.Note(80, 60 + (i % 5), i * 0.02, i * 0.02 + 0.015) for i in range(2000)]
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes = notes
    pm.instruments.append(inst)
    enc = encode(pm)
    got = _decoded(enc.tokens)
    assert len(got) == 2000
    errors = np.abs(np.array([n.start for n in got]) - np.array([n.start for n in notes]))
    assert errors.max() <= HALF_BIN_S + 1e-6
    assert enc.report.max_onset_error_s == pytest.approx(errors.max(), abs=1e-6)


def test_tempo_changes_move_onsets() -> None:
    # beat 0..3 at 120 bpm (0.5 s a beat), then 60 bpm (1 s a beat): beat 6 is at 1.5 + 3 = 4.5 s.
    data = smf(
        [
            [_tempo(0, 120), _tempo(3 * TPB, 60)],
            [
                on(0, 60),
                off(TPB, 60),
                on(2 * TPB, 62),
                off(3 * TPB, 62),
                on(6 * TPB, 64),
                off(7 * TPB, 64),
            ],
        ]
    )
    got = _decoded(encode(data).tokens)
    assert [n.pitch for n in got] == [60, 62, 64]
    for n, start, end in zip(got, [0.0, 1.0, 4.5], [0.5, 1.5, 5.5], strict=True):
        assert abs(n.start - start) <= HALF_BIN_S and abs(n.end - end) <= HALF_BIN_S


def test_velocity_zero_note_on_is_a_note_off_and_velocity_tokens_only_on_change() -> None:
    data = smf(
        [
            [
                on(0, 60, 100),
                off(TPB, 60, as_zero_on=True),
                on(TPB, 62, 100),
                off(2 * TPB, 62, as_zero_on=True),
            ]
        ]
    )
    enc = encode(data)
    assert enc.report.notes_kept == 2
    kinds = [vocab.describe(t).kind for t in enc.tokens]
    assert kinds.count(vocab.EventKind.VELOCITY) == 1
    _assert_notes(_decoded(enc.tokens), [(60, 0.0, 0.5), (62, 0.5, 1.0)])


def test_zero_length_and_same_tick_restrike() -> None:
    # 60: on/off on one tick (zero length): dropped and counted, nothing sounds for it. 62:
    # re-struck at tick 480 written "on, off" (the off ends the OLD note, the new one sounds on).
    data = smf([[on(0, 60), off(0, 60), on(0, 62), on(TPB, 62), off(TPB, 62), off(2 * TPB, 62)]])
    enc = encode(data)
    assert (enc.report.zero_length_dropped, enc.report.notes_kept) == (1, 2)
    got = _decoded(enc.tokens)
    assert not [n for n in got if n.pitch == 60]
    _assert_notes(got, [(62, 0.0, 0.5), (62, 0.5, 1.0)])


def test_overlaps_unisons_drums_range_and_instruments_are_counted() -> None:
    data = smf(
        [
            [on(0, 60), off(2 * TPB, 60), on(0, 10), off(TPB, 10)],  # 10: below A0
            [on(TPB, 60, ch=1), off(3 * TPB, 60, ch=1), on(0, 60, ch=1), off(TPB // 2, 60, ch=1)],
            [on(0, 36, ch=9), off(TPB, 36, ch=9)],  # drums
        ]
    )
    enc = encode(data)
    r = enc.report
    assert (r.instruments_total, r.instruments_used) == (3, 2)
    assert (r.drum_notes_skipped, r.dropped_out_of_range) == (1, 1)
    assert r.duplicates_merged == 1  # two 60s at 0 s: one kept, the longer
    assert r.overlaps_resolved == 1  # the merged 60 (0..1 s) re-struck at 0.5 s
    assert r.notes_in == (
        r.notes_kept
        + r.zero_length_dropped
        + r.dropped_out_of_range
        + r.duplicates_merged
        + r.merged_by_rounding
    )
    _assert_notes(_decoded(enc.tokens), [(60, 0.0, 0.5), (60, 0.5, 1.5)])
    # --instrument picks one: the second track alone has its own overlap (0..0.25, 0.5..1.5)
    one = encode(data, instrument=1)
    assert one.report.instruments_used == 1 and one.report.notes_kept == 2


def test_sustain_pedal_extends_notes_only_when_asked() -> None:
    cc = mido.Message("control_change", control=64, value=127)
    up = mido.Message("control_change", control=64, value=0)
    data = smf(
        [
            [
                (0, cc),
                on(0, 60),
                off(TPB // 2, 60),
                on(TPB, 64),
                off(3 * TPB, 64),
                (4 * TPB, up),
                on(5 * TPB, 67),
                off(6 * TPB, 67),
            ]
        ]
    )
    plain = _decoded(encode(data).tokens)
    held = encode(data, sustain=True)
    assert held.report.sustain_extended == 2  # 60 and 64 end under the pedal, 67 after it
    _assert_notes(_decoded(held.tokens), [(60, 0.0, 2.0), (64, 0.5, 2.0), (67, 2.5, 3.0)])
    _assert_notes(plain, [(60, 0.0, 0.25), (64, 0.5, 1.5), (67, 2.5, 3.0)])


def test_every_source_kind_gives_the_same_tokens(tmp_path) -> None:
    data = smf([[_tempo(0, 90), on(0, 60), on(TPB, 67, 70), off(2 * TPB, 60), off(3 * TPB, 67)]])
    path = tmp_path / "x.mid"
    path.write_bytes(data)
    ref = encode(path).tokens
    assert encode(str(path)).tokens.tolist() == ref.tolist()
    assert encode(data).tokens.tolist() == ref.tolist()
    assert encode(mido.MidiFile(file=io.BytesIO(data))).tokens.tolist() == ref.tolist()
    assert encode(pretty_midi.PrettyMIDI(str(path))).tokens.tolist() == ref.tolist()


def test_encode_window_is_relative_and_clipped() -> None:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes = [
        pretty_midi.Note(90, 60, 0.5, 1.5),  # onset before the window: left out
        pretty_midi.Note(90, 62, 1.0, 1.2),
        pretty_midi.Note(90, 64, 1.5, 4.0),  # clipped to the window end
        pretty_midi.Note(90, 65, 2.0, 2.5),  # onset at end_s: left out
    ]
    pm.instruments.append(inst)
    tokens = encode_window(pm, 1.0, 2.0)
    _assert_notes(_decoded(tokens), [(62, 0.0, 0.2), (64, 0.5, 1.0)])
    assert encode_window(pm, 10.0, 12.0).size == 0
    assert encode_window(read_midi(pm), 1.0, 2.0).tolist() == tokens.tolist()
    assert encode_window(pretty_midi.PrettyMIDI(), 0.0, 2.0).size == 0
    with pytest.raises(MidiError, match="end_s > start_s"):
        encode_window(pm, 2.0, 2.0)


def test_token_times_follow_the_shifts() -> None:
    toks = [
        vocab.velocity(80),
        vocab.note_on(60),
        vocab.time_shift(0),
        vocab.time_shift(3),
        vocab.note_off(60),
    ]
    t = token_times(toks)
    expected = [
        0,
        0,
        TIME_SHIFT_US[0],
        TIME_SHIFT_US[0] + TIME_SHIFT_US[3],
        TIME_SHIFT_US[0] + TIME_SHIFT_US[3],
    ]
    assert t.tolist() == [e / 1e6 for e in expected]


def test_long_silence_is_shortened_and_counted() -> None:
    data = smf([[_tempo(0, 60), on(0, 60), off(TPB, 60), on(30 * TPB, 62), off(31 * TPB, 62)]])
    enc = encode(data)
    assert enc.report.gaps_shortened == 1
    got = _decoded(enc.tokens)
    assert 9.9 <= got[1].start - got[0].end <= 10.0


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty file"),
        (b"RIFF\x00\x00", "expected header 'MThd'"),
        (smf([[on(0, 60), off(TPB, 60)]])[:30], "corrupt MIDI"),
        (smf([[]]), "nothing to encode.*no notes"),
        (smf([[on(0, 36, ch=9), off(TPB, 36, ch=9)]]), "drums only"),
        (smf([[on(0, 12), off(TPB, 12)]]), "no notes in 21..108.*1 out of range"),
    ],
)
def test_bad_inputs_give_clear_errors_naming_the_file(tmp_path, data: bytes, match: str) -> None:
    path = tmp_path / "bad.mid"
    path.write_bytes(data)
    with pytest.raises(MidiError, match=match) as e:
        encode(path)
    assert str(path) in str(e.value)


def test_missing_file_and_bad_instrument_index(tmp_path) -> None:
    with pytest.raises(MidiError, match="cannot read"):
        encode(tmp_path / "nope.mid")
    data = smf([[on(0, 60), off(TPB, 60)], [on(0, 36, ch=9), off(TPB, 36, ch=9)]])
    with pytest.raises(MidiError, match=r"instrument index must be in 0..1, found 5"):
        encode(data, instrument=5)
    with pytest.raises(MidiError, match="drum track"):
        encode(data, instrument=1)


def test_decoded_midi_file_round_trips_through_disk(tmp_path) -> None:
    data = smf([[on(0, 60), on(TPB // 3, 64, 50), off(TPB, 60), off(5 * TPB // 3, 64)]])
    enc = encode(data)
    from edge.midi.codec import write_midi

    path = write_midi(decode(enc.tokens), tmp_path / "out.mid")
    again = pretty_midi.PrettyMIDI(str(path)).instruments[0].notes
    ref_iv, _ = notes_array(list(enc.notes))
    got_iv, _ = notes_array(again)
    assert np.abs(got_iv - ref_iv).max() <= HALF_BIN_S + 0.001  # + half a 1 ms tick
    assert [n.pitch for n in again] == [60, 64]


def test_notes_record_is_frozen() -> None:
    n = Note(60, 0.0, 1.0, 90)
    with pytest.raises(AttributeError):
        n.pitch = 61  # type: ignore[misc]


def test_load_pretty_midi_has_no_max_tick_limit_and_encodes_the_same() -> None:
    from pathlib import Path

    from edge.midi.reader import load_pretty_midi

    path = (
        Path(__file__).resolve().parents[1] / "fixtures/corpus_midi/palestrina__Gloria_07.krn.mid"
    )
    with pytest.raises(ValueError, match="likely corrupt"):  # pretty_midi's own reader refuses it
        pretty_midi.PrettyMIDI(str(path))
    pm = load_pretty_midi(path)
    assert encode(pm).tokens.tolist() == encode(path).tokens.tolist()
    assert encode_window(pm, 0.0, 1e6).tolist() == encode(path).tokens.tolist()
