"""demo.png: the skeleton over time, the clip's own notes and the board's notes on one axis.

Top row: body65 snapshots (``edge.data.show.draw_snapshot``) at evenly spaced times; below,
two piano rolls sharing the clip's time axis — the ground truth (the clip's MIDI) and what the
board played (each hop's tokens decoded with ``export.host_decode.hops_to_midi`` and shifted to
the hop's start); dotted lines mark hop starts. A person sees at a glance whether the board
produced notes, where, and how they line up with the motion and the reference.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge.data.clip import Clip, write_atomic
from edge.data.show import clip_notes, draw_snapshot
from firmware_bridge.player.hops import Hop

N_SNAPSHOTS = 6


def board_notes(hops: Sequence[Hop]) -> np.ndarray:
    """float64 [N, 4] (start, end, pitch, velocity) of the board's notes on the clip clock."""
    from export.host_decode import hops_to_midi

    pm = hops_to_midi([h.tokens for h in hops], [h.start_s for h in hops])
    rows = [(n.start, n.end, n.pitch, n.velocity) for n in pm.instruments[0].notes]
    return np.array(rows, np.float64).reshape(-1, 4)


def _roll(ax, notes: np.ndarray, duration_s: float, hop_starts: Sequence[float],  # noqa: ANN001
          title: str, colour: str) -> None:
    for s, e, p, v in notes:
        ax.broken_barh([(s, max(e - s, 0.01))], (p - 0.4, 0.8), color=colour,
                       alpha=0.3 + 0.7 * v / 127.0, lw=0)
    for t in hop_starts:
        ax.axvline(t, color="0.6", ls=":", lw=0.8)
    if notes.size:
        ax.set_ylim(notes[:, 2].min() - 2, notes[:, 2].max() + 2)
    ax.set_xlim(0.0, duration_s)
    ax.set_ylabel("MIDI pitch")
    ax.set_title(f"{title}: {len(notes)} notes", fontsize=9, loc="left")


def _snapshots(fig, grid, clip: Clip) -> None:  # noqa: ANN001 (matplotlib Figure, GridSpec)
    kp = clip.keypoints
    ok = kp[..., 2] > 0
    lo, hi = (np.percentile(kp[..., :2][ok], [0.5, 99.5], axis=0) if ok.any()
              else (np.zeros(2), np.ones(2)))
    frames = np.linspace(0, clip.n_frames - 1, N_SNAPSHOTS).round().astype(int)
    for i, f in enumerate(frames):
        ax = fig.add_subplot(grid[0, i])
        draw_snapshot(ax, kp[f], lo, hi, f / clip.fps)


def render_demo(clip: Clip, hops: Sequence[Hop], title: str):  # noqa: ANN201 (matplotlib Figure)
    """The demo figure (module doc)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2.3 * N_SNAPSHOTS, 8.0), layout="constrained")
    grid = fig.add_gridspec(3, N_SNAPSHOTS, height_ratios=[1.3, 1.0, 1.0])
    _snapshots(fig, grid, clip)
    starts = [h.start_s for h in hops]
    truth = fig.add_subplot(grid[1, :])
    _roll(truth, clip_notes(clip), clip.duration_s, starts, "ground truth (the clip's MIDI)",
          "tab:blue")
    board = fig.add_subplot(grid[2, :], sharex=truth)
    _roll(board, board_notes(hops), clip.duration_s, starts,
          f"board ({sum(len(h.tokens) for h in hops)} tokens in {len(hops)} hops)", "tab:red")
    board.set_xlabel("time (s)  —  dotted lines: hop starts")
    fig.suptitle(title, fontsize=10)
    return fig


def save_demo_png(clip: Clip, hops: Sequence[Hop], out: str | os.PathLike[str],
                  title: str) -> Path:
    """Render :func:`render_demo` to a PNG at ``out`` (atomically) and return the path."""
    import matplotlib.pyplot as plt

    fig = render_demo(clip, hops, title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    write_atomic(out, buf.getvalue())
    return Path(out)
