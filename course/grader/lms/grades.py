"""``python -m grader lms export``: the gradebook's scores as the LMS imports them (Canvas's
gradebook CSV, Moodle's filled grading worksheet) and the feedback zipped for its upload.

Scores are net of the late penalty, recomputed first from today's scores (deadlines.apply), so
that manual grades given after autograde are penalised too. A student whose written answers are
not graded yet is left out unless ``partial``; every student with a score who is not written is
named with the reason.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from . import canvas, moodle
from .course import Course


def _scores(course: Course, assignment: str, roster) -> dict:
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


class _Export:
    """What one export collects: the lines to print, the feedback files, the students dealt with."""

    def __init__(self, course: Course, assignment: str, scores: dict, partial: bool):
        self.assignment, self.scores, self.partial = assignment, scores, partial
        self.folder = Path(course.cd.root) / course.cd.feedback_directory
        self.lines, self.feedback, self.seen = [], {}, set()  # feedback: zip name -> html file

    def leave_out(self, student: str, why: str) -> None:
        self.seen.add(student)
        self.lines.append(f"  left out {student}: {why}")

    def value(self, student: str, scale_to: float | None):
        """The grade to write (scaled to ``scale_to`` points when given), or None when left out."""
        self.seen.add(student)
        score, full, manual = self.scores[student]
        if manual and not self.partial:
            self.leave_out(student, "written answers not graded yet (grade them in the formgrader, "
                                    "or pass --partial to send the score without them)")
            return None
        return round(score / full * scale_to, 2) if scale_to and full else round(score, 2)

    def feedback_of(self, student: str, name_of) -> None:
        for html in sorted((self.folder / student / self.assignment).glob("*.html")):
            name = name_of(html.stem)
            if name:
                self.feedback[name] = html
            else:
                self.lines.append(f"  no feedback sent to {student} for {html.stem}: the LMS's ids of this notebook "
                                  "are not in the import record (import the LMS's download of it first)")

    def unwritten(self, fix: str) -> None:
        for student in sorted(set(self.scores) - self.seen):
            self.lines.append(f"  not written {student}: {fix}")


def _canvas(course, roster, ex: _Export, to, column, points, feedback) -> None:
    record, rows = course.record(ex.assignment, "canvas"), []
    for s in roster.students:
        if s.id not in ex.scores:
            continue
        if not s.lms_user_id:
            ex.leave_out(s.id, "no lms_user_id (the Canvas user id) in the gradebook: nbgrader db student add "
                               f"{s.id} --lms-user-id=N")
            continue
        rows.append((s, ex.value(s.id, points)))
        if feedback and rows[-1][1] is not None:
            mine = record.get(s.id, {})
            ex.feedback_of(s.id, lambda nb, r=mine: canvas.feedback_name(r, nb))
    canvas.write_grades(to, column or ex.assignment, rows)
    ex.lines.insert(0, f"{ex.assignment}: {sum(v is not None for _, v in rows)} grades written to {to} "
                       f"(column {column or ex.assignment!r}" + (f", out of {points:g}" if points else "") + ")")


def _maximum(row: dict) -> float | None:
    try:
        value = float(row.get("Maximum Grade", "").replace(",", "."))
    except ValueError:
        return None
    return value if value > 0 else None


def _moodle(course, roster, ex: _Export, to, worksheet, feedback) -> None:
    """Fill the worksheet: rows found by the participant ids the import recorded, else by e-mail."""
    header, rows = moodle.read_worksheet(worksheet)
    by_pid = {nb["participant"]: student for student, rec in course.record(ex.assignment, "moodle").items()
              for nb in rec.get("notebooks", {}).values() if nb.get("participant")}
    written = 0
    for row in rows:
        pid = moodle.participant(row)
        by_email = roster.by_email(row["Email address"])[0] if row.get("Email address") else None
        student = by_pid.get(pid) or (by_email.id if by_email else None)
        if student is None or student not in ex.scores:
            continue
        if by_email is not None and by_email.id != student:
            ex.leave_out(student, f"Participant {pid} was filed as {student} but has the e-mail of {by_email.id}: "
                                  "use the worksheet of this assignment, or correct the e-mail in the gradebook")
        elif student in ex.seen:
            ex.lines.append(f"  Participant {pid} left empty: {student} has another row of the worksheet")
        elif row.get("Grade can be changed", "Yes").strip().lower() == "no":
            ex.leave_out(student, "Moodle says the grade cannot be changed (locked or overridden in its gradebook)")
        elif (maximum := _maximum(row)) is None:
            ex.leave_out(student, f"the worksheet's Maximum Grade {row.get('Maximum Grade', '')!r} is no number of "
                                  "points: give the assignment a point grade in Moodle and download the worksheet again")
        else:
            grade = ex.value(student, maximum)
            if grade is None:
                continue
            row["Grade"] = f"{grade:g}"
            written += 1
            if feedback:
                ex.feedback_of(student, lambda nb, r=row: moodle.feedback_name(r, nb))
    moodle.write_worksheet(to, header, rows)
    ex.lines.insert(0, f"{ex.assignment}: {written} grades written into the worksheet {to} "
                       "(scaled to its Maximum Grade)")
    ex.unwritten("no row of the worksheet is theirs: import the Moodle download with this worksheet first "
                 "(lms import moodle ... --worksheet), or give them their Moodle e-mail in the gradebook")


def export(lms: str, assignment: str, to, root=".", feedback=None, worksheet=None, column=None,
           points=None, partial=False) -> list:
    """Write the grade file (and the feedback zip); returns the lines to print."""
    course = Course(root)
    roster = course.roster()
    if lms == "canvas" and worksheet:
        raise ValueError("--worksheet is Moodle's; Canvas's gradebook CSV is written from the gradebook")
    if lms == "moodle" and not worksheet:
        raise ValueError("Moodle needs its own grading worksheet of this assignment: download it "
                         "(Submissions, Action: Download grading worksheet) and pass --worksheet FILE")
    repriced = course.apply_deadlines(assignment)[1]
    ex = _Export(course, assignment, _scores(course, assignment, roster), partial)
    if lms == "canvas":
        _canvas(course, roster, ex, to, column, points, feedback)
    else:
        _moodle(course, roster, ex, to, worksheet, feedback)
    ex.lines[1:1] = [f"  recomputed from today's score: {line}" for line in repriced]
    if feedback:
        with zipfile.ZipFile(feedback, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, html in sorted(ex.feedback.items()):
                zf.write(html, name)
        ex.lines.append(f"  {len(ex.feedback)} feedback files in {feedback}"
                        + ("" if ex.feedback else " (run `nbgrader generate_feedback` first)"))
    return ex.lines
