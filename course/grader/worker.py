"""One grading process of ``python -m grader autograde``: ``python -m grader.worker ASSIGNMENT
TEMPLATE RESULTS [--Class.trait=value ...]``, started from the course folder by grader/autograde.py.

It loads nbgrader and the course's configuration once, then reads student ids from standard input,
one per line, and for each grades that student's submission exactly as ``nbgrader autograde``
would (the same converter, preprocessors and sandbox), with two differences: the gradebook is a
private copy of TEMPLATE and the output goes to ``RESULTS/<student>/``:

- ``autograded/``: the autograded folder of the submission,
- ``log.txt``: nbgrader's log for it,
- ``result.json``: what it wrote to the gradebook (grader/gradebook.py), written last.

After each submission it prints one JSON line on standard output: ``{"student", "ok", "seconds",
"error"}``.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

from nbgrader.apps.autogradeapp import AutogradeApp
from nbgrader.converters import Autograde
from nbgrader.utils import temp_attrs

from .gradebook import extract


def _folders(cd, assignment: str, student: str) -> tuple:
    source = Path(cd.format_path(cd.source_directory, ".", assignment))
    submitted = Path(cd.format_path(cd.submitted_directory, student, assignment))
    return source, submitted


def grade(app: AutogradeApp, assignment: str, student: str, template: Path, results: Path) -> dict:
    """Autograde ``student``'s submission into ``results/<student>/``; returns the result."""
    cd = app.coursedir
    source, submitted = _folders(cd, assignment, student)
    out = results / student
    shutil.rmtree(out, ignore_errors=True)
    root = out / "course"  # a course folder of its own: the sources and this one submission
    (root / "source").mkdir(parents=True)
    (root / "source" / assignment).symlink_to(source.resolve(), target_is_directory=True)
    (root / "submitted" / student).mkdir(parents=True)
    (root / "submitted" / student / assignment).symlink_to(submitted.resolve(), target_is_directory=True)
    db = root / "gradebook.db"
    shutil.copy(template, db)
    handler = logging.FileHandler(out / "log.txt")
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    app.log.addHandler(handler)
    app.log.info("Grading %s in process %d", student, os.getpid())
    try:
        with temp_attrs(cd, root=str(root), db_url=f"sqlite:///{db}", assignment_id=assignment,
                        student_id=student, source_directory="source", submitted_directory="submitted",
                        autograded_directory="autograded", directory_structure="{nbgrader_step}/{student_id}/{assignment_id}",
                        notebook_id="*"):
            converter = Autograde(coursedir=cd, parent=app)
            converter.force = True
            converter.create_student = True
            converter.start()
    finally:
        app.log.removeHandler(handler)
        handler.close()
    graded = root / "autograded" / student / assignment
    result = extract(db, cd.course_id, assignment, student, graded)
    graded.rename(out / "autograded")
    shutil.rmtree(root)
    tmp = out / "result.json.tmp"
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(out / "result.json")
    return result


def _why(log: Path, err: Exception) -> str:
    """The first error nbgrader logged for the submission, else the exception."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    first = next((line[len("[ERROR] "):] for line in lines if line.startswith("[ERROR] ")), None)
    return (first or f"{type(err).__name__}: {err}")[:500]


def main(argv: list) -> int:
    assignment, template, results, *overrides = argv
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else printed goes to the log, not into the replies
    app = AutogradeApp()
    app.initialize([assignment, "--NbGrader.logfile=", *overrides])
    for line in sys.stdin:
        student = line.strip()
        if not student:
            continue
        start = time.perf_counter()
        try:
            grade(app, assignment, student, Path(template), Path(results))
            reply = {"student": student, "ok": True, "error": None}
        except Exception as err:
            app.log.error("Grading %s failed:\n%s", student, traceback.format_exc())
            reply = {"student": student, "ok": False, "error": _why(Path(results) / student / "log.txt", err)}
        reply["seconds"] = time.perf_counter() - start
        protocol.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
