"""The search under a board's budget, in five timed phases (see ``foley-edge search --help``).

1. **Seed measurements**: a few candidates spread over the space's compute range are measured
   for real (:func:`foley_edge.search.cost.measure_cost`).
2. **Predict and shrink** (TinyNAS-style): a predictor fitted to those measurements ranks every
   candidate; those predicted to fit (with a margin) are kept, the largest by parameters (one
   per encoder-width / decoder-width / depth family, for diversity) become finalists and are
   measured for real, two at a time with the predictor refitted in between, until ``finalists``
   of them fit (at most twice that many measured). Only measured costs decide what fits.
3. **Short trials**: the ``trained`` largest measured candidates that fit are distilled from the
   teacher for ``brief_epochs``, starting from the teacher's weights where they fit (HAT-style
   inheritance), and scored on held-out clips of the validation split.
4. **Fine-tune the winner** (the best validation onset F1 with pitch; ties, to two decimals,
   go to the better token accuracy, then the cheaper candidate) from its trial's weights
   for as many epochs as the remaining budget allows (at most ``final_epochs``), then score it
   on the test split.
5. **Export and build**: the int8 export of the winner and its firmware for the board's emulated
   twin, whose linker holds it to the board's flash and SRAM.

``budget_minutes`` bounds the whole search: phase 2 stops adding finalists past 35 % of it,
phase 3 trains fewer candidates past 65 %, and phase 4 sizes its epochs from the measured epoch
time of phase 3 to end before the budget, keeping a reserve for phase 5.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edge.model.config import StudentConfig
from edge.train.loop import TrainSettings
from firmware_bridge.boards.registry import Board, emulated_twin
from foley_edge.search import SearchError
from foley_edge.search.cost import Cost, measure_cost
from foley_edge.search.predict import Prediction, Predictor, fit_predictor
from foley_edge.search.space import SearchSpace, candidates, config_key, describe, features
from foley_edge.search.train import Trained, brief_settings, train_candidate
from foley_edge.search.trials import LocalEngine, TrialEngine

Progress = Callable[[str], None]
"""Called with one line per finished step."""

MARGIN = 1.10
"""Predicted costs up to 10 % over a budget still count as 'may fit' (measured next)."""
EXPORT_RESERVE_S = 240.0
"""Seconds kept for phase 5 (export + firmware build) when sizing the fine-tuning."""


@dataclass(frozen=True)
class SearchSettings:
    """One search (the command line's options)."""

    board: Board  # whose budgets apply
    data: Path  # dataset folder (train / val / test splits)
    teacher: Path  # run folder distilled from
    out: Path  # result folder
    space: SearchSpace  # the candidates
    cache: Path  # cost cache folder
    train: TrainSettings = field(default_factory=TrainSettings)  # base of every trial
    budget_minutes: float = 150.0  # the whole search
    seeds: int = 5  # phase 1 measurements
    finalists: int = 6  # phase 2 measurements
    trained: int = 3  # phase 3 trials
    brief_epochs: int = 2  # epochs of a phase 3 trial
    final_epochs: int = 12  # most epochs of the fine-tuning
    eval_clips: int = 6  # held-out clips per score
    inherit: bool = True  # trials start from the teacher's weights where they fit
    engine: TrialEngine = field(default_factory=LocalEngine)  # where trials run


@dataclass(frozen=True)
class SearchState:
    """Everything the search learned (what the report writes)."""

    all_configs: tuple[StudentConfig, ...]  # the space's valid candidates
    costs: dict[str, Cost]  # measured, by config key
    predictions: dict[str, Prediction]  # by config key (empty before the fit)
    trials: dict[str, Trained]  # phase 3, by config key
    winner: str  # config key of the winner
    final: Trained  # the fine-tuned winner on the test split
    timings: dict[str, float]  # seconds per phase


class _Clock:
    def __init__(self, minutes: float) -> None:
        self.start, self.budget = time.monotonic(), 60.0 * minutes

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def past(self, share: float) -> bool:
        return self.elapsed() > share * self.budget

    def left(self) -> float:
        return self.budget - self.elapsed()


def base_config(teacher: Path) -> StudentConfig:
    """The default student with the teacher's windows, hop, rate, sequence length, input frame
    and block strides (a candidate with as many blocks as the teacher keeps its strides)."""
    from edge.train.run import read_run_config

    t, _ = read_run_config(teacher)
    return StudentConfig(window_frames=t.window_frames, hop_frames=t.hop_frames, fps=t.fps,
                         max_tokens=t.max_tokens, gcn_channels=t.gcn_channels,
                         gcn_strides=t.gcn_strides, input_frame=t.input_frame)


def _compute(cfg: StudentConfig) -> float:
    f = features(cfg)
    return f.encoder_macs + 85.0 * cfg.hop_seconds * f.step_macs


def seed_configs(configs: Sequence[StudentConfig], n: int) -> list[StudentConfig]:
    """``n`` candidates at evenly spaced quantiles of compute (smallest and largest included)."""
    ranked = sorted(configs, key=_compute)
    if n >= len(ranked):
        return ranked
    picks = sorted({round(i * (len(ranked) - 1) / max(n - 1, 1)) for i in range(n)})
    return [ranked[i] for i in picks]


def may_fit(p: Prediction, board: Board, margin: float = MARGIN) -> bool:
    """True when ``p`` is within ``margin`` of every budget of ``board``."""
    return (p.realtime_factor <= board.rtf_limit * margin
            and p.flash_bytes <= board.flash_budget * margin
            and p.sram_bytes <= board.sram_budget * margin)


def _family(cfg: StudentConfig) -> tuple[object, ...]:
    return cfg.gcn_channels, cfg.d_model, cfg.layers


def pick_finalists(configs: Sequence[StudentConfig], predictor: Predictor, board: Board,
                   measured: set[str], n: int) -> list[StudentConfig]:
    """The ``n`` largest (parameters) unmeasured candidates that may fit, one per family;
    those predicted to fit outright come before those only within the margin."""
    scored = [(c, predictor.predict(c, board)) for c in configs if config_key(c) not in measured]
    hopeful = [(c, may_fit(p, board, 1.0)) for c, p in scored if may_fit(p, board)]
    hopeful.sort(key=lambda cp: (cp[1], features(cp[0]).params), reverse=True)
    out: list[StudentConfig] = []
    families: set[tuple[object, ...]] = set()
    for c, _ in hopeful:
        if len(out) == n:
            break
        if _family(c) not in families:
            families.add(_family(c))
            out.append(c)
    return out


def _measure(s: SearchSettings, configs: Sequence[StudentConfig],
             progress: Progress) -> list[Cost]:
    items = [(c, s.board, s.cache) for c in configs]
    labels = [f"measured {describe(c)}" for c in configs]
    costs = s.engine.map(measure_cost, items, labels, progress)
    for c in costs:
        verdict = "fits" if c.fits else "over " + ", ".join(c.over)
        progress(f"  {c.label}: RTF {c.realtime_factor:.3f}, flash {c.flash_bytes / 1024:.0f} "
                 f"KiB, SRAM {c.sram_bytes / 1024:.0f} KiB: {verdict}")
    return costs


def _measure_phase(s: SearchSettings, configs: list[StudentConfig], clock: _Clock,
                   progress: Progress) -> tuple[dict[str, Cost], dict[str, Prediction]]:
    """Seeds, then finalists in small batches (the predictor refitted after each) until
    ``finalists`` of them fit, twice that many were measured, or 35 % of the budget is gone."""
    costs = {c.key: c for c in _measure(s, seed_configs(configs, s.seeds), progress)}
    predictor = fit_predictor(list(costs.values()))
    step = 2 if isinstance(s.engine, LocalEngine) else s.finalists
    fitting = measured = 0
    while fitting < s.finalists and measured < 2 * s.finalists and not clock.past(0.35):
        batch = pick_finalists(configs, predictor, s.board, set(costs),
                               min(step, s.finalists - fitting))
        if not batch:
            break
        found = _measure(s, batch, progress)
        costs.update((c.key, c) for c in found)
        fitting += sum(c.fits for c in found)
        measured += len(found)
        predictor = fit_predictor(list(costs.values()))
    predictions = {config_key(c): predictor.predict(c, s.board) for c in configs}
    return costs, predictions


def _trial_phase(s: SearchSettings, fitting: list[Cost], clock: _Clock,
                 progress: Progress) -> dict[str, Trained]:
    ranked = sorted(fitting, key=lambda c: features(c.config()).params, reverse=True)
    n = s.trained if not clock.past(0.65) else 1
    chosen = ranked[:max(1, n)]
    settings = brief_settings(s.train, s.brief_epochs)
    inherit = str(s.teacher) if s.inherit else None
    items = [(c.key, c.model, str(s.teacher), str(s.data), str(s.out / "trials" / c.key),
              settings, "val", s.eval_clips, None, inherit) for c in chosen]
    trained = s.engine.map(train_candidate, items, [f"trained {c.label}" for c in chosen],
                           progress)
    for t in trained:
        progress(f"  {costs_label(fitting, t.key)}: val onset F1 {t.onset_f1:.3f} after "
                 f"{t.epochs} epochs ({t.train_seconds:.0f} s)")
    return {t.key: t for t in trained}


def costs_label(costs: Sequence[Cost], key: str) -> str:
    """The label of the cost with config key ``key``."""
    return next(c.label for c in costs if c.key == key)


def _rank(t: Trained, cost: Cost) -> tuple[float, float, float]:
    """Onset F1 with pitch to two decimals (finer differences are noise on a few clips), then
    token accuracy, then the cheaper candidate."""
    return round(t.onset_f1, 2), round(t.token_accuracy, 3), -cost.realtime_factor


def _final_epochs(s: SearchSettings, trials: dict[str, Trained], clock: _Clock) -> int:
    per_epoch = max(t.train_seconds / t.epochs for t in trials.values())
    affordable = int((clock.left() - EXPORT_RESERVE_S) // max(per_epoch, 1e-3))
    return max(1, min(s.final_epochs, affordable))


def run_search(s: SearchSettings, progress: Progress) -> SearchState:
    """Phases 1-4 (see the module docstring); phase 5 is :func:`foley_edge.search.result.finish`."""
    clock, timings = _Clock(s.budget_minutes), {}
    configs = candidates(s.space, base_config(s.teacher))
    if not configs:
        raise SearchError("the search space has no valid candidate for the teacher's windows")
    progress(f"{len(configs)} candidates for {s.board.name} (measured on "
             f"{emulated_twin(s.board).name}, engine {s.engine.name})")
    costs, predictions = _measure_phase(s, configs, clock, progress)
    timings["measure_s"] = round(clock.elapsed(), 1)
    fitting = [c for c in costs.values() if c.fits]
    if not fitting:
        smallest = min(costs.values(), key=lambda c: c.realtime_factor)
        raise SearchError(f"no measured candidate fits {s.board.name}: the cheapest, "
                          f"{smallest.label}, is over its {', '.join(smallest.over)} budget")
    trials = _trial_phase(s, fitting, clock, progress)
    timings["trials_s"] = round(clock.elapsed() - timings["measure_s"], 1)
    best = max(trials.values(), key=lambda t: _rank(t, costs[t.key]))
    epochs = _final_epochs(s, trials, clock)
    final = train_candidate(best.key, costs[best.key].model, str(s.teacher), str(s.data),
                            str(s.out / "winner" / "run"), brief_settings(s.train, epochs),
                            "test", s.eval_clips, init=best.run)
    progress(f"fine-tuned {costs[best.key].label} for {epochs} epochs: test onset F1 "
             f"{final.onset_f1:.3f}")
    timings["final_s"] = round(clock.elapsed() - timings["measure_s"] - timings["trials_s"], 1)
    return SearchState(tuple(configs), costs, predictions, trials, best.key, final, timings)

