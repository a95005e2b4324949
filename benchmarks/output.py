"""Write a bench run: results.json, results.md and the PNGs (atomically, file by file)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.plots import plot_board_ops, plot_peer_ops, plot_scaling, plot_timelines
from benchmarks.report import render_markdown
from benchmarks.runner import BenchResults
from benchmarks.toolchain import Generated
from edge.data.clip import write_atomic


def _clean(x: Any) -> Any:
    """JSON-safe copy (NaN -> None, tuples -> lists, bytes -> hex)."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, bytes):
        return x.hex()
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def results_dict(res: BenchResults, command: str) -> dict[str, Any]:
    """The content of results.json."""
    return _clean({"command": command, **asdict(res)})


def write_results(res: BenchResults, gens: dict[str, Generated], out: str | Path,
                  command: str) -> list[Path]:
    """Write results.json, results.md and PNGs into ``out``; the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    js = out / "results.json"
    write_atomic(js, (json.dumps(results_dict(res, command), indent=1) + "\n").encode())
    md = out / "results.md"
    write_atomic(md, (render_markdown(res, command) + "\n").encode())
    pngs = (plot_timelines(gens, out) + plot_board_ops(res, out) + plot_peer_ops(res, out)
            + plot_scaling(res, out))
    return [js, md, *pngs]
