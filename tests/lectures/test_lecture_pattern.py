"""Every lecture in lectures/ follows the course's notebook pattern (lectures/README.md):
a title with its run time, a Colab set-up cell, ``import labkit as lk`` with ``lk.setup(seed=0)``,
a summary and references at the end, code a student reads at a glance, and no outputs committed.
A new lecture is checked here without any new test code; what it claims is asserted in its own
``test_lecture_<n>.py``."""
import io
import re
import tokenize
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
MAX_CODE_LINES, MAX_LINE_CHARS = 15, 100


def joined_statements(code: str) -> list:
    """The line numbers where ``;`` joins two statements (a ``;`` inside a string does not count)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):  # a cell tokenize cannot read is for the kernel to reject
        return []
    return [t.start[0] for t in tokens if t.type == tokenize.OP and t.string == ";"]


def code_problems(cell, i: int) -> list:
    """What keeps code cell ``i`` from being read at a glance: more than 15 lines (the collapsed
    setup cell excepted), lines over 100 characters, statements joined with ``;``."""
    lines, out = cell.source.splitlines(), []
    collapsed = cell.metadata.get("jupyter", {}).get("source_hidden") is True
    if len(lines) > MAX_CODE_LINES and not collapsed:
        out.append(f"cell {i} has {len(lines)} lines (at most {MAX_CODE_LINES}): split it")
    out += [f"cell {i} line {n}: {len(line)} characters (at most {MAX_LINE_CHARS}): wrap it"
            for n, line in enumerate(lines, 1) if len(line) > MAX_LINE_CHARS]
    out += [f"cell {i} line {n}: statements joined with ';': one per line" for n in joined_statements(cell.source)]
    return out


def test_the_glance_check_sees_each_problem():
    long = nbformat.v4.new_code_cell("\n".join(f"x{n} = {n}" for n in range(16)))
    wide = nbformat.v4.new_code_cell("x = '" + "a" * 100 + "'")
    joined = nbformat.v4.new_code_cell("import os; print(os.sep)\ns = 'a; b'")
    assert [len(code_problems(c, 0)) for c in (long, wide, joined)] == [1, 1, 1]
    assert "line 1" in code_problems(joined, 0)[0]
    long.metadata["jupyter"] = {"source_hidden": True}
    assert code_problems(long, 0) == [] and code_problems(nbformat.v4.new_code_cell("s = 'a; b'"), 0) == []


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_cells_are_short_and_headings_stand_alone(path):
    cells = nbformat.read(path, as_version=4).cells
    problems = [p for i, cell in enumerate(cells) if cell.cell_type == "code" for p in code_problems(cell, i)]
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
    for i, cell in enumerate(cells):
        lines = cell.source.splitlines()
        if cell.cell_type == "code":
            match = SHADOWING.search(cell.source)
            assert not match, f"cell {i}: loop variable shadows a data split: {match.group(0)!r}"
        if cell.cell_type == "markdown":
            heads = [j for j, line in enumerate(lines) if line.startswith("#")]
            assert heads in ([], [0]), f"cell {i}: a heading opens its own markdown cell, one heading per cell"
            match = PLUMBING.search(cell.source)
            assert not match, f"cell {i} tells the student about the course's plumbing: {match.group(0)!r}"


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_has_one_configuration_block(path):
    """Every size sits in one block: the cells that call ``lk.scaled`` follow each other, with no
    markdown between them (a long configuration may take two or three cells)."""
    cells = nbformat.read(path, as_version=4).cells
    scaled = [i for i, c in enumerate(cells) if c.cell_type == "code" and "lk.scaled(" in c.source]
    assert scaled, "no cell calls lk.scaled: put every size in one configuration block"
    between = [c for c in cells[scaled[0]:scaled[-1] + 1] if c.cell_type != "code"]
    assert not between, f"cells {scaled} call lk.scaled with markdown between: keep every size in one block"
