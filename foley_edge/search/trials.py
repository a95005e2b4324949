"""Where search trials run: one after another here (default), or fanned out by Ray.

A trial is a module-level function applied to one item (measure a candidate's cost, train a
candidate briefly). :class:`LocalEngine` runs them in this process, in order. :class:`RayEngine`
submits each as a Ray task (``ray.init(address=...)``: ``"auto"`` or ``ray://host:port`` joins
an existing cluster, ``None`` starts a local one) and collects the results in submission order;
the functions and their arguments are pickled to the workers, which need this package
installed. Trials share caches only through files (the cost cache), so workers on other machines
simply measure again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from foley_edge.search import SearchError

Progress = Callable[[str], None]
"""Called with a short label after each finished trial."""


class TrialEngine(Protocol):
    """Runs ``fn(*args)`` for every argument tuple; results in the same order."""

    name: str

    def map(self, fn: Callable[..., Any], items: Sequence[tuple[Any, ...]],
            labels: Sequence[str], progress: Progress) -> list[Any]: ...


@dataclass(frozen=True)
class LocalEngine:
    """Every trial in this process, one after another."""

    name: str = "local"  # engine name for reports

    def map(self, fn: Callable[..., Any], items: Sequence[tuple[Any, ...]],
            labels: Sequence[str], progress: Progress) -> list[Any]:
        """Run the trials in order."""
        out = []
        for args, label in zip(items, labels, strict=True):
            out.append(fn(*args))
            progress(label)
        return out


@dataclass(frozen=True)
class RayEngine:
    """Every trial a Ray task (``num_cpus`` each) on the cluster at ``address``."""

    address: str | None = None  # None: start a local Ray; "auto" / "ray://...": join one
    num_cpus: float = 1.0  # CPUs each trial reserves
    name: str = "ray"  # engine name for reports

    def map(self, fn: Callable[..., Any], items: Sequence[tuple[Any, ...]],
            labels: Sequence[str], progress: Progress) -> list[Any]:
        """Submit every trial, wait for all, return results in submission order."""
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     ignore_reinit_error=True)
        task = ray.remote(num_cpus=self.num_cpus)(fn)
        refs = [task.remote(*args) for args in items]
        label_of = dict(zip(refs, labels, strict=True))
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            progress(label_of[done[0]])
        return list(ray.get(refs))


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise SearchError("--engine ray needs the 'ray' package: pip install 'foley-edge[ray]' "
                          f"(import failed: {e})") from e
    return ray


def make_engine(name: str, address: str | None = None) -> TrialEngine:
    """The engine called ``name`` ("local" or "ray")."""
    if name == "local":
        if address is not None:
            raise SearchError("--ray-address applies to --engine ray only")
        return LocalEngine()
    if name == "ray":
        return RayEngine(address)
    raise SearchError(f"--engine must be 'local' or 'ray', found {name!r}")
