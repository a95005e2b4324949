"""foley-edge search: the space, the predictor, the budget filter and a real search end to end.

The end-to-end test measures the two candidates of the tiny space for real (int8 export,
firmware linked for qemu-f411, instructions counted in QEMU), then sets the board's real-time
limit between their measured real-time factors: the search must pick the one that fits, whatever
its score, and the winner's firmware must link under the F411's limits and play a clip on the
emulated twin.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edge.model.config import StudentConfig
from firmware_bridge.boards.registry import get_board
from foley_edge.cli import main
from foley_edge.search import SearchError
from foley_edge.search.cost import Cost, counting_board, over_budget
from foley_edge.search.plot import pareto_front
from foley_edge.search.predict import fit_predictor
from foley_edge.search.run import may_fit, pick_finalists, seed_configs
from foley_edge.search.space import (
    DEFAULT_SPACE,
    TINY_SPACE,
    candidates,
    config_key,
    describe,
    features,
)
from foley_edge.search.trials import LocalEngine, make_engine

TINY = Path(__file__).resolve().parents[1] / "export" / "test_int8_tiny.py"
F411 = get_board("qemu-f411")


def test_default_space_skips_heads_that_do_not_divide_the_width() -> None:
    configs = candidates(DEFAULT_SPACE, StudentConfig())
    # d_model 48 with 4 heads is fine (12), every other combination too: heads 2 and 4 divide
    # 32, 48, 64 and 96, so all 1,008 combinations are valid
    assert len(configs) == DEFAULT_SPACE.size() == 1008
    assert len({config_key(c) for c in configs}) == 1008
    odd = replace(DEFAULT_SPACE, d_model=(36,), heads=(8,))
    assert candidates(odd, StudentConfig()) == []


def test_describe_names_encoder_and_decoder() -> None:
    assert describe(StudentConfig()) == "gcn 8-16-32 g4, d64 h4 L2 ff128"


def test_features_grow_with_the_shapes() -> None:
    small, big = StudentConfig(d_model=32), StudentConfig(d_model=64)
    assert features(small).step_macs < features(big).step_macs
    assert features(small).encoder_macs < features(big).encoder_macs  # cross K/V projections
    assert features(StudentConfig(gcn_channels=(4, 8, 16))).encoder_macs < \
        features(StudentConfig()).encoder_macs


def test_seed_configs_take_the_ends_of_the_compute_range() -> None:
    configs = candidates(DEFAULT_SPACE, StudentConfig())
    seeds = seed_configs(configs, 3)
    compute = sorted(f.encoder_macs + 85 * f.step_macs for f in map(features, configs))
    got = [features(c).encoder_macs + 85 * features(c).step_macs for c in seeds]
    assert got[0] == compute[0] and got[-1] == compute[-1] and len(seeds) == 3


def test_pareto_front_keeps_only_undominated_points() -> None:
    pts = [(3.0, 0.5), (1.0, 0.2), (2.0, 0.6), (2.5, 0.4), (4.0, 0.6)]
    assert pareto_front(pts) == [(1.0, 0.2), (2.0, 0.6)]


def _cost(cfg: StudentConfig, enc: int, step: int, rtf: float) -> Cost:
    from edge.model.config import config_to_dict

    return Cost(config_key(cfg), describe(cfg), "qemu-f411", "qemu-f411", 100_000, 60_000, 1_500,
                20_000, 10_000, enc, step, rtf, (), config_to_dict(cfg))


def test_predictor_recovers_a_linear_cost_and_ranks_unmeasured_candidates() -> None:
    configs = candidates(DEFAULT_SPACE, StudentConfig())[::97]
    measured = [_cost(c, 3 * features(c).encoder_macs + 7 * features(c).encoder_values + 1000,
                      2 * features(c).step_macs + 5000, 0.1) for c in configs]
    p = fit_predictor(measured)
    other = StudentConfig(gcn_channels=(12, 24, 32), d_model=48, heads=2, layers=3, ffn=64)
    want = 3 * features(other).encoder_macs + 7 * features(other).encoder_values + 1000
    assert p.predict(other, F411).encoder_instructions == pytest.approx(want, rel=1e-6)
    assert p.predict(other, F411).step_instructions == \
        pytest.approx(2 * features(other).step_macs + 5000, rel=1e-6)


def test_finalists_are_unmeasured_may_fit_and_one_per_family() -> None:
    configs = candidates(DEFAULT_SPACE, StudentConfig())
    measured = [_cost(c, 2 * features(c).encoder_macs, 2 * features(c).step_macs, 0.0)
                for c in configs[::200]]
    p = fit_predictor(measured)
    picks = pick_finalists(configs, p, F411, {c.key for c in measured}, 5)
    assert len(picks) == 5
    assert all(config_key(c) not in {m.key for m in measured} for c in picks)
    assert all(may_fit(p.predict(c, F411), F411) for c in picks)
    assert len({(c.gcn_channels, c.d_model, c.layers) for c in picks}) == 5


def test_budget_checks_name_what_is_exceeded() -> None:
    sizes = {"flash_bytes": 600 * 1024, "sram_bytes": 100 * 1024, "stack_bound_bytes": 9000}
    assert over_budget(F411, sizes, 0.7) == ("flash", "stack", "time")
    assert over_budget(get_board("nucleo-f411re"), sizes, 0.4) == ("flash", "stack")
    assert counting_board(F411).name == "qemu-m4"  # same core and machine, roomier linker


def test_unknown_engine_and_missing_ray_address_use_are_refused() -> None:
    assert isinstance(make_engine("local"), LocalEngine)
    with pytest.raises(SearchError, match="--engine must be 'local' or 'ray', found 'dask'"):
        make_engine("dask")
    with pytest.raises(SearchError, match="--ray-address applies to --engine ray only"):
        make_engine("local", "auto")


def test_search_refuses_a_folder_without_a_dataset(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["search", "--board", "qemu-f411", "--data", str(tmp_path), "--out",
               str(tmp_path / "o")])
    assert rc == 2
    assert "not a dataset folder (expected manifest.json" in capsys.readouterr().err


def _tiny():  # noqa: ANN202 - the fixture module
    spec = importlib.util.spec_from_file_location("tiny_fixture_for_search", TINY)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(teacher run, dataset) of the session's tiny trained model."""
    base = tmp_path_factory.getbasetemp()
    mod = _tiny()
    return mod.tiny_run(base), mod.tiny_dataset(base / "tiny_data")


def test_search_picks_only_what_fits_and_the_winner_plays_on_the_twin(
        tiny: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import edge.model.shipped
    from edge.train.loop import TrainSettings
    from foley_edge.search.cost import measure_cost
    from foley_edge.search.result import SHIPPED_FILES, finish, ship_winner
    from foley_edge.search.run import SearchSettings, base_config, run_search

    teacher, data = tiny
    cache = tmp_path / "cache"
    small, big = candidates(TINY_SPACE, base_config(teacher))  # d_model 16, 32
    c_small, c_big = measure_cost(small, F411, cache), measure_cost(big, F411, cache)
    assert 0 < c_small.realtime_factor < c_big.realtime_factor  # real counts: more width, more work
    assert c_small.flash_bytes < c_big.flash_bytes <= F411.flash_budget
    board = replace(F411, rtf_limit=round((c_small.realtime_factor + c_big.realtime_factor) / 2, 4))
    s = SearchSettings(board=board, data=data, teacher=teacher, out=tmp_path / "out",
                       space=TINY_SPACE, cache=cache,
                       train=TrainSettings(batch_size=8, warmup=20, augment=False),
                       budget_minutes=20, seeds=2, finalists=1, trained=2, brief_epochs=1,
                       final_epochs=1, eval_clips=2)
    lines: list[str] = []
    state = run_search(s, lines.append)
    assert state.costs[config_key(big)].over == ("time",)  # measured over the limit ...
    assert state.winner == config_key(small)  # ... so never chosen
    assert set(state.trials) == {config_key(small)}  # nor even trained
    assert any("measured" in line for line in lines)
    summary = finish(s, state)
    size = summary["winner"]["size"]
    assert size["board"] == "qemu-f411" and size["flash_bytes"] <= 512 * 1024
    assert size["sram_bytes"] <= 128 * 1024
    rows = json.loads((s.out / "candidates.json").read_text())
    assert [r["chosen"] for r in rows] == [True, False] and rows[1]["fits"] is False
    assert (s.out / "pareto.png").stat().st_size > 10_000
    assert "**gcn 4-8 g2, d16 h2 L1 ff32**" in (s.out / "candidates.md").read_text()
    clip = sorted((data / "test").glob("*.npz"))[0]
    mid = tmp_path / "winner.mid"
    rc = main(["play", "--board", "qemu-f411", "--model", str(s.out / "winner" / "export"),
               "--keypoints", str(clip), "--midi-out", str(mid), "--no-pace",
               "--out", str(tmp_path / "fw")])
    assert rc == 0 and mid.stat().st_size > 0
    assert np.isfinite(summary["winner"]["final"]["onset_f1"])
    monkeypatch.setattr(edge.model.shipped, "SHIPPED_DIR", tmp_path / "shipped")
    shipped = ship_winner(s, summary)
    assert shipped == tmp_path / "shipped" / "student-f411"
    assert all((shipped / f).is_file() for f in SHIPPED_FILES)
    assert json.loads((shipped / "eval_test.json").read_text())["split"] == "test"


def test_the_command_lines_space_names_are_the_spaces() -> None:
    from foley_edge.commands.search import SPACE_NAMES
    from foley_edge.search.space import SPACES

    assert set(SPACE_NAMES) == set(SPACES)


def test_the_shipped_f411_student_is_the_search_winner_and_links_on_its_twin(
        tmp_path: Path) -> None:
    from edge.model.config import load_config
    from edge.model.shipped import shipped_run
    from firmware_bridge.boards.default_model import (
        DEFAULT_CACHE,
        export_pair,
        held_out_dataset,
        held_out_root,
    )
    from firmware_bridge.build import build_firmware

    run = shipped_run("student-f411")
    summary = json.loads((run / "search.json").read_text())
    assert summary["board"] == "nucleo-f411re" and summary["winner"]["cost"]["over"] == []
    assert summary["winner"]["cost"]["realtime_factor"] <= 0.5
    assert config_key(load_config(run / "config.json")) == summary["winner"]["key"]
    assert get_board("qemu-f411").student == run.name
    # its int8 pair as the board's default build makes it (calibrated on the held-out set, in the
    # project's cache), with the quick checks: the targets are the default export's business
    data = held_out_dataset(held_out_root(Path(__file__).resolve().parents[2] / DEFAULT_CACHE))
    export_pair(run, tmp_path / "f411", data, waive_targets=True)
    size = build_firmware("qemu-f411", model_dir=tmp_path / "f411", out_dir=tmp_path / "fw").size
    assert size.flash_bytes <= 512 * 1024 and size.sram_bytes <= 128 * 1024
