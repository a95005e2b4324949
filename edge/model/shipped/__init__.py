"""The checkpoints shipped in the repository, so ``make demo`` needs no training.

``shipped/student/`` holds the distilled student's run folder (config.json, model.weights.h5,
metrics.json, curves.png, eval_test.json); ``shipped/teacher/`` the teacher's config, metrics
and evaluation (its weights stay out of the repo). Both are produced by one command after the
two datasets (see ``README.md`` beside this file)::

    python -m foley_edge.ship --data data/synth --work runs/ship --more-data data/synth-250 \
        --more-epochs 2 --more-distill-epochs 4 --noise-epochs 0 --qat-epochs 3 --settle-epochs 1
"""

from __future__ import annotations

from pathlib import Path

from edge.errors import FoleyEdgeError

SHIPPED_DIR = Path(__file__).resolve().parent
USED_PIECES = SHIPPED_DIR / "used_pieces.json"
"""Every corpus piece of the datasets the shipped models came from (written by
``python -m foley_edge.ship``): a held-out set is drawn around them
(``foley-edge data synth --exclude edge/model/shipped/used_pieces.json``)."""


class ShippedModelError(FoleyEdgeError, FileNotFoundError):
    """The shipped checkpoint is not in this checkout."""


STUDENTS: dict[str, str] = {
    "student": ("python -m foley_edge.ship --data DATA --work WORK --more-data DATA2 "
                "--more-epochs 2 --more-distill-epochs 4 --noise-epochs 0 --qat-epochs 3 "
                "--settle-epochs 1"),
    "student-f411": "foley-edge search --board nucleo-f411re --data DATA --out DIR",
    "student-hop4": ("foley-edge train --init WORK/student_more --data DATA2 --out DIR "
                     "--set hop_frames=4 --set max_tokens=24 --set quant_noise=true --stride 4 "
                     "--epochs 1 --lr-factor 0.3 --seed 0"),
}
"""Shipped students by folder name (one per board class, and the F746 class's 4-frame-hop
student for live playing) -> the command that produces it."""


def shipped_run(kind: str = "student") -> Path:
    """The run folder of a shipped student (``student``: STM32F746 class, ``student-f411``:
    STM32F411 class, ``student-hop4``: the F746 student for 4-frame hops) or the teacher's
    config/metrics folder (``teacher``)."""
    recipes = {**STUDENTS, "teacher": STUDENTS["student"]}
    if kind not in recipes:
        raise ShippedModelError(f"kind must be one of {', '.join(recipes)}, found {kind!r}")
    run = SHIPPED_DIR / kind
    needed = "config.json" if kind == "teacher" else "model.weights.h5"
    if not (run / needed).exists():
        raise ShippedModelError(
            f"{run}: no shipped {kind} ({needed} missing); produce it with `{recipes[kind]}` "
            "(see edge/model/shipped/README.md)"
        )
    return run
