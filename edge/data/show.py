"""A picture of a clip: skeleton snapshots above motion traces above the piano roll.

Everything shares one time axis, so a person can check at a glance whether the motion matches
the music: every note onset in the roll should line up with a fingertip dip (piano) or a bow
reversal (violin) in the traces, and the hands' x should follow the register.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edge.data.clip import Clip, write_atomic
from edge.skeleton import (
    BODY25_EDGES,
    FINGERS,
    HAND_EDGES_LEFT,
    HAND_EDGES_RIGHT,
    L_WRIST,
    LEFT_FINGERTIPS,
    R_WRIST,
    RIGHT_FINGERTIPS,
)

LEFT_COLOUR, RIGHT_COLOUR, BODY_COLOUR = "tab:blue", "tab:red", "0.45"
LEG_JOINTS = (*range(9, 15), *range(19, 25))  # BODY_25 knees, ankles, feet
TRACE_ROW = 0.04  # vertical spacing of the fingertip traces (image units)


def clip_notes(clip: Clip) -> np.ndarray:
    """float64 [N, 4]: (start, end, pitch, velocity) of every note in the clip's MIDI."""
    if not clip.midi:
        return np.zeros((0, 4))
    from edge.midi.reader import read_midi

    content = read_midi(clip.midi, name=str(clip.meta.get("piece", "<clip>")))
    rows = [(n.start, n.end, n.pitch, n.velocity)
            for inst in content.instruments if not inst.is_drum for n in inst.notes]
    return np.array(rows, np.float64).reshape(-1, 4)


def default_window(clip: Clip, notes: np.ndarray, window_s: float) -> float:
    """Start time of the window to show: just before the first note."""
    first = float(notes[:, 0].min()) if notes.size else 0.0
    return float(np.clip(first - 0.3, 0.0, max(0.0, clip.duration_s - window_s)))


def draw_skeleton(ax, frame: np.ndarray) -> None:  # noqa: ANN001 (matplotlib Axes)
    """Draw one body65 frame [65, 3]; joints with confidence 0 are left out."""
    ok = frame[:, 2] > 0
    for edges, colour, lw in ((BODY25_EDGES, BODY_COLOUR, 1.6), (HAND_EDGES_LEFT, LEFT_COLOUR, 0.9),
                              (HAND_EDGES_RIGHT, RIGHT_COLOUR, 0.9)):
        for a, b in edges:
            if ok[a] and ok[b]:
                ax.plot(frame[[a, b], 0], frame[[a, b], 1], color=colour, lw=lw)
    for tips, colour in ((LEFT_FINGERTIPS, LEFT_COLOUR), (RIGHT_FINGERTIPS, RIGHT_COLOUR)):
        t = [j for j in tips if ok[j]]
        ax.scatter(frame[t, 0], frame[t, 1], s=6, color=colour, zorder=3)


def draw_snapshot(ax, frame: np.ndarray, lo: np.ndarray, hi: np.ndarray, t: float) -> None:  # noqa: ANN001 (matplotlib Axes)
    """One skeleton frame framed to the x/y box ``lo``..``hi``, titled with its time ``t``."""
    draw_skeleton(ax, frame)
    ax.set_xlim(lo[0] - 0.02, hi[0] + 0.02)
    ax.set_ylim(hi[1] + 0.02, lo[1] - 0.02)  # image y grows downward
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"t = {t:.2f} s", fontsize=9)


def _snapshot_frames(clip: Clip, notes: np.ndarray, t0: float, t1: float, n: int) -> np.ndarray:
    """Frame indices to draw: at note onsets in the window when there are enough, else even."""
    onsets = np.unique(notes[(notes[:, 0] >= t0) & (notes[:, 0] < t1), 0]) if notes.size else []
    if len(onsets) >= n:
        times = onsets[np.linspace(0, len(onsets) - 1, n).round().astype(int)]
    else:
        times = np.linspace(t0, t1, n + 2)[1:-1]
    return np.clip(np.rint(np.asarray(times) * clip.fps).astype(int), 0, clip.n_frames - 1)


def _traces(ax, clip: Clip, t0: float, t1: float, marks: np.ndarray) -> None:  # noqa: ANN001
    """Each fingertip's height relative to its wrist, one row per finger; a dip = a press."""
    a, b = int(t0 * clip.fps), min(clip.n_frames, int(np.ceil(t1 * clip.fps)) + 1)
    t = np.arange(a, b) / clip.fps
    kp = clip.keypoints[a:b]
    labels = []
    for h, (tips, wrist, colour, side) in enumerate(((LEFT_FINGERTIPS, L_WRIST, LEFT_COLOUR, "L"),
                                                     (RIGHT_FINGERTIPS, R_WRIST, RIGHT_COLOUR, "R"))):
        for k, j in enumerate(tips):
            rel = np.where((kp[:, j, 2] > 0) & (kp[:, wrist, 2] > 0),
                           kp[:, j, 1] - kp[:, wrist, 1], np.nan)
            base = np.nanmedian(rel) if np.isfinite(rel).any() else 0.0
            row = h * 5 + k
            ax.plot(t, -(rel - base) - TRACE_ROW * row, color=colour, lw=0.9)
            labels.append((-TRACE_ROW * row, f"{side}{FINGERS[k].lower()}"))
    for m in marks:
        ax.axvline(m / clip.fps, color="0.6", ls=":", lw=0.8)
    ax.set_yticks([y for y, _ in labels], [n for _, n in labels], fontsize=7)
    ax.set_ylabel("fingertip height vs. wrist\n(dip = pressed)", fontsize=8)
    ax.set_xlim(t0, t1)


def _bow_trace(ax, clip: Clip, t0: float, t1: float, marks: np.ndarray) -> None:  # noqa: ANN001
    """Bowing hand's distance from the left wrist: turns at every bow change (= onset)."""
    a, b = int(t0 * clip.fps), min(clip.n_frames, int(np.ceil(t1 * clip.fps)) + 1)
    kp = clip.keypoints[a:b]
    ok = (kp[:, R_WRIST, 2] > 0) & (kp[:, L_WRIST, 2] > 0)
    dist = np.where(ok, np.linalg.norm(kp[:, R_WRIST, :2] - kp[:, L_WRIST, :2], axis=1), np.nan)
    ax.plot(np.arange(a, b) / clip.fps, dist, color=RIGHT_COLOUR, lw=1.2)
    for m in marks:
        ax.axvline(m / clip.fps, color="0.6", ls=":", lw=0.8)
    ax.set_ylabel("bow hand ↔ left wrist\n(image units)", fontsize=8)
    ax.set_xlim(t0, t1)


def _roll(ax, notes: np.ndarray, t0: float, t1: float, fps: float, marks: np.ndarray) -> None:  # noqa: ANN001
    """Piano roll: one bar per note, darker = louder."""
    sel = notes[(notes[:, 1] > t0) & (notes[:, 0] < t1)] if notes.size else notes
    for s, e, p, v in sel:
        ax.add_patch(_bar(s, e, p, v))
    if sel.size:
        ax.set_ylim(sel[:, 2].min() - 2, sel[:, 2].max() + 2)
    for m in marks:
        ax.axvline(m / fps, color="0.6", ls=":", lw=0.8)
    ax.set_xlim(t0, t1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("MIDI pitch")


def _bar(s: float, e: float, p: float, v: float):  # noqa: ANN202 (matplotlib Rectangle)
    from matplotlib.patches import Rectangle

    shade = 0.25 + 0.75 * v / 127.0
    return Rectangle((s, p - 0.4), e - s, 0.8, color=(0.1, 0.2, 0.5, shade), lw=0)


def render_clip(clip: Clip, *, start_s: float | None = None, window_s: float = 6.0,
                n_snapshots: int = 6):  # noqa: ANN201 (matplotlib Figure)
    """A matplotlib Figure: snapshots, fingertip traces and piano roll of one time window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    notes = clip_notes(clip)
    window_s = min(window_s, clip.duration_s)
    t0 = default_window(clip, notes, window_s) if start_s is None else float(start_s)
    t1 = t0 + window_s
    marks = _snapshot_frames(clip, notes, t0, t1, n_snapshots)
    fig = plt.figure(figsize=(2.3 * n_snapshots, 8.5), layout="constrained")
    grid = fig.add_gridspec(3, n_snapshots, height_ratios=[1.3, 1.0, 1.1])
    kp = clip.keypoints
    ok = kp[..., 2] > 0
    ok[:, list(LEG_JOINTS)] = False  # frame the upper body and hands, where the music is
    if not ok.any():
        ok = kp[..., 2] > 0
    lo, hi = np.percentile(kp[..., :2][ok], [0.5, 99.5], axis=0)
    for i, f in enumerate(marks):
        ax = fig.add_subplot(grid[0, i])
        draw_snapshot(ax, kp[f], lo, hi, f / clip.fps)
    trace = _bow_trace if clip.meta.get("instrument") == "violin" else _traces
    trace(fig.add_subplot(grid[1, :]), clip, t0, t1, marks)
    _roll(fig.add_subplot(grid[2, :]), notes, t0, t1, clip.fps, marks)
    meta = clip.meta
    fig.suptitle(f"{meta.get('piece', '?')} — {meta.get('instrument', '?')}, "
                 f"{clip.n_frames} frames at {clip.fps:g} fps, {len(notes)} notes "
                 f"(dotted lines: snapshot times)", fontsize=10)
    return fig


def save_clip_png(clip: Clip, out: str | os.PathLike[str], *, start_s: float | None = None,
                  window_s: float = 6.0) -> Path:
    """Render :func:`render_clip` to a PNG at ``out`` (atomically) and return the path."""
    import io

    import matplotlib.pyplot as plt

    fig = render_clip(clip, start_s=start_s, window_s=window_s)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    write_atomic(out, buf.getvalue())
    return Path(out)
