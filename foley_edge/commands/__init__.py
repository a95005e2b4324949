"""The sub-commands of ``foley-edge``, one module per area.

Each module exposes ``register(subparsers)``, which adds its sub-commands and sets
``func(args) -> int`` on each. Registering imports only light modules (argparse, pathlib, the
board registry); every handler imports what it needs (TensorFlow, numpy, music21, matplotlib)
when it runs, so ``foley-edge --help`` and the commands that need no model start fast
(``tests/foley_edge/test_cli_imports.py`` holds them to that).
"""
