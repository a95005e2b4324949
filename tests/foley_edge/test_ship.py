"""The shipping recipe: its steps in order, with and without the more-pieces stage."""

import argparse
import json
from pathlib import Path

import pytest

from edge.data.dataset import MANIFEST_VERSION
from foley_edge.ship import _final, _steps, main, write_used_pieces


def _args(**kw: object) -> argparse.Namespace:
    base = dict(data="D", work=Path("W"), epochs=20, distill_epochs=35, noise_epochs=8,
                max_clips=8, more_data=None, more_epochs=2, more_distill_epochs=3,
                noise_data=None, qat_epochs=0, settle_epochs=0, settle_data=None)
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
    assert settle[settle.index("--margin-anchor") + 1] == "neutral"
    assert settle[settle.index("--neutral-weight") + 1] == "6.0"
    assert steps[7][steps[7].index("--model") + 1] == "W/student_settled"
    assert _final(a) == (Path("W/teacher_more"), Path("W/student_settled"))


def test_settle_stage_reads_its_own_data_and_the_used_pieces_list_names_it(
        tmp_path: Path) -> None:
    a = _args(more_data="D2", qat_epochs=3, settle_epochs=1, settle_data="D3")
    steps = _steps(a)
    assert steps[4][steps[4].index("--data") + 1] == "D2"  # the first QAT stage: D2 as before
    assert steps[5][steps[5].index("--data") + 1] == "D3"
    assert steps[7][steps[7].index("--data") + 1] == "D"  # evaluation: still D's test split
    # used_pieces.json: every piece of every split of the datasets read
    datasets = []
    for name, pieces in (("d1", ["a/x.mxl", "b/y.mxl"]), ("d2", ["b/y.mxl", "c/z.mxl"])):
        root = tmp_path / name
        root.mkdir()
        splits = {"train": {"pieces": pieces[:1], "clips": []}, "val": {"pieces": [], "clips": []},
                  "test": {"pieces": pieces[1:], "clips": []}}
        (root / "manifest.json").write_text(json.dumps({"version": MANIFEST_VERSION,
                                                        "splits": splits}))
        datasets.append(str(root))
    out = write_used_pieces(datasets, tmp_path / "used.json")
    assert json.loads(out.read_text())["pieces"] == ["a/x.mxl", "b/y.mxl", "c/z.mxl"]


def test_settle_data_without_settle_epochs_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--data", "D", "--work", "W", "--qat-epochs", "1", "--settle-data", "D3"])
    assert e.value.code == 2
    assert "--settle-data D3 needs --settle-epochs" in capsys.readouterr().err


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
