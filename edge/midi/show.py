"""Readable listings of token streams and MIDI content, and piano-roll pictures."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge import vocab
from edge.midi.codec import EncodeReport, token_times
from edge.midi.notes import MidiContent, Note


def token_listing(tokens: Sequence[int] | np.ndarray, *, limit: int | None = None) -> str:
    """One line per token: index, time in seconds, id and name (``ON 60``, ``SHIFT 15.4ms``)."""
    times = token_times(tokens)
    lines = [f"{'#':>6}  {'time s':>9}  {'id':>4}  event"]
    n = len(tokens) if limit is None else min(limit, len(tokens))
    for i in range(n):
        t = int(tokens[i])
        name = vocab.token_name(t) if 0 <= t < vocab.VOCAB_SIZE else "(out of range, ignored)"
        lines.append(f"{i:>6}  {times[i]:>9.4f}  {t:>4}  {name}")
    if n < len(tokens):
        lines.append(f"... {len(tokens) - n} more tokens")
    return "\n".join(lines)


def content_summary(content: MidiContent) -> str:
    """Instruments of a MIDI file: index, channel, program, note count, pitch range, name."""
    lines = [f"{content.name}: {len(content.instruments)} instrument(s), {content.n_notes} notes"]
    for i, inst in enumerate(content.instruments):
        pitches = [n.pitch for n in inst.notes]
        rng = f"{min(pitches)}..{max(pitches)}" if pitches else "-"
        kind = "drums" if inst.is_drum else f"program {inst.program:3d}"
        lines.append(
            f"  [{i}] channel {inst.channel + 1:2d}  {kind}  {len(inst.notes):5d} notes  "
            f"pitch {rng:8s} {inst.name!r}"
        )
    return "\n".join(lines)


def report_text(report: EncodeReport) -> str:
    """The encode report as aligned ``field: value`` lines."""
    rows = {k: v for k, v in vars(report).items()}
    width = max(len(k) for k in rows)
    out = []
    for k, v in rows.items():
        val = f"{v * 1000:.3f} ms" if k.endswith("_error_s") else str(v)
        out.append(f"{k:<{width}}  {val}")
    return "\n".join(out)


def plot_piano_roll(
    notes: Sequence[Note], path: str | os.PathLike[str], *, title: str = ""
) -> Path:
    """Draw ``notes`` as a piano roll (time x pitch, colour = velocity) into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    from edge.data.clip import write_atomic

    end = max((n.end for n in notes), default=1.0)
    fig, ax = plt.subplots(figsize=(min(24, 4 + end / 4), 5), dpi=110)
    verts = [
        [
            (n.start, n.pitch - 0.4),
            (n.end, n.pitch - 0.4),
            (n.end, n.pitch + 0.4),
            (n.start, n.pitch + 0.4),
        ]
        for n in notes
    ]
    coll = PolyCollection(
        verts,
        array=np.array([n.velocity for n in notes], float),
        cmap="viridis",
        edgecolors="0.2",
        linewidths=0.3,
    )
    coll.set_clim(1, 127)
    ax.add_collection(coll)
    pitches = [n.pitch for n in notes] or [60]
    ax.set_xlim(0, end * 1.01)
    ax.set_ylim(min(pitches) - 2, max(pitches) + 2)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(title or f"{len(notes)} notes")
    for c in range(0, 128, 12):  # C of every octave
        ax.axhline(c, color="0.85", lw=0.5, zorder=0)
    fig.colorbar(coll, ax=ax, label="velocity", pad=0.01)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_atomic(path, buf.getvalue())
    return Path(path)
