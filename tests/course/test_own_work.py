"""A part graded on the student's own code: an answer that only calls labkit's implementation (or a
routine the part forbids) passes its visible checks without the test cell's `checks.own_work` line,
and fails them, saying why, with it. Run in an ordinary kernel at the smoke scale; the pipeline test
grades the same answers (`uses_labkit` in submissions.py) through nbgrader and the sandbox."""
import os
import re
import sys
from pathlib import Path
from unittest import mock

import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "course"))

import submissions as subs  # noqa: E402

pytestmark = pytest.mark.slow
OWN_WORK = re.compile(r"^checks\.own_work\((?:[^()]*)\)\n", re.M)


def _test_cells(nb, nbk, answers):
    ids = {t for p in nbk.parts if p.answer in answers for t in p.tests}
    return [c for c in nb.cells if subs.nbgrader_meta(c).get("grade_id") in ids]


def _run(nb):
    with mock.patch.dict(os.environ, LABKIT_SCALE="smoke", MPLBACKEND="Agg", LABKIT_PROGRESS="0",
                         LABKIT_PREFLIGHT="0"):
        NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(ROOT)}}).execute()


def _errors(cell):
    return [o for o in cell.outputs if o.get("output_type") == "error"]


@pytest.mark.parametrize("assignment", sorted(subs.LABKIT_TWINS))
def test_labkit_twins_pass_only_without_the_guard(assignment):
    nbk, = subs.notebooks(assignment)
    twins = subs.LABKIT_TWINS[assignment]
    guarded, _ = subs.uses_labkit(nbk)
    unguarded, _ = subs.uses_labkit(nbk)
    for cell in _test_cells(unguarded, nbk, twins):
        assert OWN_WORK.search(cell.source), f"{assignment}: {subs.nbgrader_meta(cell)['grade_id']} has no own_work line"
        cell.source = OWN_WORK.sub("", cell.source)
    _run(unguarded)
    _run(guarded)
    for cell in _test_cells(unguarded, nbk, twins):  # the positive control: the twins are right
        assert not _errors(cell), f"{assignment} {subs.nbgrader_meta(cell)['grade_id']}: {_errors(cell)[0]['evalue']}"
    for part in (p for p in nbk.parts if p.answer in twins):  # each twin's part fails, saying why
        errors = [e for c in _test_cells(guarded, nbk, {part.answer}) for e in _errors(c)]
        assert errors and all(e["ename"] == "OwnWorkRequired" for e in errors), part.answer
        assert "asks for your own implementation" in errors[0]["evalue"]
    others = [c for c in guarded.cells if subs.nbgrader_meta(c).get("grade") and c.cell_type == "code"
              and c not in _test_cells(guarded, nbk, twins)]
    assert not any(_errors(c) for c in others), "the other parts are graded as before"
