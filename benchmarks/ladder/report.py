"""The ladder's outputs: ``ladder.json`` (every count), ``ladder.md`` (the table), ``ladder.png``.

Pure rendering of :class:`Rung` results; :mod:`benchmarks.ladder.__main__` measures them.
Figures a rung cannot give are ``None`` in the JSON and "n/a" in the table, with the reason in
the rung's note.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.ladder.metrics import FIGURES, NoteCounts, summarize
from edge.data.clip import write_atomic

HEADERS: dict[str, str] = {
    "onset_only_f1": "onset-only F1", "onset_f1": "onset F1 with pitch",
    "exact_pitch_share": "exact pitch, of onset-matched", "octave_error_share": "octave off",
    "near_miss_share": "1–2 semitones off",
}


@dataclass(frozen=True)
class Rung:
    """One stage of the ladder, scored on every clip."""

    key: str  # short name: cues, teacher, float, int8, board, board_live
    label: str  # what the table calls it
    source: str  # where its notes come from (model, precision, file)
    per_clip: tuple[tuple[str, dict[str, Any]], ...]  # (clip, counts as a dict) per clip
    mean: dict[str, float | None]  # figures averaged over clips (None: not measurable)
    pooled: dict[str, float | None]  # figures of the counts summed over clips
    note: str = ""  # caveat shown under the table


def measured_rung(key: str, label: str, source: str, counts: list[tuple[str, NoteCounts]],
                  note: str = "") -> Rung:
    """A rung with every figure, from its per-clip counts."""
    s = summarize([c for _, c in counts])
    return Rung(key, label, source, tuple((n, asdict(c)) for n, c in counts),
                dict(s["mean"]), dict(s["pooled"]), note)


def onset_f1_rung(key: str, label: str, source: str, rows: list[dict[str, Any]],
                  note: str) -> Rung:
    """A rung known only by its per-clip onset F1 with pitch (``ref_notes``, ``est_notes``,
    ``pitch_matched`` per row): every other figure is ``None``."""
    def f1(m: int, r: int, e: int) -> float:
        return 2.0 * m / (r + e) if r + e else 1.0

    per = [f1(r["pitch_matched"], r["ref_notes"], r["est_notes"]) for r in rows]
    tot = [sum(r[k] for r in rows) for k in ("pitch_matched", "ref_notes", "est_notes")]
    blank: dict[str, float | None] = dict.fromkeys(FIGURES)
    return Rung(key, label, source,
                tuple((r["clip"], {k: v for k, v in r.items() if k != "clip"}) for r in rows),
                blank | {"onset_f1": sum(per) / len(per)}, blank | {"onset_f1": f1(*tot)}, note)


def _cell(mean: float | None, pooled: float | None) -> str:
    if mean is None or pooled is None:
        return "n/a"
    return f"{mean:.3f} / {pooled:.3f}"


def render_markdown(rungs: list[Rung], clips: list[str]) -> str:
    """The ladder as a Markdown table (mean over clips / pooled), then the rungs' notes."""
    head = "| rung | notes from | " + " | ".join(HEADERS[k] for k in FIGURES) + " |"
    lines = [head, "|" + "---|" * (len(FIGURES) + 2)]
    for r in rungs:
        cells = " | ".join(_cell(r.mean[k], r.pooled[k]) for k in FIGURES)
        lines.append(f"| {r.label} | {r.source} | {cells} |")
    lines += ["", f"Each cell: mean over the {len(clips)} clips / pooled over all their notes "
              f"({', '.join(clips)}). mir_eval, onsets within 50 ms, offsets ignored; the "
              "shares are of the notes matched on onset alone (the pairing that favours exact, "
              "then octave pairs among chord notes)."]
    lines += [f"- {r.label}: {r.note}" for r in rungs if r.note]
    return "\n".join(lines + ["", render_per_clip(rungs, clips)])


def _clip_f1(counts: dict[str, Any]) -> float:
    """Onset F1 with pitch of one clip's counts (measured or recorded rungs alike)."""
    n = counts["ref_notes"] + counts["est_notes"]
    return 2.0 * counts["pitch_matched"] / n if n else 1.0


def render_per_clip(rungs: list[Rung], clips: list[str]) -> str:
    """Onset F1 with pitch per clip (rows) and rung (columns), with each clip's note count."""
    lines = ["Onset F1 with pitch per clip:", "",
             "| clip | notes | " + " | ".join(r.label for r in rungs) + " |",
             "|" + "---|" * (len(rungs) + 2)]
    for clip in clips:
        per = [dict(r.per_clip)[clip] for r in rungs]
        ref = next((c["ref_notes"] for r, c in zip(rungs, per, strict=True)
                    if r.key != "teacher"), per[0]["ref_notes"])
        cells = " | ".join(f"{_clip_f1(c):.3f}" for c in per)
        lines.append(f"| {clip} | {ref} | {cells} |")
    return "\n".join(lines)


def plot_ladder(rungs: list[Rung], path: Path) -> None:
    """Grouped bars of the pooled onset-only F1, onset F1 with pitch and exact-pitch share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    keys = ("onset_only_f1", "onset_f1", "exact_pitch_share")
    x = np.arange(len(rungs))
    fig, ax = plt.subplots(figsize=(11, 4.6))
    for i, k in enumerate(keys):
        vals = [r.pooled[k] if r.pooled[k] is not None else np.nan for r in rungs]
        bars = ax.bar(x + (i - 1) * 0.27, vals, 0.27, label=HEADERS[k])
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(x, [textwrap.fill(r.label, 16) for r in rungs], fontsize=8)
    ax.set_ylim(0, 1.25)
    ax.set_ylabel("pooled over the test clips")
    ax.set_title("Where the pitch goes: keypoints → cues → float → int8 → board")
    ax.legend(fontsize=8, loc="upper center", ncol=3)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def write_report(rungs: list[Rung], clips: list[str], out: Path, command: str,
                 *, png: bool = True) -> list[Path]:
    """Write ladder.json, ladder.md (and ladder.png) into ``out``; the paths written."""
    md, js = out / "ladder.md", out / "ladder.json"
    write_atomic(md, f"{render_markdown(rungs, clips)}\n\n_Made by `{command}`._\n".encode())
    doc = {"command": command, "clips": clips, "figures": list(FIGURES),
           "rungs": [asdict(r) for r in rungs]}
    write_atomic(js, (json.dumps(doc, indent=1) + "\n").encode())
    written = [md, js]
    if png:
        plot_ladder(rungs, out / "ladder.png")
        written.append(out / "ladder.png")
    return written
