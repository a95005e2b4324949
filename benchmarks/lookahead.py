"""The look-ahead curve: note accuracy against the decoding hop, from ``foley-edge evaluate`` JSONs.

``python -m benchmarks.lookahead EVAL.json [EVAL.json ...] --out DIR`` reads one evaluation per
hop length (``foley-edge evaluate --model RUN --data D --split test``, the same clips for
every run) and writes ``DIR/lookahead.md`` (a table), ``DIR/lookahead.png`` (onset F1 with
pitch, onset-only F1 and motion sensitivity against the hop in milliseconds) and
``DIR/lookahead.json`` (the points). A model's hop is its look-ahead: the decoder emits a hop's
events only once the hop's last frame is in, so an onset waits up to one hop before it can be
played (the encoder sees nothing later than the hop's end).

The evaluations must share the dataset, the split and the clip list (checked), so the points
differ only by the model.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edge.data.clip import write_atomic
from edge.errors import FoleyEdgeError
from edge.model.config import ModelConfigError, load_config


class LookaheadError(FoleyEdgeError, ValueError):
    """An evaluation file is unusable or the files do not compare the same clips."""


@dataclass(frozen=True)
class Point:
    """One model of the curve."""

    hop_frames: int  # H: frames per decoding hop
    hop_ms: float  # H / fps in milliseconds: the wait for a hop's last frame (look-ahead)
    onset_f1: float  # mir_eval onset F1 at 50 ms with pitch, mean over clips
    onset_only_f1: float  # the same without pitch
    onset_offset_f1: float  # with offsets (short hops cut notes at the hop's end)
    motion_sensitivity: float | None  # own keypoints' onset F1 / another clip's
    token_accuracy: float  # teacher-forced next-token accuracy
    clips: int  # clips evaluated
    run: str  # the run folder evaluated


def _hop(doc: dict[str, Any], where: str) -> tuple[int, float]:
    """(hop frames, hop seconds) of an evaluation, from the JSON or its run's config.json."""
    if "hop_frames" in doc and "hop_seconds" in doc:
        return int(doc["hop_frames"]), float(doc["hop_seconds"])
    cfg_path = Path(str(doc.get("run", ""))) / "config.json"
    if not cfg_path.is_file():
        raise LookaheadError(f"{where}: no 'hop_frames' in the evaluation and no {cfg_path} to "
                             "read it from (re-run foley-edge evaluate)")
    try:
        cfg = load_config(cfg_path)
    except ModelConfigError as e:
        raise LookaheadError(f"{where}: {e}") from e
    return cfg.hop_frames, cfg.hop_seconds


def load_point(path: Path) -> tuple[Point, tuple[str, str, tuple[str, ...]]]:
    """The :class:`Point` of one evaluation JSON and what it was measured on (data, split,
    clip names)."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise LookaheadError(f"{path}: no such evaluation file") from e
    except json.JSONDecodeError as e:
        raise LookaheadError(f"{path}: not valid JSON ({e})") from e
    need = ("onset_f1", "onset_only_f1", "onset_offset_f1", "token_accuracy", "per_clip")
    missing = [k for k in need if k not in doc]
    if missing:
        raise LookaheadError(f"{path}: missing {missing} (written by an older foley-edge "
                             "evaluate? re-run it)")
    hop, seconds = _hop(doc, str(path))
    point = Point(hop_frames=hop, hop_ms=round(1000.0 * seconds, 1),
                  onset_f1=float(doc["onset_f1"]), onset_only_f1=float(doc["onset_only_f1"]),
                  onset_offset_f1=float(doc["onset_offset_f1"]),
                  motion_sensitivity=doc.get("motion_sensitivity"),
                  token_accuracy=float(doc["token_accuracy"]), clips=len(doc["per_clip"]),
                  run=str(doc.get("run", "")))
    clips = tuple(str(r["clip"]) for r in doc["per_clip"])
    return point, (str(doc.get("data", "")), str(doc.get("split", "")), clips)


def load_points(paths: list[Path]) -> list[Point]:
    """Points of ``paths`` sorted by hop; raises :class:`LookaheadError` unless every file
    evaluated the same clips of the same split, and no hop appears twice."""
    if not paths:
        raise LookaheadError("no evaluation files given")
    loaded = [load_point(p) for p in paths]
    first = loaded[0][1]
    for (_, what), path in zip(loaded, paths, strict=True):
        if what != first:
            raise LookaheadError(
                f"{path}: evaluated data {what[0]!r} split {what[1]!r} clips {list(what[2])}, "
                f"but {paths[0]} evaluated {first[0]!r} {first[1]!r} {list(first[2])}: the "
                "curve needs the same clips for every hop")
    points = sorted((p for p, _ in loaded), key=lambda p: p.hop_frames)
    hops = [p.hop_frames for p in points]
    if len(set(hops)) != len(hops):
        raise LookaheadError(f"a hop appears twice among the evaluations: hops {hops}")
    return points


def _f(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def render_markdown(points: list[Point], split: str = "test") -> str:
    """The table: one row per hop, shortest first."""
    lines = [
        f"| hop H (frames) | look-ahead (ms) | onset F1, pitch (50 ms) | onset-only F1 | "
        f"onset+offset F1 | motion sensitivity | token accuracy | {split} clips | run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        lines.append(f"| {p.hop_frames} | {p.hop_ms:.0f} | {_f(p.onset_f1)} | "
                     f"{_f(p.onset_only_f1)} | {_f(p.onset_offset_f1)} | "
                     f"{_f(p.motion_sensitivity, 2)} | {_f(p.token_accuracy)} | {p.clips} | "
                     f"`{p.run}` |")
    return "\n".join(lines)


def plot_curve(points: list[Point], path: Path) -> None:
    """Onset F1 (with pitch, onset only) and motion sensitivity against the hop, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ms = [p.hop_ms for p in points]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(ms, [p.onset_f1 for p in points], "o-", color="tab:blue", label="onset F1 with pitch")
    ax.plot(ms, [p.onset_only_f1 for p in points], "s--", color="tab:green",
            label="onset-only F1")
    for p in points:
        ax.annotate(f"H={p.hop_frames}", (p.hop_ms, p.onset_f1), textcoords="offset points",
                    xytext=(4, -12), fontsize=8)
    ax.set_xscale("log")
    ax.set_xticks(ms)
    ax.set_xticklabels([f"{m:.0f}" for m in ms])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("hop = look-ahead (ms, log scale)")
    ax.set_ylabel("F1 (mir_eval, 50 ms)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    sens = [(p.hop_ms, p.motion_sensitivity) for p in points if p.motion_sensitivity is not None]
    handles, labels = ax.get_legend_handles_labels()
    if sens:
        ax2 = ax.twinx()
        (line,) = ax2.plot([a for a, _ in sens], [b for _, b in sens], "^:", color="tab:red",
                           label="motion sensitivity")
        ax2.set_ylabel("motion sensitivity (×)")
        ax2.set_ylim(0, max(b for _, b in sens) * 1.2)
        handles, labels = handles + [line], labels + [line.get_label()]
    ax.legend(handles, labels, loc="lower right", fontsize=8)
    ax.set_title("Look-ahead curve: shorter hops answer sooner")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def write_curve(paths: list[Path], out: Path) -> list[Path]:
    """Read the evaluations and write lookahead.{md,png,json} into ``out``; the paths."""
    points = load_points(paths)
    split = load_point(paths[0])[1][1]
    out.mkdir(parents=True, exist_ok=True)
    md, png, js = out / "lookahead.md", out / "lookahead.png", out / "lookahead.json"
    cmd = "python -m benchmarks.lookahead " + " ".join(str(p) for p in paths) + f" --out {out}"
    note = ("Look-ahead = one hop: an onset is emitted once its hop's last frame is in. Token "
            "accuracy counts one EOS per hop (easy to predict), so it is not comparable across "
            "hops; a note never outlasts its hop, so onset+offset F1 falls with short hops.")
    write_atomic(md, (f"{render_markdown(points, split)}\n\n{note}\n\n_Made by `{cmd}`._\n"
                      ).encode())
    write_atomic(js, (json.dumps({"command": cmd, "points": [asdict(p) for p in points]},
                                 indent=1) + "\n").encode())
    plot_curve(points, png)
    return [md, png, js]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("evals", nargs="+", type=Path, help="foley-edge evaluate JSON, one per hop")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/lookahead"))
    a = p.parse_args(argv)
    try:
        written = write_curve(a.evals, a.out)
    except LookaheadError as e:
        print(f"benchmarks.lookahead: error: {e}", file=sys.stderr)
        return 2
    print((a.out / "lookahead.md").read_text(), end="")
    print("wrote " + ", ".join(str(w) for w in written), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
