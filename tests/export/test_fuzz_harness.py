"""The fuzz harness reports what a case did, including the cases that hang, die or allocate
too much, and a case is a function of (seed, target, index) alone."""

from __future__ import annotations

import os
import textwrap

import pytest

from export.fuzz import FuzzError
from export.fuzz.case import case_input
from export.fuzz.harness import run_fuzz
from export.fuzz.targets import resolve_target

PROBE = '''
import os
import signal
import time

import numpy as np

from edge.errors import FoleyEdgeError
from export.fuzz.targets import FuzzTarget


def _seeds():
    return (b"seed",)


def _mutate(buf, rng):
    return b"mutant", "replaced"


def _target(misbehave):
    def run(data, stages):
        stages.append("probe")
        if data != b"seed":
            misbehave()
    return FuzzTarget(seeds=_seeds, mutate=_mutate, run=run)


def _stuck():
    signal.signal(signal.SIGALRM, signal.SIG_IGN)  # as a C call that never returns to Python
    time.sleep(60)


def _bug():
    {}["missing"]


def _refuse():
    raise FoleyEdgeError("probe: expected 1, found 2")


def _silent():
    raise FoleyEdgeError("")


SLOW = _target(lambda: time.sleep(60))
STUCK = _target(_stuck)
ABORT = _target(os.abort)
GREEDY = _target(lambda: np.empty(1 << 31, np.uint8))
BUG = _target(_bug)
REFUSE = _target(_refuse)
SILENT = _target(_silent)
FINE = _target(lambda: None)
BROKEN = FuzzTarget(seeds=_seeds, mutate=_mutate, run=lambda data, stages: _bug())
'''


@pytest.fixture
def probe_env(tmp_path, monkeypatch) -> dict[str, str]:
    """The environment of workers that can import the probe targets (as can this process)."""
    (tmp_path / "fuzz_probe.py").write_text(textwrap.dedent(PROBE))
    monkeypatch.syspath_prepend(str(tmp_path))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(tmp_path), env.get("PYTHONPATH")) if p)
    return env


def test_each_outcome_is_reported_and_the_worker_restarts(probe_env) -> None:
    names = ["SLOW", "STUCK", "ABORT", "GREEDY", "BUG", "REFUSE", "SILENT", "FINE"]
    report = run_fuzz({f"fuzz_probe:{n}": 2 for n in names}, seed=3, jobs=2, limit_s=0.5,
                      grace_s=0.5, memory_bytes=256 << 20, env=probe_env)
    got = {(r.target.split(":")[1], r.index): r for r in report.results}
    assert len(got) == 2 * len(names)
    for i in (0, 1):  # cases after a crash or a kill run in a fresh worker, just as well
        assert (got["SLOW", i].outcome, got["SLOW", i].stage) == ("hang", "probe")
        assert got["STUCK", i].outcome == "hang" and "worker killed" in got["STUCK", i].message
        assert got["ABORT", i].outcome == "crash"
        assert got["ABORT", i].message.startswith("killed by SIGABRT")
        assert (got["GREEDY", i].outcome, got["GREEDY", i].error) == ("traceback", "MemoryError")
        assert (got["BUG", i].outcome, got["BUG", i].error) == ("traceback", "KeyError")
        assert "in _bug" in got["BUG", i].message
        assert (got["REFUSE", i].outcome, got["REFUSE", i].message) == (
            "error", "probe: expected 1, found 2")
        assert (got["SILENT", i].outcome, got["SILENT", i].message[:13]) == (
            "traceback", "empty message")
        assert got["FINE", i].outcome == "ok"
    assert all(r.mutation.endswith("replaced") for r in report.results)
    assert len(report.failures) == 2 * 6
    summary = report.summary()
    assert "FAIL x2 fuzz_probe:ABORT crash at ?: WorkerDied" in summary
    assert "replay: python -m export.fuzz --seed 3 --replay fuzz_probe:BUG:0" in summary


def test_a_broken_seed_stops_the_run(probe_env) -> None:
    with pytest.raises(FuzzError, match=r"fuzz worker did not start .*KeyError: 'missing'"):
        run_fuzz({"fuzz_probe:BROKEN": 1}, env=probe_env)
    with pytest.raises(FuzzError, match="cannot import fuzz_probe:NO_SUCH"):
        run_fuzz({"fuzz_probe:NO_SUCH": 1}, env=probe_env)


def test_a_case_is_its_seed_target_and_index(zoo) -> None:
    target = resolve_target("model")
    seeds = target.seeds()
    a = case_input("model", target, seeds, 5, 17)
    assert a == case_input("model", target, seeds, 5, 17)
    others = {case_input("model", target, seeds, s, i)[0] for s, i in ((5, 18), (6, 17))}
    assert a[0] not in others
    with pytest.raises(FuzzError, match="unknown fuzz target 'modle'"):
        resolve_target("modle")
