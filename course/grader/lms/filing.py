"""Filing what an LMS download holds as nbgrader expects it: ``submitted/<id>/<assignment>/``.

Each LMS module (canvas.py, moodle.py) turns its zip into :class:`Upload` records, one per file,
with the student already looked up in the roster (or the reason not). Here the uploads are
grouped per student; renamed notebooks ("Copy of warmup.ipynb", "warmup (1).ipynb",
"warmup-1.ipynb") are matched to the assignment's notebook, and :func:`_choose` says which file
wins where several could be it (never a guess between equals); each student's folder is written
in one step, with the submission time in ``timestamp.txt`` where the LMS gives one.
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
    changed: bool = True  # False: filed before exactly so
    regrade: bool = False  # handed in again after grading: its graded copy removed


@dataclass
class ImportReport:
    assignment: str
    filed: list = field(default_factory=list)
    unmatched: list = field(default_factory=list)  # (zip entry, why)
    ignored: list = field(default_factory=list)  # (zip entry, why): not a notebook, an older upload
    deadline: list = field(default_factory=list)  # the due date written into the gradebook
    notes: list = field(default_factory=list)  # what the instructor should know about the whole import

    def lines(self) -> list:
        out = [f"{self.assignment}: {len(self.filed)} students filed into submitted/, "
               f"{len(self.unmatched)} files not matched, {len(self.ignored)} ignored"]
        for f in self.filed:
            when = f.time.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if f.time else "no time given"
            state = ("; handed in again since graded: autograde grades it afresh" if f.regrade
                     else "" if f.changed else "; unchanged since the last import")
            out.append(f"  {f.student}: {', '.join(f'{n}.ipynb <- {u}' for n, u in sorted(f.notebooks.items()))}"
                       f" ({when}{', marked late' if f.late else ''}{state})")
        out += [f"  NOT MATCHED {entry}: {why}" for entry, why in self.unmatched]
        out += [f"  ignored {entry}: {why}" for entry, why in self.ignored]
        out += [f"  deadline {line}" for line in self.deadline]
        out += [f"NOTE {note}" for note in self.notes]
        if self.unmatched:
            out.append("Files not matched were not filed: fix the roster (or file them by hand) and import again;"
                       " what was filed stays as it is.")
        return out


SKIPPED = re.compile(r"(^|/)(__MACOSX/|\._|\.DS_Store$|Thumbs\.db$)")  # what a desktop's zip tool adds


def read_zip(path: Path) -> list:
    """(entry name, bytes or None when too large, zip date_time) of every file in the zip but a
    desktop's own (``__MACOSX/``, ``._*``, ``.DS_Store``); ValueError if it is not a zip."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} does not exist: give the zip the LMS's download gave you")
    try:
        with zipfile.ZipFile(path) as zf:
            out = []
            for info in zf.infolist():
                if info.is_dir() or SKIPPED.search(info.filename):
                    continue
                data = zf.read(info) if info.file_size <= MAX_NOTEBOOK_BYTES else None
                out.append((info.filename, data, info.date_time))
            return out
    except zipfile.BadZipFile:
        raise ValueError(f"{path} is not a zip file: download the submissions again") from None


EXACT, RENAMED, ONLY = 0, 1, 2  # how an upload's name matched: as it is, renamed, the only notebook


def _unrename(key: str, wanted: dict) -> str | None:
    """The notebook ``key`` is after taking off renamings one at a time ("copy of x (1)" -> "x"),
    or None; a notebook whose own name ends like a renaming ("lab-1") is found before it is cut."""
    frontier, seen = {key}, set()
    while frontier:
        hits = sorted(k for k in frontier if k in wanted)
        if hits:
            return wanted[hits[0]]
        seen |= frontier
        frontier = {p.sub("", k, count=1).strip() for k in frontier for p in RENAMES} - seen
    return None


def match(uploaded: str, notebooks: list) -> tuple:
    """(notebook, EXACT | RENAMED | ONLY, None) for the assignment's notebook this upload is, or
    (None, None, why)."""
    stem, ext = os.path.splitext(os.path.basename(uploaded))
    if ext.lower() != ".ipynb":
        return None, None, "not a notebook (.ipynb)"
    wanted = {n.lower(): n for n in notebooks}
    key = stem.strip().lower()
    if key in wanted:
        return wanted[key], EXACT, None
    name = _unrename(key, wanted)
    if name is not None:
        return name, RENAMED, None
    if len(notebooks) == 1:
        return notebooks[0], ONLY, None
    return None, None, f"{uploaded!r} is none of the assignment's notebooks ({', '.join(n + '.ipynb' for n in notebooks)})"


def notebook_name(uploaded: str, notebooks: list) -> tuple:
    """(the assignment's notebook this upload is, None) or (None, why)."""
    name, _, why = match(uploaded, notebooks)
    return name, why


def _choose(uploads: list, notebooks: list, report: ImportReport) -> dict:
    """notebook -> the upload filed as it, for one student's uploads.

    Where the LMS orders the uploads (Canvas's file ids), the latest that is the notebook by name,
    as it is or renamed, wins (Canvas renames a re-upload itself); a file that is the notebook
    only for being the one notebook of the assignment counts only when there is no other. Without
    an order (Moodle), the name as it is wins, then one renamed file, then one other; between
    several equally good files nothing is guessed."""
    named = {}
    for u in uploads:
        name, kind, why = match(u.uploaded, notebooks)
        if name is None:
            (report.ignored if "not a notebook" in why else report.unmatched).append((u.entry, why))
        elif u.data is None:
            report.unmatched.append((u.entry, f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MB"))
        else:
            named.setdefault(name, []).append((kind, u))
    chosen = {}
    for name, candidates in named.items():
        ordered = all(u.order for _, u in candidates)
        rank = (lambda kind: int(kind == ONLY)) if ordered else (lambda kind: kind)
        best = min(rank(k) for k, _ in candidates)
        top = sorted((u for k, u in candidates if rank(k) == best), key=lambda u: u.order)
        if len(top) > 1 and not ordered:
            for u in top:
                report.unmatched.append((u.entry, f"{len(top)} files could be {name}.ipynb: not guessed "
                                                  "(file the right one by hand)"))
            continue
        chosen[name] = top[-1]
        for _, u in candidates:
            if u is not top[-1]:
                report.ignored.append((u.entry, f"an earlier upload of {name}.ipynb" if ordered and u in top else
                                       f"{top[-1].uploaded!r} is a closer match for {name}.ipynb"))
    return chosen


def _timestamp(time: datetime) -> str:
    return time.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _files(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}


def _write(folder: Path, chosen: dict, time: datetime | None) -> bool:
    """Replace ``folder`` by the chosen notebooks in one rename (a half-written folder is never
    graded); True when what it holds changed."""
    files = {f"{name}.ipynb": u.data for name, u in chosen.items()}
    if time is not None:
        files["timestamp.txt"] = _timestamp(time).encode()
    if _files(folder) == files:
        return False
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".lms-", dir=folder.parent))
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    old = folder.with_name(folder.name + ".replaced")
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return True


def file_uploads(course: Path, assignment: str, notebooks: list, uploads: list, autograded=None) -> ImportReport:
    """File ``uploads`` into ``course/submitted/<id>/<assignment>/``; returns what was done.

    ``autograded(student)`` is the folder of the student's graded copy: when a student's hand-in
    changed since it was graded, that copy is removed, so that autograde grades it again even
    without a newer submission time (Canvas gives none)."""
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
        changed = _write(Path(course) / "submitted" / student / assignment, chosen, time)
        graded = autograded(student) if autograded else None
        regrade = bool(changed and graded is not None and graded.exists())
        if regrade:
            shutil.rmtree(graded)
        report.filed.append(Filed(student, {n: u.uploaded for n, u in chosen.items()}, time,
                                  any(u.late for u in chosen.values()), {n: u.meta for n, u in chosen.items()},
                                  changed, regrade))
    return report
