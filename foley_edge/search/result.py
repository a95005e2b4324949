"""Phase 5 and the result folder: the winner's export and firmware, the table, the plot.

``DIR/`` after ``foley-edge search --out DIR``::

    candidates.json   every candidate: shape, predicted cost, measured cost, scores
    candidates.md     the measured candidates as a table (what fits, why not, F1)
    pareto.png        F1 against instructions per second and against SRAM, budget lines
    search.json       settings, phase timings, the winner and its figures
    trials/KEY/       the short trials' run folders
    winner/run/       the fine-tuned winner (a run folder: export, evaluate, play use it)
    winner/export/    its int8 export (foley-edge export; report.md inside)
    winner/firmware/  its firmware for the board's emulated twin (size.json)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from edge.data.clip import write_atomic
from firmware_bridge.boards.registry import Board, emulated_twin
from foley_edge.search.plot import plot_pareto
from foley_edge.search.run import SearchSettings, SearchState
from foley_edge.search.space import config_key, describe, features


def candidate_rows(state: SearchState, board: Board) -> list[dict[str, Any]]:
    """One row per candidate of the space (measured fields None when not measured)."""
    rows = []
    for cfg in state.all_configs:
        key = config_key(cfg)
        p, c, t = state.predictions.get(key), state.costs.get(key), state.trials.get(key)
        rows.append({
            "key": key, "label": describe(cfg), "params": features(cfg).params,
            "predicted_rtf": p.realtime_factor if p else None,
            "measured": c is not None, "fits": c.fits if c else None,
            "over": list(c.over) if c else None,
            "flash_bytes": c.flash_bytes if c else None, "sram_bytes": c.sram_bytes if c else None,
            "sram_kib": round(c.sram_bytes / 1024, 1) if c else None,
            "encoder_instructions": c.encoder_instructions if c else None,
            "step_instructions": c.step_instructions if c else None,
            "rtf": c.realtime_factor if c else None,
            "mips": round(c.realtime_factor * board.target_hz / 1e6, 2) if c else None,
            "val_onset_f1": round(t.onset_f1, 4) if t else None,
            "test_onset_f1": round(state.final.onset_f1, 4) if key == state.winner else None,
            "chosen": key == state.winner,
        })
    return rows


def table_markdown(rows: list[dict[str, Any]], board: Board) -> str:
    """The measured candidates as a Markdown table, cheapest first."""
    head = (f"Measured candidates for {board.name} (flash {board.flash_budget // 1024} KiB, "
            f"SRAM {board.sram_budget // 1024} KiB, RTF <= {board.rtf_limit} at "
            f"{board.target_hz / 1e6:.0f} MHz)\n\n"
            "| candidate | params | flash KiB | SRAM KiB | instr/hop | instr/token | RTF | "
            "fits | val F1 | test F1 |\n|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in sorted((r for r in rows if r["measured"]), key=lambda r: r["rtf"]):
        fits = "yes" if r["fits"] else "no: " + ", ".join(r["over"])
        f1 = "" if r["val_onset_f1"] is None else f"{r['val_onset_f1']:.3f}"
        test = "" if r["test_onset_f1"] is None else f"**{r['test_onset_f1']:.3f}**"
        name = f"**{r['label']}**" if r["chosen"] else r["label"]
        lines.append(f"| {name} | {r['params']:,} | {r['flash_bytes'] / 1024:.1f} | "
                     f"{r['sram_kib']} | {r['encoder_instructions']:,} | "
                     f"{r['step_instructions']:,} | {r['rtf']:.3f} | {fits} | {f1} | {test} |")
    unmeasured = sum(not r["measured"] for r in rows)
    return head + "\n".join(lines) + f"\n\n{unmeasured} more candidates were ranked by the " \
        "predictor and not measured.\n"


def _json(path: Path, data: Any) -> None:
    write_atomic(path, (json.dumps(data, indent=1, default=str) + "\n").encode())


def export_winner(s: SearchSettings, state: SearchState) -> dict[str, Any]:
    """Phase 5: the winner's int8 export and its firmware on the emulated twin (size report)."""
    from firmware_bridge.boards.default_model import export_pair
    from firmware_bridge.build import build_firmware

    run = s.out / "winner" / "run"
    export = s.out / "winner" / "export"
    export_pair(run, export, s.data, waive_targets=False)
    build = build_firmware(emulated_twin(s.board), model_dir=export,
                           out_dir=s.out / "winner" / "firmware")
    status = json.loads((export / "report.json").read_text()).get("status", "unknown")
    return {"export": str(export), "export_status": status, "firmware": str(build.elf),
            "size": asdict(build.size) | {"sections": None}}


def finish(s: SearchSettings, state: SearchState) -> dict[str, Any]:
    """Phase 5, then every file of the result folder; returns search.json's content."""
    shipped = export_winner(s, state)
    rows = candidate_rows(state, s.board)
    _json(s.out / "candidates.json", rows)
    write_atomic(s.out / "candidates.md", table_markdown(rows, s.board).encode())
    winner = state.costs[state.winner]
    plot_pareto(rows, s.board, s.out / "pareto.png",
                f"foley-edge search --board {s.board.name}: {winner.label} "
                f"(test onset F1 {state.final.onset_f1:.3f})")
    summary = {
        "board": s.board.name, "twin": emulated_twin(s.board).name,
        "budgets": {"flash_bytes": s.board.flash_budget, "sram_bytes": s.board.sram_budget,
                    "rtf_limit": s.board.rtf_limit, "clock_hz": s.board.target_hz},
        "space": asdict(s.space), "candidates": len(rows),
        "measured": sum(r["measured"] for r in rows), "trained": len(state.trials),
        "engine": s.engine.name, "budget_minutes": s.budget_minutes, "timings": state.timings,
        "teacher": str(s.teacher), "data": str(s.data),
        "winner": {"key": state.winner, "label": winner.label, "model": winner.model,
                   "cost": asdict(winner), "trial": asdict(state.trials[state.winner]),
                   "final": asdict(state.final), **shipped},
    }
    _json(s.out / "search.json", summary)
    return summary


def clear_result(out: Path) -> None:
    """Remove the files of an earlier search in ``out`` (measured costs stay in the cache)."""
    for name in ("candidates.json", "candidates.md", "pareto.png", "search.json"):
        (out / name).unlink(missing_ok=True)
    for folder in ("winner", "trials"):
        shutil.rmtree(out / folder, ignore_errors=True)


SHIPPED_FILES = ("config.json", "model.weights.h5", "metrics.json", "curves.png", "eval_test.json")
"""What a shipped student folder holds (as edge/model/shipped/student/)."""


def _relative_paths(cfg: dict[str, Any]) -> dict[str, Any]:
    """A run config with its folder paths made relative to the working directory where they lie
    under it (a shipped config names no machine's absolute paths)."""
    here = Path.cwd().resolve()
    out = dict(cfg)
    for key in ("data", "teacher", "init", "inherit"):
        value = out.get(key)
        if isinstance(value, str) and Path(value).is_absolute() and Path(value).is_relative_to(here):
            out[key] = Path(value).relative_to(here).as_posix()
    return out


def ship_winner(s: SearchSettings, summary: dict[str, Any]) -> Path:
    """Copy the winner's run files, the table and the plot into
    ``edge/model/shipped/<board.student>/`` (replacing what was there); returns the folder."""
    from edge.model.shipped import SHIPPED_DIR

    dest = SHIPPED_DIR / s.board.student
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    run = s.out / "winner" / "run"
    for name in SHIPPED_FILES:
        shutil.copy2(run / name, tmp / name)
    _json(tmp / "config.json", _relative_paths(json.loads((run / "config.json").read_text())))
    shutil.copy2(s.out / "candidates.md", tmp / "search_candidates.md")
    shutil.copy2(s.out / "pareto.png", tmp / "search_pareto.png")
    _json(tmp / "search.json", summary)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.replace(dest)
    return dest
