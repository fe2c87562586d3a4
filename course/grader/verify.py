"""Preprocessors and a hook that nbgrader's autograde runs (wired in course/nbgrader_config.py).

- :func:`replace_unreadable` (pre-convert hook): a submitted file that is not a readable notebook is
  kept aside as ``<name>.ipynb.unreadable`` and replaced by an empty notebook, so the student is
  graded (zero) instead of the run failing for them.
- :class:`NormalizeSubmission` (first sanitising step): nbgrader metadata is taken from the
  gradebook, never from the submission; duplicated ids keep one copy; deleted cells are put back.
  nbgrader's own steps then restore the source of edited test and read-only cells.
- :class:`VerifyChecks` (right after execution): a test cell keeps its points only if it ran without
  error *and* its check records agree with the reference solution's (``labkit.checks.judge``).
  Otherwise an error is put first in its outputs, which nbgrader scores as zero. Results that nbgrader
  would read as partial credit are removed: a test cell is all or nothing. What a test cell wrote to
  standard error (a warning, a progress bar) becomes a note on standard output: nbgrader would score
  it as a failure, and a correct answer must not lose points for how it was checked.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

from . import records as rec

PLACEHOLDER = ("**The grader could not read this submission as a notebook** ({error}). It is graded "
               "as empty; the file that was handed in is kept next to it as `{name}.unreadable`.")


# ----------------------------------------------------------------------------------------------
# unreadable files


def readable(path) -> str | None:
    """None if ``path`` is a notebook nbgrader can process, else why not."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as err:  # not JSON, not UTF-8, not a notebook, unknown version ...
        return f"{type(err).__name__}: {str(err)[:200]}"
    if not isinstance(nb.get("cells"), list) or not all(isinstance(c, dict) and "cell_type" in c for c in nb.cells):
        return "it has no list of cells"
    return None


def replace_unreadable(assignment=None, student=None, notebooks=()):
    """nbgrader pre-convert hook: swap unreadable submitted notebooks for empty ones (originals kept)."""
    for path in notebooks:
        why = readable(path)
        if why is None:
            continue
        keep = f"{path}.unreadable"
        shutil.move(path, keep)
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_markdown_cell(PLACEHOLDER.format(error=why, name=os.path.basename(path)))],
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
        nbformat.write(nb, path)


# ----------------------------------------------------------------------------------------------
# metadata from the gradebook


class NormalizeSubmission(NbGraderPreprocessor):
    """Make the submission's cells agree with the gradebook before nbgrader's own checks run.

    - nbgrader metadata naming no cell of the assignment, or malformed, is removed;
    - known cells get the gradebook's flags, points and cell type;
    - when two cells claim the same id, the last keeps it (as in nbgrader) and the others become
      plain cells;
    - every cell of the released notebook that is missing (deleted answers, tests, read-only cells)
      is put back, as released, after the closest preceding cell that is still there.

    nbgrader's own steps then restore the source of edited test and read-only cells. (Its own
    re-adding of missing cells fails on several layouts, e.g. a deleted written answer, and
    stops grading that student; after this step it has nothing left to do.)
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            source = [(c.name, c.cell_type, bool(c.locked), c.source) for c in notebook.source_cells]
            grades = {c.name: float(c.max_score) for c in notebook.grade_cells}
            solutions = {c.name for c in notebook.solution_cells}
            tasks = {c.name: float(c.max_score) for c in notebook.task_cells}
        order = [name for name, *_ in source]
        known = {name: (cell_type, locked, text) for name, cell_type, locked, text in source}
        for cell in nb.cells:
            self._normalize(cell, known, grades, solutions, tasks)
        self._deduplicate(nb)
        self._restore_missing(nb, order, known, grades, solutions, tasks)
        return nb, resources

    @staticmethod
    def _meta(gid, known, grades, solutions, tasks) -> NotebookNode:
        clean = {"grade_id": gid, "schema_version": 3, "solution": gid in solutions, "grade": gid in grades,
                 "locked": known[gid][1], "task": gid in tasks}
        if gid in grades:
            clean["points"] = grades[gid]
        elif gid in tasks:
            clean["points"] = tasks[gid]
        return NotebookNode(clean)

    def _normalize(self, cell, known, grades, solutions, tasks) -> None:
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = NotebookNode()
        meta = cell["metadata"]
        if not isinstance(cell.get("source"), (str, list)):
            cell["source"] = ""
        if "nbgrader" not in meta:
            return
        nbg = meta.get("nbgrader")
        gid = nbg.get("grade_id") if isinstance(nbg, dict) else None
        if not isinstance(gid, str) or gid not in known:
            self.log.warning("Removing nbgrader metadata that names no cell of this assignment: %r", gid)
            del meta["nbgrader"]
            return
        cell_type = known[gid][0]
        if cell.get("cell_type") != cell_type:
            cell["cell_type"] = cell_type
            if cell_type == "code":
                cell["outputs"], cell["execution_count"] = [], None
            else:
                cell.pop("outputs", None)
                cell.pop("execution_count", None)
        meta["nbgrader"] = self._meta(gid, known, grades, solutions, tasks)

    def _deduplicate(self, nb) -> None:
        seen = set()
        for cell in reversed(nb.cells):
            gid = (cell["metadata"].get("nbgrader") or {}).get("grade_id")
            if gid is None:
                continue
            if gid in seen:
                self.log.warning("Cell id %r appears more than once; the earlier copy becomes a plain cell", gid)
                del cell["metadata"]["nbgrader"]
            seen.add(gid)

    def _restore_missing(self, nb, order, known, grades, solutions, tasks) -> None:
        present = {(c["metadata"].get("nbgrader") or {}).get("grade_id"): c for c in nb.cells}
        used_ids = {c.get("id") for c in nb.cells}
        for k, gid in enumerate(order):
            if gid in present:
                continue
            self.log.warning("Cell %r is missing from the submission; putting the released version back", gid)
            cell_type, locked, text = known[gid]
            new = (nbformat.v4.new_code_cell(text) if cell_type == "code" else nbformat.v4.new_markdown_cell(text))
            if gid not in used_ids:
                new["id"] = gid
            new["metadata"]["nbgrader"] = self._meta(gid, known, grades, solutions, tasks)
            if locked:
                new["metadata"].update(deletable=False, editable=False)
            before = next((present[g] for g in reversed(order[:k]) if g in present), None)
            position = 0 if before is None else next(i for i, c in enumerate(nb.cells) if c is before) + 1
            nb.cells.insert(position, new)
            present[gid] = new
            used_ids.add(new.get("id"))


# ----------------------------------------------------------------------------------------------
# the verdict on each test cell


def _error(evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename="CheckNotPassed", evalue=evalue,
                        traceback=[f"CheckNotPassed: {evalue}"])


def verdict(cell, reference: list) -> str | None:
    """None if the executed test ``cell`` earns its points against the ``reference`` records."""
    if rec.has_error(cell):
        return "the test cell raised an error"
    from labkit.checks import judge

    got = rec.cell_records(cell)
    if len(got) != len(reference):
        return (f"the test cell recorded {len(got)} checks where the reference solution records {len(reference)}; "
                "the checks did not run as written")
    for i, (record, ref) in enumerate(zip(got, reference), 1):
        why = judge(record, ref)
        if why is not None:
            return f"check {i}: {why}"
    return None


class VerifyChecks(NbGraderPreprocessor):
    """Score test cells from their check records compared with the reference solution's."""

    source_directory = Unicode("", help="the course's source folder (default: CourseDirectory's)").tag(config=True)
    cache_directory = Unicode("", help="where reference records are cached").tag(config=True)
    solution_timeout = Integer(120, help="per-cell timeout when running the reference solution").tag(config=True)

    def _paths(self, resources):
        info = resources["nbgrader"]
        root = Path(self.config.CourseDirectory.get("root", os.getcwd()))
        source = Path(self.source_directory or root / self.config.CourseDirectory.get("source_directory", "source"))
        cache = Path(self.cache_directory or root / ".grading-cache")
        return source / info["assignment"] / f"{info['notebook']}.ipynb", cache

    def preprocess(self, nb, resources):
        source_nb, cache = self._paths(resources)
        reference = rec.solution_records(source_nb, cache, timeout=self.solution_timeout, log=self.log)
        for cell in nb.cells:
            if not rec.is_test_cell(cell):
                continue
            gid = rec.grade_id(cell)
            cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("output_type") != "execute_result"]
            rec.stderr_as_notes(cell)
            why = verdict(cell, reference.get(gid, []))
            if gid not in reference:
                why = f"test cell {gid!r} is not in the reference solution"
            if why is not None:
                self.log.info("Test cell %s earns nothing: %s", gid, why)
                cell["outputs"].insert(0, _error(why))
        return nb, resources
