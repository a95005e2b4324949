"""What a plan's peak is made of: the step with the most bytes live and the tensors live then."""

from __future__ import annotations

from export.ir import Graph
from export.planner.plan import MemoryPlan


def peak_note(graph: Graph, plan: MemoryPlan, *, top: int = 4) -> str | None:
    """One line for the plan's notes: the first schedule step with the most arena bytes live
    (tensors owning storage, and scratch), its operator, and its ``top`` largest live buffers;
    None for a plan without buffers. An output may overlap its dying input, so the arena can
    be below that step's sum. O(#buffers x #steps)."""
    live = [(key, b) for key, b in plan.buffers.items()
            if key in plan.tensor_offsets and key not in plan.aliases]
    live += [(("scratch", k), b) for k, b in plan.scratch.items()]
    if not live or not plan.order:
        return None
    steps = len(plan.order)
    total = [0] * steps
    for _, b in live:
        for s in range(max(b.first_op, 0), min(b.last_op, steps - 1) + 1):
            total[s] += b.size
    step = total.index(max(total))
    op = graph.operators[plan.order[step]]
    at = sorted(((b.size, key) for key, b in live if b.first_op <= step <= b.last_op),
                key=lambda x: -x[0])
    parts = []
    for size, key in at[:top]:
        if isinstance(key, tuple):
            parts.append(f"scratch of operator {key[1]} ({size} B)")
        else:
            t = graph.tensors[key]
            parts.append(f"{t.index} '{t.name}' {list(t.shape)} {t.dtype} ({size} B)")
    more = f" and {len(at) - top} more" if len(at) > top else ""
    return (f"peak: most bytes live at step {step} (operator {op.index} {op.op}): "
            f"{total[step]} B (arena {plan.arena_bytes} B): {', '.join(parts)}{more}")
