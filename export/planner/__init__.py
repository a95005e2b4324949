"""The memory planner: execution order, tensor lifetimes, aliasing and arena offsets.

``plan_memory(graph) -> MemoryPlan`` (:mod:`export.planner.memory`) and the independent check
``verify_plan(graph, plan)`` (:mod:`export.planner.verify`). ``plan_model``
(:mod:`export.planner.bands`) is what the generated C is planned with: PADs folded into their
convolutions first (:mod:`export.planner.fold_pad`), then band streaming or 2-D patches
(:mod:`export.planner.patches`) where they pay.
"""

from __future__ import annotations

from edge.errors import FoleyEdgeError


class PlanError(FoleyEdgeError, ValueError):
    """A graph cannot be planned, or a plan fails verification."""
