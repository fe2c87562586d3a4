"""``python -m grader lms import|export {canvas,moodle}``: a learning-management system's download
filed for nbgrader, and the gradebook's grades and feedback written back as the LMS imports them.

The roster is nbgrader's gradebook (roster.py); the naming rules of each LMS are in canvas.py and
moodle.py, the filing in filing.py. An import also records, in
``downloaded/<assignment>/<lms>-import.json``, the LMS's ids of each filed notebook, which the
feedback upload needs again. How to use it: course/README.md ("A term with an LMS").
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import canvas, moodle
from .filing import file_uploads, read_zip
from .roster import Roster

SYSTEMS = ("canvas", "moodle")


class Course:
    """The nbgrader course in ``root`` (its configuration, gradebook and folders)."""

    def __init__(self, root: Path):
        from nbgrader.coursedir import CourseDirectory

        from ..build import _load_config

        self.root = Path(root).resolve()
        if not (self.root / "nbgrader_config.py").is_file():
            raise ValueError(f"{self.root} has no nbgrader_config.py: run this from course/")
        self.config = _load_config(self.root)
        self.cd = CourseDirectory(config=self.config)

    def notebooks(self, assignment: str) -> list:
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.cd.db_url) as gb:
            try:
                return sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)
            except MissingEntry:
                raise ValueError(f"{assignment!r} is not in the gradebook: run `make course` (or "
                                 f"`nbgrader generate_assignment {assignment}`) first") from None

    def roster(self) -> Roster:
        roster = Roster.from_gradebook(self.cd.db_url)
        if not roster.students:
            raise ValueError("the gradebook has no students: import them first with "
                             "`nbgrader db student import students.csv` (course/README.md)")
        return roster

    def record_path(self, assignment: str, lms: str) -> Path:
        return self.root / "downloaded" / assignment / f"{lms}-import.json"

    def sync_deadlines(self, assignment: str) -> list:
        from ..deadlines import load, sync

        path = self.config.get("PerDayPenalty", {}).get("deadlines", "")
        deadlines = {a: d for a, d in (load(Path(path)) if path else {}).items() if a == assignment}
        return sync(self.cd.db_url, deadlines, [assignment]) if deadlines else []


def _zone(name: str | None) -> ZoneInfo:
    if not name:
        from datetime import datetime

        local = datetime.now().astimezone().tzinfo
        return ZoneInfo(getattr(local, "key", None) or "UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: give one such as Europe/Berlin or UTC") from None


def import_download(lms: str, zip_path, assignment: str, root=".", worksheet=None, timezone=None):
    """File the LMS's download of ``assignment``; returns the filing.ImportReport."""
    course = Course(root)
    notebooks, roster = course.notebooks(assignment), course.roster()
    if lms == "canvas" and (worksheet or timezone):
        raise ValueError("--worksheet and --timezone are for Moodle's grading worksheet; Canvas's download needs neither")
    zone = _zone(timezone)
    rows = moodle.read_worksheet(worksheet)[1] if worksheet else None
    entries = read_zip(zip_path)
    found = canvas.uploads(entries, roster) if lms == "canvas" else moodle.uploads(entries, roster, rows, zone)
    report = file_uploads(course.root, assignment, notebooks, found)
    path = course.record_path(assignment, lms)
    record = json.loads(path.read_text()) if path.is_file() else {}
    for f in report.filed:
        record[f.student] = {"notebooks": f.meta, "late": f.late, "time": f.time.isoformat() if f.time else None,
                             "name": next(iter(f.meta.values()), {}).get("name", "")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, sort_keys=True))
    report.deadline = course.sync_deadlines(assignment)
    return report


def _scores(course: Course, assignment: str, roster: Roster) -> dict:
    """student id -> (score after the late penalty, max score, needs manual grading)."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(course.cd.db_url) as gb:
        for s in roster.students:
            try:
                sub = gb.find_submission(assignment, s.id)
            except MissingEntry:
                continue
            pending = any(g.needs_manual_grade and g.manual_score is None for nb in sub.notebooks for g in nb.grades)
            out[s.id] = (sub.score - (sub.late_submission_penalty or 0.0), sub.max_score, pending)
    return out


def export(lms: str, assignment: str, to, root=".", feedback=None, worksheet=None, column=None,
           points=None, partial=False) -> list:
    """Write the grade file (and the feedback zip); returns the lines to print."""
    course = Course(root)
    roster = course.roster()
    scores = _scores(course, assignment, roster)
    lines, feedback_files = [], {}  # zip name -> feedback file
    folder = Path(course.cd.root) / course.cd.feedback_directory

    def value(student_id: str, scale_to: float | None):
        score, full, manual = scores[student_id]
        if manual and not partial:
            lines.append(f"  left out {student_id}: written answers not graded yet (grade them in the formgrader, "
                         "or pass --partial to send the score without them)")
            return None
        return round(score / full * scale_to, 2) if scale_to and full else round(score, 2)

    def feedback_of(student_id: str, name_of) -> None:
        for html in sorted((folder / student_id / assignment).glob("*.html")):
            name = name_of(html.stem)
            if name:
                feedback_files[name] = html
            else:
                lines.append(f"  no feedback sent to {student_id} for {html.stem}: the LMS's ids of this notebook are "
                             "not in the import record (import the LMS's download of it first)")

    if lms == "canvas":
        if worksheet:
            raise ValueError("--worksheet is Moodle's; Canvas's gradebook CSV is written from the gradebook")
        record_path = course.record_path(assignment, "canvas")
        record = json.loads(record_path.read_text()) if record_path.is_file() else {}
        rows = []
        for s in roster.students:
            if s.id not in scores:
                continue
            if not s.lms_user_id:
                lines.append(f"  left out {s.id}: no lms_user_id (the Canvas user id) in the gradebook")
                continue
            rows.append((s, value(s.id, points)))
            if feedback and rows[-1][1] is not None:
                mine = record.get(s.id, {})
                feedback_of(s.id, lambda nb, r=mine: canvas.feedback_name(r, nb))
        canvas.write_grades(to, column or assignment, rows)
        lines.insert(0, f"{assignment}: {sum(v is not None for _, v in rows)} grades written to {to} "
                        f"(column {column or assignment!r}" + (f", out of {points:g}" if points else "") + ")")
    else:
        if not worksheet:
            raise ValueError("Moodle needs its own grading worksheet of this assignment: download it "
                             "(Submissions, Action: Download grading worksheet) and pass --worksheet FILE")
        header, rows = moodle.read_worksheet(worksheet)
        written = 0
        for row in rows:
            student, why = roster.by_email(row.get("Email address", "")) if row.get("Email address") else (None, "")
            if student is None or student.id not in scores:
                continue
            if row.get("Grade can be changed", "Yes").strip().lower() == "no":
                lines.append(f"  left out {student.id}: Moodle says the grade cannot be changed")
                continue
            maximum = row.get("Maximum Grade", "").replace(",", ".")
            grade = value(student.id, float(maximum) if maximum.replace(".", "", 1).isdigit() else None)
            if grade is None:
                continue
            row["Grade"] = f"{grade:g}"
            written += 1
            if feedback:
                feedback_of(student.id, lambda nb, r=row: moodle.feedback_name(r, nb))
        moodle.write_worksheet(to, header, rows)
        lines.insert(0, f"{assignment}: {written} grades written into the worksheet {to} (scaled to its Maximum Grade)")
    if feedback:
        with zipfile.ZipFile(feedback, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, html in sorted(feedback_files.items()):
                zf.write(html, name)
        lines.append(f"  {len(feedback_files)} feedback files in {feedback}"
                     + ("" if feedback_files else " (run `nbgrader generate_feedback` first)"))
    return lines
