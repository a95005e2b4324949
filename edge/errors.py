"""The root of every exception foley-edge raises for bad input or a failed step.

Each package has its own tree under :class:`FoleyEdgeError` (``ClipError``, ``MidiError``,
``PlanError``, ``ExportError``, ``BridgeError``, ``ProtocolError`` ...). The command line turns
any of them into a one-line message and a non-zero exit; anything else is a bug and keeps its
traceback.
"""


class FoleyEdgeError(Exception):
    """Base class of the project's expected errors (bad input, failed checks, missing tools)."""
