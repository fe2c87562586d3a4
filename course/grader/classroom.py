"""A class built from an assignment's own structure, for trying grading without students: each
notebook's parts (an answer cell and the test cells that follow it, course/README.md), the
solution, the released stub, and submissions written where nbgrader collects them.

``python -m grader time`` grades such a class; the pipeline tests (tests/course/) build their
correct, blank, partial and misbehaving submissions on the same pieces.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .build import COURSE, REPO, nbgrader_meta, solution_notebook

__all__ = ["Part", "Notebook", "notebooks", "with_parts", "write_submission"]


@dataclass
class Part:
    answer: str  # grade_id of the answer cell
    tests: list = field(default_factory=list)  # grade_ids of its test cells
    points: float = 0.0


@dataclass
class Notebook:
    """One notebook of an assignment: its released (student) version, source and parts."""

    assignment: str
    name: str  # file name, e.g. warmup.ipynb
    released: Path
    source: Path

    def student(self):
        return nbformat.read(self.released, as_version=4)

    def solution(self):
        return solution_notebook(self.released, self.source)

    @property
    def parts(self) -> list:
        parts = []
        for cell in nbformat.read(self.source, as_version=4).cells:
            meta = nbgrader_meta(cell)
            if cell.cell_type != "code":
                continue
            if meta.get("solution") and not meta.get("grade"):
                parts.append(Part(meta["grade_id"]))
            elif meta.get("grade") and not meta.get("solution") and parts:
                parts[-1].tests.append(meta["grade_id"])
                parts[-1].points += float(meta.get("points", 0))
        return parts

    @property
    def autograded_points(self) -> float:
        return sum(p.points for p in self.parts)

    def answer_source(self, grade_id: str) -> str:
        return next(c.source for c in self.solution().cells if nbgrader_meta(c).get("grade_id") == grade_id)


def notebooks(assignment: str, exercises: Path = REPO / "exercises", source: Path = COURSE / "source") -> list:
    return [Notebook(assignment, p.name, p, source / assignment / p.name)
            for p in sorted((exercises / assignment).glob("*.ipynb"))]


def answer_cell(nb, grade_id):
    """The answer cell of ``nb`` with nbgrader's ``grade_id``."""
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def with_parts(nbk: Notebook, keep) -> object:
    """The solution with the answers of parts not in ``keep`` (indices) left as released stubs."""
    nb = nbk.solution()
    student = nbk.student()
    for i, part in enumerate(nbk.parts):
        if i not in keep:
            answer_cell(nb, part.answer).source = answer_cell(student, part.answer).source
    return nb


def write_submission(course_root: Path, assignment: str, student: str, notebook_name: str, content) -> Path:
    """Put ``content`` where nbgrader collects it: submitted/<student>/<assignment>/<notebook>."""
    dest = Path(course_root) / "submitted" / student / assignment / notebook_name
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(content if isinstance(content, bytes) else nbformat.writes(content).encode())
    return dest
