"""Produce the shipped checkpoints: train the teacher, distill the student, evaluate, copy.

``python -m foley_edge.ship --data D --work W [--epochs N] [--distill-epochs N]
[--noise-epochs N | --qat-epochs N [--settle-epochs M [--settle-data D3]]] [--more-data D2
[--more-epochs N] [--more-distill-epochs N]]``; see
``edge/model/shipped/README.md``. Every step is a ``foley-edge`` command, so the recipe lives
beside the command line, above ``edge``. Everything is written under ``W`` first; only finished
runs are copied into ``edge/model/shipped`` (the old copy is replaced by a rename).

``--more-data D2`` (a dataset made with ``foley-edge data synth --hold-out D``: more pieces, none
of D's val/test ones) adds a second stage: the teacher and then the student are fine-tuned on
D2's pieces, the student distilled from the fine-tuned teacher. Many pieces seen a few times
generalise where 40 pieces seen 20 times overfit (issue #17). Evaluation stays on D's test
split, the pieces neither stage trained on. ``--qat-epochs N`` ends with quantization-aware
fine-tuning on the last stage's data (``foley-edge qat``, int8 simulated, :data:`QAT_RECIPE`)
instead of the int8 rounding-noise fine-tuning; ``--settle-epochs M`` then fine-tunes that run
once more, keeping its own choices (:data:`SETTLE_RECIPE`), on ``--settle-data D3`` when given:
pieces neither earlier stage saw, so the margins are learnt where the model has not already
settled them. The pieces of every dataset read are listed in ``edge/model/shipped/used_pieces.json``
(:func:`write_used_pieces`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from edge.model.shipped import SHIPPED_DIR

TEACHER_FILES = ("config.json", "metrics.json", "curves.png", "eval_test.json", "eval_test.png")

_QAT_COMMON = ("--lr-factor", "0.1", "--kd-weight", "0.9", "--margin", "2.0", "--margin-weight",
               "3.0", "--logit-bound", "12", "--bound-weight", "1.0")
"""What both quantization-aware stages share; they differ in whose top-1 the margin keeps ahead."""

QAT_RECIPE = (*_QAT_COMMON, "--neutral-weight", "6.0", "--margin-anchor", "guided")
"""The quantization-aware fine-tuning's settings (issue #17, ``export/int8/README.md``): the
margin keeps the truth ahead where it is one of RUN's two best and the model's own choice where
onset F1 cannot tell (:func:`edge.train.losses.onset_neutral`)."""

SETTLE_RECIPE = (*_QAT_COMMON, "--neutral-weight", "6.0", "--margin-anchor", "neutral")
"""The second quantization-aware stage (issue #17): fine-tuning the :data:`QAT_RECIPE` run, which
is then the RUN it distils from, the margin keeps that run's top-1 ahead, or the model's own
where it is one of that run's two best and onset F1 cannot tell them apart (``neutral``). The
first stage moved choices towards the truth and left some of them contested; this one settles
them, with a lead int8 keeps."""


def _install(src: Path, dst: Path, names: tuple[str, ...] | None) -> None:
    """Copy ``src`` (only ``names`` when given, never checkpoint/) to ``dst`` via a rename."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    for f in sorted(src.iterdir()):
        if f.is_file() and (names is None or f.name in names):
            shutil.copy2(f, tmp / f.name)
    if dst.exists():
        shutil.rmtree(dst)
    tmp.rename(dst)


def _final(a: argparse.Namespace) -> tuple[Path, Path]:
    """The run folders the recipe ships: its last teacher and its last student."""
    return _recipe(a)[1:]


def _steps(a: argparse.Namespace) -> list[list[str]]:
    """The ``foley-edge`` commands of the recipe, in order."""
    return _recipe(a)[0]


def _recipe(a: argparse.Namespace) -> tuple[list[list[str]], Path, Path]:
    """The recipe's commands, in order, and the teacher and student run folders it ends with."""
    teacher, student = a.work / "teacher", a.work / "student"
    steps = [
        ["train", "--data", a.data, "--out", str(teacher), "--epochs", str(a.epochs)],
        ["distill", "--teacher", str(teacher), "--data", a.data, "--out", str(student),
         "--epochs", str(a.distill_epochs)],
    ]
    last_data = a.data
    if a.more_data:
        more_t, more_s = a.work / "teacher_more", a.work / "student_more"
        steps += [
            ["train", "--init", str(teacher), "--data", a.more_data, "--out", str(more_t),
             "--epochs", str(a.more_epochs), "--lr-factor", "0.5"],
            ["distill", "--teacher", str(more_t), "--data", a.more_data, "--out", str(more_s),
             "--epochs", str(a.more_distill_epochs), "--init", str(student), "--lr-factor",
             "0.5"],
        ]
        teacher, student, last_data = more_t, more_s, a.more_data
    if a.qat_epochs:
        tuned = a.work / "student_qat"
        steps.append(["qat", "--run", str(student), "--data", last_data, "--out", str(tuned),
                      "--epochs", str(a.qat_epochs), *QAT_RECIPE])
        student = tuned
        if a.settle_epochs:
            settled = a.work / "student_settled"
            steps.append(["qat", "--run", str(student), "--data", a.settle_data or last_data,
                          "--out", str(settled), "--epochs", str(a.settle_epochs),
                          *SETTLE_RECIPE])
            student = settled
    elif a.noise_epochs:
        tuned = a.work / "student_noise"
        steps.append(["distill", "--teacher", str(teacher), "--data", a.noise_data or last_data,
                      "--out", str(tuned), "--epochs", str(a.noise_epochs), "--init",
                      str(student), "--lr-factor", "0.2", "--set", "quant_noise=true"])
        student = tuned
    steps += [
        ["evaluate", "--model", str(teacher), "--data", a.data, "--max-clips", str(a.max_clips)],
        ["evaluate", "--model", str(student), "--data", a.data, "--max-clips", str(a.max_clips)],
    ]
    return steps, teacher, student


def main(argv: list[str] | None = None) -> int:
    """Run the whole recipe; returns the exit code."""
    from foley_edge.cli import main as cli

    p = argparse.ArgumentParser(prog="python -m foley_edge.ship", description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--work", required=True, type=Path)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--distill-epochs", type=int, default=35)
    p.add_argument("--noise-epochs", type=int, default=8,
                   help="fine-tuning epochs with int8 rounding noise (quant_noise); 0: none, "
                        "the distilled student is shipped as it is")
    p.add_argument("--max-clips", type=int, default=8)
    p.add_argument("--more-data", default=None, metavar="D2",
                   help="second stage: fine-tune teacher and student on this dataset's pieces "
                        "(made with `foley-edge data synth --hold-out D`)")
    p.add_argument("--more-epochs", type=int, default=2,
                   help="teacher fine-tuning epochs on --more-data")
    p.add_argument("--more-distill-epochs", type=int, default=3,
                   help="student distillation epochs on --more-data")
    p.add_argument("--noise-data", default=None, metavar="D3",
                   help="dataset of the noise fine-tuning (default: the last stage's)")
    p.add_argument("--qat-epochs", type=int, default=0,
                   help="end with quantization-aware fine-tuning on the last stage's data "
                        "(foley-edge qat, guided margin, logit bound 12) for this many epochs "
                        "instead of the noise fine-tuning (0: noise fine-tuning)")
    p.add_argument("--settle-epochs", type=int, default=0,
                   help="after --qat-epochs: a second quantization-aware fine-tuning (margin on "
                        "the first's choices, or its own where onset F1 cannot tell them apart) "
                        "for this many epochs (0: none)")
    p.add_argument("--settle-data", default=None, metavar="D3",
                   help="dataset of the --settle-epochs stage (default: the last stage's); fresh "
                        "pieces, e.g. `foley-edge data synth --seed 2 --hold-out D --hold-out D2`")
    a = p.parse_args(argv)
    if a.settle_data and not a.settle_epochs:
        p.error(f"--settle-data {a.settle_data} needs --settle-epochs M >= 1, found 0")
    if a.settle_epochs and not a.qat_epochs:
        p.error(f"--settle-epochs {a.settle_epochs} needs --qat-epochs N >= 1 (it settles the "
                "quantization-aware run), found --qat-epochs 0")
    steps, teacher, student = _recipe(a)
    for cmd in steps:
        print("foley-edge " + " ".join(cmd), file=sys.stderr)
        rc = cli(cmd)
        if rc:
            return rc
    _install(teacher, SHIPPED_DIR / "teacher", TEACHER_FILES)
    _install(student, SHIPPED_DIR / "student", None)
    write_used_pieces([d for d in (a.data, a.more_data, a.noise_data, a.settle_data) if d])
    print(f"shipped to {SHIPPED_DIR}", file=sys.stderr)
    return 0


def write_used_pieces(datasets: list[str], out: Path | None = None) -> Path:
    """Write ``out`` (default ``edge/model/shipped/used_pieces.json``): every piece of every
    split of ``datasets``, the pieces the shipped models were trained, distilled, fine-tuned or
    evaluated on. ``foley-edge data synth --exclude`` draws a held-out set around them, as the
    default export's check does (:mod:`firmware_bridge.boards.default_model`)."""
    import json

    from edge.data.clip import write_atomic
    from edge.data.synth.build import excluded_pieces
    from edge.model.shipped import USED_PIECES

    out = out or USED_PIECES
    names = sorted(set().union(*(excluded_pieces(d) for d in datasets)))
    text = json.dumps({"datasets": [str(d) for d in datasets], "pieces": names}, indent=0)
    write_atomic(out, (text + "\n").encode())
    return out


if __name__ == "__main__":
    sys.exit(main())
