"""Due dates and late penalties, set in one place: ``course/deadlines.toml``.

The file names each assignment's due date (with its UTC offset) and, where it differs from the
defaults, its late policy: each day or part of a day late, after a grace period, costs ``per_day``
of the notebook's score, never more than ``cap`` in all; ``extensions`` gives single students
more days. ``apply`` writes the due dates into the gradebook (``python -m grader deadlines``;
``autograde``, ``lms import`` and ``lms export`` call it), where nbgrader computes how late each
submission is from its ``timestamp.txt``, and recomputes the penalties after manual grading. ``PerDayPenalty`` is the
late-submission plugin that autograde calls for a late notebook (nbgrader_config.py); nbgrader
subtracts the penalty from the score, and the feedback shows it. An assignment without an entry
keeps nbgrader's own late policy (``LateSubmissionPlugin.penalty_method``, "none" by default).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import tomllib
from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Unicode

DAY = 86400.0
POLICY_KEYS = {"per_day", "cap", "grace_minutes"}
ENTRY_KEYS = POLICY_KEYS | {"due", "extensions"}


class DeadlineError(ValueError):
    """deadlines.toml cannot be used as it is; the message says what to change."""


@dataclass(frozen=True)
class Deadline:
    """One assignment's due date (aware) and late policy."""

    due: datetime
    per_day: float = 0.0
    cap: float = 1.0
    grace_minutes: float = 0.0
    extensions: dict = field(default_factory=dict)  # student id -> days

    def fraction_lost(self, student: str, seconds_late: float) -> float:
        """Share of the score lost when handed in ``seconds_late`` after the gradebook's due date
        (which already includes an extension granted with nbgrader's own command)."""
        late = seconds_late - self.extensions.get(student, 0.0) * DAY
        if late <= self.grace_minutes * 60:
            return 0.0
        return min(self.cap, self.per_day * math.ceil(late / DAY))

    def due_utc(self) -> datetime:
        """The due date as nbgrader stores it: naive, in UTC."""
        return self.due.astimezone(timezone.utc).replace(tzinfo=None)


def _fraction(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise DeadlineError(f"{where} must be a number from 0 to 1 (0.1 is a tenth of the score), not {value!r}")
    return float(value)


def _policy(table: dict, where: str) -> dict:
    out = {}
    for key in POLICY_KEYS & set(table):
        if key == "grace_minutes":
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise DeadlineError(f"{where}.grace_minutes must be a number of minutes >= 0, not {value!r}")
            out[key] = float(value)
        else:
            out[key] = _fraction(table[key], f"{where}.{key}")
    return out


def _entry(name: str, table: dict, defaults: dict) -> Deadline:
    where = f"assignments.{name}"
    if not isinstance(table, dict):
        raise DeadlineError(f"{where} must be a table with at least `due = 2027-01-18T23:59:00+01:00`")
    unknown = set(table) - ENTRY_KEYS
    if unknown:
        raise DeadlineError(f"{where} has unknown keys {sorted(unknown)}; known: {sorted(ENTRY_KEYS)}")
    due = table.get("due")
    if not isinstance(due, datetime):
        raise DeadlineError(f"{where}.due must be a date and time such as 2027-01-18T23:59:00+01:00, not {due!r}")
    if due.tzinfo is None:
        raise DeadlineError(f"{where}.due = {due.isoformat()} has no UTC offset: write it as "
                            f"{due.isoformat()}+01:00 (or Z for UTC), so that it means one moment everywhere")
    extensions = table.get("extensions", {})
    if not isinstance(extensions, dict) or not all(
            isinstance(d, (int, float)) and not isinstance(d, bool) and d >= 0 for d in extensions.values()):
        raise DeadlineError(f"{where}.extensions must map student ids to days, e.g. {{ ada = 2 }}, not {extensions!r}")
    policy = {**defaults, **_policy(table, where)}
    return Deadline(due=due, extensions={str(k): float(v) for k, v in extensions.items()}, **policy)


def load(path: Path) -> dict:
    """assignment -> Deadline, from ``path``; an absent file sets no deadline."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise DeadlineError(f"{path} is not valid TOML: {err}") from None
    unknown = set(data) - {"defaults", "assignments"}
    if unknown:
        raise DeadlineError(f"{path}: unknown tables {sorted(unknown)}; use [defaults] and [assignments.NAME]")
    defaults = data.get("defaults", {})
    if set(defaults) - POLICY_KEYS:
        raise DeadlineError(f"{path}: [defaults] takes only {sorted(POLICY_KEYS)}, not {sorted(set(defaults) - POLICY_KEYS)}")
    defaults = _policy(defaults, "defaults")
    try:
        return {name: _entry(name, table, defaults) for name, table in data.get("assignments", {}).items()}
    except DeadlineError as err:
        raise DeadlineError(f"{path}: {err}") from None


def sync(db_url: str, deadlines: dict, known: list) -> list:
    """Write each deadline's due date into the gradebook (creating the assignment's entry if need
    be); returns one line per assignment. A name that is not one of ``known`` is refused."""
    from nbgrader.api import Gradebook

    unknown = sorted(set(deadlines) - set(known))
    if unknown:
        raise DeadlineError(f"deadlines.toml names {unknown}, which are not assignments of course/source "
                            f"({', '.join(known)})")
    lines = []
    with Gradebook(db_url) as gb:
        for name, d in sorted(deadlines.items()):
            gb.update_or_create_assignment(name, duedate=d.due_utc())
            lines.append(f"{name}: due {d.due.isoformat()} ({d.due_utc():%Y-%m-%d %H:%M} UTC); late: "
                         f"-{d.per_day:.0%} a day after {d.grace_minutes:g} min, at most -{d.cap:.0%}"
                         + (f"; extensions: {', '.join(f'{s} +{x:g} d' for s, x in sorted(d.extensions.items()))}"
                            if d.extensions else ""))
    return lines


def reprice(db_url: str, deadlines: dict) -> list:
    """Recompute the late penalty of every graded notebook of these assignments from its score now.

    nbgrader computes a penalty once, at autograde, from the autograded score alone; the manual
    grades given afterwards would otherwise escape it. Returns a line per changed submission."""
    from nbgrader.api import Gradebook, MissingEntry

    lines = []
    with Gradebook(db_url) as gb:
        for name, d in sorted(deadlines.items()):
            try:
                submissions = gb.find_assignment(name).submissions
            except MissingEntry:
                continue
            for sub in submissions:
                late = sub.total_seconds_late or 0.0
                lost = d.fraction_lost(sub.student.id, late) if late > 0 else 0.0
                for nb in sub.notebooks:
                    penalty = round(nb.score * lost, 6) if lost else None
                    if (nb.late_submission_penalty or 0.0) != (penalty or 0.0):
                        lines.append(f"{name}/{sub.student.id}/{nb.name}: late penalty "
                                     f"{nb.late_submission_penalty or 0:g} -> {penalty or 0:g} ({lost:.0%} of {nb.score:g})")
                        nb.late_submission_penalty = penalty
        gb.db.commit()
    return lines


def configured(config) -> dict:
    """assignment -> Deadline from the deadlines file that ``config`` names (``PerDayPenalty.deadlines``)."""
    path = config.get("PerDayPenalty", {}).get("deadlines", "")
    return load(Path(path)) if path else {}


def apply(config, coursedir, assignments: list | None = None) -> tuple:
    """The course's deadlines.toml put into its gradebook, for ``assignments`` (default: all the
    file names): due dates written, late penalties recomputed from today's scores. Returns (a line
    per due date, a line per changed penalty). ``python -m grader deadlines``, ``autograde``,
    ``lms import`` and ``lms export`` all call this."""
    deadlines = configured(config)
    if assignments is not None:
        deadlines = {a: d for a, d in deadlines.items() if a in assignments}
    if not deadlines:
        return [], []
    source = Path(coursedir.root) / coursedir.source_directory
    known = sorted(p.name for p in source.iterdir() if p.is_dir()) if source.is_dir() else []
    return sync(coursedir.db_url, deadlines, known), reprice(coursedir.db_url, deadlines)


class PerDayPenalty(LateSubmissionPlugin):
    """nbgrader's late-submission plugin with the per-day policy of deadlines.toml; assignments
    the file does not name keep ``penalty_method``."""

    deadlines = Unicode("", help="the deadlines file (course/deadlines.toml)").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
        assignment = getattr(self.parent, "assignment_id", None)
        deadline = load(Path(self.deadlines)).get(assignment) if self.deadlines else None
        if deadline is None:
            return super().late_submission_penalty(student_id, score, total_seconds_late)
        lost = deadline.fraction_lost(student_id, total_seconds_late)
        self.log.warning("%s is %.1f h late: %.0f%% of its score lost (deadlines.toml)",
                         student_id, total_seconds_late / 3600, 100 * lost)
        return round(score * lost, 6)
