"""Note pairing in odd files (edge.midi.pairing rules 2-4), exact notes and counts per case."""

from __future__ import annotations

import io

import mido
import pretty_midi
from test_midi_helpers import TPB, off, on, smf

from edge.midi.codec import decode, encode
from edge.midi.reader import read_midi


def _notes(data: bytes) -> list[tuple[int, float, float]]:
    """(pitch, start, end) of every note read, seconds at 120 bpm (one beat = 0.5 s)."""
    content = read_midi(data)
    return sorted((n.pitch, n.start, n.end) for i in content.instruments for n in i.notes)


def _counts(data: bytes) -> tuple[int, int, int]:
    c = read_midi(data)
    return c.off_before_on, c.orphan_offs, c.unterminated


def test_note_off_first_on_one_tick_is_a_zero_length_note_not_a_stuck_one() -> None:
    # music21's grace note: off, on at beat 1; the pitch is struck again at beat 4. Read as
    # "stray off, then a note-on" it would last until beat 5 (pretty_midi) or longer.
    data = smf([[off(TPB, 60), on(TPB, 60), on(4 * TPB, 60), off(5 * TPB, 60)]])
    assert _notes(data) == [(60, 0.5, 0.5), (60, 2.0, 2.5)]
    assert _counts(data) == (1, 0, 0)
    r = encode(data).report
    assert (r.zero_length_dropped, r.off_before_on_paired, r.notes_kept) == (1, 1, 1)


def test_note_off_first_never_struck_again_is_zero_length_at_the_track_end() -> None:
    data = smf([[on(0, 62), off(TPB, 62), off(2 * TPB, 60), on(2 * TPB, 60), off(8 * TPB, 62)]])
    # the trailing off of 62 finds nothing: an orphan; 60 is zero-length, not unterminated
    assert _notes(data) == [(60, 1.0, 1.0), (62, 0.0, 0.5)]
    assert _counts(data) == (1, 1, 0)


def test_consecutive_note_off_first_pairs_of_one_pitch() -> None:
    # two grace notes of 64 (beats 1 and 2), then a real 64 on beat 3
    data = smf(
        [
            [
                off(TPB, 64),
                on(TPB, 64),
                off(2 * TPB, 64),
                on(2 * TPB, 64),
                on(3 * TPB, 64),
                off(4 * TPB, 64),
            ]
        ]
    )
    assert _notes(data) == [(64, 0.5, 0.5), (64, 1.0, 1.0), (64, 1.5, 2.0)]
    assert _counts(data) == (2, 0, 0)


def test_grace_and_real_note_of_one_pitch_on_one_tick() -> None:
    # cpebach h186 and Mozart k458: off, on (grace), on (the real note), its off later
    data = smf([[off(TPB, 67), on(TPB, 67), on(TPB, 67), off(2 * TPB, 67)]])
    assert _notes(data) == [(67, 0.5, 0.5), (67, 0.5, 1.0)]
    assert _counts(data) == (1, 0, 0)


def test_stray_note_off_before_a_real_note_keeps_the_note() -> None:
    # a double note-off (tracker style): the second comes with the next note-on of the pitch;
    # no note-on follows the note-off that releases it, so the note is real
    data = smf([[on(0, 60), off(TPB, 60), off(2 * TPB, 60), on(2 * TPB, 60), off(3 * TPB, 60)]])
    assert _notes(data) == [(60, 0.0, 0.5), (60, 1.0, 1.5)]
    assert _counts(data) == (0, 1, 0)


def test_overlapping_notes_of_one_pitch_in_one_track_end_at_the_first_note_off() -> None:
    # one channel, one voice per pitch: the first note-off silences the pitch (as pretty_midi
    # reads it); the second finds nothing. The cleaner then ends the first at the second onset.
    data = smf([[on(0, 67), on(TPB, 67), off(2 * TPB, 67), off(4 * TPB, 67)]])
    assert _notes(data) == [(67, 0.0, 1.0), (67, 0.5, 1.0)]
    assert _counts(data) == (0, 1, 0)
    enc = encode(data)
    assert enc.report.overlaps_resolved == 1
    assert [(n.pitch, n.start, n.end) for n in enc.notes] == [(67, 0.0, 0.5), (67, 0.5, 1.0)]


def test_restrike_written_note_on_first_keeps_the_new_note() -> None:
    data = smf([[on(0, 62), on(TPB, 62), off(TPB, 62), off(2 * TPB, 62)]])
    assert _notes(data) == [(62, 0.0, 0.5), (62, 0.5, 1.0)]
    assert _counts(data) == (0, 0, 0)


def test_unterminated_note_closes_at_its_track_end() -> None:
    end = mido.MetaMessage("end_of_track")
    data = smf([[on(0, 60), on(TPB, 64), off(2 * TPB, 64)], [on(0, 72), (6 * TPB, end)]])
    # the first track ends at beat 2, so its 60 ends there; 72's track ends at beat 6
    assert _notes(data) == [(60, 0.0, 1.0), (64, 0.5, 1.0), (72, 0.0, 3.0)]
    assert _counts(data) == (0, 0, 2)
    assert encode(data).report.unterminated_closed == 2


def test_same_pitch_across_tracks_the_later_note_keeps_its_own_release() -> None:
    # voice A holds 60 for beats 0-4, voice B strikes 60 on beat 1 for one beat: the earlier
    # note ends at the later onset, the later keeps its release; 60 is silent from beat 2
    data = smf([[on(0, 60), off(4 * TPB, 60)], [on(TPB, 60, ch=1), off(2 * TPB, 60, ch=1)]])
    enc = encode(data)
    assert enc.report.overlaps_resolved == 1
    assert [(n.pitch, n.start, n.end) for n in enc.notes] == [(60, 0.0, 0.5), (60, 0.5, 1.0)]
    got = decode(enc.tokens).instruments[0].notes
    assert [n.pitch for n in got] == [60, 60]
    assert abs(got[1].end - 1.0) < 0.008


def test_pretty_midi_reads_the_one_voice_cases_alike() -> None:
    # the reader follows pretty_midi wherever pretty_midi has no stuck note
    for events in (
        [on(0, 67), on(TPB, 67), off(2 * TPB, 67), off(4 * TPB, 67)],
        [on(0, 62), on(TPB, 62), off(TPB, 62), off(2 * TPB, 62)],
        [on(0, 60), off(TPB, 60), off(2 * TPB, 60), on(2 * TPB, 60), off(3 * TPB, 60)],
    ):
        data = smf([events])
        pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
        ref = sorted((n.pitch, n.start, n.end) for n in pm.instruments[0].notes)
        assert _notes(data) == ref
