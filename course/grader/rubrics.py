"""Rubrics of the written answers: ``course/rubrics/<assignment>.md``, one section per answer.

A section is ``## <grade_id> (<points> points)``, then a table ``| criterion | points |`` whose points
add up to the answer's, then a paragraph starting ``Partial credit:``. The rubrics live outside
``source/`` so that nbgrader never releases them and the student edition never holds them.

:class:`AddRubrics` (an autograde step, after the grades are saved) puts each rubric into the
autograded notebook right after its answer: the grader reads it beside the answer in the formgrader,
and the student finds it in the feedback, which nbgrader makes from that notebook.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

SECTION = re.compile(r"^## (?P<gid>\S+) \((?P<points>[0-9.]+) points?\)\s*$", re.M)
ROW = re.compile(r"^\|(?P<text>.+)\|\s*(?P<points>[0-9.]+)\s*\|\s*$")
CELL_PREFIX = "rubric-"


@dataclass
class Rubric:
    grade_id: str
    points: float
    criteria: list  # (text, points)
    partial: str
    body: str  # the section's markdown, without its heading

    def markdown(self) -> str:
        return (f"**Rubric of this answer** ({self.points:g} points; what the grader reads, and what earns "
                f"partial credit)\n\n{self.body.strip()}\n")


def parse(text: str, where: str = "rubric") -> dict:
    """``{grade_id: Rubric}`` from a rubric file's text; ValueError when a section is malformed."""
    found = {}
    heads = list(SECTION.finditer(text))
    for k, m in enumerate(heads):
        body = text[m.end():heads[k + 1].start() if k + 1 < len(heads) else len(text)]
        criteria = [(r["text"].strip(), float(r["points"])) for r in map(ROW.match, body.splitlines()) if r]
        partial = next((p.strip() for p in body.split("\n\n") if p.strip().startswith("Partial credit:")), "")
        gid, points = m["gid"], float(m["points"])
        if not criteria:
            raise ValueError(f"{where}: section {gid!r} has no table of criteria and points")
        if abs(sum(p for _, p in criteria) - points) > 1e-9:
            raise ValueError(f"{where}: the criteria of {gid!r} add up to {sum(p for _, p in criteria):g} "
                             f"points, the heading says {points:g}")
        if not partial:
            raise ValueError(f"{where}: section {gid!r} says nothing of partial credit ('Partial credit: ...')")
        found[gid] = Rubric(gid, points, criteria, partial, body)
    return found


def load(assignment: str, directory: Path) -> dict:
    path = Path(directory) / f"{assignment}.md"
    return parse(path.read_text(), str(path)) if path.exists() else {}


def manual_cells(nb) -> list:
    """The written answers: cells graded by a person (solution and grade, not autograded tests)."""
    out = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        if meta.get("solution") and meta.get("grade") and cell.get("cell_type") == "markdown":
            out.append(cell)
    return out


def lint(source: Path, directory: Path) -> list:
    """Problems with the rubrics of every assignment in ``source``, as sentences."""
    problems = []
    for folder in sorted(p for p in Path(source).iterdir() if p.is_dir() and any(p.glob("*.ipynb"))):
        try:
            rubrics = load(folder.name, directory)
        except ValueError as err:
            problems.append(str(err))
            continue
        answers = {}
        for nb_path in sorted(folder.glob("*.ipynb")):
            for cell in manual_cells(nbformat.read(nb_path, as_version=4)):
                meta = cell.metadata.nbgrader
                answers[meta["grade_id"]] = float(meta.get("points", 0))
        for gid, points in answers.items():
            if gid not in rubrics:
                problems.append(f"{folder.name}: the written answer {gid!r} has no rubric in "
                                f"rubrics/{folder.name}.md")
            elif rubrics[gid].points != points:
                problems.append(f"{folder.name}: the rubric of {gid!r} is worth {rubrics[gid].points:g} points, "
                                f"the answer {points:g}")
        problems += [f"{folder.name}: rubrics/{folder.name}.md has a section {gid!r} for no written answer"
                     for gid in rubrics if gid not in answers]
    return problems


class AddRubrics(NbGraderPreprocessor):
    """Put each written answer's rubric right after it in the autograded notebook."""

    rubric_directory = Unicode("", help="folder of <assignment>.md rubric files").tag(config=True)

    def preprocess(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        try:
            rubrics = load(assignment, Path(self.rubric_directory))
        except ValueError as err:  # a broken rubric must not stop grading
            self.log.warning("Rubrics of %s not shown: %s", assignment, err)
            return nb, resources
        nb.cells = [c for c in nb.cells if not str(c.get("id", "")).startswith(CELL_PREFIX)]
        for cell in manual_cells(nb):
            gid = cell.metadata.nbgrader["grade_id"]
            if gid in rubrics:
                new = nbformat.v4.new_markdown_cell(rubrics[gid].markdown())
                new["id"] = CELL_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "-", gid)
                nb.cells.insert(nb.cells.index(cell) + 1, new)
        return nb, resources
