"""``python -m grader autograde``: nbgrader's autograde, in parallel.

A run grades the chosen submissions of one assignment, ``jobs`` at a time, each in its own grading
process (grader/worker.py) with its own copy of the gradebook, exactly as ``nbgrader autograde``
grades them (the same converter, configuration and sandbox). The reference solution's records are
computed once, before the processes start. This process is the only one that writes the course's
gradebook: each finished submission is written in one transaction and its autograded folder put in
place, so a run that stops half-way keeps every grade it finished.

With ``--shard i/n`` the run grades every n-th submission (the i-th of n shards, i from 0) into a
shard folder and leaves the gradebook alone; ``python -m grader merge`` (grader/shards.py) later
writes the shards into the gradebook. How to use both: course/README.md ("Grading a class in
parallel").
"""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import deadlines
from .gradebook import MergeError, snapshot, sqlite_path, writer_url
from .pool import Pool, cores
from .progress import Progress
from .results import LOGS, commit

WORKER_MEMORY = 2**29  # a grading process itself (nbgrader, nbconvert), besides its kernel


@dataclass
class Report:
    assignment: str
    graded: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # student -> why
    skipped: list = field(default_factory=list)  # graded before, and not handed in again since
    empty: list = field(default_factory=list)  # a submitted folder without notebooks (nbgrader skips it too)
    problems: list = field(default_factory=list)  # what is wrong beyond single students (merge)
    seconds: float = 0.0
    jobs: int = 0
    logs: str = ""  # where a failed submission's log is, with {student}

    def lines(self, rerun: str) -> list:
        out = [f"{self.assignment}: {len(self.graded)} graded, {len(self.failed)} failed, "
               f"{len(self.skipped)} already graded (--force grades them again); {self.seconds:.1f} s"
               + (f" with {self.jobs} job{'s' if self.jobs != 1 else ''}" if self.jobs else "")]
        for student in self.empty:
            out.append(f"  skipped {student}: the submitted folder holds no notebook")
        for student, why in sorted(self.failed.items()):
            out.append(f"  FAILED {student}: {why}" + (f" (log: {self.logs.format(student=student)})" if self.logs else ""))
        out += [f"  {problem}" for problem in self.problems]
        if self.failed:
            out.append("Grade them again alone with: " + rerun + " " + " ".join(f"--student {s}" for s in sorted(self.failed)))
        return out

    @property
    def ok(self) -> bool:
        return not self.failed and not self.problems


def load_app(assignment: str, overrides: list):
    """nbgrader's autograde app with the course's configuration (run from the course folder)."""
    from nbgrader.apps.autogradeapp import AutogradeApp

    app = AutogradeApp()
    app.initialize([assignment, "--NbGrader.logfile=", *overrides])
    return app


DEFAULT_LAYOUT = "{nbgrader_step}/{student_id}/{assignment_id}"


def submissions(cd, assignment: str, patterns: list) -> tuple:
    """(sorted ids of the students whose submitted folder for ``assignment`` matches a pattern and
    holds a notebook, ids of those whose folder holds none); ``student_id_exclude`` is left out."""
    excluded = set(filter(None, (cd.student_id_exclude or "").split(",")))
    found, empty = [], []
    for path in (Path(cd.root) / cd.submitted_directory).glob(f"*/{assignment}"):
        student = path.parent.name
        if path.is_dir() and student not in excluded and any(fnmatch.fnmatchcase(student, p) for p in patterns):
            (found if any(path.glob("*.ipynb")) else empty).append(student)
    return sorted(found), sorted(empty)


def shard_of(students: list, shard: tuple | None) -> list:
    """The students of shard ``(i, n)``: every n-th of the sorted ids, from the i-th (None: all)."""
    return list(students) if shard is None else sorted(students)[shard[0]::shard[1]]


def needs_grading(cd, assignment: str, student: str, force: bool) -> bool:
    """nbgrader's rule: not graded yet, ``--force``, or handed in again since it was graded."""
    dest = Path(cd.format_path(cd.autograded_directory, student, assignment))
    if force or not dest.exists():
        return True
    try:
        new = cd.get_existing_timestamp(cd.format_path(cd.submitted_directory, student, assignment))
        old = cd.get_existing_timestamp(str(dest))
    except Exception:  # an unreadable timestamp: grading it reports that
        return True
    return new is not None and old is not None and new > old


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _cgroup_memory_files() -> list:
    """(limit, usage) files of this process's memory cgroup (v2, then v1), then of the root."""
    files = []
    for line in (_read("/proc/self/cgroup") or "").splitlines():
        _, controllers, path = line.split(":", 2)
        path = path.rstrip("/")
        if controllers == "":
            files.append((f"/sys/fs/cgroup{path}/memory.max", f"/sys/fs/cgroup{path}/memory.current"))
        elif "memory" in controllers.split(","):
            files.append((f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes",
                          f"/sys/fs/cgroup/memory{path}/memory.usage_in_bytes"))
    return files + [("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                    ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")]


def memory_available() -> int:
    """Bytes free for new work: the machine's available memory, or less under a cgroup's limit
    (a container's, a Slurm job's)."""
    free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemAvailable:"):
            free = int(line.split()[1]) * 1024
    for limit, used in _cgroup_memory_files():
        limit, used = _read(limit), _read(used)
        if limit and limit.isdigit() and used and used.isdigit():
            free = min(free, int(limit) - int(used))
    return free


def job_count(requested: int | None, memory_limit: int, available: int, machine_cores: int) -> int:
    """``requested`` (None: one per core), checked against what the memory allows."""
    per_job = memory_limit + WORKER_MEMORY
    fits = max(1, available // per_job)
    if requested is None:
        return max(1, min(machine_cores, fits))
    if requested < 1:
        raise ValueError(f"--jobs must be at least 1, not {requested}")
    if requested > fits:
        raise ValueError(f"--jobs {requested} needs {requested * per_job / 2**30:.1f} GiB (the kernel's memory "
                         f"limit, SandboxKernelManager.memory_limit = {memory_limit / 2**30:.1f} GiB, plus "
                         f"{WORKER_MEMORY / 2**30:.1f} GiB for its grading process, per job), and this machine "
                         f"has {available / 2**30:.1f} GiB available: use --jobs {fits} or fewer, or lower the "
                         "limit in nbgrader_config.py")
    return requested


def _setting(cls, app, name: str):
    """``cls``'s setting ``name`` as the app's configuration makes it: from nbgrader_config.py or the
    command line (where traitlets keeps the text until a class reads it), the parent classes'
    sections included, else the class's default."""
    return getattr(cls(config=app.config), name)


def compute_reference(app, assignment: str) -> None:
    """The reference solution's records, computed once here so that no grading process has to."""
    from .records import solution_records
    from .verify import VerifyChecks

    vc = VerifyChecks(config=app.config)
    source = Path(app.coursedir.format_path(app.coursedir.source_directory, ".", assignment))
    for nb in sorted(source.glob("*.ipynb")):
        _, cache = vc._paths({"nbgrader": {"assignment": assignment, "notebook": nb.stem}})
        solution_records(nb, cache, timeout=vc.solution_timeout, log=app.log)


def _check_course(app, assignment: str) -> int:
    """The number of notebooks of ``assignment``; ValueError when this course cannot be graded here."""
    from nbgrader.api import Gradebook, MissingEntry

    cd = app.coursedir
    sqlite_path(cd.db_url)
    if cd.directory_structure != DEFAULT_LAYOUT:
        raise ValueError(f"python -m grader autograde needs nbgrader's default CourseDirectory.directory_structure "
                         f"({DEFAULT_LAYOUT!r}); with {cd.directory_structure!r} use `nbgrader autograde`")
    with Gradebook(cd.db_url, cd.course_id) as gb:
        try:
            return len(gb.find_assignment(assignment).notebooks)
        except MissingEntry:
            raise ValueError(f"{assignment!r} is not in the gradebook: run `nbgrader generate_assignment "
                             f"{assignment}` first") from None


def _shard_folder(course: Path, assignment: str, shard: tuple, results) -> Path:
    out = Path(results or course / "shards" / assignment / f"{shard[0]}-of-{shard[1]}")
    if out.exists() and any(out.iterdir()) and not (out / "shard.json").exists():
        raise ValueError(f"{out} is not empty and not a shard folder: give --results a new folder")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


def _write_shard(out: Path, assignment: str, shard: tuple, chosen: list, report: Report, done: bool) -> None:
    tmp = out / "shard.json.tmp"
    tmp.write_text(json.dumps({"assignment": assignment, "shard": shard[0], "of": shard[1], "students": chosen,
                               "finished": done, "graded": report.graded, "failed": report.failed,
                               "skipped": report.skipped}, indent=1))
    tmp.replace(out / "shard.json")


def autograde(assignment: str, *, patterns=("*",), force=False, jobs=None, shard=None, results=None,
              overrides=(), stream=None) -> Report:
    """Grade ``assignment``'s submissions; see the module's docstring. Returns the :class:`Report`."""
    from nbgrader.api import Gradebook

    from .execute import GuardedExecute
    from .sandbox import SandboxKernelManager

    app = load_app(assignment, list(overrides))
    cd = app.coursedir
    course = Path(cd.root)
    notebooks = _check_course(app, assignment)
    deadlines.apply(app.config, app.coursedir, [assignment])
    found, empty = submissions(cd, assignment, list(patterns))
    chosen = shard_of(found, shard)
    report = Report(assignment, empty=shard_of(empty, shard))
    todo = [s for s in chosen if needs_grading(cd, assignment, s, force)]
    report.skipped = [s for s in chosen if s not in todo]
    report.jobs = job_count(jobs, _setting(SandboxKernelManager, app, "memory_limit"),
                            memory_available(), cores())
    start = time.perf_counter()
    if shard is None:
        out = Path(tempfile.mkdtemp(prefix=f".autograde-{assignment}-", dir=course))
        report.logs = str(course / LOGS / assignment / "{student}.log")
    else:
        out = _shard_folder(course, assignment, shard, results)
        report.logs = str(out / "submissions" / "{student}" / "log.txt")
        _write_shard(out, assignment, shard, chosen, report, done=False)  # a shard killed later still says what it held
    graded = out / "submissions"
    graded.mkdir()
    try:
        if todo:
            compute_reference(app, assignment)
        template = snapshot(cd.db_url, out / "template.db")
        limit = notebooks * (_setting(GuardedExecute, app, "notebook_timeout")
                             + _setting(GuardedExecute, app, "startup_timeout")) + 300
        pool = Pool(course, [assignment, str(template), str(graded), *overrides], report.jobs, limit, out)
        progress = Progress(len(todo), assignment, stream)
        gb = None if shard is not None else Gradebook(writer_url(cd.db_url), cd.course_id)
        try:
            for o in pool.run(todo):
                if o.ok and gb is not None:
                    try:
                        commit(gb, cd, graded / o.student, move=True)
                    except (MergeError, OSError, ValueError) as err:
                        o.ok, o.error = False, f"its result could not be written to the gradebook: {err}"
                (report.graded.append(o.student) if o.ok else report.failed.__setitem__(o.student, o.error))
                progress.update(o.student, o.ok, o.seconds)
        finally:
            progress.close()
            if gb is not None:
                gb.close()
    finally:
        report.seconds = time.perf_counter() - start
        if shard is None:
            _keep_logs(out, course / LOGS / assignment, report)
            shutil.rmtree(out, ignore_errors=True)
        else:
            (out / "template.db").unlink(missing_ok=True)
            _write_shard(out, assignment, shard, chosen, report, done=True)
    return report


def _keep_logs(out: Path, logs: Path, report: Report) -> None:
    logs.mkdir(parents=True, exist_ok=True)
    for student in report.failed:
        if (out / "submissions" / student / "log.txt").exists():
            shutil.copy(out / "submissions" / student / "log.txt", logs / f"{student}.log")
    for worker_log in out.glob("worker-*.log"):
        shutil.copy(worker_log, logs / worker_log.name)
