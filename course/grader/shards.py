"""Grading a class across machines: ``--shard i/n`` of ``python -m grader autograde`` grades one
shard into a folder of its own (grader/autograde.py); ``python -m grader merge`` writes the shards'
results into the course's gradebook (:func:`merge_shards`). Usage: course/README.md.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from .autograde import Report, load_app
from .gradebook import MergeError, writer_url
from .results import commit


def parse_shard(text: str) -> tuple:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard takes i/n, for example 0/4 (the first of four), not {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"--shard {text}: i counts from 0 and must be below n (0/{max(n, 1)} ... {max(n, 1) - 1}/{max(n, 1)})")
    return i, n


def _read_shards(assignment: str, folders: list) -> list:
    """(folder, shard.json) of every folder, all checked before anything is written."""
    found = []
    for folder in map(Path, folders):
        meta_path = folder / "shard.json"
        if not meta_path.exists():
            raise ValueError(f"{folder} is not a shard folder (it has no shard.json): give the folders "
                             "that `python -m grader autograde --shard i/n` wrote")
        meta = json.loads(meta_path.read_text())
        if meta.get("assignment") != assignment:
            raise ValueError(f"{folder} holds {meta.get('assignment')!r}, not {assignment!r}")
        found.append((folder, meta))
    return found


def merge_shards(assignment: str, folders: list, overrides=()) -> Report:
    """Write the shards' results into the course's gradebook (``python -m grader merge``)."""
    from nbgrader.api import Gradebook

    app = load_app(assignment, list(overrides))
    cd = app.coursedir
    shards = _read_shards(assignment, folders)
    report, seen, sets = Report(assignment), {}, {}
    start = time.perf_counter()
    with Gradebook(writer_url(cd.db_url), cd.course_id) as gb:
        for folder, meta in shards:
            sets.setdefault(meta["of"], set()).add(meta["shard"])
            if not meta.get("finished"):
                report.problems.append(f"shard {meta['shard']}/{meta['of']} ({folder}) did not finish: its "
                                       "finished submissions are merged, the others are listed as failed")
            for student in meta["students"]:
                if student in seen:
                    report.problems.append(f"{student} is in two shards ({seen[student]} and {folder}): merged once")
                    continue
                seen[student] = folder
                out = folder / "submissions" / student
                if student in meta["skipped"]:
                    report.skipped.append(student)
                elif not (out / "result.json").exists():
                    report.failed[student] = meta["failed"].get(student, "the shard has no result for it")
                else:
                    try:
                        commit(gb, cd, out, move=False, assignment=assignment)
                        report.graded.append(student)
                    except (MergeError, OSError, ValueError) as err:
                        report.failed[student] = f"its result could not be written to the gradebook: {err}"
    for n, found in sets.items():
        missing = sorted(set(range(n)) - found)
        if missing:
            report.problems.append(f"shards {', '.join(f'{i}/{n}' for i in missing)} were not given")
    report.seconds = time.perf_counter() - start
    return report
