"""The synthetic performer: deterministic, split by piece, and the motion carries the music."""

import shutil
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from edge import vocab
from edge.data.dataset import load_split, read_manifest
from edge.data.synth.build import build_synth_dataset, pieces_from_dir, split_of
from edge.data.synth.nuisance import detect
from edge.data.synth.params import NuisanceParams, PerformerParams, PianoParams, ViolinParams
from edge.data.synth.piano import key_x, perform_piano, plan_piano
from edge.data.synth.score import Notes, melody
from edge.data.synth.violin import bow_track, perform_violin, stop_point, string_and_semitone
from edge.skeleton import L_WRIST, LEFT_HAND_OFFSET, R_WRIST, RIGHT_FINGERTIPS
from foley_edge.cli import main

FPS = 22.0


def _notes(rows: list[tuple[float, float, int, int]]) -> Notes:
    a = np.array(rows, np.float64)
    return Notes(a[:, 0], a[:, 1], a[:, 2].astype(np.int64), a[:, 3].astype(np.int64))


@pytest.fixture(scope="module")
def midi_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five short pieces: scales, chords and a bass line, each a few seconds."""
    root = tmp_path_factory.mktemp("midi")
    rng = np.random.default_rng(7)
    for k in range(5):
        pm = pretty_midi.PrettyMIDI()
        inst = pretty_midi.Instrument(0)
        t = 0.0
        for _ in range(12):
            dur = float(rng.choice([0.25, 0.5]))
            for p in {int(rng.integers(60, 84)), int(rng.integers(40, 58))}:
                inst.notes.append(pretty_midi.Note(90, p, t, t + dur))
            t += dur
        pm.instruments.append(inst)
        pm.write(str(root / f"piece{k}.mid"))
    return root


def _build(midi_dir: Path, out: Path, *, seed: int, workers: int, instrument: str = "mixed"):
    return build_synth_dataset(out, pieces_from_dir(midi_dir), instrument=instrument, seed=seed,
                               params=PerformerParams(), source="test", workers=workers,
                               progress=False)


def test_same_seed_gives_identical_clips_whatever_the_worker_count(midi_dir: Path,
                                                                   tmp_path: Path) -> None:
    a = _build(midi_dir, tmp_path / "a", seed=3, workers=1)
    b = _build(midi_dir, tmp_path / "b", seed=3, workers=2)
    c = _build(midi_dir, tmp_path / "c", seed=4, workers=1)
    assert a.counts == b.counts and sum(a.counts.values()) == 5
    ca, cb, cc = (load_split(s.root, "all") for s in (a, b, c))
    for x, y in zip(ca, cb, strict=True):
        assert x.meta == y.meta
        np.testing.assert_array_equal(x.keypoints, y.keypoints)
        np.testing.assert_array_equal(x.tokens, y.tokens)
        assert x.midi == y.midi
    same_piece = {c.meta["piece"]: c for c in cc}
    assert any(not np.array_equal(x.keypoints, same_piece[x.meta["piece"]].keypoints)
               for x in ca)


def test_splits_are_by_piece_and_disjoint(midi_dir: Path, tmp_path: Path) -> None:
    s = _build(midi_dir, tmp_path / "d", seed=5, workers=1)
    m = read_manifest(s.root)
    pieces = [set(m["splits"][k]["pieces"]) for k in ("train", "val", "test")]
    assert pieces[0].isdisjoint(pieces[1]) and pieces[0].isdisjoint(pieces[2])
    assert pieces[1].isdisjoint(pieces[2]) and len(set.union(*pieces)) == 5
    assert m["counts"]["val"] >= 1 and m["counts"]["test"] >= 1
    for split in ("train", "val", "test"):
        assert {c.meta["split"] for c in load_split(s.root, split)} <= {split}
    names = [f"p{i}" for i in range(40)]
    assert split_of(names, 1) == split_of(list(reversed(names)), 1)
    assert split_of(names, 1) != split_of(names, 2)


def test_clip_tokens_and_midi_describe_the_same_notes(midi_dir: Path, tmp_path: Path) -> None:
    s = _build(midi_dir, tmp_path / "e", seed=0, workers=1, instrument="piano")
    clip = load_split(s.root, "all")[0]
    pm = pretty_midi.PrettyMIDI(__import__("io").BytesIO(clip.midi))
    midi_pitches = sorted(n.pitch for n in pm.instruments[0].notes)
    on = clip.tokens[clip.tokens < vocab.NOTE_OFF_OFFSET]
    assert sorted(int(t) + vocab.PITCH_MIN for t in on) == midi_pitches
    assert clip.duration_s >= pm.get_end_time()
    assert clip.meta["instrument"] == "piano" and clip.meta["seed"] == 0


def test_piano_fingertip_strikes_the_key_of_the_pitch() -> None:
    p = PianoParams()
    notes = _notes([(0.5, 1.0, 72, 40), (1.5, 2.0, 72, 120), (2.5, 3.0, 96, 80)])
    plan = plan_piano(notes, p)
    xy = perform_piano(plan, int(3.5 * FPS), FPS, p)
    tips = xy[:, list(RIGHT_FINGERTIPS)]
    f0 = int(plan.finger[0])
    held = int(0.8 * FPS)
    assert tips[held, f0, 0] == pytest.approx(float(key_x(72, p)), abs=1e-9)
    soft = tips[held, f0, 1] - p.key_y
    loud = tips[int(1.8 * FPS), int(plan.finger[1]), 1] - p.key_y
    assert p.depth_min * 0.9 < soft < loud <= p.depth_max + 1e-9
    assert tips[int(1.25 * FPS), :, 1] == pytest.approx(np.full(5, p.key_y), abs=1e-6)  # lifted
    # the hand follows the register: two octaves up moves the wrist toward high keys
    assert xy[int(2.8 * FPS), R_WRIST, 0] < xy[int(0.8 * FPS), R_WRIST, 0] - 0.15
    assert xy[0, L_WRIST, 0] > xy[0, R_WRIST, 0]  # bass (left hand) on the image right


def test_a_restruck_key_is_released_first() -> None:
    p = PianoParams()
    plan = plan_piano(_notes([(0.0, 0.5, 64, 90), (0.5, 1.0, 64, 90)]), p)
    assert plan.finger[0] == plan.finger[1]
    assert plan.notes.end[0] <= 0.5 - p.release_s - p.attack_fast_s + 1e-9
    xy = perform_piano(plan, int(1.5 * FPS), FPS, p)
    tip_y = xy[:, RIGHT_FINGERTIPS[int(plan.finger[0])], 1]
    between = tip_y[int(0.2 * FPS):int(0.5 * FPS)]
    assert between.min() < p.key_y + 0.3 * p.depth_min  # lifted between the strokes


def test_violin_bow_reverses_at_each_onset_and_stops_follow_pitch() -> None:
    p = ViolinParams()
    notes = _notes([(0.0, 0.5, 62, 80), (0.5, 1.0, 66, 80), (1.0, 1.5, 69, 120),
                    (1.5, 2.0, 81, 80)])
    t = np.arange(int(2.2 * FPS)) / FPS
    u = bow_track(t, notes, p)
    du = [u[int((s + 0.25) * FPS)] - u[int((s + 0.05) * FPS) + 1] for s in notes.start]
    assert all(a * b < 0 for a, b in zip(du, du[1:], strict=False))
    assert abs(du[2]) > abs(du[1])  # louder → faster bow
    string, semis = string_and_semitone(np.array([62, 66, 81]), p)
    assert list(string) == [1, 1, 3] and list(semis) == [0, 4, 5]
    xy = perform_violin(notes, t.size, FPS, p)
    tips = xy[int(0.8 * FPS), [LEFT_HAND_OFFSET + 4 * f + 3 for f in range(1, 5)]]
    stop = stop_point(np.array(1), np.array(4), p)
    assert np.min(np.linalg.norm(tips - stop, axis=1)) < 1e-6


def test_melody_is_one_note_at_a_time_within_range() -> None:
    m = melody(_notes([(0, 1, 40, 80), (0, 1, 67, 80), (0.5, 2, 72, 80), (2, 3, 105, 80)]),
               55, 100)
    assert list(m.pitch) == [67, 72, 93]
    assert (m.end[:-1] <= m.start[1:]).all()


def test_detector_nuisance_is_seeded_and_well_formed() -> None:
    xy = np.random.default_rng(0).uniform(0.3, 0.7, (400, 65, 2))
    p = NuisanceParams(swap_rate_hz=2.0, drop_prob=0.05)
    a = detect(xy, "piano", FPS, np.random.default_rng(1), p)
    b = detect(xy, "piano", FPS, np.random.default_rng(1), p)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == (400, 65, 3)
    dropped = a[..., 2] == 0
    assert 0.03 < dropped.mean() < 0.12 and (a[dropped][:, :2] == 0).all()
    assert (a[..., 2] >= 0).all() and (a[..., 2] <= 1).all()
    clean = detect(xy, "piano", FPS, np.random.default_rng(1), NuisanceParams(
        scale_sd=0, rotation_deg_sd=0, translate_sd=0, sway_amp=0, jitter_sd=0,
        hand_jitter_sd=0, drop_prob=0, hand_drop_rate_hz=0, swap_rate_hz=0))
    np.testing.assert_allclose(clean[..., :2], xy, atol=1e-6)


def test_cli_synth_show_and_errors(midi_dir: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ds"
    assert main(["data", "synth", "--midi-dir", str(midi_dir), "--out", str(out), "--seed", "2",
                 "--instrument", "violin", "--workers", "1", "--quiet"]) == 0
    assert "pieces/min" in capsys.readouterr().out
    clip_path = sorted(out.rglob("*.npz"))[0]
    png = tmp_path / "clip.png"
    assert main(["data", "show", str(clip_path), "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert main(["data", "show", str(tmp_path / "none.npz"), "--out", str(png)]) == 2
    assert "none.npz: no such clip file" in capsys.readouterr().err
    assert main(["data", "synth", "--midi-dir", str(tmp_path / "nothing"), "--out",
                 str(tmp_path / "x"), "--quiet"]) == 2
    assert not (tmp_path / "x").exists()


def test_hold_out_keeps_another_datasets_val_and_test_pieces_out(
        midi_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _build(midi_dir, tmp_path / "first", seed=2, workers=1)
    held = {p for s in ("val", "test") for p in read_manifest(first.root)["splits"][s]["pieces"]}
    assert len(held) == 2
    out = tmp_path / "more"
    assert main(["data", "synth", "--midi-dir", str(midi_dir), "--out", str(out), "--seed", "9",
                 "--hold-out", str(first.root), "--workers", "1", "--quiet"]) == 0
    assert f"holding out 2 pieces of {first.root} (val/test)" in capsys.readouterr().out
    splits = read_manifest(out)["splits"]
    performed = {p for s in splits.values() for p in s["pieces"]}
    assert len(performed) == 3 and not performed & held
    # --exclude: none of the first dataset's pieces, training split included
    every = {p for s in read_manifest(first.root)["splits"].values() for p in s["pieces"]}
    assert len(every) == 5
    wider = tmp_path / "wider"  # the five pieces and five more
    wider.mkdir()
    for mid in midi_dir.glob("*.mid"):
        shutil.copyfile(mid, wider / mid.name)
        shutil.copyfile(mid, wider / f"{mid.stem}_again.mid")
    fresh = tmp_path / "fresh"
    assert main(["data", "synth", "--midi-dir", str(wider), "--out", str(fresh), "--seed",
                 "9", "--exclude", str(first.root), "--workers", "1", "--quiet"]) == 0
    assert f"holding out 5 pieces of {first.root} (all)" in capsys.readouterr().out
    performed = {p for s in read_manifest(fresh)["splits"].values() for p in s["pieces"]}
    assert len(performed) == 5 and not performed & every
    assert main(["data", "synth", "--midi-dir", str(midi_dir), "--out", str(tmp_path / "y"),
                 "--hold-out", str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert "nowhere" in capsys.readouterr().err and not (tmp_path / "y").exists()


def test_bundled_demo_clip_is_small_valid_piano() -> None:
    from edge.assets import DEMO_CLIP
    from edge.data.clip import load_clip

    clip = load_clip(DEMO_CLIP)
    assert DEMO_CLIP.stat().st_size < 200_000
    assert clip.meta["instrument"] == "piano" and clip.fps == FPS
    assert 4.0 < clip.duration_s <= 10.0 and len(clip.tokens) > 50 and clip.midi[:4] == b"MThd"
