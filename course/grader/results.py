"""A graded submission's folder (``result.json``, ``autograded/``, ``log.txt``, written by
grader/worker.py), and putting it into the course: the gradebook and ``autograded/``."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .gradebook import merge, read_result

LOGS = ".grading-logs"  # in the course folder: <assignment>/<student>.log


def commit(gb, cd, out: Path, move: bool, assignment: str | None = None) -> None:
    """Write the result in ``out`` (a student's folder of a run) into the gradebook and the course.

    The new autograded folder is first put beside the old one; the old one is set aside, the grades
    are committed (one transaction), and only then is the new folder put in place. A run stopped in
    between leaves the submission without an autograded folder, so the next run grades it again.
    """
    from .gradebook import MergeError

    result = read_result(out / "result.json")
    if result["student"] != out.name or (assignment and result["assignment"] != assignment):
        raise MergeError(f"{out} holds the result of {result['student']!r} for {result['assignment']!r}")
    if not (out / "autograded").is_dir():
        raise MergeError(f"{out} has no autograded folder")
    dest = Path(cd.format_path(cd.autograded_directory, result["student"], result["assignment"]))
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged, old = (dest.with_name(f"{dest.name}.{what}-{os.getpid()}") for what in ("incoming", "replaced"))
    for p in (staged, old):
        shutil.rmtree(p, ignore_errors=True)
    if move:
        (out / "autograded").rename(staged)
    else:
        shutil.copytree(out / "autograded", staged, symlinks=True)
    had_old = dest.exists()
    if had_old:
        dest.rename(old)
    try:
        merge(gb, result)
    except BaseException:
        if had_old:
            old.rename(dest)
        shutil.rmtree(staged, ignore_errors=True)
        raise
    staged.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    logs = Path(cd.root) / LOGS / result["assignment"]
    logs.mkdir(parents=True, exist_ok=True)
    if (out / "log.txt").exists():
        shutil.copy(out / "log.txt", logs / f"{result['student']}.log")
