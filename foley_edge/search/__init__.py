"""Hardware-aware student search: the best student that fits a board (TinyNAS / HAT style).

Stages, one module each: :mod:`~foley_edge.search.space` (the candidates and their shape
features), :mod:`~foley_edge.search.cost` (flash, SRAM, stack and instructions measured by the
real pipeline on the board's emulated twin, cached), :mod:`~foley_edge.search.predict` (a fit
to the measurements that ranks the rest), :mod:`~foley_edge.search.trials` (local or Ray),
:mod:`~foley_edge.search.train` (brief distillation and held-out onset F1),
:mod:`~foley_edge.search.run` (the search under the budget) and
:mod:`~foley_edge.search.report` (table, Pareto plot).
"""

from __future__ import annotations

from edge.errors import FoleyEdgeError


class SearchError(FoleyEdgeError, ValueError):
    """A search cannot run as asked (bad board, space, budget or engine)."""
