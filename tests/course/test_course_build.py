"""The course build: exercises/ and solutions/ are exactly what course/source makes, and every
source notebook follows the authoring rules (course/README.md)."""
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "course"))

from grader import build  # noqa: E402

ASSIGNMENTS = build.find_assignments()


def test_there_is_at_least_the_warmup():
    assert "00-warmup" in ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_sources_follow_the_authoring_rules(assignment):
    problems = [p for p in build.lint() if p.startswith(assignment + "/")]
    assert problems == []


def test_lint_catches_broken_tests(tmp_path):
    nb = nbformat.read(ROOT / "course/source/00-warmup/warmup.ipynb", as_version=4)
    tests = [c for c in nb.cells if build.nbgrader_meta(c).get("grade") and c.cell_type == "code"]
    tests[0].source = tests[0].source.split("### BEGIN HIDDEN TESTS")[0]  # no hidden block
    tests[1].source = tests[1].source.replace('checks.expect_close(accuracy_per_class(y, p, 5), what=',
                                              'checks.expect_close(accuracy_per_class(y, p, 5), [0.5] * 5, what=')
    tests[2].source = "assert accuracy_per_class([0], [0], 1)[0] == 1"
    nb.cells[1].source = "import labkit"  # no Colab setup cell
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    problems = "\n".join(build.lint_notebook(path))
    assert "Colab setup cell" in problems
    assert "'test_train_model' has no '### BEGIN HIDDEN TESTS'" in problems
    assert "'test_per_class': hidden expect_close must leave `expected` out" in problems
    assert "'test_per_class_edges' uses no labkit.checks helper" in problems


def test_solution_markers_are_dropped_and_hidden_tests_stay_out():
    for assignment in ASSIGNMENTS:
        for path in (ROOT / "solutions" / assignment).glob("*.ipynb"):
            text = path.read_text()
            assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
            assert "raise NotImplementedError()" not in text
        for path in (ROOT / "exercises" / assignment).glob("*.ipynb"):
            text = path.read_text()
            assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
            nb = nbformat.reads(text, as_version=4)
            first_code = next(c for c in nb.cells if c.cell_type == "code")
            assert "google.colab" in first_code.source, "the student version starts with the Colab setup cell"


@pytest.mark.slow
def test_committed_exercises_and_solutions_match_a_fresh_build(tmp_path):
    built = build.build_elsewhere(tmp_path)
    assert sorted(p.name for p in (built / "exercises").iterdir()) == ASSIGNMENTS
    assert build.differences(built) == [], "run `make course` and commit exercises/ and solutions/"


def test_drift_is_detected(tmp_path):
    """The comparison used above notices a changed, a missing and an extra file."""
    for folder in ("exercises", "solutions"):
        (tmp_path / folder).mkdir()
    repo = tmp_path / "repo"
    (repo / "exercises" / "a").mkdir(parents=True)
    (repo / "exercises" / "a" / "x.ipynb").write_text("old")
    (repo / "exercises" / "a" / "gone.ipynb").write_text("gone")
    (tmp_path / "exercises" / "a").mkdir()
    (tmp_path / "exercises" / "a" / "x.ipynb").write_text("new")
    (tmp_path / "exercises" / "a" / "added.ipynb").write_text("added")
    assert build.differences(tmp_path, repo) == ["exercises/a/added.ipynb", "exercises/a/gone.ipynb",
                                                 "exercises/a/x.ipynb"]


def test_render_lectures_handles_an_empty_folder(tmp_path):
    (tmp_path / "lectures").mkdir()
    assert build.render_lectures(tmp_path / "lectures", tmp_path / "rendered", log=lambda *a: None) == []
    assert build.render_lectures(tmp_path / "missing", tmp_path / "rendered", log=lambda *a: None) == []


def test_building_one_assignment_keeps_the_others_and_drops_orphans(tmp_path):
    import shutil
    course = tmp_path / "course"
    shutil.copytree(ROOT / "course" / "source" / "00-warmup", course / "source" / "00-warmup")
    shutil.copytree(ROOT / "course" / "source" / "00-warmup", course / "source" / "09-other")  # not rebuilt
    shutil.copy(ROOT / "course" / "nbgrader_config.py", course / "nbgrader_config.py")
    (course / "rubrics").mkdir()
    for name in ("00-warmup", "09-other"):
        shutil.copy(ROOT / "course" / "rubrics" / "00-warmup.md", course / "rubrics" / f"{name}.md")
    for folder in ("exercises", "solutions"):
        for name in ("09-other", "08-orphan"):  # built before; 08-orphan's source is gone
            (tmp_path / folder / name).mkdir(parents=True)
            (tmp_path / folder / name / "x.ipynb").write_text("{}")
    build.build(out=tmp_path, course=course, assignments=["00-warmup"],
                db_url=f"sqlite:///{course / 'gradebook.db'}", log=lambda *a: None)
    for folder in ("exercises", "solutions"):
        assert sorted(p.name for p in (tmp_path / folder).iterdir()) == ["00-warmup", "09-other"]
