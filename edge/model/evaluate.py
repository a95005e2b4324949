"""Metrics of a trained model on a dataset split.

* ``token_accuracy``: teacher-forced next-token accuracy over non-PAD targets (Foley Music's own
  validation counted padding, which inflates it), with the cross-entropy per token.
* Note metrics of *generated* MIDI against the clip's MIDI (notes with onsets inside the decoded
  hops), with ``mir_eval.transcription``: onset F1 at 50 ms with pitch (offsets ignored),
  onset-only F1 (any pitch) and F1 with offsets (50 ms onset, offset within 20 % of the note or
  50 ms). Means over clips. Generation runs hop by hop over the clip with the model's own
  ``hop_frames`` (a note never outlasts its hop: offsets suffer with short hops, onsets not).
* ``pitch_class_distance``: L1 distance between the 12-bin pitch-class histograms (note counts,
  each normalised to sum 1) of generated and reference notes; 0 = same, 2 = disjoint.
* ``motion_sensitivity``: onset F1 with the clip's own keypoints ÷ onset F1 with another clip's
  keypoints (the next clip of the split, looped or cut to length) against the same reference.
  A model that ignores motion scores about 1; ``null`` when the denominator is 0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.data.clip import Clip
from edge.model.build import Models
from edge.model.config import ModelConfig
from edge.model.decoding import DecodeSettings, generate_clip

ONSET_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class NoteArrays:
    """Notes as mir_eval wants them."""

    intervals: np.ndarray  # float64 [N, 2] onset, offset in seconds
    pitches_hz: np.ndarray  # float64 [N]
    pitches: np.ndarray  # int [N] MIDI pitch


def note_arrays(pm: Any, end_s: float | None = None) -> NoteArrays:
    """All notes of a ``PrettyMIDI`` (onset before ``end_s`` when given), sorted by onset."""
    notes = sorted((n for inst in pm.instruments if not inst.is_drum for n in inst.notes),
                   key=lambda n: (n.start, n.pitch))
    if end_s is not None:
        notes = [n for n in notes if n.start < end_s]
    iv = np.array([[n.start, max(n.end, n.start + 1e-3)] for n in notes], np.float64).reshape(-1, 2)
    p = np.array([n.pitch for n in notes], np.int64)
    return NoteArrays(iv, 440.0 * 2.0 ** ((p - 69) / 12.0), p)


def note_f1(ref: NoteArrays, est: NoteArrays, *, offsets: bool) -> float:
    """mir_eval transcription F1 (onset 50 ms; with offsets when ``offsets``)."""
    from mir_eval.transcription import precision_recall_f1_overlap

    if len(ref.pitches) == 0 or len(est.pitches) == 0:
        return float(len(ref.pitches) == len(est.pitches))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, _, f1, _ = precision_recall_f1_overlap(
            ref.intervals, ref.pitches_hz, est.intervals, est.pitches_hz,
            onset_tolerance=ONSET_TOLERANCE_S, offset_ratio=0.2 if offsets else None,
        )
    return float(f1)


def score_notes(ref: NoteArrays, est: NoteArrays) -> dict[str, float | int]:
    """Note counts, onset F1 with pitch (as :func:`note_f1`) and onset-only F1 (any pitch) of
    ``est`` against ``ref``, with precision and recall, mir_eval at 50 ms."""
    from mir_eval.transcription import onset_precision_recall_f1, precision_recall_f1_overlap

    out: dict[str, float | int] = {"ref_notes": len(ref.pitches), "est_notes": len(est.pitches)}
    if len(ref.pitches) == 0 or len(est.pitches) == 0:
        same = float(len(ref.pitches) == len(est.pitches))
        return out | {k: same for k in ("precision", "recall", "onset_f1", "onset_only_f1")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f1, _ = precision_recall_f1_overlap(
            ref.intervals, ref.pitches_hz, est.intervals, est.pitches_hz,
            onset_tolerance=ONSET_TOLERANCE_S, offset_ratio=None)
        _, _, f1_onset = onset_precision_recall_f1(ref.intervals, est.intervals,
                                                   onset_tolerance=ONSET_TOLERANCE_S)
    return out | {"precision": float(p), "recall": float(r), "onset_f1": float(f1),
                  "onset_only_f1": float(f1_onset)}


def pitch_class_distance(ref: NoteArrays, est: NoteArrays) -> float:
    """L1 distance of the normalised pitch-class histograms (2.0 when one side has no notes)."""
    if len(ref.pitches) == 0 or len(est.pitches) == 0:
        return 0.0 if len(ref.pitches) == len(est.pitches) else 2.0
    h = [np.bincount(x.pitches % 12, minlength=12).astype(np.float64) for x in (ref, est)]
    return float(np.abs(h[0] / h[0].sum() - h[1] / h[1].sum()).sum())


def _other_keypoints(clips: list[Clip], i: int) -> np.ndarray:
    own, other = clips[i].keypoints, clips[(i + 1) % len(clips)].keypoints
    idx = np.arange(own.shape[0]) % other.shape[0]
    return other[idx]


def evaluate_generation(
    models: Models, cfg: ModelConfig, clips: list[Clip], s: DecodeSettings | None = None,
    *, progress: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Generated-note metrics over ``clips``: (summary, per-clip rows with the rolls to plot)."""
    import io

    import pretty_midi
    from tqdm import tqdm

    rows = []
    for i, clip in enumerate(tqdm(clips, desc="generate", disable=not progress)):
        end_s = (clip.n_frames // cfg.hop_frames) * cfg.hop_seconds
        ref = note_arrays(pretty_midi.PrettyMIDI(io.BytesIO(clip.midi)), end_s)
        est = note_arrays(generate_clip(models, cfg, clip.keypoints, s))
        row = {"clip": clip.meta.get("name", f"#{i}"), "ref_notes": len(ref.pitches),
               "gen_notes": len(est.pitches), "onset_f1": note_f1(ref, est, offsets=False),
               "onset_only_f1": float(score_notes(ref, est)["onset_only_f1"]),
               "onset_offset_f1": note_f1(ref, est, offsets=True),
               "pitch_class_distance": pitch_class_distance(ref, est), "_ref": ref, "_est": est}
        if len(clips) > 1:
            shuffled = note_arrays(generate_clip(models, cfg, _other_keypoints(clips, i), s))
            row["onset_f1_other_motion"] = note_f1(ref, shuffled, offsets=False)
        rows.append(row)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in
            ("onset_f1", "onset_only_f1", "onset_offset_f1", "pitch_class_distance")}
    if len(clips) > 1:
        other = float(np.mean([r["onset_f1_other_motion"] for r in rows]))
        mean["onset_f1_other_motion"] = other
        mean["motion_sensitivity"] = mean["onset_f1"] / other if other > 0 else None
    mean["clips"] = len(rows)
    return mean, rows


def plot_rolls(rows: list[dict[str, Any]], path: Any, n: int = 3) -> None:
    """Reference vs generated piano rolls of the first ``n`` clips as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = rows[:n]
    fig, axes = plt.subplots(len(rows), 1, figsize=(11, 2.6 * len(rows)), squeeze=False)
    for ax, row in zip(axes[:, 0], rows, strict=True):
        for key, color, label in (("_ref", "tab:blue", "ground truth"), ("_est", "tab:red", "generated")):
            arr = row[key]
            for k, ((a, b), p) in enumerate(zip(arr.intervals, arr.pitches, strict=True)):
                ax.plot([a, b], [p, p], color=color, lw=3, alpha=0.6, label=label if k == 0 else None)
        ax.set_title(f"{row['clip']}: onset F1 {row['onset_f1']:.2f}")
        ax.set_ylabel("pitch")
        ax.legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def evaluate_run(
    run: Any, data: Any, split: str, s: DecodeSettings | None = None, *, max_clips: int = 0,
    png: Any = None, progress: bool = False,
) -> dict[str, Any]:
    """All metrics of the run folder ``run`` on ``split`` (train|val|test|all) of ``data``."""
    from edge.data.dataset import SPLITS, load_split
    from edge.train import TrainError
    from edge.train.loop import evaluate_windows
    from edge.train.run import load_run
    from edge.train.windows import make_windows

    if split not in (*SPLITS, "all"):
        raise TrainError(f"--split must be one of {', '.join((*SPLITS, 'all'))}, found {split!r}")
    cfg, models = load_run(run)
    clips = [c for sp in (SPLITS if split == "all" else (split,)) for c in load_split(data, sp)]
    if max_clips:
        clips = clips[:max_clips]
    if not clips:
        raise TrainError(f"{data}: split '{split}' has no clips to evaluate")
    tf_metrics = evaluate_windows(models.train, make_windows(clips, cfg))
    gen, rows = evaluate_generation(models, cfg, clips, s, progress=progress)
    if png is not None:
        plot_rolls(rows, png)
    return {
        "run": str(run), "data": str(data), "split": split, "kind": cfg.kind,
        "hop_frames": cfg.hop_frames, "hop_seconds": cfg.hop_seconds,
        "token_accuracy": tf_metrics["accuracy"], "token_loss": tf_metrics["loss"],
        "tokens": tf_metrics["tokens"], **gen,
        "per_clip": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
    }
