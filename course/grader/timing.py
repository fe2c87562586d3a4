"""``python -m grader time ASSIGNMENT --students N --jobs J``: how long autograding a class takes here,
one submission at a time and J at a time, in the same run.

Builds a scratch course with a class of N submissions (a mix of correct, blank and half-correct
notebooks, as in a real class), computes the reference solution's records once, then grades the
class with ``python -m grader autograde --jobs 1`` and again with ``--jobs J`` (``--force``), checks
that both gave the same gradebook, and reports the wall times and the speed-up.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import submissions as subs
from scratch import ScratchCourse


def report(assignment: str, students: int = 30, jobs=(2,), log=print) -> dict:
    with tempfile.TemporaryDirectory(prefix="grading-time-") as tmp:
        course = ScratchCourse(Path(tmp) / "course", [assignment])
        nbks = subs.notebooks(assignment, exercises=course.root / "release", source=course.root / "source")
        for i in range(students):
            kind = ("solution", "blank", "half")[i % 3]
            for nbk in nbks:
                content = {"solution": nbk.solution(), "blank": nbk.student(),
                           "half": subs.with_parts(nbk, {0})}[kind]
                subs.write_submission(course.root, assignment, f"student{i:03d}", nbk.name, content)
        code, reference, text = course.grader("reference", assignment)
        if code != 0:
            raise RuntimeError(text[-3000:])
        seconds, rows = {}, {}
        for j in [1, *[j for j in jobs if j != 1]]:
            code, seconds[j], text = course.grader("autograde", assignment, "--force", f"--jobs={j}")
            if code != 0:
                raise RuntimeError(text[-3000:])
            rows[j] = course.gradebook_rows(assignment)
        same = all(r == rows[1] for r in rows.values())
    load = os.getloadavg()[0]
    result = {"assignment": assignment, "students": students, "reference_s": reference, "seconds": seconds,
              "speedup": {j: seconds[1] / s for j, s in seconds.items()}, "same_grades": same,
              "cores": os.cpu_count(), "load": load}
    log(f"{assignment}: {students} submissions; reference solution {reference:.1f} s (once)")
    for j, s in seconds.items():
        log(f"  --jobs {j}: {s:.1f} s ({s / students:.2f} s per submission), speed-up {seconds[1] / s:.2f}x")
    log(f"  same gradebook at every --jobs: {same}; {os.cpu_count()} cores; load average at the end {load:.1f}")
    return result
