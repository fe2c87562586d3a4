"""Rubrics of the written answers: every written answer has one whose points add up, the grader puts
it beside the answer in the autograded notebook (formgrader, feedback), and no released notebook
holds it."""
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "course"))

from grader import rubrics  # noqa: E402
from grader.build import find_assignments  # noqa: E402

RUBRICS = ROOT / "course" / "rubrics"
GOOD = """## answer (2 points)

| criterion | points |
|---|---|
| says A | 1 |
| says B | 1 |

Partial credit: half a point for A without a reason.
"""


def test_every_written_answer_has_a_rubric_that_adds_up():
    assert rubrics.lint(ROOT / "course" / "source", RUBRICS) == []
    total = 0.0
    for a in find_assignments():
        found = rubrics.load(a, RUBRICS)
        assert found, a
        total += sum(r.points for r in found.values())
    assert total == 22  # the written answers' points over the course


@pytest.mark.parametrize("text, why", [
    (GOOD.replace("| says B | 1 |", "| says B | 2 |"), "add up to 3"),
    (GOOD.replace("Partial credit: half a point for A without a reason.", ""), "partial credit"),
    ("## answer (2 points)\n\nno table\n\nPartial credit: none.", "no table"),
])
def test_a_malformed_rubric_is_refused(text, why):
    assert rubrics.parse(GOOD)["answer"].criteria == [("says A", 1.0), ("says B", 1.0)]
    with pytest.raises(ValueError, match=why):
        rubrics.parse(text)


def test_lint_finds_a_missing_rubric_and_wrong_points(tmp_path):
    (tmp_path / "source" / "01-x").mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("YOUR ANSWER HERE")])
    nb.cells[0].metadata["nbgrader"] = {"solution": True, "grade": True, "grade_id": "answer", "points": 3}
    nbformat.write(nb, tmp_path / "source" / "01-x" / "x.ipynb")
    (tmp_path / "rubrics").mkdir()
    assert "has no rubric" in rubrics.lint(tmp_path / "source", tmp_path / "rubrics")[0]
    (tmp_path / "rubrics" / "01-x.md").write_text(GOOD)
    assert "worth 2 points, the answer 3" in rubrics.lint(tmp_path / "source", tmp_path / "rubrics")[0]


def test_the_rubric_goes_right_after_its_answer_and_only_once():
    nb = nbformat.read(ROOT / "solutions" / "05-calibration" / "calibration.ipynb", as_version=4)
    step = rubrics.AddRubrics(rubric_directory=str(RUBRICS))
    resources = {"nbgrader": {"assignment": "05-calibration", "notebook": "calibration"}}
    for _ in range(2):  # graded again: still one rubric
        nb, _ = step.preprocess(nb, resources)
    answer = next(i for i, c in enumerate(nb.cells) if (c.metadata.get("nbgrader") or {}).get("grade_id")
                  == "written_answer")
    assert nb.cells[answer + 1].source.startswith("**Rubric of this answer** (3 points")
    assert "single T fitted" not in nb.cells[answer + 1].source  # the rubric, not the model answer
    assert sum(str(c.get("id", "")).startswith("rubric-") for c in nb.cells) == 1


def test_no_released_notebook_holds_a_rubric():
    lines = {ln.strip() for p in RUBRICS.glob("*.md") for ln in p.read_text().splitlines() if len(ln.strip()) > 30}
    for path in (ROOT / "exercises").rglob("*.ipynb"):
        text = nbformat.read(path, as_version=4)
        held = {ln.strip() for c in text.cells for ln in c.source.splitlines()} & lines
        assert not held, path
