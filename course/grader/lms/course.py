"""The nbgrader course an LMS import or export works on: its configuration, gradebook, folders
and the record of what was imported from the LMS."""
from __future__ import annotations

import json
from pathlib import Path

from .roster import Roster


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

    def record(self, assignment: str, lms: str) -> dict:
        path = self.record_path(assignment, lms)
        return json.loads(path.read_text()) if path.is_file() else {}

    def apply_deadlines(self, assignment: str) -> tuple:
        """deadlines.toml's entry for ``assignment`` put into the gradebook (grader/deadlines.py):
        (the due date's line, a line per changed penalty)."""
        from ..deadlines import apply

        return apply(self.config, self.cd, [assignment])

    def has_deadline(self, assignment: str) -> bool:
        from ..deadlines import configured

        return assignment in configured(self.config)

    def autograded(self, assignment: str, student: str) -> Path:
        return Path(self.cd.format_path(self.cd.autograded_directory, student, assignment))
