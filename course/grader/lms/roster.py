"""The course's students as the LMS knows them: nbgrader's gradebook is the roster.

``nbgrader db student import students.csv`` (columns ``id,first_name,last_name,email,lms_user_id``)
fills it, ``nbgrader db student add ID --lms-user-id=N ...`` adds one student mid-term. A student
is found by the LMS's numeric user id (Canvas), by e-mail (Moodle's grading worksheet), or by full
name only when exactly one student has it: two students are never guessed between.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Student:
    id: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


def squash(name: str) -> str:
    """A name reduced to lower-case letters and digits, accents dropped ("Doe, Jané" -> "doejane")."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


class Roster:
    def __init__(self, students: list):
        self.students = list(students)

    @classmethod
    def from_gradebook(cls, db_url: str) -> Roster:
        from nbgrader.api import Gradebook

        with Gradebook(db_url) as gb:
            return cls([Student(s.id, s.first_name or "", s.last_name or "", (s.email or "").strip(),
                                (s.lms_user_id or "").strip()) for s in gb.students])

    def _one(self, found: list, what: str, if_none: str, if_many: str) -> tuple:
        """(student, None) for exactly one match, else (None, why and what to do)."""
        if len(found) == 1:
            return found[0], None
        if not found:
            return None, f"no student in the gradebook has {what}: {if_none}"
        return None, f"{len(found)} students have {what} ({', '.join(s.id for s in found)}): not guessed; {if_many}"

    def by_lms_user_id(self, user_id: str) -> tuple:
        return self._one([s for s in self.students if s.lms_user_id and s.lms_user_id == user_id],
                         f"lms_user_id {user_id}",
                         f"give the student it belongs to that Canvas user id (nbgrader db student add ID "
                         f"--lms-user-id={user_id}, or the lms_user_id column of students.csv) and import again",
                         "a Canvas user id belongs to one student: correct the others' lms_user_id "
                         "(nbgrader db student add ID --lms-user-id=N) and import again")

    def by_email(self, email: str) -> tuple:
        email = email.strip().lower()
        return self._one([s for s in self.students if s.email and s.email.lower() == email], f"e-mail {email}",
                         f"give the student it belongs to that e-mail (nbgrader db student add ID --email={email}) "
                         "and import again",
                         "an e-mail belongs to one student: correct the others' (nbgrader db student add ID "
                         "--email=...) and import again")

    def by_name(self, name: str) -> tuple:
        """By the full name (first and last, in either order; case, accents and punctuation aside)."""
        key = squash(name)
        found = [s for s in self.students if key and key in (squash(s.first_name + s.last_name),
                                                             squash(s.last_name + s.first_name))]
        return self._one(found, f"the name {name!r}",
                         "import with the assignment's grading worksheet (--worksheet), which finds students by "
                         "e-mail, or add the student to the gradebook",
                         "import with the assignment's grading worksheet (--worksheet), which tells them apart "
                         "by e-mail")
