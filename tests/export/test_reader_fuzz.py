"""Issue #19: seeded mutants of the zoo's mlp and cnn through the reader, the planner and the
code generator end in a plan and C code or in a clear error, never a traceback, a crash or a
hang.

``FOLEY_EDGE_FUZZ_N`` sets the number of mutants (default :data:`DEFAULT_N`, about 10 s on
two idle cores); the long run is ``python -m export.fuzz --models 10000`` (see
:mod:`export.fuzz`).
"""

from __future__ import annotations

import os
from collections import Counter

from export.fuzz.harness import run_fuzz

DEFAULT_N = 800
"""Mutated models in ``make test``."""


def test_mutated_models_plan_or_give_a_clear_error() -> None:
    n = int(os.environ.get("FOLEY_EDGE_FUZZ_N", DEFAULT_N))
    report = run_fuzz({"model": n}, seed=0, jobs=2)
    assert not report.failures, report.summary()
    assert len(report.results) == n
    # The run reached every stage: refusals by the reader, and (of both seed models) mutants
    # that were planned and turned into C.
    stages = Counter(r.stage for r in report.results)
    assert stages["read"] > n // 2 and stages["emit"] > n // 20, stages
    done = Counter(r.mutation.split(":")[0] for r in report.results if r.outcome == "ok")
    assert done["seed input 0"] > n // 50 and done["seed input 1"] > n // 50, done
    assert all(r.message for r in report.results if r.outcome == "error")
