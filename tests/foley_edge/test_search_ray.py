"""The search's Ray engine: trials run as Ray tasks in worker processes, results in order."""

from __future__ import annotations

import pytest

from edge.model.config import StudentConfig
from foley_edge.search.space import features
from foley_edge.search.trials import LocalEngine, RayEngine

ray = pytest.importorskip("ray")


def test_ray_engine_runs_trials_as_tasks_and_keeps_their_order() -> None:
    configs = [(StudentConfig(d_model=d),) for d in (32, 64, 96)]
    labels: list[str] = []
    engine = RayEngine(num_cpus=0.5)
    try:
        out = engine.map(features, configs, ["a", "b", "c"], labels.append)
        assert ray.is_initialized()  # the engine started a local Ray for the trials
        assert ray.cluster_resources().get("CPU", 0) >= 1
    finally:
        ray.shutdown()
    assert out == LocalEngine().map(features, configs, ["a", "b", "c"], lambda _: None)
    assert sorted(labels) == ["a", "b", "c"]
