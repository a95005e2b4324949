"""Training: windows, losses, a tiny end-to-end run with resume, distillation, bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from test_train_helpers import TINY_STUDENT, TINY_TEACHER, fake_clip, fake_dataset  # noqa: E402

from edge import vocab  # noqa: E402
from edge.train import TrainError  # noqa: E402
from edge.train.api import distill_student, train_teacher  # noqa: E402
from edge.train.loop import TrainSettings  # noqa: E402
from edge.train.run import load_run  # noqa: E402
from edge.train.windows import make_windows, sequence_pair, window_keypoints  # noqa: E402

FAST = TrainSettings(epochs=2, batch_size=8, warmup=10, lr_factor=2.0, seed=0)


def test_sequence_pair_and_window_padding() -> None:
    inp, tgt, cut = sequence_pair(np.array([5, 100, 210]), 6)
    assert inp.tolist() == [vocab.SOS, 5, 100, 210, vocab.EOS, vocab.PAD]
    assert tgt.tolist() == [5, 100, 210, vocab.EOS, vocab.PAD, vocab.PAD] and not cut
    inp, tgt, cut = sequence_pair(np.arange(10), 4)
    assert inp.tolist() == [vocab.SOS, 0, 1, 2] and tgt.tolist() == [0, 1, 2, 3] and cut
    kp = np.arange(5, dtype=np.float32)[:, None, None] * np.ones((1, 65, 3), np.float32)
    assert window_keypoints(kp, 3, 5)[:, 0, 0].tolist() == [0, 0, 0, 1, 2]


def test_windows_hold_the_notes_of_each_hop() -> None:
    clip = fake_clip(0)
    w = make_windows([clip], TINY_TEACHER)
    assert len(w) == clip.n_frames // TINY_TEACHER.hop_frames
    assert w.keypoints.shape == (len(w), 12, 65, 3)
    # a note every 0.5 s: most 6-frame (0.27 s) hops have one note-on, never more than one
    ons = ((w.targets >= vocab.NOTE_ON_OFFSET) & (w.targets < vocab.NOTE_OFF_OFFSET)).sum(1)
    assert ons.max() == 1 and ons.sum() == 8
    assert (w.targets[w.inputs == vocab.PAD] == vocab.PAD).all()


def test_input_step_trains_on_the_int8_input_grid() -> None:
    from edge.train.loop import _dataset

    w = make_windows([fake_clip(0)], TINY_TEACHER)
    step = 1.0697 / 255  # the shipped student's int8 keypoint scale (zero point at real 0)
    ds = _dataset(w, TrainSettings(input_step=step, seed=1), 4)
    kp = next(iter(ds))[0].numpy()
    grid = kp / step
    np.testing.assert_allclose(grid, np.round(grid), atol=1e-3)
    assert not np.allclose(kp, next(iter(_dataset(w, TrainSettings(seed=1), 4)))[0].numpy())
    with pytest.raises(TrainError, match="'input_step' must be in"):
        TrainSettings(input_step=-1.0).validate()


def test_bad_data_and_settings_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(TrainError, match="field 'fps' must equal the model's 22, found 30"):
        make_windows([replace(fake_clip(0), fps=30.0)], TINY_TEACHER)
    with pytest.raises(TrainError, match="field 'midi' is empty"):
        make_windows([replace(fake_clip(0), midi=b"")], TINY_TEACHER)
    with pytest.raises(TrainError, match="'batch_size' must be >= 1, found 0"):
        TrainSettings(batch_size=0).validate()
    data = fake_dataset(tmp_path / "d", 1, 1, 1)
    with pytest.raises(TrainError, match="fewer than one batch of 64"):
        train_teacher(data, tmp_path / "r", replace(FAST, batch_size=64), TINY_TEACHER, progress=False)
    with pytest.raises(TrainError, match="not a run folder"):
        distill_student(tmp_path / "nothing", data, tmp_path / "s", FAST, TINY_STUDENT)


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("train")
    data = fake_dataset(root / "data")
    train_teacher(data, root / "teacher", FAST, TINY_TEACHER, progress=False)
    return data, root / "teacher"


def test_tiny_teacher_run_folder_and_resume(teacher_run: tuple[Path, Path]) -> None:
    data, run = teacher_run
    for name in ("config.json", "model.weights.h5", "metrics.json", "curves.png"):
        assert (run / name).stat().st_size > 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert 0.0 <= metrics["final_val"]["accuracy"] <= 1.0
    cfg, models = load_run(run)
    assert cfg == TINY_TEACHER
    steps = metrics["history"][-1]["steps"]
    more = train_teacher(data, run, replace(FAST, epochs=3), TINY_TEACHER, resume=True, progress=False)
    assert [h["epoch"] for h in more["history"]] == [1, 2, 3]
    assert more["history"][-1]["steps"] == steps + steps // 2


def test_distillation_lowers_the_students_kd_loss(teacher_run: tuple[Path, Path], tmp_path: Path) -> None:
    data, teacher = teacher_run
    s = replace(FAST, epochs=4, kd_weight=1.0, augment=False)
    m = distill_student(teacher, data, tmp_path / "student", s, TINY_STUDENT, progress=False)
    kd = [h["train_kd"] for h in m["history"]]
    assert kd[-1] < kd[0] and kd[0] > 0
    assert json.loads((tmp_path / "student" / "config.json").read_text())["teacher"] == str(teacher)
    with pytest.raises(TrainError, match="student 'hop_frames' must equal the teacher's 6 .*, found 4"):
        distill_student(teacher, data, tmp_path / "s2", s, replace(TINY_STUDENT, hop_frames=4))
    with pytest.raises(TrainError, match="'input_frame' must equal the teacher's 'body'.*'image'"):
        distill_student(teacher, data, tmp_path / "s3", s, replace(TINY_STUDENT, input_frame="image"))


def test_mirrored_strategy_trains(tmp_path: Path) -> None:
    data = fake_dataset(tmp_path / "d", 2, 1, 1)
    m = train_teacher(data, tmp_path / "r", replace(FAST, epochs=1, strategy="mirrored"),
                      TINY_TEACHER, progress=False)
    assert m["history"][0]["steps"] == m["train_windows"] // FAST.batch_size
    assert np.isfinite(m["history"][0]["train_loss"])


def test_set_kind_gives_that_kinds_shape_not_a_relabel() -> None:
    from edge.model.config import ModelConfigError, StudentConfig, TeacherConfig
    from foley_edge.commands.model import _model_config

    assert _model_config("teacher", []) == TeacherConfig()
    assert _model_config("teacher", ["kind=student"]) == StudentConfig()
    assert _model_config("teacher", ["kind=student", "d_model=32"]).d_model == 32
    with pytest.raises(ModelConfigError, match="'kind' must be one of .*found 'coach'"):
        _model_config("teacher", ["kind=coach"])
