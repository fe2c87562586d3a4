"""Moodle: its "Download all submissions" zip and grading worksheet in, the filled worksheet and
a feedback-files zip out.

Formats, as Moodle's own code writes and reads them (moodle/moodle, mod/assign):
- download (classes/downloader.php): each student's files under ``<Full name>_<participant
  id>_assignsubmission_file/`` (``..._file_/`` before Moodle 4.1), or, with "Download submissions
  in folders" off, as ``<Full name>_<participant id>_assignsubmission_file_<file>``; online text is
  ``..._assignsubmission_onlinetext/onlinetext.html``. The participant id is made per assignment
  (assign_user_mapping), so it never identifies a student across assignments: students are found
  through the worksheet's e-mail addresses, or by a full name only one student has.
- grading worksheet (gradingtable.php, feedback/offline/importgradeslib.php): a CSV with
  ``Identifier`` ("Participant 12345"), ``Full name``, ``Email address``, ..., ``Grade``, ``Maximum
  Grade``, ``Grade can be changed``, ``Last modified (submission)`` (as "Tuesday, 3 December 2026,
  10:15 AM", in the downloading user's time zone), ``Last modified (grade)``, ``Feedback comments``.
  The upload reads Identifier, Grade, Last modified (grade) and the feedback columns; it skips a
  row whose grade changed in Moodle after the worksheet was downloaded.
- feedback files (feedback/file/importziplib.php): a name is split on ``_``: its second part is
  the participant id, its third and fourth the plugin (``assignfeedback_file``), the rest the file.
"""
from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from .filing import Upload

ENTRY = re.compile(r"^(?:.*/)?(?P<name>[^/_]+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)"
                   r"(?:_?/(?P<inside>.+)|_(?P<flat>[^/]+))$")
IDENTIFIER = re.compile(r"^\s*Participant\s+(\d+)\s*$")
DATE_FORMAT = "%A, %d %B %Y, %I:%M %p"  # Moodle's strftimedaydatetime in English
REQUIRED = ("Identifier", "Grade", "Last modified (grade)")
SUBMITTED = "Last modified (submission)"


def read_worksheet(path) -> tuple:
    """(header, rows as dicts) of a grading worksheet; ValueError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} does not exist: download the grading worksheet from the assignment's "
                         "Submissions page (Action: Download grading worksheet)")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        rows = list(reader)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ValueError(f"{path} is not a Moodle grading worksheet: no column {', '.join(missing)} "
                         "(an English-language worksheet is expected)")
    return header, rows


def participant(row: dict) -> str | None:
    m = IDENTIFIER.match(row.get("Identifier", ""))
    return m.group(1) if m else None


def submission_time(text: str, zone: ZoneInfo) -> datetime | None:
    """The worksheet's "Last modified (submission)" as an aware time; None for Moodle's "-" (no
    submission); ValueError for anything else it cannot read."""
    if text.strip() in ("-", ""):
        return None
    try:
        return datetime.strptime(text.strip(), DATE_FORMAT).replace(tzinfo=zone)
    except ValueError:
        raise ValueError(f"its submission time {text!r} is not in the form 'Tuesday, 3 November 2026, 10:15 AM': "
                         "download the worksheet with Moodle's language set to English") from None


def _student(m, row, roster, zone) -> tuple:
    """(student or None, why, submission time) of one download entry and its worksheet row."""
    if row is not None and row.get("Email address"):
        student, why = roster.by_email(row["Email address"])
    elif m["name"].lower() == "participant":
        return None, "blind marking hides who handed it in: reveal identities, or file it by hand", None
    else:
        student, why = roster.by_name(m["name"])
    try:
        time = submission_time(row.get(SUBMITTED, ""), zone) if row is not None else None
    except ValueError as err:
        return None, str(err), None
    return student, why or "", time


def uploads(entries: list, roster, worksheet: list | None, zone: ZoneInfo | None) -> list:
    """:class:`Upload` records of the download's files; with the worksheet's rows, students are
    looked up by e-mail and get the submission time, else by full name."""
    by_pid = {participant(r): r for r in worksheet or [] if participant(r)}
    out = []
    for entry, data, _ in entries:
        m = ENTRY.match(entry)
        if m is None:
            out.append(Upload(entry, entry.rsplit("/", 1)[-1],
                              why="not a name Moodle's download gives (<Full name>_<id>_assignsubmission_file)"))
            continue
        uploaded = m["inside"] or m["flat"]
        if m["plugin"] != "file":
            out.append(Upload(entry, uploaded, why=f"a {m['plugin']} entry, not a file"))
            continue
        row = by_pid.get(m["pid"])
        if worksheet is not None and row is None:
            out.append(Upload(entry, uploaded, why=f"participant {m['pid']} is not in the worksheet: use the "
                                                   "worksheet of this assignment, downloaded with the submissions"))
            continue
        student, why, time = _student(m, row, roster, zone)
        out.append(Upload(entry, uploaded, student=student, why=why, time=time, data=data,
                          meta={"participant": m["pid"], "name": m["name"]}))
    return out


def write_worksheet(path, header: list, rows: list) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        w.writerows(rows)


def feedback_name(row: dict, notebook: str) -> str:
    name = row.get("Full name", "").replace("_", " ").replace("/", " ").strip() or "Participant"
    return f"{name}_{participant(row)}_assignfeedback_file_{notebook}-feedback.html"
