"""The shipping recipe: its steps in order, with and without the more-pieces stage."""

import argparse
from pathlib import Path

import pytest

from foley_edge.ship import _final, _steps, main


def _args(**kw: object) -> argparse.Namespace:
    base = dict(data="D", work=Path("W"), epochs=20, distill_epochs=35, noise_epochs=8,
                max_clips=8, more_data=None, more_epochs=2, more_distill_epochs=3,
                noise_data=None, qat_epochs=0, settle_epochs=0)
    return argparse.Namespace(**{**base, **kw})


def test_one_stage_recipe_trains_distils_tunes_and_evaluates_on_its_data() -> None:
    steps = _steps(_args())
    assert [s[0] for s in steps] == ["train", "distill", "distill", "evaluate", "evaluate"]
    assert steps[2][steps[2].index("--init") + 1] == "W/student"
    assert all(s[s.index("--data") + 1] == "D" for s in steps)
    assert _final(_args()) == (Path("W/teacher"), Path("W/student_noise"))


def test_more_pieces_stage_fine_tunes_both_and_still_evaluates_on_the_first_test_split() -> None:
    a = _args(more_data="D2", noise_epochs=1)
    steps = _steps(a)
    assert [s[0] for s in steps] == ["train", "distill", "train", "distill", "distill",
                                     "evaluate", "evaluate"]
    more_teacher, more_student, noise = steps[2], steps[3], steps[4]
    assert more_teacher[more_teacher.index("--init") + 1] == "W/teacher"
    assert more_teacher[more_teacher.index("--data") + 1] == "D2"
    assert more_student[more_student.index("--teacher") + 1] == "W/teacher_more"
    assert more_student[more_student.index("--init") + 1] == "W/student"
    assert noise[noise.index("--init") + 1] == "W/student_more"
    assert noise[noise.index("--data") + 1] == "D2" and "quant_noise=true" in noise
    assert all(s[s.index("--data") + 1] == "D" for s in steps[5:])  # held-out pieces
    assert steps[5][steps[5].index("--model") + 1] == "W/teacher_more"
    assert _final(a) == (Path("W/teacher_more"), Path("W/student_noise"))


def test_qat_replaces_the_noise_fine_tuning_and_ends_the_recipe() -> None:
    a = _args(more_data="D2", qat_epochs=4)
    steps = _steps(a)
    assert [s[0] for s in steps] == ["train", "distill", "train", "distill", "qat", "evaluate",
                                     "evaluate"]
    qat = steps[4]
    assert qat[qat.index("--run") + 1] == "W/student_more" and qat[qat.index("--data") + 1] == "D2"
    assert qat[qat.index("--out") + 1] == "W/student_qat"
    assert qat[qat.index("--margin-anchor") + 1] == "guided"
    assert steps[6][steps[6].index("--model") + 1] == "W/student_qat"
    assert _final(a) == (Path("W/teacher_more"), Path("W/student_qat"))


def test_settle_stage_fine_tunes_the_qat_run_keeping_its_choices() -> None:
    a = _args(more_data="D2", qat_epochs=3, settle_epochs=1)
    steps = _steps(a)
    assert [s[0] for s in steps] == ["train", "distill", "train", "distill", "qat", "qat",
                                     "evaluate", "evaluate"]
    settle = steps[5]
    assert settle[settle.index("--run") + 1] == "W/student_qat"
    assert settle[settle.index("--data") + 1] == "D2"
    assert settle[settle.index("--epochs") + 1] == "1"
    assert settle[settle.index("--margin-anchor") + 1] == "teacher"
    assert steps[7][steps[7].index("--model") + 1] == "W/student_settled"
    assert _final(a) == (Path("W/teacher_more"), Path("W/student_settled"))


def test_settle_without_qat_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--data", "D", "--work", "W", "--settle-epochs", "1"])
    assert e.value.code == 2
    assert "--settle-epochs 1 needs --qat-epochs" in capsys.readouterr().err


def test_no_fine_tuning_ships_the_distilled_student() -> None:
    a = _args(more_data="D2", noise_epochs=0)
    assert [s[0] for s in _steps(a)] == ["train", "distill", "train", "distill", "evaluate",
                                         "evaluate"]
    assert _final(a) == (Path("W/teacher_more"), Path("W/student_more"))
