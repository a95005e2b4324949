"""Start-up of the command line: ``--help`` and the commands that need no model load no
TensorFlow (each run in a fresh interpreter, then its ``sys.modules`` read back)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MIDI = REPO / "tests" / "fixtures" / "corpus_midi" / "bach__bwv410.mxl.mid"

PROBE = """
import json, sys
from foley_edge.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:  # --help exits 0 through argparse
    code = e.code
print()
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def _loaded(*argv: str) -> tuple[int, set[str]]:
    """(exit code, top-level modules imported) of ``foley-edge ARGV`` in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    last = json.loads(done.stdout.strip().splitlines()[-1])
    return last["code"], set(last["modules"])


@pytest.mark.parametrize("argv", [("--help",), ("midi", "--help")])
def test_help_imports_no_tensorflow_numpy_or_matplotlib(argv: tuple[str, ...]) -> None:
    code, modules = _loaded(*argv)
    assert code == 0
    assert not modules & {"tensorflow", "keras", "tf_keras", "numpy", "matplotlib", "music21"}


def test_every_sub_command_help_imports_no_tensorflow() -> None:
    from foley_edge.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sorted(sub.choices):
        code, modules = _loaded(name, "--help")
        assert code == 0 and not modules & {"tensorflow", "keras"}, name


def test_midi_show_runs_without_tensorflow() -> None:
    code, modules = _loaded("midi", "show", str(MIDI), "--limit", "3")
    assert code == 0
    assert "tensorflow" not in modules and "keras" not in modules


def test_data_show_runs_without_tensorflow(tmp_path: Path) -> None:
    from edge.assets import DEMO_CLIP

    png = tmp_path / "clip.png"
    code, modules = _loaded("data", "show", str(DEMO_CLIP), "--out", str(png))
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG"
    assert "tensorflow" not in modules and "keras" not in modules
