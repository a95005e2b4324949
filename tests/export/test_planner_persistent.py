"""``resolve_persistent``: --persistent specs (index, exact name, input-name substring) to
tensor indices."""

from __future__ import annotations

import pytest

from export.ir import Graph, Operator, Tensor
from export.planner import PlanError
from export.planner.persistent import resolve_persistent


def _graph() -> Graph:
    names = ["tokens", "cache_k0", "cache_v0", "cross_k", "logits", "new_k0"]
    tensors = tuple(Tensor(i, n, (1, 4), "int8") for i, n in enumerate(names))
    ops = (Operator(0, "ADD", (0, 1, 2, 3), (4, 5)),)
    return Graph("step", tensors, ops, inputs=(0, 1, 2, 3), outputs=(4, 5))


def test_index_exact_name_and_input_substring() -> None:
    g = _graph()
    assert resolve_persistent(g, ["3"]) == (3,)
    assert resolve_persistent(g, ["new_k0"]) == (5,)  # exact name: any tensor, not only inputs
    assert resolve_persistent(g, ["cache"]) == (1, 2)  # substring: graph inputs only
    assert resolve_persistent(g, ["cross", "cache_v0", "0"]) == (3, 2, 0)  # spec order
    assert resolve_persistent(g, []) == ()


def test_a_spec_that_names_nothing_lists_the_inputs() -> None:
    with pytest.raises(PlanError, match=r"'new_v': no tensor .* \(inputs: tokens, cache_k0, "
                                        r"cache_v0, cross_k\)"):
        resolve_persistent(_graph(), ["new_v"])
