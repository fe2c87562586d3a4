"""A throw-away copy of the course for trying the grading pipeline end to end with real nbgrader
commands (``python -m grader time`` and the pipeline tests use it).
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .build import COURSE, generate


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("LABKIT_SCALE", None)  # nbgrader runs must pick the smoke scale themselves
    return env


class ScratchCourse:
    """``root`` holds source/, nbgrader_config.py and grader/ copied from the course, its own
    gradebook, and whatever submissions are written into it."""

    def __init__(self, root: Path, assignments: list, cache_dir: Path | None = None, course: Path = COURSE):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        for a in assignments:
            shutil.copytree(course / "source" / a, self.root / "source" / a)
        shutil.copy(course / "nbgrader_config.py", self.root / "nbgrader_config.py")
        if (course / "rubrics").is_dir():
            shutil.copytree(course / "rubrics", self.root / "rubrics")
        shutil.copytree(course / "grader", self.root / "grader", ignore=shutil.ignore_patterns("__pycache__"))
        self.cache_dir = Path(cache_dir) if cache_dir else self.root / ".grading-cache"
        generate(self.root, assignments)

    def nbgrader(self, *args, log_name: str | None = None, timeout: int = 3600) -> tuple:
        """Run an nbgrader command in the scratch course; returns (exit code, seconds, log text)."""
        cmd = [str(Path(sys.executable).parent / "nbgrader"), *args,
               f"--VerifyChecks.cache_directory={self.cache_dir}"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=self.root, env=_env(), capture_output=True, text=True, timeout=timeout)
        seconds = time.perf_counter() - start
        text = proc.stdout + proc.stderr
        if log_name:
            (self.root / f"{log_name}.log").write_text(text)
        return proc.returncode, seconds, text

    def autograde(self, assignment: str, *extra, force: bool = True, log_name: str = "autograde"):
        args = ["autograde", assignment, *(["--force"] if force else []), *extra]
        return self.nbgrader(*args, log_name=log_name)

    def grades(self, assignment: str) -> dict:
        """student id -> autograded score of ``assignment`` (from nbgrader export)."""
        out = self.root / "grades.csv"
        code, _, text = self.nbgrader("export", f"--to={out}")
        if code != 0:
            raise RuntimeError(f"nbgrader export failed:\n{text[-3000:]}")
        with open(out) as fh:
            return {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(fh)
                    if row["assignment"] == assignment}

    def cell_scores(self, assignment: str) -> dict:
        """student id -> {grade cell id: (auto score, max score)} from the gradebook."""
        from nbgrader.api import Gradebook

        result = {}
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            for sub in gb.assignment_submissions(assignment):
                cells = {}
                for nb in sub.notebooks:
                    for g in nb.grades:
                        cells[g.name] = (g.auto_score, g.max_score)
                result[sub.student.id] = cells
        return result

    def gradebook_rows(self, assignment: str) -> dict:
        """Everything autograding writes to the gradebook, per student: the submission's timestamp,
        and per notebook its late penalty and per cell (auto score, needs manual grade, auto comment)."""
        from nbgrader.api import Gradebook

        rows = {}
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            for sub in gb.assignment_submissions(assignment):
                nbs = {}
                for nb in sub.notebooks:
                    cells = {g.name: [g.auto_score, g.needs_manual_grade, None] for g in nb.grades}
                    for c in nb.comments:
                        cells.setdefault(c.name, [None, None, None])[2] = c.auto_comment
                    nbs[nb.name] = {"late_penalty": nb.late_submission_penalty, "cells": cells}
                rows[sub.student.id] = {"timestamp": sub.timestamp, "notebooks": nbs}
        return rows

    def start_grader(self, *args) -> subprocess.Popen:
        """Start ``python -m grader ...`` in the scratch course (output: stdout, with stderr)."""
        cache = (f"--cache-dir={self.cache_dir}" if args[0] == "reference"
                 else f"--VerifyChecks.cache_directory={self.cache_dir}")
        return subprocess.Popen([sys.executable, "-m", "grader", *args, cache], cwd=self.root, env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def grader(self, *args, timeout: int = 3600) -> tuple:
        """Run ``python -m grader ...`` in the scratch course; returns (exit code, seconds, output)."""
        start = time.perf_counter()
        proc = self.start_grader(*args)
        try:
            out = proc.communicate(timeout=timeout)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        return proc.returncode, time.perf_counter() - start, out

    def autograded(self, student: str, assignment: str, notebook: str) -> Path:
        return self.root / "autograded" / student / assignment / notebook
