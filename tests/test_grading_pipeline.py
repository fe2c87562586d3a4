"""The grading pipeline, end to end with real nbgrader commands, for every assignment in course/source.

For each assignment a scratch copy of the course is made, a class of submissions is built from the
assignment's own structure (course/grader/submissions.py) and graded with one ``nbgrader autograde``
run, in the sandbox. Every submission must get exactly the points it earned: the solution full
marks, the blank exercise zero, partial answers their parts, cheating and misbehaving notebooks
nothing they did not earn, and nobody's grade may be lost because another notebook misbehaved.

The cases marked ``every`` run on every assignment; the others exercise the machinery, which does
not depend on the assignment, and run on the first assignment only, or on all of them with
``LABKIT_GRADING_TESTS=full``. Assignments are graded two at a time (one per core).
"""
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "course"))

from grader import submissions as subs  # noqa: E402
from grader.build import find_assignments  # noqa: E402
from grader.scratch import ScratchCourse  # noqa: E402

ASSIGNMENTS = find_assignments()
FULL = os.environ.get("LABKIT_GRADING_TESTS", "").lower() == "full"
# shorter than the course's 60 s, which matters only for the loops that must be interrupted; every
# cell of an assignment runs well within it at the smoke scale
CELL_TIMEOUT = 30
RERUN_PREFIX = "r-"  # students graded a second time
RERUN = ("solution", "removes_tests")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ASSIGNMENTS, reason="no assignments in course/source")]
_generate_lock = threading.Lock()


@dataclass
class Graded:
    assignment: str
    course: ScratchCourse
    notebooks: list
    expected: dict  # student -> points
    notes: dict
    code: int
    log: str
    grades: dict
    cells: dict
    seconds: dict  # student -> seconds spent grading it
    rerun: dict = field(default_factory=dict)


def _student(case, first):
    return (RERUN_PREFIX if first and case.name in RERUN else "") + case.name


def _grade(assignment, first, base: Path, cache: Path) -> Graded:
    with _generate_lock:
        course = ScratchCourse(base / assignment, [assignment], cache_dir=cache)
    nbks = subs.notebooks(assignment, exercises=course.root / "release", source=course.root / "source")
    expected, notes = {}, {}
    for nbk in nbks:
        for case in subs.catalogue(nbk, course.root):
            if not (case.every or first or FULL):
                continue
            student = _student(case, first)
            subs.write_submission(course.root, assignment, student, nbk.name, case.content)
            expected[student] = expected.get(student, 0.0) + case.points
            notes[student] = case.note
        if first:  # graded once as correct, then changed: nothing of the first grade may remain
            subs.write_submission(course.root, assignment, RERUN_PREFIX + "stale", nbk.name, nbk.solution())
    if first:
        expected[RERUN_PREFIX + "stale"] = sum(n.autograded_points for n in nbks)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run([sys.executable, "-m", "grader", "reference", assignment, f"--cache-dir={cache}"],
                   cwd=course.root, env=env, check=True, capture_output=True)
    start = time.time()
    code, _, log = course.autograde(assignment, f"--GuardedExecute.timeout={CELL_TIMEOUT}")
    finished = sorted((p.stat().st_mtime, p.parts[-3]) for p in (course.root / "autograded").glob(f"*/{assignment}/*.ipynb"))
    seconds, last = {}, start
    for mtime, student in finished:
        seconds[student] = seconds.get(student, 0) + mtime - last
        last = mtime
    graded = Graded(assignment, course, nbks, expected, notes, code, log, course.grades(assignment),
                    course.cell_scores(assignment), seconds)
    if first:
        for nbk in nbks:
            content = next(c.content for c in subs.catalogue(nbk, course.root) if c.name == "removes_tests")
            subs.write_submission(course.root, assignment, RERUN_PREFIX + "stale", nbk.name, content)
        code2, _, log2 = course.autograde(assignment, f"--GuardedExecute.timeout={CELL_TIMEOUT}",
                                          f"--student={RERUN_PREFIX}*", log_name="rerun")
        graded.rerun = {"code": code2, "log": log2, "grades": course.grades(assignment),
                        "cells": course.cell_scores(assignment)}
    return graded


@pytest.fixture(scope="session")
def graded(request, tmp_path_factory):
    """assignment -> Future of its Graded run. The assignments whose tests were selected start at
    once, two at a time (the first assignment too when a test about the machinery was selected)."""
    wanted = set()
    for item in request.session.items:
        if item.module.__name__ != __name__:
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        wanted.add(params.get("assignment", ASSIGNMENTS[0]))
    base = tmp_path_factory.mktemp("grading")
    cache = tmp_path_factory.mktemp("grading-cache")
    pool = ThreadPoolExecutor(max_workers=2)
    futures = {a: pool.submit(_grade, a, i == 0, base, cache) for i, a in enumerate(ASSIGNMENTS) if a in wanted}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def _result(graded, assignment) -> Graded:
    return graded[assignment].result(timeout=3000)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_submission_gets_exactly_what_it_earned(graded, assignment):
    g = _result(graded, assignment)
    assert g.code == 0, "nbgrader stopped on a submission:\n" + g.log[-5000:]
    wrong = {s: (g.grades.get(s), pts, g.notes.get(s)) for s, pts in g.expected.items() if g.grades.get(s) != pts}
    assert not wrong, f"(got, expected, case) per student: {wrong}"
    assert set(g.grades) == set(g.expected), "every submission appears in the exported grades"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_scores_are_per_test_cell_and_all_or_nothing(graded, assignment):
    g = _result(graded, assignment)
    prefix = RERUN_PREFIX if assignment == ASSIGNMENTS[0] else ""
    solution, blank = g.cells[prefix + "solution"], g.cells["blank"]
    tests = {t: p.points for nbk in g.notebooks for p in nbk.parts for t in p.tests}
    for cell_id in tests:
        assert solution[cell_id][0] == solution[cell_id][1] > 0
        assert blank[cell_id][0] == 0
    for student, cells in g.cells.items():
        for cell_id, (score, max_score) in cells.items():
            if cell_id in tests:
                assert score in (0, max_score), f"{student}/{cell_id} got partial credit {score}"
            assert max_score == g.cells["blank"][cell_id][1], f"{student} changed the points of {cell_id}"
        assert "bonus_points" not in cells


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_one_submission_autogrades_within_a_minute(graded, assignment):
    g = _result(graded, assignment)
    slow_on_purpose = {"chaos_solution", "swallows_interrupt"}  # they wait for the cell timeout
    times = {s: t for s, t in g.seconds.items() if s.removeprefix(RERUN_PREFIX) not in slow_on_purpose}
    assert times and max(times.values()) <= 60, times
    print(f"{assignment}: seconds per submission {sorted((round(t, 1), s) for s, t in times.items())}")


def _outputs(g, student, notebook):
    nb = nbformat.read(g.course.autograded(student, g.assignment, notebook), as_version=4)
    return "\n".join(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def _first(graded):
    if not ASSIGNMENTS:
        pytest.skip("no assignments")
    return _result(graded, ASSIGNMENTS[0])


def test_snooping_submission_finds_nothing_of_the_instructor(graded):
    g = _first(graded)
    for nbk in g.notebooks:
        text = _outputs(g, "snoops", nbk.name)
        assert "snooping done: 0 found" in text, text[-3000:]
        assert "FOUND" not in text


def test_misbehaving_processes_do_not_outlive_grading(graded):
    _first(graded)
    mark = subs.OUTLIVE_MARK.encode()
    survivors = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if mark in (proc / "cmdline").read_bytes():
                    survivors.append(proc.name)
            except OSError:
                pass
    assert survivors == []


def test_floods_are_cut_and_unreadable_files_are_kept(graded):
    g = _first(graded)
    for nbk in g.notebooks:
        path = g.course.autograded("chaos_solution", g.assignment, nbk.name)
        assert path.stat().st_size < 3_000_000
        assert "the grader cut this cell's output" in _outputs(g, "chaos_solution", nbk.name)
        kept = g.course.root / "submitted" / "invalid_json" / g.assignment / f"{nbk.name}.unreadable"
        assert kept.read_bytes().startswith(b'{"cells": [ this is not json')


def test_grading_twice_gives_the_same_grades_and_nothing_stale(graded):
    g = _first(graded)
    assert g.rerun["code"] == 0, g.rerun["log"][-4000:]
    for student in g.expected:
        if student == RERUN_PREFIX + "stale":
            assert g.grades[student] == sum(n.autograded_points for n in g.notebooks)
            assert g.rerun["grades"][student] == 0.0, "the first grade must not survive the second submission"
            assert all(score == 0 for score, _ in g.rerun["cells"][student].values() if score is not None)
        else:
            assert g.rerun["grades"][student] == g.grades[student], student
            assert g.rerun["cells"][student] == g.cells[student], student


def test_instructor_workflow_with_nbgrader_commands(graded):
    """The README's commands: import students, collect a loose notebook and an LMS zip with
    zip_collect, autograde, generate feedback, export grades."""
    import csv
    import zipfile

    g = _first(graded)
    course, a = g.course, g.assignment
    (course.root / "students.csv").write_text("id,first_name,last_name,email\n"
                                              "zed,Zed,Shaw,zed@example.org\nyan,Yan,LeCun,yan@example.org\n")
    code, _, text = course.nbgrader("db", "student", "import", "students.csv")
    assert code == 0, text[-2000:]
    archive = course.root / "downloaded" / a / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "lms-export.zip", "w") as zf:
        for nbk in g.notebooks:
            (archive / f"zed_{nbk.name}").write_text(nbformat.writes(nbk.solution()))  # handed in by e-mail
            zf.writestr(f"yan/{nbk.name}", nbformat.writes(subs.with_parts(nbk, {0})))  # from the LMS
    code, _, text = course.nbgrader("zip_collect", a)
    assert code == 0, text[-2000:]
    for student in ("zed", "yan"):
        for nbk in g.notebooks:
            assert (course.root / "submitted" / student / a / nbk.name).is_file(), text[-3000:]
    code, _, text = course.autograde(a, f"--GuardedExecute.timeout={CELL_TIMEOUT}", "--student=[yz]*",
                                     log_name="workflow")
    assert code == 0, text[-3000:]
    code, _, text = course.nbgrader("generate_feedback", a, "--student=[yz]*")
    assert code == 0, text[-3000:]
    for nbk in g.notebooks:
        html = (course.root / "feedback" / "yan" / a / nbk.name.replace(".ipynb", ".html")).read_text()
        assert "CheckNotPassed" in html  # the parts yan left blank say why they earned nothing
    out = course.root / "grades.csv"
    code, _, text = course.nbgrader("export", f"--to={out}")
    assert code == 0, text[-2000:]
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    full = sum(n.autograded_points for n in g.notebooks)
    assert float(rows["zed"]["raw_score"]) == full
    assert float(rows["yan"]["raw_score"]) == sum(n.parts[0].points for n in g.notebooks)
    assert rows["yan"]["first_name"] == "Yan" and rows["zed"]["email"] == "zed@example.org"
    assert float(rows["zed"]["max_score"]) > full  # the written answers wait for a person
