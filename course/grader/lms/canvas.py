"""Canvas: its "Download Submissions" zip in, its gradebook CSV and its "Re-upload Submissions"
zip out.

Formats, as Canvas's own code writes and reads them (instructure/canvas-lms):
- download (lib/content_zipper.rb): each file is ``<name>[_LATE]_<user id>_<attachment id>_<file
  name>``, the name being the student's sortable name lower-cased with everything but letters,
  digits and ``_`` removed; a file uploaded again under the same name gets ``-1``, ``-2`` before its
  extension (Attachment.make_unique_filename); text and URL entries are ``<prefix>_text.html`` and
  ``<prefix>_link.html``; with anonymous grading the prefix is ``anon_<anonymous id>``. The zip
  holds no submission times (its entries carry the time the zip was made).
- re-upload (Assignment#infer_comment_context_from_filename): the first two all-digit parts of the
  name are the user id and the attachment id, which must be one of that submission's files; each
  file becomes a comment on the student's submission.
- gradebook import (GradebookImporter): a header ``Student,ID,SIS User ID,SIS Login ID,Section``,
  then one column per assignment titled ``Title (assignment id)`` (a title without an id makes a
  new assignment); ``ID`` is the Canvas user id, a blank score changes nothing.
"""
from __future__ import annotations

import csv
import re

from .filing import Upload

NAME = re.compile(r"^(?P<prefix>.*?)_(?P<user>\d+)_(?P<file>\d+)_(?P<uploaded>.+)$")
HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def parse(entry: str) -> dict | None:
    """The parts of a download's file name, or None for a name Canvas does not write."""
    base = entry.rsplit("/", 1)[-1]
    m = NAME.match(base)
    if not m:
        return None
    prefix = m["prefix"]
    late = prefix.endswith("_LATE") or prefix == "LATE"
    return {"name": prefix[:-5] if prefix.endswith("_LATE") else prefix, "late": late,
            "user_id": m["user"], "attachment_id": m["file"], "uploaded": m["uploaded"]}


def uploads(entries: list, roster) -> list:
    """:class:`Upload` records of the download's files, students looked up by Canvas user id."""
    out = []
    for entry, data, _ in entries:
        base = entry.rsplit("/", 1)[-1]
        parts = parse(entry)
        if base.startswith("anon_"):
            out.append(Upload(entry, base, why="anonymous grading hides who handed it in: turn anonymous "
                                                "grading off for the download, or file it by hand"))
            continue
        if parts is None:
            why = ("a text or URL entry, not a file" if base.endswith(("_text.html", "_link.html"))
                   else "not a name Canvas's download gives (<name>_<user id>_<file id>_<file>)")
            out.append(Upload(entry, base, why=why))
            continue
        student, why = roster.by_lms_user_id(parts["user_id"])
        if student is None:
            why = f"the Canvas user {parts['name'] or '?'}: {why}"
        out.append(Upload(entry, parts["uploaded"], student=student, why=why or "", late=parts["late"],
                          order=(int(parts["attachment_id"]),), data=data,
                          meta={"user_id": parts["user_id"], "attachment_id": parts["attachment_id"],
                                "name": parts["name"]}))
    return out


def write_grades(path, column: str, rows: list) -> None:
    """The gradebook CSV: ``rows`` of (roster.Student, score or None)."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER + [column])
        for student, score in rows:
            sortable = ", ".join(p for p in (student.last_name, student.first_name) if p) or student.id
            w.writerow([sortable, student.lms_user_id, "", "", "", "" if score is None else f"{score:g}"])


def feedback_name(record: dict, notebook: str) -> str | None:
    """The re-upload name of ``notebook``'s feedback, from what the import recorded."""
    file = record.get("notebooks", {}).get(notebook)
    if not file:
        return None
    return f"{record['name'] or 'student'}_{file['user_id']}_{file['attachment_id']}_{notebook}-feedback.html"
