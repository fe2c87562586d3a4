"""The grading pipeline, end to end with real nbgrader commands, for every assignment in course/source.

For each assignment a scratch copy of the course is made, a class of submissions is built from the
assignment's own structure (tests/course/submissions.py) and graded with one ``nbgrader autograde``
run, in the sandbox. Every submission must get exactly the points it earned: the solution full
marks, the blank exercise zero, partial answers their parts, cheating and misbehaving notebooks
nothing they did not earn, and nobody's grade may be lost because another notebook misbehaved.

The cases marked ``every`` run on every assignment; the others exercise the machinery, which does
not depend on the assignment, and run on the first assignment only (in a scratch course of their
own, graded with ``python -m grader autograde --jobs 2``, which then also goes through the
instructor's workflow), or on all of them with ``LABKIT_GRADING_TESTS=full``. The first
assignment's ordinary class is also graded in parallel and in two merged shards, and both
gradebooks must equal nbgrader's cell by cell; a grading process is killed mid-way in a third
course. The scratch courses are graded two at a time (one per core).
"""
import csv
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "course"))

import submissions as subs  # noqa: E402
from grader.build import find_assignments  # noqa: E402
from grader.scratch import ScratchCourse  # noqa: E402

ASSIGNMENTS = find_assignments()
FIRST = ASSIGNMENTS[0] if ASSIGNMENTS else None
FULL = os.environ.get("LABKIT_GRADING_TESTS", "").lower() == "full"
# shorter than the course's 60 s, which matters only for the loops that must be interrupted; every
# cell of an assignment runs well within it at the smoke scale
CELL_TIMEOUT = 30
STALE = "stale"  # graded as the solution, then changed and graded again
DUE, LATE = "2026-01-01 12:00:00 UTC", "alone1"  # the first assignment's core class: handed in late
RERUN = "s*"  # graded a second time: solution and stale (no other core case starts with "s")

pytestmark = [pytest.mark.slow, pytest.mark.sandbox, pytest.mark.skipif(not ASSIGNMENTS, reason="no assignments in course/source")]
_generate_lock = threading.Lock()
LISTENER = None  # (host, port) of a service on the host's loopback while the classes are graded (`graded`)

# A literal hard-coded answer for the warm-up (the generic `forges_records` case covers every
# assignment): right on the visible tests' inputs only, so it passes them and fails the hidden ones.
HARDCODED_PER_CLASS = '''
import numpy as np
def accuracy_per_class(y_true, y_pred, n_classes):
    seen = {((0, 0, 1, 1, 2), (0, 1, 1, 1, 0), 3): [0.5, 1.0, 0.0],
            ((1, 1, 1, 0), (1, 0, 0, 0), 2): [1.0, 1 / 3],
            ((0, 0), (0, 1), 3): [0.5, np.nan, np.nan],
            ((2, 0, 2), (2, 2, 2), 3): [0.0, np.nan, 1.0]}
    key = (tuple(int(v) for v in y_true), tuple(int(v) for v in y_pred), n_classes)
    return np.array(seen.get(key, [0.0] * n_classes))
'''


_EDITION, _EDITION_LOCK = {}, threading.Lock()  # the classes are built in threads: publish once


def _from_edition(nbk):
    """The notebook as a student edition publishes it (python -m grader publish), solved."""
    import tempfile

    from grader.publish import publish

    key = (nbk.assignment, nbk.name)
    with _EDITION_LOCK:
        if key in _EDITION:
            return _EDITION[key]
        with tempfile.TemporaryDirectory(prefix="edition-") as tmp:
            publish(Path(tmp) / "students", "https://github.com/acme/dl-course", [nbk.assignment], [nbk.assignment])
            _EDITION[key] = nbformat.read(Path(tmp) / "students" / "solutions" / nbk.assignment / nbk.name,
                                          as_version=4)
        return _EDITION[key]


def _extra_cases(assignment, nbk):
    if assignment == "00-warmup" and nbk.name == "warmup.ipynb":
        yield subs.Case("from_edition", _from_edition(nbk), nbk.autograded_points,
                        note="the published solution of a student edition (Colab line, its own setup cell)")
        nb = nbk.solution()
        next(c for c in nb.cells if subs.nbgrader_meta(c).get("grade_id") == "per_class").source = HARDCODED_PER_CLASS
        yield subs.Case("hardcodes_visible", nb, nbk.parts[0].points,
                        note="visible answers of accuracy_per_class hard-coded, the training part done properly")


@dataclass
class Graded:
    assignment: str
    kind: str  # "core" (cases for every assignment) or "machinery"
    course: ScratchCourse
    notebooks: list
    expected: dict  # student -> points
    notes: dict
    code: int
    log: str
    grades: dict
    cells: dict
    seconds: dict  # student -> seconds spent grading it
    with_reference: set  # students whose time includes (re)computing the reference records
    rerun: dict = field(default_factory=dict)
    workflow: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)  # the gradebook as autograding wrote it


def _env():
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def _class(assignment: str, kind: str, base: Path, cache: Path) -> tuple:
    """A scratch course holding the class of ``kind``; returns (course, notebooks, expected, notes)."""
    with _generate_lock:
        course = ScratchCourse(base / f"{assignment}-{kind}", [assignment], cache_dir=cache)
    nbks = subs.notebooks(assignment, exercises=course.root / "release", source=course.root / "source")
    expected, notes = {}, {}
    core = kind != "machinery"
    for nbk in nbks:
        for case in [*subs.catalogue(nbk, course.root, LISTENER), *_extra_cases(assignment, nbk)]:
            if case.every != core:
                continue
            subs.write_submission(course.root, assignment, case.name, nbk.name, case.content)
            expected[case.name] = expected.get(case.name, 0.0) + case.points
            notes[case.name] = case.note
        if core and assignment == FIRST:
            subs.write_submission(course.root, assignment, STALE, nbk.name, nbk.solution())
            expected[STALE] = expected.get(STALE, 0.0) + nbk.autograded_points
    if core and assignment == FIRST:
        _hand_in_times(course, assignment)
    subprocess.run([sys.executable, "-m", "grader", "reference", assignment, f"--cache-dir={cache}"],
                   cwd=course.root, env=_env(), check=True, capture_output=True)
    return course, nbks, expected, notes


def _hand_in_times(course: ScratchCourse, a: str) -> None:
    """A due date, a time stamp on every submission, and one submission late (LATE), with a late
    penalty (all its points: raw scores stay as they are), so that the comparisons of gradebooks
    cover time stamps and penalties too."""
    with open(course.root / "nbgrader_config.py", "a") as fh:
        fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"  # tests: a late submission loses its points\n')
    code, _, text = course.nbgrader("db", "assignment", "add", a, f"--duedate={DUE}")
    assert code == 0, text[-3000:]
    for folder in (course.root / "submitted").glob(f"*/{a}"):
        late = folder.parent.name == LATE
        (folder / "timestamp.txt").write_text("2026-01-02 09:30:00.000000 UTC" if late else "2025-12-31 18:00:00.000000 UTC")


def _grade(assignment: str, kind: str, base: Path, cache: Path) -> Graded:
    """Grade the class: "core" with ``nbgrader autograde``; "machinery" (the misbehaving and hostile
    submissions) and "parallel" (the core class again) with ``python -m grader autograde --jobs 2``;
    "shards" (the core class again) in two shards graded at once and merged."""
    course, nbks, expected, notes = _class(assignment, kind, base, cache)
    timeout = f"--GuardedExecute.timeout={CELL_TIMEOUT}"
    start = time.time()
    if kind == "core":
        code, _, log = course.autograde(assignment, timeout)
    elif kind == "shards":
        code, log = _shards_and_merge(course, assignment, timeout)
    else:
        code, _, log = course.grader("autograde", assignment, "--force", "--jobs=2", timeout)
    graded = Graded(assignment, kind, course, nbks, expected, notes, code, log, course.grades(assignment),
                    course.cell_scores(assignment), {}, set(), rows=course.gradebook_rows(assignment))
    if kind == "core":
        graded.seconds, graded.with_reference = _seconds(course, assignment, cache, start)
    if kind == "core" and assignment == FIRST:
        for nbk in nbks:
            content = next(c.content for c in subs.catalogue(nbk, course.root) if c.name == "removes_tests")
            subs.write_submission(course.root, assignment, STALE, nbk.name, content)
        code2, _, log2 = course.autograde(assignment, timeout, f"--student={RERUN}", log_name="rerun")
        graded.rerun = {"code": code2, "log": log2, "grades": course.grades(assignment),
                        "cells": course.cell_scores(assignment)}
    if kind == "machinery" and assignment == FIRST:
        graded.workflow = _workflow(course, assignment, nbks)
    return graded


def _seconds(course: ScratchCourse, assignment: str, cache: Path, start: float) -> tuple:
    """Seconds spent on each student, from nbgrader's files: a student's grading starts when nbgrader
    creates autograded/<student>/<assignment> (after sanitising) and ends when it writes the last
    graded notebook there."""
    references = [p.stat().st_mtime for p in (cache / assignment).glob("*.json")]
    seconds, with_reference = {}, set()
    for folder in (course.root / "autograded").glob(f"*/{assignment}"):
        begin = folder.parent.stat().st_mtime
        end = max(p.stat().st_mtime for p in folder.glob("*.ipynb"))
        seconds[folder.parent.name] = end - begin
        if any(begin < r <= end for r in references):  # labkit or the source changed meanwhile
            with_reference.add(folder.parent.name)
    seconds["(nbgrader start)"] = min(f.parent.stat().st_mtime for f in
                                      (course.root / "autograded").glob(f"*/{assignment}")) - start
    return seconds, with_reference


def _shards_and_merge(course: ScratchCourse, a: str, timeout: str) -> tuple:
    """Two shards graded at once, as two jobs of an array would; then a merge of one shard (which
    must report the other missing), then of both, twice. Returns (exit code, output)."""
    shards = [f"shards/{a}/{i}-of-2" for i in range(2)]
    procs = [course.start_grader("autograde", a, f"--shard={i}/2", "--jobs=1", timeout) for i in range(2)]
    outputs = [p.communicate(timeout=3600)[0] for p in procs]
    log = "\n".join(outputs)
    if any(p.returncode for p in procs):
        return 1, log
    untouched = course.cell_scores(a)
    half = course.grader("merge", a, shards[0])
    both = [course.grader("merge", a, *shards) for _ in range(2)]
    log += "\n".join(out for _, _, out in [half, *both])
    ok = (untouched == {} and half[0] == 1 and "shards 1/2 were not given" in half[2]
          and all(code == 0 for code, _, _ in both))
    return (0 if ok else 1), log


def _killed(a: str, kind: str, base: Path, cache: Path) -> dict:
    """A class of four graded two at a time: one submission nbgrader cannot grade (a broken time
    stamp), and one whose grading process is killed while it works, then graded again alone.
    Returns what each step left."""
    with _generate_lock:
        course = ScratchCourse(base / f"{a}-killed", [a], cache_dir=cache)
    nbks = subs.notebooks(a, exercises=course.root / "release", source=course.root / "source")
    for student in ("alpha", "badstamp", "omega", "victim"):
        for nbk in nbks:
            subs.write_submission(course.root, a, student, nbk.name, nbk.solution())
    # nbgrader itself stops on this one, at once; the process that graded it takes the next (omega)
    # and must grade it in the course's folders, not in the failed one's
    (course.root / "submitted" / "badstamp" / a / "timestamp.txt").write_text("not a time")
    proc = course.start_grader("autograde", a, "--jobs=2", f"--GuardedExecute.timeout={CELL_TIMEOUT}")
    pid, deadline = None, time.time() + 900
    while pid is None and proc.poll() is None and time.time() < deadline:
        for log in course.root.glob(".autograde-*/submissions/victim/log.txt"):
            found = re.search(r"in process (\d+)", log.read_text())
            pid = int(found.group(1)) if found else None
        time.sleep(0.1)
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
    out = proc.communicate(timeout=3600)[0]
    seen = {"pid": pid, "code": proc.returncode, "out": out, "grades": course.grades(a),
            "left": sorted(p.name for p in course.root.glob(".autograde-*")), "full": sum(n.autograded_points for n in nbks)}
    seen["again"] = course.grader("autograde", a, "--student=victim", f"--GuardedExecute.timeout={CELL_TIMEOUT}")
    seen["regraded"] = course.grades(a)
    return seen


# The CPU limit and the whole-notebook cap, set small enough to fire within seconds (the course's
# 900 s and 600 s would cost the suite many minutes), in a batch of their own with a good submission.
SMALL_CPU, SMALL_CAP = 10, 40  # CPU seconds per notebook; seconds per notebook
BURNS_CPU = "while True:  # burns CPU until the kernel's CPU limit kills it\n    pass"
NAPS = 25  # seconds each of two cells sleeps: the first fits in the cap, the second runs past it


def _small_limits(a: str, kind: str, base: Path, cache: Path) -> dict:
    """``burns_cpu`` loops before its last answer until the CPU limit kills the kernel; ``outlasts``
    sleeps through the notebook's cap before it; ``solution`` is graded beside them (two at a time).
    Returns what grading left and how long it took."""
    with _generate_lock:
        course = ScratchCourse(base / f"{a}-{kind}", [a], cache_dir=cache)
    nbks = subs.notebooks(a, exercises=course.root / "release", source=course.root / "source")
    for nbk in nbks:
        last = nbk.parts[-1].answer
        subs.write_submission(course.root, a, "solution", nbk.name, nbk.solution())
        subs.write_submission(course.root, a, "burns_cpu", nbk.name, subs.prepend(nbk.solution(), last, BURNS_CPU))
        naps = nbk.solution()
        at = next(i for i, c in enumerate(naps.cells) if subs.nbgrader_meta(c).get("grade_id") == last)
        for _ in range(2):
            naps.cells.insert(at, nbformat.v4.new_code_cell(f"import time\ntime.sleep({NAPS})"))
        subs.write_submission(course.root, a, "outlasts", nbk.name, naps)
    begin = time.monotonic()
    code, _, log = course.grader("autograde", a, "--force", "--jobs=2", f"--GuardedExecute.timeout={CELL_TIMEOUT}",
                                 f"--GuardedExecute.notebook_timeout={SMALL_CAP}",
                                 f"--SandboxKernelManager.cpu_limit={SMALL_CPU}")
    return {"code": code, "log": log, "seconds": time.monotonic() - begin, "grades": course.grades(a),
            "course": course, "notebooks": nbks, "full": sum(n.autograded_points for n in nbks),
            "last": sum(n.parts[-1].points for n in nbks)}


def _workflow(course: ScratchCourse, a: str, nbks: list) -> dict:
    """The README's commands: import students, collect a loose notebook and an LMS zip with
    zip_collect, autograde, generate feedback, export grades. Returns what each step left."""
    seen = {}
    (course.root / "students.csv").write_text("id,first_name,last_name,email\n"
                                              "zed,Zed,Shaw,zed@example.org\nyan,Yan,LeCun,yan@example.org\n")
    seen["import"] = course.nbgrader("db", "student", "import", "students.csv")
    archive = course.root / "downloaded" / a / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "lms-export.zip", "w") as zf:
        for nbk in nbks:
            (archive / f"zed_{nbk.name}").write_text(nbformat.writes(nbk.solution()))  # handed in by e-mail
            zf.writestr(f"yan/{nbk.name}", nbformat.writes(subs.with_parts(nbk, {0})))  # from the LMS
    seen["zip_collect"] = course.nbgrader("zip_collect", a)
    seen["collected"] = sorted(str(p.relative_to(course.root)) for p in (course.root / "submitted").glob("[yz]*/*/*"))
    seen["autograde"] = course.autograde(a, f"--GuardedExecute.timeout={CELL_TIMEOUT}", "--student=[yz]*",
                                         log_name="workflow")
    seen["generate_feedback"] = course.nbgrader("generate_feedback", a, "--student=[yz]*")
    seen["feedback"] = {p.name: p.read_text() for p in (course.root / "feedback").glob(f"[yz]*/{a}/*.html")
                        if p.parts[-3] == "yan"}
    out = course.root / "grades.csv"
    seen["export"] = course.nbgrader("export", f"--to={out}")
    seen["rows"] = {r["student_id"]: r for r in csv.DictReader(out.open())} if out.exists() else {}
    return seen


@pytest.fixture(scope="session")
def graded(request, tmp_path_factory):
    """(assignment, kind) -> Future of its Graded run, for the assignments whose tests were selected
    (the first one too when a test about the machinery was selected); two at a time."""
    wanted = set()
    for item in request.session.items:
        if item.module.__name__ == __name__:
            wanted.add(getattr(getattr(item, "callspec", None), "params", {}).get("assignment", FIRST))
    jobs = []
    for a in ASSIGNMENTS:
        if a in wanted:
            jobs.append((a, "core"))
            if a == FIRST or FULL:
                jobs.insert(0, (a, "machinery"))  # the longest job first
            if a == FIRST:
                jobs += [(a, "parallel"), (a, "shards"), (a, "killed"), (a, "small_limits")]
    base = tmp_path_factory.mktemp("grading")
    cache = tmp_path_factory.mktemp("grading-cache")
    global LISTENER
    with socket.socket() as listener:  # what snooping code outside a sandbox would reach
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        LISTENER = listener.getsockname()
        pool = ThreadPoolExecutor(max_workers=2)
        run = {"killed": _killed, "small_limits": _small_limits}
        futures = {job: pool.submit(run.get(job[1], _grade), *job, base, cache) for job in jobs}
        yield futures
        pool.shutdown(wait=True, cancel_futures=True)


def _runs(graded, assignment) -> list:
    return [f.result(timeout=3600) for (a, kind), f in graded.items()
            if a == assignment and kind not in ("killed", "small_limits")]


def _run(graded, assignment, kind) -> Graded:
    return graded[(assignment, kind)].result(timeout=3600)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_submission_gets_exactly_what_it_earned(graded, assignment):
    for g in _runs(graded, assignment):
        assert g.code == 0, "nbgrader stopped on a submission:\n" + g.log[-5000:]
        wrong = {s: (g.grades.get(s), pts, g.notes.get(s)) for s, pts in g.expected.items() if g.grades.get(s) != pts}
        assert not wrong, f"(got, expected, case) per student: {wrong}"
        assert set(g.grades) == set(g.expected), "every submission appears in the exported grades"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_scores_are_per_test_cell_and_all_or_nothing(graded, assignment):
    core = _run(graded, assignment, "core")
    solution = core.cells["solution"]
    tests = {t for nbk in core.notebooks for p in nbk.parts for t in p.tests}
    for cell_id in tests:
        assert solution[cell_id][0] == solution[cell_id][1] > 0
    for nbk in core.notebooks:  # every part is blank in the `alone` cases of the other parts
        for i, part in enumerate(nbk.parts):
            for k in range(len(nbk.parts)):
                cells = core.cells[f"alone{k + 1}"]
                for cell_id in part.tests:
                    assert (cells[cell_id][0] > 0) == (k == i), (f"alone{k + 1}", cell_id, cells[cell_id])
    for g in _runs(graded, assignment):
        for student, cells in g.cells.items():
            for cell_id, (score, max_score) in cells.items():
                if cell_id in tests:
                    assert score in (0, max_score), f"{student}/{cell_id} got partial credit {score}"
                assert max_score == solution[cell_id][1], f"{student} changed the points of {cell_id}"
            assert set(cells) == set(solution), f"{student} has other grade cells than the assignment"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_one_submission_autogrades_within_a_minute(graded, assignment):
    """Each submission of the ordinary class (correct, blank, partial, cheating), from the moment
    nbgrader starts executing it to its grades; nbgrader's own start is shown apart. The misbehaving
    class is left out: some of it waits for timeouts on purpose."""
    g = _run(graded, assignment, "core")
    times = {s: t for s, t in g.seconds.items() if s not in g.with_reference}
    assert times and max(times.values()) <= 60, times
    print(f"\n{assignment}: seconds per submission {sorted((round(t, 1), s) for s, t in times.items())}")


def _outputs(g, student, notebook):
    nb = nbformat.read(g.course.autograded(student, g.assignment, notebook), as_version=4)
    return "\n".join(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def _errors(course: ScratchCourse, assignment: str, student: str, notebook: str) -> str:
    """The errors in a graded notebook's outputs, one per line: name, then value."""
    nb = nbformat.read(course.autograded(student, assignment, notebook), as_version=4)
    return "\n".join(f"{o.get('ename')}: {o.get('evalue')}" for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []) if o.get("output_type") == "error")


def test_snooping_submission_finds_nothing_of_the_instructor(graded):
    g = _run(graded, FIRST, "machinery")
    for nbk in g.notebooks:
        text = _outputs(g, "snoops", nbk.name)
        assert "snooping done: 0 found" in text, text[-3000:]
        assert "FOUND" not in text
    # the positive control: the same snooping cell in a plain kernel, from a folder of the course,
    # finds the instructor's files and reaches the loopback service (which is still listening)
    from jupyter_client.manager import AsyncKernelManager

    from grader import probe

    nb = nbformat.read(g.course.root / "submitted" / "snoops" / g.assignment / g.notebooks[0].name, as_version=4)
    snoop = next(c.source for c in nb.cells if c.cell_type == "code" and "FOUND = []" in c.source)
    assert "exec(src, globals())" in snoop and not list(g.course.root.rglob(subs.SNOOP_MARK))
    looks_only = snoop.replace("exec(src, globals())", "pass")  # running every solution found takes minutes
    try:
        # from the student's folder, as autograde runs it (the cell searches the folders above it)
        where = g.course.root / "submitted" / "snoops" / g.assignment
        cells, _ = probe.run_cells([looks_only], where, AsyncKernelManager, timeout=300)
        found = "".join(o.get("text", "") for c in cells for o in c.get("outputs", []))
        assert f"FOUND network {LISTENER[0]}:{LISTENER[1]}" in found, found[-3000:]
        assert f"FOUND {g.course.root / 'source'}" in found and "gradebook" in found, found[-3000:]
        assert "FOUND could change" in found and list(g.course.root.rglob(subs.SNOOP_MARK)), found[-3000:]
    finally:
        for mark in g.course.root.rglob(subs.SNOOP_MARK):  # the control's marks: other tests read this course
            mark.unlink()


def test_a_submission_graded_beside_others_changes_nothing_of_theirs(graded):
    """snoops is graded in parallel with the others (--jobs 2) and tries to open every other
    student's notebooks, feedback and grades, and the other grading process's files, for writing,
    and to leave a mark beside them: nothing of it lands anywhere, and every grade is what it was
    earned."""
    g = _run(graded, FIRST, "machinery")
    assert not list(g.course.root.rglob(subs.SNOOP_MARK))
    wrong = {s: (g.grades.get(s), p) for s, p in g.expected.items() if g.grades.get(s) != pytest.approx(p)}
    assert not wrong, f"(given, earned): {wrong}"


def test_misbehaving_processes_do_not_outlive_grading(graded):
    _run(graded, FIRST, "machinery")
    mark = subs.OUTLIVE_MARK.encode()
    survivors = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if mark in (proc / "cmdline").read_bytes():
                    survivors.append(proc.name)
            except OSError:
                pass
    assert survivors == []


def test_floods_are_cut_and_unreadable_files_are_kept(graded):
    g = _run(graded, FIRST, "machinery")
    for nbk in g.notebooks:
        path = g.course.autograded("chaos_solution", g.assignment, nbk.name)
        assert path.stat().st_size < 3_000_000
        assert "the grader cut this cell's output" in _outputs(g, "chaos_solution", nbk.name)
        kept = g.course.root / "submitted" / "invalid_json" / g.assignment / f"{nbk.name}.unreadable"
        assert kept.read_bytes().startswith(b'{"cells": [ this is not json')


def _configured(name: str) -> int:
    """A SandboxKernelManager setting of the course's nbgrader_config.py, evaluated as it is written."""
    line = next(l for l in (ROOT / "course" / "nbgrader_config.py").read_text().splitlines()
                if l.startswith(f"c.SandboxKernelManager.{name} ="))
    return int(eval(line.split("=", 1)[1].split("#")[0]))


def test_the_limits_fire_at_their_configured_values_and_grading_goes_on(graded):
    """chaos_solution touches memory, forks and fills its disks until each limit stops it, then
    answers correctly: each limit stops it at the configured value, and it still earns full marks
    (test_every_submission_gets_exactly_what_it_earned), as do the others graded beside it."""
    from grader.sandbox import processes_limited_per_kernel

    # an ordinary user without a pids cgroup is bound by RLIMIT_NPROC (all their processes): the
    # bomb's 2,000 forks stay under it; root is bound by nothing else, so it must have the cgroup
    per_kernel = processes_limited_per_kernel()
    assert per_kernel or os.geteuid() != 0, "grading as root needs a pids cgroup (/sys/fs/cgroup writable)"
    g = _run(graded, FIRST, "machinery")
    for nbk in g.notebooks:
        text = _outputs(g, "chaos_solution", nbk.name)
        number = lambda label, text=text: float(re.search(rf"{label} ([\d.]+)", text).group(1))  # noqa: E731
        assert "memory error" in text and number("touched") < _configured("memory_limit") / 2**30, text[-3000:]
        if per_kernel:
            assert "fork refused" in text and number("forked") < _configured("process_limit"), text[-3000:]
        assert "disk full in /tmp" in text and number("filled /tmp") <= _configured("tmp_size") / 2**20
        assert "disk full in ." in text and number("filled work") <= _configured("work_size") / 2**20


def test_the_cpu_limit_and_the_notebook_cap_fire_in_a_batch_and_grading_goes_on(graded):
    """Under a small CPU limit and notebook cap: the CPU burner's kernel is killed at its limit, the
    sleeper is stopped at the cap (not at the cell timeout), both keep the points of the parts before,
    the solution graded beside them gets full marks, and the batch ends within its time."""
    seen = _run(graded, FIRST, "small_limits")
    assert seen["code"] == 0, seen["log"][-5000:]
    partial = seen["full"] - seen["last"]
    assert seen["grades"] == {"solution": seen["full"], "burns_cpu": partial, "outlasts": partial}, seen["log"][-5000:]
    for nbk in seen["notebooks"]:
        burnt, slept = (_errors(seen["course"], FIRST, s, nbk.name) for s in ("burns_cpu", "outlasts"))
        # killed by the limit: without it the cell timeout would have interrupted the loop instead
        assert "the kernel died" in burnt and "NotRun" in burnt and "CellTimeoutError" not in burnt, burnt
        assert f"the notebook ran longer than {SMALL_CAP} s" in slept and "NotRun" in slept, slept
    # two at a time: the sleeper in one lane, the burner then the solution in the other
    assert seen["seconds"] < SMALL_CAP + 60, seen["seconds"]


def test_grading_twice_gives_the_same_grades_and_nothing_stale(graded):
    g = _run(graded, FIRST, "core")
    assert g.rerun["code"] == 0, g.rerun["log"][-5000:]
    regraded = {line.split("/autograded/")[1].split("/")[0] for line in g.rerun["log"].splitlines()
                if "] Autograding " in line}
    assert regraded == {"solution", STALE}
    assert g.grades[STALE] == sum(n.autograded_points for n in g.notebooks)
    assert g.rerun["grades"][STALE] == 0.0, "the first grade must not survive the second submission"
    assert all(score == 0 for score, _ in g.rerun["cells"][STALE].values() if score is not None)
    for student in g.expected:
        if student != STALE:
            assert g.rerun["grades"][student] == g.grades[student], student
            assert g.rerun["cells"][student] == g.cells[student], student


def test_instructor_workflow_with_nbgrader_commands(graded):
    """The README's commands: db student import, zip_collect (a loose notebook and an LMS zip),
    autograde, generate_feedback, export."""
    g = _run(graded, FIRST, "machinery")
    w = g.workflow
    for step in ("import", "zip_collect", "autograde", "generate_feedback", "export"):
        assert w[step][0] == 0, f"nbgrader {step} failed:\n{w[step][2][-3000:]}"
    assert w["collected"] == sorted(f"submitted/{s}/{g.assignment}/{nbk.name}"
                                    for s in ("yan", "zed") for nbk in g.notebooks), w["zip_collect"][2][-3000:]
    assert len(w["feedback"]) == len(g.notebooks)
    assert all("CheckNotPassed" in html for html in w["feedback"].values())  # yan's blank parts say why
    assert all("Rubric of this answer" in html for html in w["feedback"].values())  # beside the written answer
    rows, full = w["rows"], sum(n.autograded_points for n in g.notebooks)
    assert float(rows["zed"]["raw_score"]) == full
    assert float(rows["yan"]["raw_score"]) == sum(n.parts[0].points for n in g.notebooks)
    assert rows["yan"]["first_name"] == "Yan" and rows["zed"]["email"] == "zed@example.org"
    assert float(rows["zed"]["max_score"]) > full  # the written answers wait for a person


def _differences(rows: dict, reference: dict) -> dict:
    """student -> (got, expected) wherever two gradebooks differ, down to the cell."""
    out = {}
    for student in sorted(set(rows) | set(reference)):
        got, want = rows.get(student), reference.get(student)
        if got == want:
            continue
        if got is None or want is None or got["timestamp"] != want["timestamp"]:
            out[student] = (got, want)
            continue
        for nb in set(got["notebooks"]) | set(want["notebooks"]):
            g, w = got["notebooks"].get(nb), want["notebooks"].get(nb)
            if g != w:
                cells = {c: (g and g["cells"].get(c), w and w["cells"].get(c))
                         for c in set((g or {}).get("cells", {})) | set((w or {}).get("cells", {}))
                         if (g and g["cells"].get(c)) != (w and w["cells"].get(c))}
                out[f"{student}/{nb}"] = cells or (g, w)
    return out


def test_parallel_grading_gives_the_sequential_gradebook_cell_by_cell(graded):
    """The class graded by `nbgrader autograde` and by `python -m grader autograde --jobs 2`: every
    score, review flag, automatic comment, late penalty and time stamp is the same."""
    sequential, parallel = _run(graded, FIRST, "core"), _run(graded, FIRST, "parallel")
    assert parallel.code == 0, parallel.log[-5000:]
    assert set(sequential.rows) == set(sequential.expected)
    assert all(row["timestamp"] is not None for row in sequential.rows.values())
    assert any(nb["late_penalty"] for nb in sequential.rows[LATE]["notebooks"].values())
    assert _differences(parallel.rows, sequential.rows) == {}


def test_shards_merged_give_the_gradebook_of_one_run(graded):
    """Two shards graded at once leave the gradebook alone; merging one reports the other missing;
    merging both (twice: nothing is counted twice) gives the sequential run's gradebook."""
    sequential, sharded = _run(graded, FIRST, "core"), _run(graded, FIRST, "shards")
    assert sharded.code == 0, sharded.log[-5000:]
    assert _differences(sharded.rows, sequential.rows) == {}


def test_a_killed_grading_process_loses_only_its_submission(graded):
    seen = graded[(FIRST, "killed")].result(timeout=3600)
    assert seen["pid"] is not None, seen["out"][-3000:]
    assert seen["code"] == 1, seen["out"][-3000:]
    assert "FAILED victim: the grading process stopped (signal SIGKILL)" in seen["out"], seen["out"][-3000:]
    # the exception nbgrader stopped on (its time stamp check itself fails here: "'CourseDirectory'
    # object has no attribute 'fail'"), not its catch-all line
    assert re.search(r"FAILED badstamp: (?!There was an error)\w+", seen["out"]), seen["out"][-3000:]
    assert "--student badstamp --student victim" in seen["out"]  # how to grade them again
    assert seen["grades"] == {"alpha": seen["full"], "omega": seen["full"]}  # nothing half-written for victim
    assert seen["left"] == [], "the run's working folders are removed"
    assert seen["again"][0] == 0, seen["again"][2][-3000:]
    assert seen["regraded"] == {"alpha": seen["full"], "omega": seen["full"], "victim": seen["full"]}
