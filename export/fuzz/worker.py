"""The process that runs fuzz cases: ``python -m export.fuzz.worker --seed S --limit-s L
--memory-bytes M TARGET...`` (started by :mod:`export.fuzz.harness`, not by hand).

Protocol, one line each way per case: stdin ``TARGET INDEX``, stdout the case's
:class:`~export.fuzz.case.CaseResult` as one JSON object. Before the first case the worker
runs every target's pipeline once on each unmutated seed (which must pass: a broken seed is
a broken run, not a finding), then caps its address space at its size then plus
``--memory-bytes``, so an allocation past that raises :class:`MemoryError` inside the case (a
``traceback`` outcome) instead of swapping the machine, and prints ``ready``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import warnings
from dataclasses import asdict
from pathlib import Path

from export.fuzz.case import run_case
from export.fuzz.targets import resolve_target

READY = "ready"
"""The line a worker prints when it takes cases."""


def _vm_bytes() -> int | None:
    """This process's virtual size (Linux ``/proc``), or None where it cannot be read."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return None


def _cap_memory(extra: int) -> None:
    vm = _vm_bytes()
    if vm is None or extra <= 0:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = vm + extra if hard == resource.RLIM_INFINITY else min(vm + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def main(argv: list[str] | None = None) -> int:
    """Serve cases until stdin closes."""
    p = argparse.ArgumentParser(prog="python -m export.fuzz.worker")
    p.add_argument("targets", nargs="+")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--limit-s", type=float, required=True)
    p.add_argument("--memory-bytes", type=int, required=True)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")  # numpy overflow warnings on absurd inputs are expected
    targets = {name: resolve_target(name) for name in args.targets}
    seeds = {name: t.seeds() for name, t in targets.items()}
    for name, target in targets.items():
        for data in seeds[name]:
            target.run(data, [])  # raises (and the harness reports it) when a seed is broken
    _cap_memory(args.memory_bytes)
    print(READY, flush=True)
    for line in sys.stdin:
        name, index = line.split()
        res = run_case(name, targets[name], seeds[name], args.seed, int(index),
                       limit_s=args.limit_s)
        print(json.dumps(asdict(res)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
