"""``make course``: exercises/ and solutions/ from course/source, and executed copies of the lectures.

- ``exercises/<assignment>/`` is exactly what ``nbgrader generate_assignment`` releases: solutions
  replaced by stubs, hidden tests removed, cells locked, checksums set.
- ``solutions/<assignment>/`` is the released notebook with every answer filled in from the source
  (the solution markers dropped, hidden tests still absent): what a perfect submission looks like.
- ``rendered/`` (not committed) holds every lecture executed at the smoke scale, as a notebook and
  as HTML.

Before building, each source notebook is checked against the authoring rules in course/README.md.
"""
from __future__ import annotations

import ast
import filecmp
import os
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from unittest import mock

import nbformat

COURSE = Path(__file__).resolve().parents[1]
REPO = COURSE.parent
CHECK_NAMES = ("expect_equal", "expect_close", "expect_between", "expect")
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_RE = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n(.*?)^[ \t]*### END HIDDEN TESTS[ \t]*$", re.S | re.M)


def _env_path() -> None:
    """nbgrader runs `alembic` from the environment's bin folder."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def find_assignments(source: Path = COURSE / "source") -> list:
    """Every folder of ``source`` that holds a notebook, sorted."""
    if not source.is_dir():
        return []
    return sorted(p.name for p in source.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb")))


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader") or {}


def strip_solution_markers(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if line.strip() not in SOLUTION_MARKERS)


# ----------------------------------------------------------------------------------------------
# authoring rules


def _check_calls(code: str) -> list:
    """The labkit.checks calls in ``code`` as (name, n_positional, keywords)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CHECK_NAMES:
            calls.append((node.func.attr, len(node.args), {k.arg for k in node.keywords}))
    return calls


def lint_notebook(path: Path) -> list:
    """Problems with a source notebook, as sentences (empty when it follows the rules)."""
    nb = nbformat.read(path, as_version=4)
    problems, ids, seen_answer = [], set(), False
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    if not code_cells or "google.colab" not in code_cells[0].source:
        problems.append("the first code cell must be the Colab setup cell of lectures/README.md")
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if gid:
            if gid in ids:
                problems.append(f"grade_id {gid!r} is used twice")
            ids.add(gid)
        if cell.cell_type != "code":
            continue
        if meta.get("solution") and not meta.get("grade"):
            seen_answer = True
            if SOLUTION_MARKERS[0] not in cell.source:
                problems.append(f"answer cell {gid!r} has no '### BEGIN SOLUTION' block")
        if meta.get("grade") and not meta.get("solution"):
            where = f"test cell {gid!r}"
            if not seen_answer:
                problems.append(f"{where} comes before any answer cell")
            if not meta.get("points"):
                problems.append(f"{where} has no points")
            if not _check_calls(cell.source):
                problems.append(f"{where} uses no labkit.checks helper")
            hidden = HIDDEN_RE.findall(cell.source)
            if not hidden:
                problems.append(f"{where} has no '### BEGIN HIDDEN TESTS' block")
            for block in hidden:
                calls = _check_calls(block)
                if not any(name in ("expect_equal", "expect_close") for name, _, _ in calls):
                    problems.append(f"{where}: its hidden block needs at least one expect_equal or expect_close "
                                    "(the checks a forged record cannot pass)")
                for name, npos, kws in calls:
                    if name in ("expect_equal", "expect_close") and (npos > 1 or "expected" in kws):
                        problems.append(f"{where}: hidden {name} must leave `expected` out (the grader "
                                        "compares with the reference solution)")
    return problems


def lint(source: Path = COURSE / "source") -> list:
    from .rubrics import lint as lint_rubrics

    problems = []
    for a in find_assignments(source):
        for nb in sorted((source / a).glob("*.ipynb")):
            problems += [f"{a}/{nb.name}: {p}" for p in lint_notebook(nb)]
    return problems + lint_rubrics(source, Path(source).parent / "rubrics")


# ----------------------------------------------------------------------------------------------
# generating


def _load_config(course: Path, **overrides):
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    for dotted, value in overrides.items():
        section, key = dotted.split(".")
        config[section][key] = value
    return config if isinstance(config, Config) else Config(config)


# nbgrader's converters chdir into the course root and back: the working directory is the whole
# process's, so two builds in two threads (publishing while a class is graded) must not overlap.
_NBGRADER_CWD = threading.Lock()


def generate(course: Path, assignments: list, db_url: str | None = None) -> Path:
    """``nbgrader generate_assignment`` for each assignment; returns the release folder."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    _env_path()
    overrides = {"CourseDirectory.db_url": db_url} if db_url else {}
    config = _load_config(course, **overrides)
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir, config=config)
    with _NBGRADER_CWD:
        for a in assignments:
            result = api.generate_assignment(a, force=True, create=True)
            if not result.get("success"):
                raise RuntimeError(f"nbgrader generate_assignment {a} failed:\n"
                                   f"{result.get('error') or result.get('log')}")
    return course / "release"


def solution_notebook(released: Path, source: Path):
    """The released notebook with each answer cell filled in from the source notebook."""
    nb = nbformat.read(released, as_version=4)
    src = {nbgrader_meta(c).get("grade_id"): c for c in nbformat.read(source, as_version=4).cells}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and meta.get("grade_id") in src:
            cell.source = strip_solution_markers(src[meta["grade_id"]].source)
    return nb


def _write_tree(release: Path, source: Path, exercises: Path, solutions: Path) -> None:
    for dest in (exercises, solutions):
        if dest.exists():
            shutil.rmtree(dest)
    shutil.copytree(release, exercises)
    shutil.copytree(release, solutions)
    for nb_path in sorted(release.glob("*.ipynb")):
        nbformat.write(solution_notebook(nb_path, source / nb_path.name), solutions / nb_path.name)
    for p in list(exercises.rglob("*")) + list(solutions.rglob("*")):  # generated files are plain files
        if p.is_file():
            p.chmod(0o644)


def build(out: Path = REPO, course: Path = COURSE, assignments: list | None = None, db_url: str | None = None,
          log=print) -> list:
    """Lint, generate and write ``out/exercises/<a>`` and ``out/solutions/<a>``; returns the assignments."""
    assignments = find_assignments(course / "source") if assignments is None else assignments
    problems = lint(course / "source")
    if problems:
        raise SystemExit("The course sources break the authoring rules (course/README.md):\n  "
                         + "\n  ".join(problems))
    release = generate(course, assignments, db_url=db_url)
    for a in assignments:
        _write_tree(release / a, course / "source" / a, out / "exercises" / a, out / "solutions" / a)
        log(f"built exercises/{a} and solutions/{a}")
    sources = set(find_assignments(course / "source"))
    for folder in ("exercises", "solutions"):  # assignments that no longer have a source
        for stale in sorted((out / folder).glob("*")):
            if stale.is_dir() and stale.name not in sources and any(stale.glob("*.ipynb")):
                shutil.rmtree(stale)
                log(f"removed {folder}/{stale.name} (no source any more)")
    return assignments


def build_elsewhere(tmp: Path, course: Path = COURSE) -> Path:
    """Build from a copy of the course's sources into ``tmp`` (own gradebook); returns ``tmp``."""
    tmp = Path(tmp)
    copy = tmp / "course"
    shutil.copytree(course / "source", copy / "source")
    shutil.copy(course / "nbgrader_config.py", copy / "nbgrader_config.py")
    if (course / "rubrics").is_dir():
        shutil.copytree(course / "rubrics", copy / "rubrics")
    build(out=tmp, course=copy, db_url=f"sqlite:///{copy / 'gradebook.db'}", log=lambda *a: None)
    return tmp


def differences(built: Path, repo: Path = REPO) -> list:
    """Files that differ between a fresh build in ``built`` and the committed exercises/solutions."""
    diffs = []
    for folder in ("exercises", "solutions"):
        a, b = built / folder, repo / folder
        names = {p.relative_to(a) for p in a.rglob("*") if p.is_file()} if a.exists() else set()
        names |= {p.relative_to(b) for p in b.rglob("*") if p.is_file() and not p.name.startswith(".")} \
            if b.exists() else set()
        for rel in sorted(names):
            if not (a / rel).is_file() or not (b / rel).is_file() or not filecmp.cmp(a / rel, b / rel, shallow=False):
                diffs.append(f"{folder}/{rel}")
    return diffs


# ----------------------------------------------------------------------------------------------
# lectures


def render_lectures(lectures: Path = REPO / "lectures", out: Path = REPO / "rendered", timeout: int = 900,
                    log=print) -> list:
    """Execute every lecture at the smoke scale into ``out`` (.ipynb and .html)."""
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    notebooks = sorted(p for p in lectures.glob("*.ipynb")) if lectures.is_dir() else []
    if not notebooks:
        log("no lectures to render")
        return []
    out.mkdir(parents=True, exist_ok=True)
    done, failed = [], []
    with mock.patch.dict(os.environ, LABKIT_SCALE="smoke", LABKIT_PROGRESS="0", MPLBACKEND="Agg"):
        for path in notebooks:
            nb = nbformat.read(path, as_version=4)
            try:
                NotebookClient(nb, timeout=timeout, kernel_name="python3",
                               resources={"metadata": {"path": str(path.parent)}}).execute()
            except Exception as err:  # keep what ran, with the error, and go on with the next lecture
                failed.append(f"{path.name}: {type(err).__name__}: {str(err).strip().splitlines()[-1:]}")
            nbformat.write(nb, out / path.name)
            html, _ = HTMLExporter().from_notebook_node(nb)
            (out / path.with_suffix(".html").name).write_text(html)
            log(f"rendered {path.name} -> {out.name}/")
            done.append(path.name)
    if failed:
        raise SystemExit("these lectures stopped with an error (see rendered/):\n  " + "\n  ".join(failed))
    return done


def check(log=print) -> int:
    """Build elsewhere and compare with what is committed; 0 when they agree."""
    with tempfile.TemporaryDirectory(prefix="course-build-") as tmp:
        diffs = differences(build_elsewhere(Path(tmp)))
    for d in diffs:
        log(f"differs from a fresh build: {d}")
    if diffs:
        log("run `make course` and commit exercises/ and solutions/")
    return 1 if diffs else 0
