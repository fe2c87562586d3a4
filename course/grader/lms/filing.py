"""Filing what an LMS download holds as nbgrader expects it: ``submitted/<id>/<assignment>/``.

Each LMS module (canvas.py, moodle.py) turns its zip into :class:`Upload` records, one per file,
with the student already looked up in the roster (or the reason not). Here the uploads are
grouped per student, the latest upload of each notebook wins, renamed notebooks ("Copy of
warmup.ipynb", "warmup (1).ipynb", "warmup-1.ipynb") are matched to the assignment's notebook
when exactly one candidate remains, and each student's folder is written in one step, with the
submission time in ``timestamp.txt`` where the LMS gives one.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

MAX_NOTEBOOK_BYTES = 64 * 2**20  # a notebook with plots is a few MB; larger is not a hand-in
RENAMES = (re.compile(r"^copy of\s+", re.I), re.compile(r"\s*\(\d+\)$"), re.compile(r"-\d+$"),
           re.compile(r"\s+copy$", re.I))


@dataclass
class Upload:
    entry: str  # the name in the zip
    uploaded: str  # the file name the student gave it
    student: object = None  # roster.Student, or None with ``why``
    why: str = ""
    time: datetime | None = None  # aware
    order: tuple = ()  # later uploads sort after earlier ones
    late: bool = False  # the LMS marked it late
    data: bytes = b""
    meta: dict = field(default_factory=dict)  # what the export needs again (LMS ids)


@dataclass
class Filed:
    student: str
    notebooks: dict  # notebook name -> the upload's name
    time: datetime | None
    late: bool
    meta: dict = field(default_factory=dict)  # notebook -> its upload's meta


@dataclass
class ImportReport:
    assignment: str
    filed: list = field(default_factory=list)
    unmatched: list = field(default_factory=list)  # (zip entry, why)
    ignored: list = field(default_factory=list)  # (zip entry, why): not a notebook, an older upload
    deadline: list = field(default_factory=list)  # the due date written into the gradebook

    def lines(self) -> list:
        out = [f"{self.assignment}: {len(self.filed)} students filed into submitted/, "
               f"{len(self.unmatched)} files not matched, {len(self.ignored)} ignored"]
        for f in self.filed:
            when = f.time.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if f.time else "no time given"
            out.append(f"  {f.student}: {', '.join(f'{n}.ipynb <- {u}' for n, u in sorted(f.notebooks.items()))}"
                       f" ({when}{', marked late' if f.late else ''})")
        out += [f"  NOT MATCHED {entry}: {why}" for entry, why in self.unmatched]
        out += [f"  ignored {entry}: {why}" for entry, why in self.ignored]
        out += [f"  deadline {line}" for line in self.deadline]
        if self.unmatched:
            out.append("Files not matched were not filed: fix the roster (or file them by hand) and import again;"
                       " what was filed stays as it is.")
        return out


def read_zip(path: Path) -> list:
    """(entry name, bytes, zip date_time) of every file in the zip; ValueError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} does not exist: give the zip the LMS's download gave you")
    try:
        with zipfile.ZipFile(path) as zf:
            out = []
            for info in zf.infolist():
                if info.is_dir():
                    continue
                data = zf.read(info) if info.file_size <= MAX_NOTEBOOK_BYTES else None
                out.append((info.filename, data, info.date_time))
            return out
    except zipfile.BadZipFile:
        raise ValueError(f"{path} is not a zip file: download the submissions again") from None


def notebook_name(uploaded: str, notebooks: list) -> tuple:
    """(the assignment's notebook this upload is, None) or (None, why)."""
    stem, ext = os.path.splitext(os.path.basename(uploaded))
    if ext.lower() != ".ipynb":
        return None, "not a notebook (.ipynb)"
    by_key = {n.lower(): n for n in notebooks}
    key = stem.strip().lower()
    while key not in by_key:
        cleaned = key
        for pattern in RENAMES:
            cleaned = pattern.sub("", cleaned).strip()
        if cleaned == key:
            break
        key = cleaned
    if key in by_key:
        return by_key[key], None
    if len(notebooks) == 1:
        return notebooks[0], None
    return None, f"{uploaded!r} is none of the assignment's notebooks ({', '.join(n + '.ipynb' for n in notebooks)})"


def _choose(uploads: list, notebooks: list, report: ImportReport) -> dict:
    """notebook -> the upload filed as it, for one student's uploads."""
    named = {}
    for u in sorted(uploads, key=lambda u: u.order):
        name, why = notebook_name(u.uploaded, notebooks)
        if name is None:
            (report.ignored if "not a notebook" in why else report.unmatched).append((u.entry, why))
        elif u.data is None:
            report.unmatched.append((u.entry, f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MB"))
        else:
            named.setdefault(name, []).append(u)
    chosen = {}
    for name, candidates in named.items():
        exact = [u for u in candidates if os.path.splitext(u.uploaded)[0].lower() == name.lower()]
        if len(candidates) > 1 and len({os.path.splitext(u.uploaded)[0].lower() for u in candidates}) > 1 \
                and not candidates[-1].order and not exact:
            for u in candidates:
                report.unmatched.append((u.entry, f"{len(candidates)} files could be {name}.ipynb: not guessed"))
            continue
        chosen[name] = candidates[-1]  # the latest upload
        for u in candidates[:-1]:
            report.ignored.append((u.entry, f"an earlier upload of {name}.ipynb"))
    return chosen


def _timestamp(time: datetime) -> str:
    return time.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _write(folder: Path, chosen: dict, time: datetime | None) -> None:
    """Replace ``folder`` by the chosen notebooks in one rename (a half-written folder is never graded)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".lms-", dir=folder.parent))
    for name, u in chosen.items():
        (tmp / f"{name}.ipynb").write_bytes(u.data)
    if time is not None:
        (tmp / "timestamp.txt").write_text(_timestamp(time))
    old = folder.with_name(folder.name + ".replaced")
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def file_uploads(course: Path, assignment: str, notebooks: list, uploads: list) -> ImportReport:
    """File ``uploads`` into ``course/submitted/<id>/<assignment>/``; returns what was done."""
    report = ImportReport(assignment)
    per_student = {}
    for u in uploads:
        if u.student is None:
            report.unmatched.append((u.entry, u.why))
        else:
            per_student.setdefault(u.student.id, []).append(u)
    for student, mine in sorted(per_student.items()):
        chosen = _choose(mine, notebooks, report)
        if not chosen:
            continue
        times = [u.time for u in chosen.values() if u.time is not None]
        time = max(times) if times else None
        _write(Path(course) / "submitted" / student / assignment, chosen, time)
        report.filed.append(Filed(student, {n: u.uploaded for n, u in chosen.items()}, time,
                                  any(u.late for u in chosen.values()), {n: u.meta for n, u in chosen.items()}))
    return report
