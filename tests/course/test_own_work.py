"""A part graded on the student's own code: an answer that only calls labkit's implementation (or a
routine the part forbids) passes its visible checks without the test cell's `checks.own_work` line,
and fails them, saying why, with it.

The solution notebook runs in this process (plain Python, the smoke scale), up to the last test cell
of a part that has a labkit twin, with the twins in place of the answers; the pipeline test grades
the same answers (`uses_labkit` in submissions.py) through nbgrader and the sandbox.
"""
import contextlib
import io
import os
import re
import sys
from pathlib import Path
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "course"))

import submissions as subs  # noqa: E402

OWN_WORK = re.compile(r"^checks\.own_work\((?:[^()]*)\)\n", re.M)


def _run(nb, nbk, guarded: bool) -> dict:
    """grade_id -> the exception the test cell raised (None if it passed), for the twins' parts."""
    from labkit import checks

    twins = subs.LABKIT_TWINS[nbk.assignment]
    tests = {t for p in nbk.parts if p.answer in twins for t in p.tests}
    last = max(i for i, c in enumerate(nb.cells) if subs.nbgrader_meta(c).get("grade_id") in tests)
    namespace, raised = {"__name__": "__main__"}, {}
    with mock.patch.dict(os.environ, LABKIT_SCALE="smoke", MPLBACKEND="Agg", LABKIT_PROGRESS="0"), \
            contextlib.redirect_stdout(io.StringIO()):
        for cell in nb.cells[:last + 1]:
            gid = subs.nbgrader_meta(cell).get("grade_id")
            if cell.cell_type != "code" or gid == "setup":
                continue
            source = cell.source if guarded else OWN_WORK.sub("", cell.source)
            try:
                exec(compile(source, f"<cell {gid}>", "exec"), namespace)
            except Exception as err:  # noqa: BLE001 (recorded for the assertions)
                if gid not in tests:
                    raise
                raised[gid] = err
            finally:
                checks.own_work()  # the end of a cell ends its guard, as in IPython
            raised.setdefault(gid, None)
    return {gid: raised.get(gid) for gid in tests}


@pytest.mark.parametrize("assignment", sorted(subs.LABKIT_TWINS))
def test_labkit_twins_pass_only_without_the_guard(assignment):
    from labkit import checks

    nbk, = subs.notebooks(assignment)
    twins = subs.LABKIT_TWINS[assignment]
    nb, _ = subs.uses_labkit(nbk)
    for part in (p for p in nbk.parts if p.answer in twins):
        assert any(OWN_WORK.search(c.source) for c in nb.cells if subs.nbgrader_meta(c).get("grade_id") in part.tests)
    unguarded = _run(nb, nbk, guarded=False)
    assert all(err is None for err in unguarded.values()), unguarded  # the twins are right
    guarded = _run(nb, nbk, guarded=True)
    for part in (p for p in nbk.parts if p.answer in twins):  # each twin's part fails, saying why
        errors = [guarded[t] for t in part.tests if guarded[t] is not None]
        assert errors and all(isinstance(e, checks.OwnWorkRequired) for e in errors), (part.answer, guarded)
        assert "asks for your own implementation" in str(errors[0])
