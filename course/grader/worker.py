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

import contextlib
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

from .gradebook import extract


def _folders(cd, assignment: str, student: str) -> tuple:
    source = Path(cd.format_path(cd.source_directory, ".", assignment))
    submitted = Path(cd.format_path(cd.submitted_directory, student, assignment))
    return source, submitted


@contextlib.contextmanager
def _swapped(obj, **values):
    """Set attributes for the block and restore them however it ends (nbgrader's temp_attrs does
    not restore them after an exception, and the next submission would run in this one's folder)."""
    saved = {k: getattr(obj, k) for k in values}
    try:
        for k, v in values.items():
            setattr(obj, k, v)
        yield obj
    finally:
        for k, v in saved.items():
            setattr(obj, k, v)


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
        with _swapped(cd, root=str(root), db_url=f"sqlite:///{db}", assignment_id=assignment,
                        student_id=student, source_directory="source", submitted_directory="submitted",
                        autograded_directory="autograded", directory_structure="{nbgrader_step}/{student_id}/{assignment_id}",
                        notebook_id="*"):
            converter = Autograde(coursedir=cd, parent=app)  # create_student etc. from the configuration
            converter.force = True
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


def _why(log: Path, err: Exception, private: Path, course: Path) -> str:
    """The exception behind the first failure nbgrader logged for the submission (the last line of
    its traceback), else ``err``; paths in the private course folder are given as the course's."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    found = None
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            block = [x for x in lines[i + 1:] if x.strip()]
            end = next((k for k, x in enumerate(block) if x.startswith("[")), len(block))
            found = block[end - 1].strip() if end else None
            break
    why = found or f"{type(err).__name__}: {err}"
    return why.replace(str(private), str(course))[:500]


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
            out = Path(results) / student
            reply = {"student": student, "ok": False,
                     "error": _why(out / "log.txt", err, out / "course", Path(app.coursedir.root))}
        reply["seconds"] = time.perf_counter() - start
        protocol.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
