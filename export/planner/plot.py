"""Draw a memory plan: tensors as rectangles over (schedule position x arena address).

One rectangle per arena buffer (storage roots and kernel scratch) spanning the schedule
positions where it is live and the addresses it occupies; dashed lines mark the planned peak
and the lower bound. Labels are the tensor names' last component, shown where a rectangle is
large enough to hold them. Uses matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path

from export.ir import Graph
from export.planner.plan import MemoryPlan


def _label(name: str, limit: int = 18) -> str:
    """Short readable tensor label: the last path component, trimmed."""
    short = name.replace(";", "/").rstrip("/").split("/")[-1] or name
    return short if len(short) <= limit else short[: limit - 1] + "…"


def plot_plan(graph: Graph, plan: MemoryPlan, path: str | Path, *, title: str = "") -> None:
    """Write the timeline picture of ``plan`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    steps = max(len(plan.order), 1)
    fig, ax = plt.subplots(figsize=(min(4 + 0.12 * steps, 24), 7), dpi=120)
    cmap = plt.get_cmap("tab20")
    roots = {t: b for t, b in plan.buffers.items() if t not in plan.aliases}
    items = [(f"{_label(graph.tensors[t].name)}", b, cmap(i % 20)) for i, (t, b) in
             enumerate(sorted(roots.items()))]
    items += [(f"scratch op {k}", b, (0.6, 0.6, 0.6, 1.0)) for k, b in plan.scratch.items()]
    peak = max(plan.arena_bytes, 1)
    for label, b, color in items:
        ax.add_patch(Rectangle((b.first_op - 0.45, b.offset), b.last_op - b.first_op + 0.9, b.size,
                               facecolor=color, edgecolor="black", linewidth=0.5, alpha=0.85))
        wide = b.last_op - b.first_op + 0.9 >= 0.03 * steps * max(len(label), 4) / 6
        if b.size >= 0.035 * peak and wide:
            ax.text(b.first_op + (b.last_op - b.first_op) / 2, b.offset + b.size / 2, label,
                    ha="center", va="center", fontsize=7, clip_on=True)
    ax.axhline(plan.arena_bytes, color="red", linestyle="--", linewidth=1,
               label=f"planned peak {plan.arena_bytes:,} B")
    ax.axhline(plan.lower_bound_bytes, color="green", linestyle=":", linewidth=1,
               label=f"lower bound {plan.lower_bound_bytes:,} B")
    ax.set_xlim(-0.6, steps - 0.4)
    ax.set_ylim(0, peak * 1.08)
    ax.set_xlabel("schedule position (operator)")
    ax.set_ylabel("arena address (bytes)")
    sub = f"persistent area {plan.persistent_bytes:,} B" if plan.persistent_bytes else ""
    ax.set_title(" — ".join(x for x in (title or graph.name, sub) if x))
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
