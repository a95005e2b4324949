"""foley-edge midi encode | decode | show, end to end through the real entry point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from foley_edge.cli import main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "corpus_midi" / "bach__bwv410.mxl.mid"


def test_encode_decode_show_round_trip(tmp_path, capsys) -> None:
    tokens = tmp_path / "t.npy"
    out = tmp_path / "o.mid"
    assert main(["midi", "encode", str(FIXTURE), "--out", str(tokens)]) == 0
    report = capsys.readouterr().out
    assert "notes_kept" in report and "max_onset_error_s" in report
    arr = np.load(tokens)
    assert arr.dtype == np.int16 and arr.ndim == 1 and arr.size > 100
    assert main(["midi", "decode", str(tokens), "--out", str(out), "--program", "19"]) == 0
    pm = pretty_midi.PrettyMIDI(str(out))
    assert pm.instruments[0].program == 19 and len(pm.instruments[0].notes) > 50
    png = tmp_path / "roll.png"
    assert main(["midi", "show", str(tokens), "--limit", "5", "--plot", str(png)]) == 0
    listing = capsys.readouterr().out
    assert "VEL" in listing and "ON " in listing and "more tokens" in listing
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["midi", "show", str(FIXTURE), "--limit", "3"]) == 0
    listing = capsys.readouterr().out
    assert "instrument(s)" in listing and "Soprano" in listing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["midi", "encode", "{bad}", "--out", "{tmp}/x.npy"], "not a Standard MIDI File"),
        (["midi", "decode", "{tmp}/missing.npy", "--out", "{tmp}/x.mid"], "no such token file"),
        (
            ["midi", "decode", "{twod}", "--out", "{tmp}/x.mid"],
            "expected a 1-D integer token array",
        ),
        (["midi", "show", "{bad}"], "not a Standard MIDI File"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path, capsys, args: list[str], message: str) -> None:
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"hello")
    twod = tmp_path / "twod.npy"
    np.save(twod, np.zeros((2, 3), np.float32))
    argv = [a.format(bad=bad, tmp=tmp_path, twod=twod) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "foley-edge midi: error:" in err
    assert not (tmp_path / "x.npy").exists() and not (tmp_path / "x.mid").exists()


def _notes(path: Path, notes: list[tuple[float, int]]) -> Path:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    inst.notes += [pretty_midi.Note(90, p, t, t + 0.3) for t, p in notes]
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


def test_score_counts_pitch_and_onset_matches_by_hand(tmp_path, capsys) -> None:
    import json

    ref = _notes(tmp_path / "ref.mid", [(0.0, 60), (0.5, 62), (1.0, 64), (1.5, 65)])
    est = _notes(tmp_path / "est.mid", [(0.01, 60), (0.52, 62), (1.0, 70), (1.5, 71), (3.0, 60)])
    assert main(["midi", "score", str(est), "--ref", str(ref), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    # pitch and onset: 2 of 5 estimated, 2 of 4 reference; onset only: 4 of 5, 4 of 4
    assert got["onset_f1"] == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    assert got["onset_only_f1"] == pytest.approx(2 * 0.8 * 1.0 / 1.8)
    assert main(["midi", "score", str(est), "--ref", str(ref), "--until", "2"]) == 0
    line = capsys.readouterr().out
    assert "4 notes vs 4" in line and "onset F1 with pitch 0.500" in line
    assert "onset-only F1 1.000" in line


def test_score_names_an_unreadable_file(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    ref = _notes(tmp_path / "ref.mid", [(0.0, 60)])
    assert main(["midi", "score", str(bad), "--ref", str(ref)]) == 2
    assert f"{bad}: not a readable MIDI file" in capsys.readouterr().err
