"""Gradebooks for grading in parallel (grader/autograde.py).

Every submission is graded against a private copy of the course's gradebook, so that no two
processes ever write the same SQLite file. What nbgrader wrote for the submission is then read
out of the copy into a small ``result.json`` (:func:`extract`), and the results are written into
the course's gradebook one at a time, each in one transaction (:func:`merge`). Nothing is lost when
a grading process dies: its submission has no result and the gradebook keeps its earlier grades.
"""
from __future__ import annotations

import datetime
import json
import sqlite3
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

RESULT_VERSION = 1


class MergeError(ValueError):
    pass


def sqlite_path(db_url: str) -> Path:
    """The file of a ``sqlite:///`` gradebook URL; ValueError for any other database."""
    if not db_url.startswith("sqlite:///"):
        raise ValueError(f"grading in parallel needs a SQLite gradebook, and CourseDirectory.db_url is "
                         f"{db_url!r}; grade one submission at a time with `nbgrader autograde` instead")
    return Path(db_url[len("sqlite:///"):].split("?", 1)[0])


def writer_url(db_url: str, timeout: float = 60) -> str:
    """The URL to write with: waits up to ``timeout`` s for another writer (a formgrader) to finish."""
    return db_url if "?" in db_url else f"{db_url}?timeout={timeout:g}"


def snapshot(db_url: str, dest: Path) -> Path:
    """Copy the gradebook to ``dest`` (SQLite's backup: consistent even while it is being written)."""
    path = sqlite_path(db_url)
    if not path.exists():
        raise FileNotFoundError(f"there is no gradebook at {path}: run `nbgrader generate_assignment` "
                                "for the assignment first (course/README.md)")
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return dest


def layout(gb: Gradebook, assignment: str) -> dict:
    """notebook -> sorted grade and comment cell names: what a result must match to be merged."""
    a = gb.find_assignment(assignment)
    return {nb.name: {"grades": sorted(c.name for c in nb.grade_cells + nb.task_cells),
                      "comments": sorted(c.name for c in nb.solution_cells + nb.task_cells)}
            for nb in a.notebooks}


def extract(db_path: Path, course_id: str, assignment: str, student: str, graded: Path) -> dict:
    """What autograding wrote to the gradebook copy ``db_path`` for one submission.

    ``graded`` is the submission's autograded folder: a notebook with no file there was not handed
    in (nbgrader scores it zero without running anything).
    """
    with Gradebook(f"sqlite:///{db_path}", course_id) as gb:
        sub = gb.find_submission(assignment, student)
        notebooks = {}
        for nb in sub.notebooks:
            notebooks[nb.name] = {
                "submitted": (Path(graded) / f"{nb.name}.ipynb").exists(),
                "late_penalty": nb.late_submission_penalty,
                "grades": {g.name: [g.auto_score, g.needs_manual_grade] for g in nb.grades},
                "comments": {c.name: c.auto_comment for c in nb.comments},
            }
        return {"version": RESULT_VERSION, "assignment": assignment, "student": student,
                "timestamp": sub.timestamp.isoformat() if sub.timestamp else None, "notebooks": notebooks}


def _check(result: dict, expected: dict) -> None:
    got = {name: {"grades": sorted(nb["grades"]), "comments": sorted(nb["comments"])}
           for name, nb in result["notebooks"].items()}
    if result.get("version") != RESULT_VERSION or got != expected:
        raise MergeError(f"the result for {result.get('student')!r} was graded against another version of "
                         f"{result.get('assignment')!r} (its notebooks or graded cells differ from the "
                         "gradebook's); grade that submission again")


def merge(gb: Gradebook, result: dict) -> None:
    """Write one submission's result into the course gradebook ``gb``, in one transaction.

    Sets exactly what ``nbgrader autograde`` sets (submission time, late penalties, automatic
    scores and comments, which grades need a person); manual scores and comments are kept, and a
    grade with a manual score is marked for review again, as nbgrader does.
    """
    assignment, student = result["assignment"], result["student"]
    _check(result, layout(gb, assignment))
    real_commit = gb.db.commit
    gb.db.commit = gb.db.flush  # nbgrader's add_student / add_submission commit on their own: not here
    try:
        try:
            gb.find_student(student)
        except MissingEntry:
            gb.add_student(student)
        with gb.db.no_autoflush:  # the student is already in the session: flushing half a row only warns
            sub = gb.update_or_create_submission(assignment, student)
        stamp = result["timestamp"]
        sub.timestamp = datetime.datetime.fromisoformat(stamp) if stamp else None
        for nb in sub.notebooks:
            saved = result["notebooks"][nb.name]
            nb.late_submission_penalty = saved["late_penalty"]
            for grade in nb.grades:
                auto, needs = saved["grades"][grade.name]
                grade.auto_score = auto
                grade.needs_manual_grade = bool(needs or (saved["submitted"] and grade.manual_score is not None))
            for comment in nb.comments:
                comment.auto_comment = saved["comments"][comment.name]
        del gb.db.commit
        real_commit()
    except BaseException:
        vars(gb.db).pop("commit", None)
        gb.db.rollback()
        raise


def read_result(path: Path) -> dict:
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or "student" not in data or "notebooks" not in data:
        raise MergeError(f"{path} is not a grading result")
    return data
