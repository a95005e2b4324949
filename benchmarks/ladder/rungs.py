"""The rungs of the ladder: one function per source of notes, each ``clip -> PrettyMIDI``.

* :func:`cue_notes`: the analytic reader of :mod:`benchmarks.ladder.cues` (no model);
* :func:`float_notes`: a run folder's Keras model, greedy, hop by hop (``foley-edge evaluate``'s
  own :func:`~edge.model.decoding.generate_clip`);
* :func:`int8_notes`: an export folder's int8 pair on the host (``export.host_decode``, backend
  ``tflm``: TFLite Micro's kernels, the board's reference);
* :func:`board_notes`: a ``.mid`` recorded from the emulated board by ``foley-edge play``;
* :func:`teacher_figures`: the float teacher, whose weights are not shipped: the per-clip onset F1
  (with pitch) its ``foley-edge evaluate`` JSON recorded, turned back into match counts.

Every builder raises :class:`~benchmarks.ladder.LadderError` naming the missing file and the
command that makes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.ladder import LadderError
from edge.data.clip import Clip

NoteSource = Callable[[Clip], Any]
"""A rung: the ``pretty_midi.PrettyMIDI`` of what it plays for one clip."""


def clip_name(clip: Clip) -> str:
    """The clip's name (its file stem in a synth dataset)."""
    return str(clip.meta.get("name") or clip.meta.get("piece", "clip"))


def cue_notes() -> NoteSource:
    """The analytic reader, with the performer's default piano parameters."""
    from benchmarks.ladder.cues import read_cues
    from edge.data.synth.score import to_pretty_midi

    return lambda clip: to_pretty_midi(read_cues(clip.keypoints, clip.fps), "piano")


def float_notes(run: Path) -> NoteSource:
    """Greedy float decoding of the run folder ``run`` (model loaded once)."""
    from edge.model.decoding import generate_clip
    from edge.train import TrainError
    from edge.train.run import load_run

    try:
        cfg, models = load_run(run)
    except TrainError as e:
        raise LadderError(f"float rung: {e}") from e
    return lambda clip: generate_clip(models, cfg, clip.keypoints)


def int8_notes(export_dir: Path, model: Path) -> NoteSource:
    """Greedy int8 decoding of the export folder ``export_dir`` on the host (TFLite Micro)."""
    from export.host_decode import decode_clip, load_pair
    from export.int8.errors import ExportError

    need = [export_dir / n for n in ("config.json", "encoder.tflite", "decoder_step.tflite")]
    missing = [str(p) for p in need if not p.is_file()]
    if missing:
        raise LadderError(f"int8 rung: {', '.join(missing)} missing; make the export with "
                          f"`foley-edge export --model {model} --data DATA --out {export_dir} "
                          "--no-onnx` (it may report missed targets; the files are written)")
    try:
        cfg, enc, step = load_pair(export_dir, "tflm")
    except ExportError as e:
        raise LadderError(f"int8 rung: {e}") from e
    return lambda clip: decode_clip(cfg, enc, step, clip.keypoints).midi


def board_notes(folder: Path, suffix: str) -> NoteSource:
    """The board's recording ``folder/<clip>-<suffix>.mid`` of each clip."""
    import pretty_midi

    def read(clip: Clip) -> Any:
        path = folder / f"{clip_name(clip)}-{suffix}.mid"
        if not path.is_file():
            raise LadderError(
                f"board rung: {path} missing; record it with `python -m foley_edge play --board "
                f"qemu-m7{' --offline' if suffix == '1s' else ''} --no-pace --keypoints "
                f"CLIP.npz --midi-out {path}`")
        try:
            return pretty_midi.PrettyMIDI(str(path))
        except (OSError, ValueError, EOFError, IndexError, KeyError) as e:
            raise LadderError(f"board rung: {path}: not a readable MIDI file ({e})") from e

    return read


def teacher_figures(eval_json: Path, clips: list[str]) -> list[dict[str, Any]]:
    """Per clip ``{clip, ref_notes, est_notes, pitch_matched}`` from a ``foley-edge evaluate``
    JSON (matches = F1 × (ref + est) / 2, rounded), in the order of ``clips``."""
    if not eval_json.is_file():
        raise LadderError(f"teacher rung: {eval_json} missing; make it with `foley-edge evaluate "
                          "--model TEACHER_RUN --data DATA --split test --json`")
    try:
        rows = {r["clip"]: r for r in json.loads(eval_json.read_text())["per_clip"]}
        out = []
        for name in clips:
            r = rows[name]
            ref, est = int(r["ref_notes"]), int(r["gen_notes"])
            out.append({"clip": name, "ref_notes": ref, "est_notes": est,
                        "pitch_matched": round(float(r["onset_f1"]) * (ref + est) / 2)})
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise LadderError(f"teacher rung: {eval_json}: not a per-clip evaluation of these "
                          f"clips ({e!r})") from e
    return out
