"""``python -m benchmarks.ladder``: measure the pitch ladder and write ladder.{md,json,png}.

Steps: load the split's clips; copy the board's recordings into ``OUT/board`` (so the figures
can be remade from the repository); score each rung's notes per clip against the clip's own
MIDI, every note with an onset inside the clip (``foley-edge midi score --ref CLIP.npz``'s
horizon); write each measured rung's notes to ``OUT/notes/<rung>/<clip>.mid``; render the table.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.ladder import LadderError
from benchmarks.ladder.metrics import count_notes
from benchmarks.ladder.report import Rung, measured_rung, onset_f1_rung, write_report
from benchmarks.ladder.rungs import (
    NoteSource,
    board_notes,
    clip_name,
    cue_notes,
    float_notes,
    int8_notes,
    teacher_figures,
)
from edge.data.clip import Clip, write_atomic

RUNGS: tuple[str, ...] = ("cues", "teacher", "float", "int8", "board", "board_live")
BOARD_SUFFIXES: dict[str, str] = {"board": "1s", "board_live": "live"}
"""Recording file suffix per board rung: ``<clip>-1s.mid`` (``play --offline``), ``-live``."""


def _load_clips(data: Path, split: str) -> list[Clip]:
    from edge.data.dataset import DatasetError, load_split

    try:
        clips = load_split(data, split)
    except DatasetError as e:
        raise LadderError(str(e)) from e
    if not clips:
        raise LadderError(f"{data}: split {split!r} has no clips")
    return clips


def copy_board(src: Path, dst: Path, clips: list[Clip]) -> None:
    """Copy every ``<clip>-1s.mid`` / ``<clip>-live.mid`` of ``src`` into ``dst`` (atomic)."""
    if src.resolve() == dst.resolve():
        return
    for clip in clips:
        for suffix in BOARD_SUFFIXES.values():
            f = src / f"{clip_name(clip)}-{suffix}.mid"
            if f.is_file():
                write_atomic(dst / f.name, f.read_bytes())


def _write_midi(pm: Any, path: Path) -> None:
    buf = io.BytesIO()
    pm.write(buf)
    write_atomic(path, buf.getvalue())


def score_rung(key: str, source: NoteSource, clips: list[Clip], notes_dir: Path | None
               ) -> list[tuple[str, Any]]:
    """(clip, :class:`NoteCounts`) of ``source`` on each clip; its MIDI saved under
    ``notes_dir`` when given."""
    import pretty_midi

    from edge.model.evaluate import note_arrays

    out = []
    for clip in clips:
        until = clip.n_frames / clip.fps
        ref = note_arrays(pretty_midi.PrettyMIDI(io.BytesIO(clip.midi)), until)
        pm = source(clip)
        if notes_dir is not None:
            _write_midi(pm, notes_dir / key / f"{clip_name(clip)}.mid")
        out.append((clip_name(clip), count_notes(ref, note_arrays(pm, until))))
    return out


def _describe(a: argparse.Namespace) -> dict[str, tuple[str, str, str]]:
    """Per rung: (label, where its notes come from, caveat)."""
    return {
        "cues": ("analytic upper bound (performer's cues)", "`benchmarks/ladder/cues.py`: "
                 "camera undone from the legs, fingertip strokes → onsets, x → key", ""),
        "teacher": ("float teacher", f"`{a.teacher_eval}` (recorded `foley-edge evaluate`)",
                    "its weights are not shipped, so only the onset F1 with pitch its "
                    "evaluation recorded is known (notes before the last whole hop, as "
                    "`foley-edge evaluate` counts them); the other figures cannot be measured "
                    "here"),
        "float": ("float student", f"`{a.student}`, Keras, greedy", ""),
        "int8": ("int8 student, host", f"`{a.int8}` on TFLite Micro (`export/host_decode.py`)",
                 ""),
        "board": ("board, offline 1-s hop", "qemu-m7, `play --offline --no-pace`, "
                  f"`{a.board_mid}/<clip>-1s.mid`", ""),
        "board_live": ("board, live 4-frame hop", "qemu-m7, `play --no-pace` (the "
                       f"4-frame-hop student), `{a.board_mid}/<clip>-live.mid`",
                       "another model (`edge/model/shipped/student-hop4`), int8, streamed"),
    }


def measure(a: argparse.Namespace, clips: list[Clip]) -> list[Rung]:
    """Every rung of ``a.rungs`` in ladder order."""
    names = [clip_name(c) for c in clips]
    desc = _describe(a)
    rungs = []
    for key in RUNGS:
        if key not in a.rungs:
            continue
        t0 = time.perf_counter()
        label, source, note = desc[key]
        if key == "teacher":
            rows = teacher_figures(a.teacher_eval, names)
            rungs.append(onset_f1_rung(key, label, source, rows, note))
        else:
            src = {"cues": cue_notes, "float": lambda: float_notes(a.student),
                   "int8": lambda: int8_notes(a.int8, a.student)}.get(key) \
                or (lambda k=key: board_notes(a.board_mid, BOARD_SUFFIXES[k]))
            notes_dir = None if key.startswith("board") else a.out / "notes"
            counts = score_rung(key, src(), clips, notes_dir)
            rungs.append(measured_rung(key, label, source, counts, note))
        print(f"ladder: {key} measured in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return rungs


def _command(a: argparse.Namespace) -> str:
    parts = ["python -m benchmarks.ladder", f"--data {a.data}", f"--split {a.split}",
             f"--student {a.student}", f"--teacher-eval {a.teacher_eval}", f"--int8 {a.int8}",
             f"--board-mid {a.board_mid}", f"--out {a.out}"]
    if set(a.rungs) != set(RUNGS):
        parts.append("--rungs " + " ".join(r for r in RUNGS if r in a.rungs))
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.ladder",
                                description=(__doc__ or "").splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("data/synth"), help="synthetic dataset")
    p.add_argument("--split", default="test")
    p.add_argument("--student", type=Path, default=Path("edge/model/shipped/student"),
                   help="student run folder (float rung)")
    p.add_argument("--teacher-eval", type=Path,
                   default=Path("edge/model/shipped/teacher/eval_test.json"))
    p.add_argument("--int8", type=Path, default=Path("runs/ladder/export"),
                   help="export folder of the student (foley-edge export --no-onnx)")
    p.add_argument("--board-mid", type=Path, default=None,
                   help="folder of <clip>-1s.mid / <clip>-live.mid board recordings "
                        "(copied into OUT/board; default OUT/board)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/ladder"))
    p.add_argument("--rungs", nargs="+", choices=RUNGS, default=list(RUNGS))
    p.add_argument("--no-png", action="store_true")
    a = p.parse_args(argv)
    try:
        clips = _load_clips(a.data, a.split)
        if a.board_mid is not None and any(r.startswith("board") for r in a.rungs):
            copy_board(a.board_mid, a.out / "board", clips)
        a.board_mid = a.out / "board"
        rungs = measure(a, clips)
        written = write_report(rungs, [clip_name(c) for c in clips], a.out, _command(a),
                               png=not a.no_png)
    except LadderError as e:
        print(f"benchmarks.ladder: error: {e}", file=sys.stderr)
        return 2
    print((a.out / "ladder.md").read_text(), end="")
    print("wrote " + ", ".join(str(w) for w in written), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
