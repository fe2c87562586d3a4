"""``python -m grader lms import|export {canvas,moodle}``: a learning-management system's download
filed for nbgrader, and the gradebook's grades and feedback written back as the LMS imports them.

The roster is nbgrader's gradebook (roster.py); the naming rules of each LMS are in canvas.py and
moodle.py, the filing in filing.py, the way back in grades.py; course.py is the nbgrader course. An import also records, in
``downloaded/<assignment>/<lms>-import.json``, the LMS's ids of each filed notebook, which the
grades and the feedback upload need again. How to use it: course/README.md ("A term with an LMS").
"""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import canvas, moodle
from .course import Course
from .filing import file_uploads, read_zip
from .grades import export

SYSTEMS = ("canvas", "moodle")
__all__ = ["SYSTEMS", "Course", "export", "import_download"]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: give one such as Europe/Berlin or UTC") from None


def _worksheet_rows(worksheet, timezone) -> tuple:
    """(rows, zone) of the Moodle worksheet given to an import, both None without one."""
    if not worksheet:
        return None, None
    if not timezone:
        raise ValueError("--timezone is needed with --worksheet: the worksheet's times are in the time zone of the "
                         "Moodle account that downloaded it (its profile's Timezone), e.g. --timezone Europe/Berlin")
    zone = _zone(timezone)
    header, rows = moodle.read_worksheet(worksheet)
    if moodle.SUBMITTED not in header:
        raise ValueError(f"{worksheet} has no {moodle.SUBMITTED!r} column, so no submission time can be read: "
                         "download the grading worksheet again from the assignment's Submissions page")
    return rows, zone


def _no_times_note(lms: str, assignment: str) -> str:
    where = ("Canvas's download holds no submission times" if lms == "canvas"
             else "without the grading worksheet (--worksheet) there are no submission times")
    fix = ("set a late policy in Canvas itself (Gradebook settings, Late Policies) instead" if lms == "canvas"
           else "import again with --worksheet and --timezone")
    return (f"{where}, so deadlines.toml's late penalty cannot apply to {assignment}: nothing filed here "
            f"counts as late; {fix}")


def import_download(lms: str, zip_path, assignment: str, root=".", worksheet=None, timezone=None):
    """File the LMS's download of ``assignment``; returns the filing.ImportReport."""
    course = Course(root)
    notebooks, roster = course.notebooks(assignment), course.roster()
    if lms == "canvas" and (worksheet or timezone):
        raise ValueError("--worksheet and --timezone are for Moodle's grading worksheet; Canvas's download needs neither")
    if timezone and not worksheet:
        raise ValueError("--timezone is for the times in Moodle's grading worksheet: pass --worksheet too")
    rows, zone = _worksheet_rows(worksheet, timezone)
    due, repriced = course.apply_deadlines(assignment)  # a mistake in deadlines.toml stops the import here
    entries = read_zip(zip_path)
    found = canvas.uploads(entries, roster) if lms == "canvas" else moodle.uploads(entries, roster, rows, zone)
    report = file_uploads(course.root, assignment, notebooks, found,
                          autograded=lambda student: course.autograded(assignment, student))
    report.deadline = due + repriced
    if course.has_deadline(assignment) and rows is None:
        report.notes.append(_no_times_note(lms, assignment))
    record = course.record(assignment, lms)
    for f in report.filed:
        record[f.student] = {"notebooks": f.meta, "late": f.late, "time": f.time.isoformat() if f.time else None,
                             "name": next(iter(f.meta.values()), {}).get("name", "")}
    path = course.record_path(assignment, lms)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, sort_keys=True))
    return report
