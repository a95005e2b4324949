"""The memory planner: execution order, tensor lifetimes, aliasing and arena offsets.

``plan_memory(graph) -> MemoryPlan`` (:mod:`export.planner.memory`) and the independent check
``verify_plan(graph, plan)`` (:mod:`export.planner.verify`).
"""

from __future__ import annotations

from edge.errors import FoleyEdgeError


class PlanError(FoleyEdgeError, ValueError):
    """A graph cannot be planned, or a plan fails verification."""
