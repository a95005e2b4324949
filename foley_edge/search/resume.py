"""``foley-edge search --resume``: rebuild a finished search's state from its folder.

Phases 1-4 leave everything on disk: measured costs in the cost cache, each trial's run folder
with its ``eval_val.json`` under ``trials/``, the fine-tuned winner with its ``eval_test.json``
under ``winner/run/``. When those are complete, a resumed search reads them back (refitting the
predictor on the cached costs) and runs only phase 5 (export, firmware, result files); otherwise
it says what is missing and the search must run again.
"""

from __future__ import annotations

import json
from pathlib import Path

from edge.model.config import StudentConfig, config_from_dict
from foley_edge.search import SearchError
from foley_edge.search.cost import Cost, cost_path, load_cost
from foley_edge.search.predict import fit_predictor
from foley_edge.search.run import SearchSettings, SearchState, base_config
from foley_edge.search.space import candidates, config_key
from foley_edge.search.train import Trained


def _trained(run: Path, split: str) -> Trained:
    """A :class:`Trained` from a run folder and its ``eval_<split>.json``."""
    try:
        cfg_json = json.loads((run / "config.json").read_text())
        ev = json.loads((run / f"eval_{split}.json").read_text())
        history = json.loads((run / "metrics.json").read_text())["history"]
    except (OSError, ValueError, KeyError) as e:
        raise SearchError(f"{run}: cannot resume from it ({e}); run the search again") from e
    cfg = config_from_dict(cfg_json["model"], str(run / "config.json"))
    assert isinstance(cfg, StudentConfig)
    seconds = sum(float(h.get("seconds", 0.0)) for h in history)
    return Trained(config_key(cfg), str(run), int(cfg_json["train"]["epochs"]), round(seconds, 1),
                   split, float(ev["onset_f1"]), float(ev["token_accuracy"]),
                   ev.get("motion_sensitivity"))


def _cached(s: SearchSettings, configs: list[StudentConfig]) -> dict[str, Cost]:
    """Every candidate of the space with a cached cost on the board (budgets checked again)."""
    hits = (load_cost(cost_path(s.cache, s.board, cfg), s.board) for cfg in configs)
    return {hit.key: hit for hit in hits if hit is not None}


def resume_state(s: SearchSettings) -> SearchState:
    """The state of the search whose folder is ``s.out`` (see the module docstring)."""
    configs = candidates(s.space, base_config(s.teacher))
    trials = {t.key: t for t in (_trained(d, "val") for d in sorted((s.out / "trials").glob("*"))
                                 if d.is_dir())}
    if not trials:
        raise SearchError(f"{s.out / 'trials'}: no trials to resume from; run the search again")
    final = _trained(s.out / "winner" / "run", "test")
    costs = _cached(s, configs)
    missing = sorted({*trials, final.key} - set(costs))
    if missing:
        raise SearchError(f"{s.cache}: no measured cost for {', '.join(missing)}; run again")
    predictor = fit_predictor(list(costs.values()))
    predictions = {config_key(c): predictor.predict(c, s.board) for c in configs}
    return SearchState(tuple(configs), costs, predictions, trials, final.key, final,
                       {"resumed": 1.0})
