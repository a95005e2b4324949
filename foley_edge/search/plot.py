"""The search's Pareto plot: held-out onset F1 against instructions per second and SRAM.

Every candidate with a score is a point (measured cost, trial score); the winner after
fine-tuning is a star at its test score; the board's budget lines are drawn (instructions per
second at RTF = limit, SRAM budget); the Pareto front (most F1 for least cost) is a line.
Candidates measured but not trained sit on the x axis as ticks, so the plot also shows what
was ruled out by cost alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from firmware_bridge.boards.registry import Board


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not beaten by any other (lower or equal cost and higher or equal F1), by cost."""
    front, best = [], float("-inf")
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if y > best:
            front.append((x, y))
            best = y
    return front


def _panel(ax: Any, rows: Sequence[dict[str, Any]], xkey: str, limit: float, xlabel: str) -> None:
    scored = [r for r in rows if r.get("val_onset_f1") is not None]
    costs = [r[xkey] for r in rows if r.get(xkey) is not None]
    ax.plot(costs, [0.0] * len(costs), "|", color="grey", ms=12, label="measured, not trained")
    fit = [r for r in scored if r["fits"]]
    ax.scatter([r[xkey] for r in fit], [r["val_onset_f1"] for r in fit], color="tab:blue",
               label="short trial (val)")
    front = pareto_front([(r[xkey], r["val_onset_f1"]) for r in scored])
    if front:
        ax.plot(*zip(*front, strict=True), color="tab:blue", alpha=0.4, drawstyle="steps-post")
    for r in rows:
        if r.get("test_onset_f1") is not None:
            ax.scatter([r[xkey]], [r["test_onset_f1"]], marker="*", s=220, color="tab:red",
                       zorder=5, label="winner, fine-tuned (test)")
    ax.axvline(limit, color="tab:red", ls="--", lw=1, label="budget")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("onset F1 with pitch")
    ax.grid(alpha=0.3)


def plot_pareto(rows: Sequence[dict[str, Any]], board: Board, path: Path, title: str) -> None:
    """Write the two-panel plot of ``rows`` (see :mod:`foley_edge.search.report`) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    _panel(axes[0], rows, "mips", board.rtf_limit * board.target_hz / 1e6,
           f"million instructions per second of music (RTF {board.rtf_limit} at "
           f"{board.target_hz / 1e6:.0f} MHz = line)")
    _panel(axes[1], rows, "sram_kib", board.sram_budget / 1024, "SRAM KiB (firmware, line = "
           "budget)")
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    fig.legend(unique.values(), unique.keys(), fontsize=8, loc="lower center",
               ncol=len(unique))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
