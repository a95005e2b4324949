"""The README's performance block is the bench's own tables, verbatim."""

from pathlib import Path

import pytest

from benchmarks import readme
from edge.errors import FoleyEdgeError

ROOT = Path(__file__).resolve().parents[2]


def test_readme_block_matches_committed_results() -> None:
    results = (ROOT / "benchmarks" / "results" / "results.md").read_text()
    text = (ROOT / "README.md").read_text()
    block = text[text.index(readme.BEGIN) : text.index(readme.END) + len(readme.END)]
    assert block == readme.render(results, "benchmarks/results/results.md"), (
        "README performance section is stale: run `python -m benchmarks.readme`"
    )


def test_missing_section_is_named(tmp_path: Path) -> None:
    with pytest.raises(FoleyEdgeError, match="On the board: ours vs TFLite Micro"):
        readme.render("## Flash\n\nx\n", "r.md")
