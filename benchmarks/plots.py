"""PNGs of a bench run: memory timelines, per-operator instruction bars, scaling curves."""

from __future__ import annotations

from pathlib import Path

from benchmarks.runner import REFERENCE_BOARD, BenchResults
from benchmarks.toolchain import Generated


def _pyplot():  # noqa: ANN202 - matplotlib module
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def slug(name: str) -> str:
    """File-name form of a model name."""
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def plot_timelines(gens: dict[str, Generated], out: Path) -> list[Path]:
    """One memory timeline per model (export.planner.plot)."""
    from export.planner.plot import plot_plan

    paths = []
    for name, gen in gens.items():
        path = out / f"memory_{slug(name)}.png"
        plot_plan(gen.graph, gen.plan, path, title=f"{name}: planned arena")
        paths.append(path)
    return paths


def plot_board_ops(res: BenchResults, out: Path) -> list[Path]:
    """Per-operator instruction bars of each model on the reference board (ACLE kernels)."""
    plt = _pyplot()
    paths = []
    for run in res.board:
        if run.board != REFERENCE_BOARD or run.kernels != "acle":
            continue
        kinds = sorted({o.op for o in run.ops})
        cmap = plt.get_cmap("tab20")
        fig, ax = plt.subplots(figsize=(min(4 + 0.1 * len(run.ops), 24), 5), dpi=110)
        ax.bar(range(len(run.ops)), [o.instructions for o in run.ops],
               color=[cmap(kinds.index(o.op) % 20) for o in run.ops])
        for k in kinds:
            ax.bar([], [], color=cmap(kinds.index(k) % 20), label=k)
        ax.set_xlabel("operator (execution order)")
        ax.set_ylabel("executed instructions")
        ax.set_title(f"{run.model} on {run.board}: {run.total_instructions:,} instructions")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        path = out / f"board_ops_{slug(run.model)}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_peer_ops(res: BenchResults, out: Path) -> list[Path]:
    """Per operator type, ours vs TFLite Micro + CMSIS-NN, each model on the reference board."""
    plt = _pyplot()
    ours = {(r.model, r.board): r for r in res.board if r.kernels == "acle"}
    paths = []
    for peer in res.peer:
        mine = ours.get((peer.model, peer.board))
        if peer.board != REFERENCE_BOARD or mine is None:
            continue
        sums: dict[str, list[int]] = {}
        for k, run in enumerate((mine, peer)):
            for o in run.ops:
                sums.setdefault(o.op, [0, 0])[k] += o.instructions
        kinds = sorted(sums, key=lambda k: -max(sums[k]))
        xs = range(len(kinds))
        fig, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(kinds) + 2), 4.5), dpi=110)
        ax.bar([x - 0.2 for x in xs], [sums[k][0] for k in kinds], 0.4,
               label=f"foley-edge {mine.total_instructions:,}")
        ax.bar([x + 0.2 for x in xs], [sums[k][1] for k in kinds], 0.4,
               label=f"TFLM + CMSIS-NN {peer.total_instructions:,} (whole Invoke)")
        ax.set_xticks(list(xs), kinds, rotation=40, ha="right", fontsize=7)
        ax.set_ylabel("executed instructions")
        ax.set_title(f"{peer.model} on {peer.board}: per operator type "
                     f"(ours / TFLM = {mine.total_instructions / peer.total_instructions:.2f})")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out / f"board_ops_vs_tflm_{slug(peer.model)}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_scaling(res: BenchResults, out: Path) -> list[Path]:
    """SRAM and instructions against each swept axis, with the 320 KB budget line."""
    if not res.scaling:
        return []
    plt = _pyplot()
    axes = list(dict.fromkeys(p.axis for p in res.scaling))
    fig, grid = plt.subplots(2, len(axes), figsize=(4 * len(axes), 7), dpi=110, squeeze=False)
    for j, axis in enumerate(axes):
        pts = [p for p in res.scaling if p.axis == axis]
        xs = [p.value for p in pts]
        top, bottom = grid[0][j], grid[1][j]
        top.plot(xs, [(p.planned_peak_bytes + p.persistent_bytes) / 1024 for p in pts], "o-",
                 label="ours: peak + persistent")
        top.plot(xs, [p.tflm_total_bytes / 1024 for p in pts], "s--", label="TFLM arena")
        top.axhline(320, color="red", lw=0.8, label="320 KB budget")
        top.set_title(f"{axis} ({pts[0].role})")
        top.set_ylabel("SRAM KB")
        top.legend(fontsize=7)
        bottom.plot(xs, [p.instructions for p in pts], "o-")
        bottom.set_xlabel(axis)
        bottom.set_ylabel(f"instructions ({REFERENCE_BOARD})")
    fig.tight_layout()
    path = out / "scaling.png"
    fig.savefig(path)
    plt.close(fig)
    return [path]
