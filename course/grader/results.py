"""A graded submission's folder (``result.json``, ``autograded/``, ``log.txt``, written by
grader/worker.py), and putting it into the course: the gradebook and ``autograded/``."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .gradebook import merge, read_result

LOGS = ".grading-logs"  # in the course folder: <assignment>/<student>.log


def place(graded: Path, dest: Path, move: bool) -> Path | None:
    """Put an autograded folder at ``dest``; returns where the one it replaced was set aside."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if dest.exists():
        old = dest.with_name(f"{dest.name}.replaced-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        dest.rename(old)
    if move:
        graded.rename(dest)
    else:
        shutil.copytree(graded, dest, symlinks=True)
    return old


def commit(gb, cd, out: Path, move: bool) -> None:
    """Write the result in ``out`` (a student's folder of a run) into the gradebook and the course."""
    result = read_result(out / "result.json")
    dest = Path(cd.format_path(cd.autograded_directory, result["student"], result["assignment"]))
    old = place(out / "autograded", dest, move)
    try:
        merge(gb, result)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        if old is not None:
            old.rename(dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    logs = Path(cd.root) / LOGS / result["assignment"]
    logs.mkdir(parents=True, exist_ok=True)
    if (out / "log.txt").exists():
        shutil.copy(out / "log.txt", logs / f"{result['student']}.log")
