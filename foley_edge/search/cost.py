"""What a candidate costs on a board, measured by the real pipeline, cached by configuration.

For one :class:`edge.model.config.StudentConfig` and one board, :func:`measure_cost`:

1. makes a run folder of seeded, untrained weights (the cost depends on shapes, not values);
2. exports it through the int8 pipeline (``foley-edge export``'s, calibrated on the demo clip,
   quality targets waived: the weights are random);
3. builds the whole firmware (glue, protocol, generated C) for the board's emulated twin: its
   flash and SRAM (static + stack reserve) and the static stack bound come from the linked ELF;
   a firmware that overflows the twin's limits is measured by the linker's unbounded probe;
4. runs the encoder and the decoder step on the twin's core in QEMU (bench images, ``-icount``):
   instructions per hop and per token, and the real-time factor they imply at the real chip's
   clock (:func:`benchmarks.speed.real_time`: one hop per ``hop_seconds``, 85 tokens/s).

About a minute per candidate on two cores. Results are JSON files under
``<cache>/<board>/<config key>.json`` (the key covers the configuration, the export pipeline's
version and the compiler), so a repeated search measures nothing twice; the budgets are checked
again on every load, against the board the caller passes.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks.board import FOLEY_TOKENS_PER_S, run_on_board
from benchmarks.models import exported_models
from benchmarks.speed import real_time
from benchmarks.toolchain import generate
from edge.data.clip import write_atomic
from edge.model.config import StudentConfig, config_from_dict, config_to_dict
from firmware_bridge.boards.registry import BOARDS, Board, emulated_twin
from foley_edge.search.space import config_key, describe

COST_VERSION = "1"
"""Bump when what a cost file holds or how it is measured changes."""


@dataclass(frozen=True)
class Cost:
    """A candidate measured on one board (through its emulated twin)."""

    key: str  # config_key of the candidate
    label: str  # describe() of the candidate
    board: str  # the board whose budgets apply (real or emulated)
    measured_on: str  # emulated twin that linked the firmware
    flash_bytes: int  # whole firmware image
    sram_bytes: int  # static SRAM + stack reserve
    stack_bound_bytes: int  # static worst-case stack (0 when the firmware did not link)
    arena_bytes: int  # both models' arena (0 when the firmware did not link)
    persistent_bytes: int  # window, KV caches, encoder memory (0 when it did not link)
    encoder_instructions: int  # one encoder window on the twin's core
    step_instructions: int  # one decoder step
    realtime_factor: float  # compute seconds per second of music at the real clock
    over: tuple[str, ...]  # budgets exceeded: "flash", "sram", "stack", "time"
    model: dict[str, Any]  # the candidate's configuration (config_to_dict)

    @property
    def fits(self) -> bool:
        """True when every budget of the board holds."""
        return not self.over

    def config(self) -> StudentConfig:
        """The candidate's configuration."""
        cfg = config_from_dict(self.model, f"cost {self.key}")
        assert isinstance(cfg, StudentConfig)
        return cfg


def counting_board(twin: Board) -> Board:
    """The emulated board with ``twin``'s core and QEMU machine and the largest budgets: bench
    images of any size link there, and the instruction counts are the twin's (same code)."""
    same = [b for b in BOARDS.values()
            if b.qemu_machine == twin.qemu_machine and b.cpu_flags == twin.cpu_flags]
    return max(same, key=lambda b: (b.sram_budget, b.flash_budget, b.name == twin.name))


def cost_path(cache: Path, board: Board, cfg: StudentConfig) -> Path:
    """The cache file of ``cfg`` on ``board``."""
    from export.int8.pipeline import PIPELINE_VERSION
    from firmware_bridge.boards.build_cache import compiler_version

    extra = f"{COST_VERSION}-{PIPELINE_VERSION}-{compiler_version()}"
    return cache / board.name / f"{config_key(cfg)}-{_short_hash(extra)}.json"


def _short_hash(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:8]


def load_cost(path: Path, board: Board) -> Cost | None:
    """A cached cost with ``board``'s budgets checked again (the board may state other limits
    than when it was measured), or None when missing or unreadable (it is measured again)."""
    try:
        d = json.loads(path.read_text())
        d["over"] = tuple(d["over"])
        hit = Cost(**d)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    sizes = {k: getattr(hit, k) for k in ("flash_bytes", "sram_bytes", "stack_bound_bytes")}
    return replace(hit, over=over_budget(board, sizes, hit.realtime_factor))


def _firmware(twin: Board, export: Path, work: Path) -> dict[str, int]:
    """Flash, SRAM, stack, arena and persistent bytes of the firmware built for ``twin``."""
    from firmware_bridge.build import BudgetError, build_firmware

    try:
        size = build_firmware(twin, model_dir=export, out_dir=work / "firmware").size
    except BudgetError as e:
        return {"flash_bytes": e.flash_bytes, "sram_bytes": e.sram_bytes, "stack_bound_bytes": 0,
                "arena_bytes": 0, "persistent_bytes": 0}
    return {"flash_bytes": size.flash_bytes, "sram_bytes": size.sram_bytes,
            "stack_bound_bytes": size.stack_bound_bytes, "arena_bytes": size.arena_bytes,
            "persistent_bytes": size.persistent_bytes}


def _instructions(twin: Board, export: Path) -> tuple[int, int]:
    """(encoder, decoder step) instructions of one invoke on the twin's core."""
    board = counting_board(twin)
    runs = {m.role: run_on_board(generate(m), m.name, board) for m in exported_models(export)}
    return runs["encoder"].total_instructions, runs["step"].total_instructions


def over_budget(board: Board, sizes: dict[str, int], rtf: float) -> tuple[str, ...]:
    """The budgets of ``board`` that ``sizes`` and ``rtf`` exceed."""
    twin = emulated_twin(board)
    checks = (("flash", sizes["flash_bytes"] > board.flash_budget),
              ("sram", sizes["sram_bytes"] > board.sram_budget),
              ("stack", sizes["stack_bound_bytes"] > twin.stack_size),
              ("time", rtf > board.rtf_limit))
    return tuple(name for name, bad in checks if bad)


def measure_cost(cfg: StudentConfig, board: Board, cache: Path) -> Cost:
    """The :class:`Cost` of ``cfg`` on ``board`` (see the module docstring), cached."""
    path = cost_path(cache, board, cfg)
    hit = load_cost(path, board)
    if hit is not None:
        return hit
    from firmware_bridge.boards.default_model import demo_dataset, export_pair, untrained_run

    twin = emulated_twin(board)
    with tempfile.TemporaryDirectory(prefix="foley-search-") as tmp:
        work = Path(tmp)
        export = work / "export"
        export_pair(untrained_run(work, cfg), export, demo_dataset(cache / "demo-data"),
                    waive_targets=True)
        sizes = _firmware(twin, export, work)
        enc, step = _instructions(twin, export)
    rt = real_time(board.name, describe(cfg), enc, step, cfg.hop_seconds, board.target_hz,
                   FOLEY_TOKENS_PER_S)
    cost = Cost(config_key(cfg), describe(cfg), board.name, twin.name, **sizes,
                encoder_instructions=enc, step_instructions=step,
                realtime_factor=rt.realtime_factor,
                over=over_budget(board, sizes, rt.realtime_factor), model=config_to_dict(cfg))
    write_atomic(path, (json.dumps(asdict(cost), indent=1) + "\n").encode())
    return cost

