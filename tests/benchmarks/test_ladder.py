"""The pitch ladder: its note counts on hand-made notes, the analytic cue reader on a performed
clip, and its errors for missing inputs."""

from __future__ import annotations

import io
import json

import numpy as np
import pretty_midi
import pytest

from benchmarks.ladder import LadderError
from benchmarks.ladder.__main__ import main as ladder_main
from benchmarks.ladder.cues import CameraFit, fit_camera, read_cues
from benchmarks.ladder.metrics import NoteCounts, count_notes, onset_pairs, summarize
from benchmarks.ladder.rungs import board_notes
from edge.data.clip import Clip
from edge.data.dataset import write_dataset
from edge.data.synth.body import LEGS, rest_body
from edge.data.synth.params import PerformerParams
from edge.data.synth.performer import Piece, perform_notes
from edge.data.synth.score import Notes, to_pretty_midi
from edge.model.evaluate import NoteArrays, note_arrays, score_notes


def _notes(onsets: list[float], pitches: list[int]) -> NoteArrays:
    on = np.asarray(onsets, np.float64)
    p = np.asarray(pitches, np.int64)
    return NoteArrays(np.stack([on, on + 0.2], 1), 440.0 * 2.0 ** ((p - 69) / 12.0), p)


def test_counts_by_hand() -> None:
    ref = _notes([0.0, 0.5, 1.0, 1.5, 2.0, 3.0], [60, 62, 64, 65, 67, 69])
    # exact, octave up, 1 semitone off, 7 off, exact but 60 ms late (no match), extra note
    est = _notes([0.01, 0.49, 1.03, 1.5, 2.06, 4.0], [60, 74, 63, 72, 67, 50])
    c = count_notes(ref, est)
    assert c == NoteCounts(ref_notes=6, est_notes=6, onset_matched=4, pitch_matched=1, exact=1,
                           octave=1, near_miss=1)
    f = c.figures()
    assert f["onset_only_f1"] == pytest.approx(8 / 12)
    assert f["onset_f1"] == pytest.approx(2 / 12)
    assert (f["exact_pitch_share"], f["octave_error_share"], f["near_miss_share"]) == (
        0.25, 0.25, 0.25)
    mir = score_notes(ref, est)  # the same F1s as `foley-edge midi score`
    assert (mir["onset_only_f1"], mir["onset_f1"]) == pytest.approx(
        (f["onset_only_f1"], f["onset_f1"]))


def test_chord_pairs_favour_exact_then_octave() -> None:
    # A 3-note chord; an arbitrary onset pairing could match 60-64, 64-48, 67-60 (no exact).
    ref = _notes([1.0, 1.0, 1.0], [60, 64, 67])
    est = _notes([1.02, 1.02, 1.02], [48, 64, 61])
    pairs = onset_pairs(ref, est)
    assert pairs == [(0, 0), (1, 1), (2, 2)]  # 60-48 octave, 64-64 exact, 67-61 the rest
    c = count_notes(ref, est)
    assert (c.onset_matched, c.exact, c.octave, c.near_miss) == (3, 1, 1, 0)


def test_empty_sides_and_pooling() -> None:
    empty = _notes([], [])
    assert count_notes(empty, empty).figures()["onset_f1"] == 1.0
    one = count_notes(_notes([0.0], [60]), empty)
    assert one.figures() == {"onset_only_f1": 0.0, "onset_f1": 0.0, "exact_pitch_share": 0.0,
                             "octave_error_share": 0.0, "near_miss_share": 0.0}
    a = NoteCounts(10, 10, 10, 10, 10, 0, 0)  # perfect, 10 notes
    b = NoteCounts(30, 30, 30, 0, 0, 30, 0)  # every note an octave off, 30 notes
    s = summarize([a, b])
    assert s["mean"]["exact_pitch_share"] == 0.5
    assert s["pooled"]["exact_pitch_share"] == 0.25
    assert s["pooled"]["octave_error_share"] == 0.75


def test_camera_fit_recovers_a_known_similarity() -> None:
    legs = list(LEGS)
    a = np.deg2rad(3.0)
    rot = 1.1 * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    kp = np.zeros((4, 65, 3))
    kp[:, :, :2] = (rest_body(4) - 0.5) @ rot.T + 0.5 + np.array([0.03, -0.02])
    kp[:, legs, 2] = 0.5
    cam = fit_camera(kp)
    assert (cam.scale, cam.roll_deg) == pytest.approx((1.1, 3.0))
    assert cam.shift == pytest.approx((0.03, -0.02))
    assert cam.to_performer(kp[0, :, :2]) == pytest.approx(rest_body(1)[0])
    assert isinstance(cam, CameraFit) and cam.residual < 1e-9


def _performed(seed: int = 3) -> Clip:
    """A short piano clip: a two-hand scale with repeated notes, leaps and a chord."""
    pitches = [48, 52, 55, 60, 62, 64, 64, 65, 67, 69, 71, 72, 45, 76, 79, 84, 57, 60, 64]
    start = np.r_[np.arange(16) * 0.3, [5.0, 5.0, 5.0]]
    notes = Notes(start, start + 0.25, np.array(pitches, np.int64),
                  np.full(len(pitches), 80, np.int64))
    return perform_notes(notes, Piece("ladder_test", "", ""), "piano", seed, PerformerParams())


def test_cue_reader_recovers_the_performance() -> None:
    clip = _performed()
    until = clip.n_frames / clip.fps
    ref = note_arrays(pretty_midi.PrettyMIDI(io.BytesIO(clip.midi)), until)
    est = note_arrays(to_pretty_midi(read_cues(clip.keypoints, clip.fps), "piano"), until)
    f = count_notes(ref, est).figures()
    assert f["onset_only_f1"] >= 0.9, f
    assert f["onset_f1"] >= 0.9, f
    assert f["exact_pitch_share"] >= 0.9, f


def test_cue_reader_needs_the_keypoints_not_the_midi() -> None:
    clip = _performed()
    other = _performed(seed=4)  # same notes, another camera and noise
    n1, n2 = read_cues(clip.keypoints, clip.fps), read_cues(other.keypoints, other.fps)
    assert len(n1) >= 17 and len(n2) >= 17
    frozen = np.repeat(clip.keypoints[-1:], clip.n_frames, axis=0)  # hands at rest: no notes
    assert len(read_cues(frozen, clip.fps)) == 0


def test_missing_board_recording_is_named(tmp_path) -> None:  # noqa: ANN001 (pytest fixture)
    clip = _performed()
    with pytest.raises(LadderError, match=r"ladder_test-1s\.mid missing.*--offline"):
        board_notes(tmp_path, "1s")(clip)


def test_command_writes_the_table_and_names_missing_inputs(tmp_path, capsys) -> None:  # noqa: ANN001
    clip = _performed()
    data = write_dataset(tmp_path / "data", {"test": [clip]}, {"fps": clip.fps})
    out = tmp_path / "ladder"
    assert ladder_main(["--data", str(data), "--out", str(out), "--rungs", "cues",
                        "--no-png"]) == 0
    doc = json.loads((out / "ladder.json").read_text())
    (rung,) = doc["rungs"]
    assert rung["key"] == "cues" and rung["pooled"]["onset_f1"] >= 0.9
    assert "| analytic upper bound" in (out / "ladder.md").read_text()
    assert (out / "notes" / "cues" / "ladder_test.mid").is_file()
    assert ladder_main(["--data", str(data), "--out", str(out), "--rungs", "int8",
                        "--int8", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'nowhere' / 'config.json'}" in err and "foley-edge export" in err
