"""The memory planner: exact hand-computed cases, invariants on random and real graphs, errors."""

from __future__ import annotations

import itertools
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import pytest

from export.ir import Graph, Operator, Tensor
from export.planner import PlanError
from export.planner.lifetimes import Interval, align_up, compute_lifetimes, live_bytes
from export.planner.memory import plan_memory
from export.planner.offsets import assign_offsets
from export.planner.schedule import order_peak, search_order
from export.planner.verify import verify_plan
from export.tflite_reader import read_tflite


def make_graph(sizes: list[int], ops: list[tuple[str, tuple[int, ...], tuple[int, ...]]],
               inputs: tuple[int, ...], outputs: tuple[int, ...], const: tuple[int, ...] = ()) -> Graph:
    """A graph of int8 vectors: tensor i has ``sizes[i]`` bytes."""
    tensors = tuple(
        Tensor(index=i, name=f"t{i}", shape=(n,), dtype="int8",
               data=bytes(n) if i in const else None) for i, n in enumerate(sizes))
    operators = tuple(Operator(index=k, op=op, inputs=i, outputs=o) for k, (op, i, o) in enumerate(ops))
    return Graph("g", tensors, operators, inputs, outputs)


def test_offsets_hand_computed() -> None:
    # A [0,32) steps 0..1, B 16 B steps 1..2, C 48 B steps 2..3: live 32, 48, 64, 48.
    ivs = [Interval(("tensor", 0), 32, 0, 1), Interval(("tensor", 1), 16, 1, 2),
           Interval(("tensor", 2), 48, 2, 3)]
    placement, peak = assign_offsets(ivs, 4, 16)
    assert peak == 64
    assert placement == {("tensor", 2): 0, ("tensor", 0): 0, ("tensor", 1): 48}


def test_chain_reaches_lower_bound_exactly() -> None:
    g = make_graph([64, 128, 32, 48], [("FULLY_CONNECTED", (0,), (1,)), ("FULLY_CONNECTED", (1,), (2,)),
                                       ("FULLY_CONNECTED", (2,), (3,))], (0,), (3,))
    plan = plan_memory(g)
    verify_plan(g, plan)
    assert plan.lower_bound_bytes == 192 and plan.arena_bytes == 192
    assert plan.order == (0, 1, 2) and plan.aliases == {}
    assert plan.tensor_offsets[0] != plan.tensor_offsets[1]


def test_inplace_relu_and_view_share_storage() -> None:
    # in 64 -FC-> a 64 -RELU-> b 64 -RESHAPE-> c 64 -FC-> out 16
    g = make_graph([64, 64, 64, 64, 16], [("FULLY_CONNECTED", (0,), (1,)), ("RELU", (1,), (2,)),
                                          ("RESHAPE", (2,), (3,)), ("FULLY_CONNECTED", (3,), (4,))],
                   (0,), (4,))
    plan = plan_memory(g)
    verify_plan(g, plan)
    assert dict(plan.aliases) == {2: 1, 3: 2}
    assert plan.tensor_offsets[1] == plan.tensor_offsets[2] == plan.tensor_offsets[3]
    assert plan.lower_bound_bytes == 128 and plan.arena_bytes == 128


def test_no_inplace_when_input_read_later_or_graph_input() -> None:
    # a is read by RELU and by the final ADD: RELU must not overwrite it.
    g = make_graph([64, 64, 64, 64], [("FULLY_CONNECTED", (0,), (1,)), ("RELU", (1,), (2,)),
                                      ("ADD", (2, 1), (3,))], (0,), (3,))
    plan = plan_memory(g)
    verify_plan(g, plan)
    assert 2 not in plan.aliases
    g2 = make_graph([64, 64], [("RELU", (0,), (1,))], (0,), (1,))
    assert plan_memory(g2).aliases == {}


def _two_branches() -> Graph:
    # model order runs both big producers first; the best order finishes one branch first.
    sizes = [16, 1024, 1024, 16, 16, 32]
    ops = [("FULLY_CONNECTED", (0,), (1,)), ("FULLY_CONNECTED", (0,), (2,)),
           ("FULLY_CONNECTED", (1,), (3,)), ("FULLY_CONNECTED", (2,), (4,)),
           ("CONCATENATION", (3, 4), (5,))]
    return make_graph(sizes, ops, (0,), (5,))


def test_order_search_beats_model_order() -> None:
    g = _two_branches()
    model = plan_memory(g, strategy="model")
    best = plan_memory(g)
    verify_plan(g, model)
    verify_plan(g, best)
    assert model.arena_bytes == 16 + 1024 + 1024
    assert best.arena_bytes == 16 + 1024 + 16 < model.arena_bytes  # input + one big + one small
    assert best.order in ((0, 2, 1, 3, 4), (1, 3, 0, 2, 4))


def _random_dag(rng: np.random.Generator, n_ops: int) -> Graph:
    sizes = [int(rng.integers(1, 40)) * 8]
    ops = []
    for k in range(n_ops):
        k_in = min(len(sizes), int(rng.integers(1, 3)))
        ins = tuple(sorted({int(x) for x in rng.choice(len(sizes), size=k_in, replace=False)}))
        kind = "ADD" if len(ins) == 2 and sizes[ins[0]] == sizes[ins[1]] else "FULLY_CONNECTED"
        if rng.random() < 0.3:
            kind, ins = "RELU", ins[:1]
        sizes.append(sizes[ins[0]] if kind in ("RELU", "ADD") else int(rng.integers(1, 40)) * 8)
        ops.append((kind, ins, (len(sizes) - 1,)))
        del k
    consumed = {t for _, i, _ in ops for t in i}
    outs = tuple(t for t in range(1, len(sizes)) if t not in consumed)
    return make_graph(sizes, ops, (0,), outs)


def _topological_orders(g: Graph) -> list[tuple[int, ...]]:
    prod = g.producers()
    deps = {op.index: {prod[t] for t in op.inputs if t in prod} for op in g.operators}
    return [p for p in itertools.permutations(range(len(g.operators)))
            if all(deps[v] <= set(p[:i]) for i, v in enumerate(p))]


@pytest.mark.parametrize("seed", range(8))
def test_exact_search_matches_brute_force(seed: int) -> None:
    g = _random_dag(np.random.default_rng(seed), 7)
    found = search_order(g)
    assert found.exact
    assert found.peak_bytes == min(order_peak(g, o) for o in _topological_orders(g))


@pytest.mark.parametrize("seed", range(25))
def test_invariants_on_random_graphs(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    g = _random_dag(rng, int(rng.integers(3, 30)))
    plan = plan_memory(g)
    verify_plan(g, plan)
    model = plan_memory(g, strategy="model")
    assert plan.arena_bytes >= plan.lower_bound_bytes
    assert plan.arena_bytes <= model.arena_bytes


@pytest.mark.parametrize("seed", range(10))
def test_random_chains_reach_lower_bound(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    n = int(rng.integers(2, 40))
    sizes = [int(s) * 16 for s in rng.integers(1, 64, n + 1)]
    g = make_graph(sizes, [("FULLY_CONNECTED", (k,), (k + 1,)) for k in range(n)], (0,), (n,))
    plan = plan_memory(g)
    verify_plan(g, plan)
    assert plan.arena_bytes == plan.lower_bound_bytes


@pytest.mark.parametrize("name", ["cnn", "mlp", "attention", "kv_decoder_step"])
def test_zoo_plans_verify_and_are_near_the_bound(zoo, name: str) -> None:
    g = read_tflite(zoo[name])
    plan = plan_memory(g)
    verify_plan(g, plan)
    # the bound with slide allowances may be out of reach (a chain of slides drifts down the
    # arena); the max live bytes without them is the bound of plans that never overlap.
    lt = compute_lifetimes(g, plan.order)
    live = max(live_bytes(lt.intervals, len(plan.order)))
    assert plan.lower_bound_bytes <= plan.arena_bytes <= 1.05 * live
    assert plan.arena_bytes <= plan_memory(g, strategy="model").arena_bytes
    for t in (*g.inputs, *g.outputs):
        assert t in plan.tensor_offsets


def test_kv_caches_go_to_the_persistent_area(zoo) -> None:
    g = read_tflite(zoo["kv_decoder_step"])
    caches = tuple(i for i in g.inputs if "cache" in g.tensors[i].name)
    assert len(caches) == 4
    flat = plan_memory(g, persistent=caches, grown=False)
    verify_plan(g, flat)
    assert flat.persistent_bytes == sum(g.tensors[i].nbytes for i in caches)
    assert all(i in flat.persistent_offsets and i not in flat.tensor_offsets for i in caches)
    assert flat.arena_bytes < plan_memory(g).arena_bytes
    # concat(cache, new_row) grows each cache in place: the cache is the front of the
    # concatenation's persistent block, so the attention reads K/V without an arena copy
    plan = plan_memory(g, persistent=caches)
    verify_plan(g, plan)
    assert sorted(plan.grown.values()) == sorted(caches)
    for out, cache in plan.grown.items():
        assert plan.persistent_offsets[out] == plan.persistent_offsets[cache]
        assert g.tensors[out].nbytes > g.tensors[cache].nbytes
        assert out not in plan.tensor_offsets
    assert plan.persistent_bytes == sum(align_up(g.tensors[o].nbytes, plan.alignment)
                                        for o in plan.grown)
    assert plan.arena_bytes < flat.arena_bytes
    moved = dict(plan.persistent_offsets)
    out, cache = next(iter(plan.grown.items()))
    moved[cache] += plan.alignment
    with pytest.raises(PlanError, match="must start its persistent block"):
        verify_plan(g, replace(plan, persistent_offsets=moved))


def test_transposes_read_by_batch_matmul_are_strided_views(zoo) -> None:
    g = read_tflite(zoo["kv_decoder_step"])
    caches = tuple(i for i in g.inputs if "cache" in g.tensors[i].name)
    prod, cons = g.producers(), g.consumers()
    plan = plan_memory(g, persistent=caches)
    verify_plan(g, plan)
    views = [t for t in plan.aliases if g.operators[prod[t]].op == "TRANSPOSE"]
    assert views, "attention's K^T / V heads should be read in place"
    for t in views:
        assert all(g.operators[k].op == "BATCH_MATMUL" for k in cons[t])
        root = g.operators[prod[t]].inputs[0]
        assert plan.persistent_offsets.get(t, plan.tensor_offsets.get(t)) == \
            plan.persistent_offsets.get(root, plan.tensor_offsets.get(root))
    copies = plan_memory(g, persistent=caches, strided_views=False)  # what TFLM runs
    verify_plan(g, copies)
    assert not any(g.operators[prod[t]].op == "TRANSPOSE" for t in copies.aliases)
    assert plan.arena_bytes < copies.arena_bytes


def test_a_transpose_read_by_another_op_stays_a_copy() -> None:
    perm = np.array([1, 0], np.int32)
    tensors = (Tensor(0, "x", (2, 8), "int8"), Tensor(1, "perm", (2,), "int32", data=perm.tobytes()),
               Tensor(2, "xt", (8, 2), "int8"), Tensor(3, "y", (8, 2), "int8"))
    ops = (Operator(0, "TRANSPOSE", (0, 1), (2,)), Operator(1, "RELU", (2,), (3,)))
    g = Graph("g", tensors, ops, (0,), (3,))
    plan = plan_memory(g)
    assert 2 not in plan.aliases
    with pytest.raises(PlanError, match="cannot take it as a strided view"):
        verify_plan(g, replace(plan, aliases=MappingProxyType({**plan.aliases, 2: 0})))


def test_verify_rejects_overlap_bad_order_and_bad_alias() -> None:
    g = make_graph([64, 128, 32, 48], [("FULLY_CONNECTED", (0,), (1,)), ("FULLY_CONNECTED", (1,), (2,)),
                                       ("FULLY_CONNECTED", (2,), (3,))], (0,), (3,))
    plan = plan_memory(g)
    clash = dict(plan.tensor_offsets)
    clash[0] = clash[1]  # the 64-byte input onto the 128-byte tensor it feeds
    with pytest.raises(PlanError, match=r"Unexpected overlap: tensor \d '.*' \[\d+, \d+\) live ops"):
        verify_plan(g, replace(plan, tensor_offsets=MappingProxyType(clash)))
    with pytest.raises(PlanError, match="before its input tensor"):
        verify_plan(g, replace(plan, order=(1, 0, 2)))
    with pytest.raises(PlanError, match="may not run in place"):
        verify_plan(g, replace(plan, aliases=MappingProxyType({1: 0})))
    with pytest.raises(PlanError, match="outside the arena"):
        verify_plan(g, replace(plan, arena_bytes=plan.arena_bytes - 16))


def test_plan_errors() -> None:
    g = _two_branches()
    with pytest.raises(PlanError, match="unknown strategy 'fast'"):
        plan_memory(g, strategy="fast")
    with pytest.raises(PlanError, match="alignment must be a power of two, found 12"):
        plan_memory(g, alignment=12)
    with pytest.raises(PlanError, match="persistent tensor 99 is outside range 0 to 5"):
        plan_memory(g, persistent=(99,))
