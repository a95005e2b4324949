"""The foley-edge command line: the top layer, above ``edge``, ``export``, ``firmware_bridge``
and ``benchmarks``.

:mod:`foley_edge.cli` is the ``foley-edge`` entry point; :mod:`foley_edge.commands` holds one
module per area of sub-commands; :mod:`foley_edge.ship` is the recipe of the shipped
checkpoints (a sequence of ``foley-edge`` commands). Nothing below imports this package.
"""
