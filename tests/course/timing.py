"""``python -m grader time ASSIGNMENT --students N``: how long autograding a class takes here.

Builds a scratch course, computes the reference records once, then times ``nbgrader autograde``
for one submission and for N submissions (a mix of correct, blank and half-correct notebooks, as
in a real class).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import submissions as subs
from scratch import ScratchCourse


def report(assignment: str, students: int = 30, log=print) -> dict:
    with tempfile.TemporaryDirectory(prefix="grading-time-") as tmp:
        course = ScratchCourse(Path(tmp) / "course", [assignment])
        nbks = subs.notebooks(assignment, exercises=course.root / "release", source=course.root / "source")
        for nbk in nbks:
            subs.write_submission(course.root, assignment, "warmup-student", nbk.name, nbk.solution())
        code, first, _ = course.autograde(assignment, log_name="first")
        code, one, text = course.autograde(assignment, log_name="one")
        if code != 0:
            raise RuntimeError(text[-3000:])
        kinds = []
        for i in range(students):
            kind = ("solution", "blank", "half")[i % 3]
            kinds.append(kind)
            for nbk in nbks:
                content = {"solution": nbk.solution(), "blank": nbk.student(),
                           "half": subs.with_parts(nbk, {0})}[kind]
                subs.write_submission(course.root, assignment, f"student{i:03d}", nbk.name, content)
        code, many, text = course.autograde(assignment, log_name="class")
        if code != 0:
            raise RuntimeError(text[-3000:])
        grades = course.grades(assignment)
    load = os.getloadavg()[0]
    result = {"assignment": assignment, "first_run_s": first, "one_submission_s": one,
              "students": students, "class_s": many, "per_submission_s": many / (students + 1),
              "graded": len(grades), "load": load}
    log(f"{assignment}: first run (reference solution + 1 submission) {first:.1f} s; "
        f"1 submission {one:.1f} s; {students + 1} submissions {many:.1f} s wall "
        f"({many / (students + 1):.1f} s each); "
        f"{len(grades)} graded; load average at the end {load:.1f}")
    return result
