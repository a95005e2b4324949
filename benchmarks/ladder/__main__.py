"""``python -m benchmarks.ladder``: measure the pitch ladder and write ladder.{md,json,png}.

Steps: load the split's clips; copy the board's recordings into ``OUT/board`` (so the figures
can be remade from the repository); score each rung's notes per clip against the clip's own
MIDI, every note with an onset inside the clip (``foley-edge midi score --ref CLIP.npz``'s
horizon); write each measured rung's notes to ``OUT/notes/<rung>/<clip>.mid``; render the table.
"""

from __future__ import annotations

import argparse
import io
import shlex
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

RUNGS: tuple[str, ...] = ("cues", "teacher", "float", "int8", "board", "float_live",
                          "board_live")
DEFAULT_INT8: tuple[tuple[str, str], ...] = (
    ("runs/ladder/export-demo", "the board's own export, calibrated on the bundled demo clip "
     "(as `play` made it; byte-identical to `foley-edge export --model "
     "edge/model/shipped/student --data out/cache/demo-data --out runs/ladder/export-demo "
     "--no-onnx`)"),
    ("runs/ladder/export-synth", "calibrated on data/synth (`foley-edge export --model "
     "edge/model/shipped/student --data data/synth --out runs/ladder/export-synth --no-onnx`)"),
)
"""Default int8 rungs: (export folder, caveat)."""
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


def reference(clip: Clip) -> Any:
    """The clip's own notes with an onset inside the clip, as :class:`NoteArrays`."""
    import pretty_midi

    from edge.model.evaluate import note_arrays

    return note_arrays(pretty_midi.PrettyMIDI(io.BytesIO(clip.midi)), clip.n_frames / clip.fps)


def _stale(rows: list[dict[str, Any]], clips: list[Clip]) -> str:
    """A caveat naming the clips whose recorded reference count differs from today's."""
    odd = [f"{r['clip']} ({r['ref_notes']} reference notes then, {len(reference(c).pitches)} "
           "now)" for r, c in zip(rows, clips, strict=True)
           if r["ref_notes"] != len(reference(c).pitches)]
    return f"; recorded before a rebuild of {', '.join(odd)}" if odd else ""


def score_rung(key: str, source: NoteSource, clips: list[Clip], notes_dir: Path | None
               ) -> list[tuple[str, Any]]:
    """(clip, :class:`NoteCounts`) of ``source`` on each clip; its MIDI saved under
    ``notes_dir`` when given."""

    from edge.model.evaluate import note_arrays

    out = []
    for clip in clips:
        until = clip.n_frames / clip.fps
        ref = reference(clip)
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
        "int8": ("int8 student, host", "`{}` on TFLite Micro (`export/host_decode.py`)", ""),
        "board": ("board, offline 1-s hop", "qemu-m7, `play --offline --no-pace`, "
                  f"`{a.board_mid}/<clip>-1s.mid`", ""),
        "float_live": ("float live student", f"`{a.student_live}`, Keras, greedy, 4-frame hop",
                       "the model the live board runs, in float"),
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
            rungs.append(onset_f1_rung(key, label, source, rows, note + _stale(rows, clips)))
        elif key == "int8":
            for i, folder in enumerate(a.int8):
                sub = key if len(a.int8) == 1 else f"int8_{folder.name}"
                counts = score_rung(sub, int8_notes(folder, a.student), clips, a.out / "notes")
                rungs.append(measured_rung(
                    sub, label if len(a.int8) == 1 else f"{label} ({folder.name})",
                    source.format(folder), counts, a.int8_note[i]))
        else:
            src = {"cues": cue_notes, "float": lambda: float_notes(a.student),
                   "float_live": lambda: float_notes(a.student_live)}.get(key) \
                or (lambda k=key: board_notes(a.board_mid, BOARD_SUFFIXES[k]))
            notes_dir = None if key.startswith("board") else a.out / "notes"
            counts = score_rung(key, src(), clips, notes_dir)
            rungs.append(measured_rung(key, label, source, counts, note))
        print(f"ladder: {key} measured in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return rungs


def _command(a: argparse.Namespace) -> str:
    """The command line that remakes these figures (defaults left out)."""
    parts = ["python -m benchmarks.ladder", f"--data {a.data}", f"--split {a.split}",
             f"--student {a.student}", f"--student-live {a.student_live}",
             f"--teacher-eval {a.teacher_eval}"]
    if [str(d) for d in a.int8] != [d for d, _ in DEFAULT_INT8]:
        parts.append("--int8 " + " ".join(str(d) for d in a.int8))
    if a.int8_note != [n for _, n in DEFAULT_INT8] and any(a.int8_note):
        parts.append("--int8-note " + " ".join(shlex.quote(n) for n in a.int8_note))
    parts += [f"--board-mid {a.board_mid}", f"--out {a.out}"]
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
    p.add_argument("--student-live", type=Path,
                   default=Path("edge/model/shipped/student-hop4"),
                   help="the live (short-hop) student run folder (float_live rung)")
    p.add_argument("--teacher-eval", type=Path,
                   default=Path("edge/model/shipped/teacher/eval_test.json"))
    p.add_argument("--int8", type=Path, nargs="+", default=None,
                   help="export folders of the student (foley-edge export --no-onnx), one "
                        "int8 rung each")
    p.add_argument("--int8-note", nargs="+", default=None,
                   help="a caveat per --int8 folder for the table (e.g. its calibration data)")
    p.add_argument("--board-mid", type=Path, default=None,
                   help="folder of <clip>-1s.mid / <clip>-live.mid board recordings "
                        "(copied into OUT/board; default OUT/board)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/ladder"))
    p.add_argument("--rungs", nargs="+", choices=RUNGS, default=list(RUNGS))
    p.add_argument("--no-png", action="store_true")
    a = p.parse_args(argv)
    if a.int8 is None:
        a.int8 = [Path(d) for d, _ in DEFAULT_INT8]
        a.int8_note = a.int8_note or [n for _, n in DEFAULT_INT8]
    a.int8_note = a.int8_note or []
    if len(a.int8_note) > len(a.int8):
        p.error(f"--int8-note: at most one per --int8 folder ({len(a.int8)}), "
                f"found {len(a.int8_note)}")
    a.int8_note += [""] * (len(a.int8) - len(a.int8_note))
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
