"""Produce the shipped checkpoints: train the teacher, distill the student, evaluate, copy.

``python -m foley_edge.ship --data D --work W [--epochs N] [--distill-epochs N]
[--noise-epochs N]``; see ``edge/model/shipped/README.md``. Every step is a ``foley-edge``
command, so the recipe lives beside the command line, above ``edge``. Everything is written
under ``W`` first; only finished runs are copied into ``edge/model/shipped`` (the old copy is
replaced by a rename).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from edge.model.shipped import SHIPPED_DIR

TEACHER_FILES = ("config.json", "metrics.json", "curves.png", "eval_test.json", "eval_test.png")


def _install(src: Path, dst: Path, names: tuple[str, ...] | None) -> None:
    """Copy ``src`` (only ``names`` when given, never checkpoint/) to ``dst`` via a rename."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    for f in sorted(src.iterdir()):
        if f.is_file() and (names is None or f.name in names):
            shutil.copy2(f, tmp / f.name)
    if dst.exists():
        shutil.rmtree(dst)
    tmp.rename(dst)


def main(argv: list[str] | None = None) -> int:
    """Run the whole recipe; returns the exit code."""
    from foley_edge.cli import main as cli

    p = argparse.ArgumentParser(prog="python -m foley_edge.ship", description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--work", required=True, type=Path)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--distill-epochs", type=int, default=35)
    p.add_argument("--noise-epochs", type=int, default=8,
                   help="fine-tuning epochs with int8 rounding noise (quant_noise)")
    p.add_argument("--max-clips", type=int, default=8)
    a = p.parse_args(argv)
    teacher, student, tuned = a.work / "teacher", a.work / "student", a.work / "student_noise"
    steps = (
        ["train", "--data", a.data, "--out", str(teacher), "--epochs", str(a.epochs)],
        ["distill", "--teacher", str(teacher), "--data", a.data, "--out", str(student),
         "--epochs", str(a.distill_epochs)],
        ["distill", "--teacher", str(teacher), "--data", a.data, "--out", str(tuned),
         "--epochs", str(a.noise_epochs), "--init", str(student), "--lr-factor", "0.2",
         "--set", "quant_noise=true"],
        ["evaluate", "--model", str(teacher), "--data", a.data, "--max-clips", str(a.max_clips)],
        ["evaluate", "--model", str(tuned), "--data", a.data, "--max-clips", str(a.max_clips)],
    )
    for cmd in steps:
        print("foley-edge " + " ".join(cmd), file=sys.stderr)
        rc = cli(cmd)
        if rc:
            return rc
    _install(teacher, SHIPPED_DIR / "teacher", TEACHER_FILES)
    _install(tuned, SHIPPED_DIR / "student", None)
    print(f"shipped to {SHIPPED_DIR}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
