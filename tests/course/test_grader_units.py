"""Fast checks of the grading pipeline's pieces (the end-to-end runs are in test_grading_pipeline)."""
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "course"))

import submissions  # noqa: E402
from grader import records, verify  # noqa: E402
from grader.build import find_assignments  # noqa: E402


@pytest.mark.parametrize("content", [b"{not json", json.dumps({"cells": 3}).encode(), b"\xff\xfe\x00garbage",
                                     json.dumps([1, 2]).encode()])
def test_unreadable_submissions_are_kept_aside_and_replaced(tmp_path, content):
    path = tmp_path / "warmup.ipynb"
    path.write_bytes(content)
    assert verify.readable(path) is not None
    verify.replace_unreadable("00-warmup", "someone", [str(path)])
    assert (tmp_path / "warmup.ipynb.unreadable").read_bytes() == content
    nb = nbformat.read(path, as_version=4)
    assert verify.readable(path) is None and "could not read" in nb.cells[0].source


def test_readable_notebooks_are_left_alone(tmp_path):
    path = tmp_path / "ok.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), path)
    before = path.read_bytes()
    verify.replace_unreadable("a", "s", [str(path)])
    assert path.read_bytes() == before and not (tmp_path / "ok.ipynb.unreadable").exists()


def _cell(outputs, grade=True):
    cell = nbformat.v4.new_code_cell("checks...")
    cell.metadata["nbgrader"] = {"grade": grade, "solution": False, "grade_id": "t", "points": 1}
    cell.outputs = [nbformat.NotebookNode(o) for o in outputs]
    return cell


def _record(**kw):
    from labkit.checks import RECORD_MIME

    return {"output_type": "display_data", "metadata": {}, "data": {RECORD_MIME: json.dumps(kw)}}


def test_verdict_needs_no_error_and_matching_records():
    ref = [{"kind": "equal", "what": "n", "got": 3}]
    assert verify.verdict(_cell([_record(kind="equal", what="n", got=3)]), ref) is None
    assert "reference solution gives 3" in verify.verdict(_cell([_record(kind="equal", what="n", got=4)]), ref)
    assert "recorded 0 checks" in verify.verdict(_cell([]), ref)
    assert "recorded 2 checks" in verify.verdict(
        _cell([_record(kind="equal", what="n", got=3), _record(kind="equal", what="n", got=3)]), ref)
    error = {"output_type": "error", "ename": "ValueError", "evalue": "no", "traceback": []}
    assert "raised an error" in verify.verdict(_cell([_record(kind="equal", what="n", got=3), error]), ref)
    broken = {"output_type": "display_data", "metadata": {}, "data": {_record()["data"].popitem()[0]: "{oops"}}
    assert verify.verdict(_cell([broken]), ref) is not None


def test_stderr_in_a_test_cell_becomes_a_note_and_costs_nothing():
    ref = [{"kind": "equal", "what": "n", "got": 3}]
    cell = _cell([{"output_type": "stream", "name": "stderr", "text": "RuntimeWarning: Mean of empty slice"},
                  _record(kind="equal", what="n", got=3)])
    assert records.stderr_as_notes(cell) == 1
    assert cell.outputs[0]["name"] == "stdout" and "Mean of empty slice" in cell.outputs[0]["text"]
    assert verify.verdict(cell, ref) is None
    from nbgrader.utils import determine_grade  # what nbgrader then gives the cell

    assert determine_grade(cell)[0] == 1


def test_records_are_read_in_order_and_damaged_ones_count_as_missing():
    cell = _cell([_record(kind="true", what="a", got=True), {"output_type": "stream", "name": "stdout", "text": "x"},
                  _record(kind="true", what="b", got=False)])
    assert [r["what"] for r in records.cell_records(cell)] == ["a", "b"]


def test_defined_names_of_an_answer_cell():
    code = "data = 1\ntrain, (val, test) = 1, (2, 3)\ndef f(x):\n    y = 2\nclass C: pass\nz: int = 3\n"
    assert submissions.defined_names(code) == ["data", "train", "val", "test", "f", "C", "z"]


@pytest.mark.parametrize("assignment", find_assignments())
def test_each_assignment_has_parts_whose_points_add_up(assignment):
    for nbk in submissions.notebooks(assignment):
        parts = nbk.parts
        assert parts and all(p.tests and p.points > 0 for p in parts)
        cases = {c.name: c for c in submissions.catalogue(nbk)}
        assert cases["solution"].points == nbk.autograded_points
        assert cases["partial_even"].points + cases["partial_odd"].points == nbk.autograded_points
        alone = {f"alone{i + 1}" for i in range(len(parts))}
        assert sum(cases[name].points for name in alone) == nbk.autograded_points  # each part on its own
        assert len(parts) >= 2  # so that every part is blank in some `alone` case (no `blank` case there)
        every = {"solution", "forges_records"} | alone
        assert {c.name for c in cases.values() if c.every} == every | ({"uses_labkit"} if assignment in
                                                                        submissions.LABKIT_TWINS else set())


def test_the_private_methods_the_grader_overrides_are_checked_at_start_up():
    from grader import compat

    assert compat.problems() == []
    renamed = [("nbclient.client", "NotebookClient", "async_execute_cell_v2", ("cell",)),
               ("jupyter_client.manager", "AsyncKernelManager", "format_kernel_cmd", ("extra_args",))]
    with pytest.raises(compat.GraderIncompatible, match="async_execute_cell_v2 no longer exists") as err:
        compat.check(renamed)
    assert "format_kernel_cmd no longer takes extra_args" in str(err.value)


def test_the_grader_imports_nothing_from_the_tests():
    """course/grader is what instructors run: it may not reach into tests/ (by import or sys.path)."""
    import ast

    grader = Path(__file__).resolve().parents[2] / "course" / "grader"
    test_modules = {p.stem for p in (grader.parents[1] / "tests").rglob("*.py")} - {"__init__"}
    bad = []
    for path in sorted(grader.glob("*.py")):
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            bad += [f"{path.name} imports {n}" for n in names if n.split(".")[0] in test_modules | {"tests"}]
        if "sys.path" in text and '"tests"' in text:
            bad.append(f"{path.name} puts tests/ on sys.path")
    assert not bad, bad


def test_the_time_command_writes_the_readme_table():
    from grader import timing

    result = {"assignment": "00-warmup", "students": 30, "reference_s": 8.24, "seconds": {1: 169.3, 2: 98.7},
              "same_grades": True, "load": 2.04, "date": "2026-12-07", "machine": "2-core x86_64 Linux"}
    (row,) = timing.markdown_rows(result)
    assert row == ("| 2026-12-07 | 2-core x86_64 Linux | 00-warmup | 30 | 8.2 s | 169.3 s (5.6 s each) | "
                   "`--jobs 2`: 98.7 s (3.3 s each) | **1.72×** | yes | 2.0 |")
    assert "**no**" in timing.markdown_rows({**result, "same_grades": False})[0]
    readme = (Path(__file__).resolve().parents[2] / "course" / "README.md").read_text()
    section = re.split(r"\n##+ ", readme.split("### Grading time (measured)")[1])[0]
    assert timing.TABLE_HEADER in section, "course/README's table has the time command's columns"
    rows = [line for line in section.splitlines() if line.startswith("| 20")]
    assert rows and all(line.count("|") == timing.TABLE_HEADER.splitlines()[0].count("|") for line in rows)
