"""Evaluation metrics by hand, and the train -> distill -> evaluate command line end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pretty_midi = pytest.importorskip("pretty_midi")

from test_train_helpers import fake_dataset  # noqa: E402

from edge.model.evaluate import note_arrays, note_f1, pitch_class_distance  # noqa: E402
from foley_edge.cli import main  # noqa: E402

TINY = ["--set", "gcn_channels=8,8", "--set", "gcn_strides=2,1", "--set", "d_model=16",
        "--set", "heads=2", "--set", "layers=1", "--set", "ffn=32", "--set", "joint_groups=2"]
WINDOW = ["--set", "window_frames=12", "--set", "hop_frames=6", "--set", "max_tokens=12"]
FAST = ["--epochs", "2", "--batch-size", "8", "--warmup", "10", "--quiet"]


def _pm(notes: list[tuple[int, float, float]]):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(80, p, a, b) for p, a, b in notes]
    pm.instruments.append(inst)
    return pm


def test_note_metrics_by_hand() -> None:
    ref = note_arrays(_pm([(60, 0.0, 0.5), (64, 1.0, 1.5), (67, 2.0, 2.2), (72, 3.0, 3.1)]))
    same = note_arrays(_pm([(60, 0.03, 0.5), (64, 1.0, 1.5), (67, 2.0, 2.2), (72, 3.0, 3.1)]))
    half = note_arrays(_pm([(60, 0.0, 2.0), (64, 1.0, 1.5), (67, 2.2, 2.4), (71, 3.0, 3.1)]))
    assert note_f1(ref, same, offsets=False) == 1.0 and note_f1(ref, same, offsets=True) == 1.0
    assert note_f1(ref, half, offsets=False) == pytest.approx(0.5)  # 67 late by 200 ms, 71 wrong
    assert note_f1(ref, half, offsets=True) == pytest.approx(0.25)  # 60's offset is far off
    assert pitch_class_distance(ref, same) == 0.0
    # pitch classes {0, 4, 7, 0} vs {0, 4, 7, 11}: 0.5-0.25 + |0-0.25|
    assert pitch_class_distance(ref, half) == pytest.approx(0.5)
    empty = note_arrays(_pm([]))
    assert note_f1(ref, empty, offsets=False) == 0.0 and pitch_class_distance(ref, empty) == 2.0
    assert note_arrays(_pm([(60, 0.0, 0.5), (62, 4.0, 4.5)]), end_s=3.0).pitches.tolist() == [60]


def test_train_distill_evaluate_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = fake_dataset(tmp_path / "data", 4, 1, 2)
    teacher, student = tmp_path / "teacher", tmp_path / "student"
    assert main(["train", "--data", str(data), "--out", str(teacher), *FAST, *TINY, *WINDOW]) == 0
    assert main(["distill", "--teacher", str(teacher), "--data", str(data), "--out", str(student),
                 *FAST, *TINY]) == 0
    cfg = json.loads((student / "config.json").read_text())
    assert cfg["model"]["kind"] == "student" and cfg["model"]["hop_frames"] == 6
    capsys.readouterr()
    assert main(["evaluate", "--model", str(student), "--data", str(data), "--split", "test",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["clips"] == 2 and len(res["per_clip"]) == 2
    for key in ("token_accuracy", "onset_f1", "onset_offset_f1"):
        assert 0.0 <= res[key] <= 1.0
    assert 0.0 <= res["pitch_class_distance"] <= 2.0
    assert res["onset_offset_f1"] <= res["onset_f1"]
    other = res["onset_f1_other_motion"]
    assert res["motion_sensitivity"] == (pytest.approx(res["onset_f1"] / other) if other else None)
    assert (student / "eval_test.png").stat().st_size > 0
    assert json.loads((student / "eval_test.json").read_text())["split"] == "test"
    # clear errors, exit code 2
    assert main(["evaluate", "--model", str(student), "--data", str(data), "--split", "dev"]) == 2
    assert "--split must be one of train, val, test, all, found 'dev'" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(tmp_path), "--data", str(data)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "x"), "--set", "heads=5"]) == 2
    assert "heads" in capsys.readouterr().err
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "x"), "--strategy", "two",
                 *FAST, *TINY, *WINDOW]) == 2
    assert "--strategy must be one of one, mirrored, multiworker, found 'two'" in capsys.readouterr().err
    assert np.isfinite(res["token_loss"])
