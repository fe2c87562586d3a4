"""Every lecture in lectures/ follows the course's notebook pattern (lectures/README.md):
a title with its run time, a Colab set-up cell, ``import labkit as lk`` with ``lk.setup(seed=0)``,
a summary and references at the end, and no outputs committed. A new lecture is checked here
without any new test code; what it claims is asserted in its own ``test_lecture_<n>.py``."""
import re
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


def test_every_notebook_opens_with_the_same_collapsed_setup_cell():
    """The setup cell of lectures/README.md, the same in every lecture and assignment, its source
    hidden in JupyterLab and shown as a form on Colab, so that the title comes first."""
    root = Path(__file__).resolve().parents[2]
    readme = (root / "lectures" / "README.md").read_text()
    expected = readme.split("## The setup cell\n```python\n", 1)[1].split("```", 1)[0].rstrip("\n")
    notebooks = LECTURES + sorted((root / "course" / "source").glob("*/*.ipynb"))
    assert len(notebooks) >= 15
    for path in notebooks:
        cells = nbformat.read(path, as_version=4).cells
        setup = next(c for c in cells if c.cell_type == "code")
        assert setup.source == expected, f"{path.name}: the setup cell differs from lectures/README.md's"
        assert setup.source.startswith("# @title ") and cells.index(setup) == 1, path.name
        assert setup.metadata.get("jupyter", {}).get("source_hidden") is True, path.name
        assert setup.metadata.get("cellView") == "form", path.name


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_long_work_shows_its_progress(path):
    """No lecture turns the training bars off: a long cell shows what it is doing (the tests turn
    the bars off for the whole run with LABKIT_PROGRESS=0, nbgrader with NBGRADER_EXECUTION)."""
    for cell in nbformat.read(path, as_version=4).cells:
        assert "progress=False" not in cell.source, cell.source[:80]


# what a student reads is about the subject: how the course measures and tests itself lives in
# lectures/README.md, benchmarks/README.md and tests/
PLUMBING = re.compile(r"OMP_NUM_THREADS|pytest|tests/|notebook_runner|benchmarks/\w+\.py|load average|--threads"
                      r"|oversubscribed|LABKIT_SCALE=", re.IGNORECASE)
# a loop variable named train or test silently replaces the split of that name for every later cell
SHADOWING = re.compile(r"\bfor\s+[\w\s,()]*?\b(train|test)\b[\w\s,()]*?\bin\b")
MAX_CODE_LINES = 15


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_cells_are_short_and_headings_stand_alone(path):
    cells = nbformat.read(path, as_version=4).cells
    for i, cell in enumerate(cells):
        lines = cell.source.splitlines()
        if cell.cell_type == "code":
            assert len(lines) <= MAX_CODE_LINES, f"cell {i} has {len(lines)} lines (at most {MAX_CODE_LINES}): split it"
            match = SHADOWING.search(cell.source)
            assert not match, f"cell {i}: loop variable shadows a data split: {match.group(0)!r}"
        if cell.cell_type == "markdown":
            heads = [j for j, line in enumerate(lines) if line.startswith("#")]
            assert heads in ([], [0]), f"cell {i}: a heading opens its own markdown cell, one heading per cell"
            match = PLUMBING.search(cell.source)
            assert not match, f"cell {i} tells the student about the course's plumbing: {match.group(0)!r}"


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_has_one_configuration_block(path):
    sources = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    scaled = [i for i, s in enumerate(sources) if "lk.scaled(" in s]
    assert len(scaled) == 1, f"{len(scaled)} cells call lk.scaled: keep every size in one configuration cell"
