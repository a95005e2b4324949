"""The default-model cache is exported under one lock, so concurrent users wait, not collide."""

import subprocess
import sys
from pathlib import Path

from firmware_bridge.boards.default_model import cache_lock

PROBE = """
import fcntl, sys
with open(sys.argv[1], "a+b") as f:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(3)
"""


def _probe(cache: Path) -> int:
    return subprocess.run([sys.executable, "-c", PROBE, str(cache / ".lock")],
                          check=False).returncode


def test_another_process_cannot_take_the_cache_lock_while_it_is_held(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with cache_lock(cache):
        assert _probe(cache) == 3  # held here: another process would wait
    assert _probe(cache) == 0  # released on exit
    try:
        with cache_lock(cache):
            raise RuntimeError("export failed")
    except RuntimeError:
        pass
    assert _probe(cache) == 0  # released when the export inside raises
