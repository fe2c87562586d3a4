"""Every lecture in lectures/ follows the course's notebook pattern (lectures/README.md):
a title with its run time, a Colab set-up cell, ``import labkit as lk`` with ``lk.setup(seed=0)``,
a summary and references at the end, and no outputs committed. A new lecture is checked here
without any new test code; what it claims is asserted in its own ``test_lecture_<n>.py``."""
from pathlib import Path

import nbformat
import pytest

LECTURES = sorted((Path(__file__).resolve().parents[2] / "lectures").glob("L*.ipynb"))


def test_lectures_exist():
    assert LECTURES, "no lectures found in lectures/"


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_follows_the_lecture_pattern(path):
    sources = [c.source for c in nbformat.read(path, as_version=4).cells]
    number = path.stem.split("_")[0]  # "L2"
    assert sources[0].startswith(f"# {number}") and "Run time" in sources[0] and "class" in sources[0]
    assert "google.colab" in sources[1]
    assert "import labkit as lk" in sources[2] and "lk.setup(seed=0)" in sources[2]
    assert "## Summary" in sources[-3]
    assert sources[-1].startswith("## References") and "arXiv" in sources[-1]
    key = path.stem.split("_", 1)[1]
    assert (Path(__file__).parent / f"test_lecture_{key}.py").exists(), \
        f"{path.name} needs tests/lectures/test_lecture_{key}.py asserting its claims"
