"""The check before hand-in (`checks.preflight`): it runs the saved notebook as the grader will and
reports errors, unanswered parts, slow cells, the visible tests' points and the expected file name."""
import os
import re
import shutil
import sys
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from nbclient import NotebookClient

from labkit import checks, preflight

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_a_blank_exercise_under_another_name_is_told_what_is_missing(tmp_path):
    path = tmp_path / "Copy of warmup.ipynb"  # what Colab's "Save a copy in Drive" hands in
    shutil.copy(ROOT / "exercises" / "00-warmup" / "warmup.ipynb", path)
    report = preflight.run(path, expected="warmup.ipynb")
    assert report["unanswered"] == ["train_model", "per_class"]
    assert report["written"] == ["written_answer"] and not any(t["passed"] for t in report["tests"])
    text = "\n".join(preflight.lines(report))
    assert "collects 'warmup.ipynb': rename it" in text and "Visible tests: 0 of 5 points" in text


def test_slow_cells_and_the_time_limits(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in (
        "import time\ntime.sleep(2.5)", "time.sleep(30)", "x = 1", "x = 2")])
    nbformat.write(nb, tmp_path / "n.ipynb")
    report = preflight.run(tmp_path / "n.ipynb", cell_timeout=4, notebook_timeout=5)
    assert report["slow"][0].startswith("cell 1: 2 s") or report["slow"][0].startswith("cell 1: 3 s")
    assert any(e.startswith("cell 2") for e in report["errors"])  # interrupted at its limit
    assert "ran past 5 s" in (report["stopped"] or "")


def test_the_limits_are_the_graders():
    config = (ROOT / "course" / "nbgrader_config.py").read_text()
    assert f"c.GuardedExecute.timeout = {preflight.CELL_TIMEOUT}\n" in config
    assert f"c.GuardedExecute.notebook_timeout = {preflight.NOTEBOOK_TIMEOUT}  " in config


def test_the_last_cell_of_every_exercise_runs_it_from_the_students_kernel(tmp_path):
    for path in (ROOT / "exercises").glob("*/*.ipynb"):
        assert nbformat.read(path, as_version=4).cells[-1].source == f'checks.preflight("{path.name}")'
    shutil.copy(ROOT / "solutions" / "00-warmup" / "warmup.ipynb", tmp_path / "warmup.ipynb")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        'from labkit import checks\nreport = checks.preflight("warmup.ipynb")')])
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "LABKIT_PREFLIGHT")}
    with mock.patch.dict(os.environ, env, clear=True):
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "Visible tests: 5 of 5 points" in text, text  # a finished exercise, run from its own kernel
    assert "✓ file name 'warmup.ipynb'" in text and "✗" not in text
    with mock.patch.dict(os.environ, NBGRADER_EXECUTION="autograde"):
        assert checks.preflight("warmup.ipynb") is None  # never while grading
    assert re.search(r"\d", text) and sys.executable
