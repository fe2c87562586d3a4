"""``python -m grader time ASSIGNMENT --students N --jobs J``: how long autograding a class takes here,
one submission at a time and J at a time, in the same run.

Builds a scratch course (:mod:`.scratch`) with a class of N submissions (:mod:`.classroom`: a third
correct, a third blank, a third half right, as in a real class), computes the reference solution's
records once, then grades the class with ``python -m grader autograde --jobs 1`` and again with
``--jobs J`` (``--force``), checks that both gave the same gradebook, and prints the wall times and
the speed-up, then the same as a row of the table in course/README.md ("Grading time").
"""
from __future__ import annotations

import os
import platform
import tempfile
from datetime import date
from pathlib import Path

from . import classroom
from .scratch import ScratchCourse

__all__ = ["report", "markdown_rows", "TABLE_HEADER"]

TABLE_HEADER = ("| date | machine | assignment | students | reference solution | `--jobs 1` | `--jobs J` "
                "| speed-up | same gradebook | load average after |\n|---|---|---|---|---|---|---|---|---|---|")


def write_class(course: ScratchCourse, assignment: str, students: int) -> None:
    """``students`` submissions of ``assignment`` in ``course``: correct, blank, half right in turn."""
    nbks = classroom.notebooks(assignment, exercises=course.root / "release", source=course.root / "source")
    for i in range(students):
        kind = i % 3
        for nbk in nbks:
            content = nbk.solution() if kind == 0 else nbk.student() if kind == 1 else classroom.with_parts(nbk, {0})
            classroom.write_submission(course.root, assignment, f"student{i:03d}", nbk.name, content)


def report(assignment: str, students: int = 30, jobs=(2,), log=print) -> dict:
    """Grade a generated class at ``--jobs 1`` and at each of ``jobs``; log and return the times."""
    with tempfile.TemporaryDirectory(prefix="grading-time-") as tmp:
        course = ScratchCourse(Path(tmp) / "course", [assignment])
        write_class(course, assignment, students)
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
    result = {"assignment": assignment, "students": students, "reference_s": reference, "seconds": seconds,
              "speedup": {j: seconds[1] / s for j, s in seconds.items()}, "same_grades": same,
              "cores": os.cpu_count(), "load": os.getloadavg()[0], "date": date.today().isoformat(),
              "machine": f"{os.cpu_count()}-core {platform.machine()} {platform.system()}"}
    log(f"{assignment}: {students} submissions; reference solution {reference:.1f} s (once)")
    for j, s in seconds.items():
        log(f"  --jobs {j}: {s:.1f} s ({s / students:.2f} s per submission), speed-up {seconds[1] / s:.2f}x")
    log(f"  same gradebook at every --jobs: {same}; {os.cpu_count()} cores; "
        f"load average at the end {result['load']:.1f}")
    log("\nAs rows of course/README.md's table (Grading time):\n" + TABLE_HEADER)
    for row in markdown_rows(result):
        log(row)
    return result


def markdown_rows(result: dict) -> list:
    """One table row per ``--jobs J`` other than 1 (all of them beside --jobs 1)."""
    n, s1 = result["students"], result["seconds"][1]
    others = [j for j in result["seconds"] if j != 1] or [1]
    return [f"| {result['date']} | {result['machine']} | {result['assignment']} | {n} | "
            f"{result['reference_s']:.1f} s | {s1:.1f} s ({s1 / n:.1f} s each) | "
            f"`--jobs {j}`: {result['seconds'][j]:.1f} s ({result['seconds'][j] / n:.1f} s each) | "
            f"**{s1 / result['seconds'][j]:.2f}×** | {'yes' if result['same_grades'] else '**no**'} | "
            f"{result['load']:.1f} |" for j in others]
