"""Colab as it is: the lectures' own setup cell installs the course on Colab's package versions,
changes none of them, and the lectures and their widgets run there.

The environment is built here from requirements/colab.txt (Colab's published versions) in a
venv with Python 3.11 (Colab has 3.13; cp311 wheels exist for every pinned version). Two
substitutions, because this machine cannot do better: torch is the local CPU wheel
(torch==2.13.0) instead of Colab's 2.11.0+cu128, and torchvision is left out (its build for torch
2.11 cannot load beside another torch; the lectures do not import it at the smoke scale). A
stand-in ``google.colab`` module is imported at start-up by a .pth file, as Colab's kernel does,
and records the calls to ``output.enable_custom_widget_manager``. The course is cloned by the
setup cell from this checkout's committed HEAD (COURSE_REPO=file://<repo root>), so what is
tested is what a student would clone: commit before running this test.

The venv is cached in .cache/colab-env (git-ignored) and reused while requirements/colab.txt and
the stand-in are unchanged; what the setup cell installed is uninstalled again afterwards, and a
cache that does not match its recorded package list is rebuilt. Measured on the 2-core reference
CPU (shared with other jobs): building the venv about 1 minute. Every lecture runs at the smoke scale
with the quick-run switch on (each training stops after a few steps), and every control of its
widgets is moved once.
With the old bare `pip install -e course` labkit's then `ipywidgets>=8` would have replaced
Colab's 7.7.1; with the constraints such a requirement makes the setup cell fail instead.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from nbclient import NotebookClient

from notebook_runner import assert_ran_cleanly, outputs_text

ROOT = Path(__file__).resolve().parents[2]
COLAB_REQUIREMENTS = ROOT / "requirements" / "colab.txt"
CACHE = ROOT / ".cache" / "colab-env"
VENV = CACHE / "venv"
LOCAL_TORCH = "torch==2.13.0"  # the CPU wheel this machine has, in place of Colab's CUDA build
LEFT_OUT = {"torchvision"}
ADDED_BY_THE_COURSE = {"labkit", "mnist1d", "cleanlab"}
LECTURES = sorted((ROOT / "lectures").glob("L*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

pytestmark = pytest.mark.slow

STANDIN_OUTPUT = '''"""Stand-in for google.colab.output (tests/lectures/test_colab_environment.py)."""
calls = []


def enable_custom_widget_manager():
    calls.append("enable_custom_widget_manager")


def disable_custom_widget_manager():
    calls.append("disable_custom_widget_manager")
'''
STANDIN_INIT = '"""Stand-in for Colab\'s google.colab package: only what the course calls."""\nfrom . import output\n'
STANDIN_PTH = "import google.colab\n"  # Colab's kernel has google.colab imported before any cell runs


def _name(line: str) -> str:
    return re.split(r"[=<>!~\[ ;@]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _requirements() -> list:
    """requirements/colab.txt with this machine's substitutions."""
    lines = []
    for line in COLAB_REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or _name(line) in LEFT_OUT:
            continue
        lines.append(LOCAL_TORCH if _name(line) == "torch" else line)
    return lines


def _python311():
    candidates = [getattr(sys, "_base_executable", None), shutil.which("python3.11"),
                  *sorted(Path.home().glob(".pyenv/versions/3.11*/bin/python3.11"))]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            out = subprocess.run([str(candidate), "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
                                 capture_output=True, text=True)
            if out.stdout.strip() == "True":
                return str(candidate)
    return None


def _python() -> str:
    return str(VENV / "bin" / "python")


def _installed() -> dict:
    out = subprocess.run([_python(), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True,
                         check=True).stdout
    return {_name(line): line.strip() for line in out.splitlines() if "==" in line}


def _key(python: str) -> str:
    text = "\n".join(_requirements() + [STANDIN_OUTPUT, STANDIN_INIT, STANDIN_PTH, python])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _build(python: str, key: str) -> None:
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True)
    subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    subprocess.run([_python(), "-m", "pip", "install", "-q", *_requirements()], check=True)
    site = Path(subprocess.run([_python(), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "google" / "colab").mkdir(parents=True)  # google/ stays a namespace package
    (site / "google" / "colab" / "__init__.py").write_text(STANDIN_INIT)
    (site / "google" / "colab" / "output.py").write_text(STANDIN_OUTPUT)
    (site / "colab_standin.pth").write_text(STANDIN_PTH)
    (CACHE / "preinstalled.json").write_text(json.dumps(_installed(), indent=1, sort_keys=True))
    (CACHE / "key").write_text(key)


@pytest.fixture
def own_tmp():
    """A temporary folder outside pytest's numbered ones, which concurrent pytest runs prune."""
    path = Path(tempfile.mkdtemp(prefix="labkit-colab-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def colab():
    """The cached Colab-like venv, as it was before the course was installed, and a kernelspec for it."""
    python = _python311()
    if python is None:
        pytest.skip("needs a Python 3.11 interpreter to build the Colab-like environment")
    key = _key(python)
    fresh = not ((CACHE / "key").exists() and (CACHE / "key").read_text() == key and Path(_python()).exists())
    if not fresh:
        extra = set(_installed()) - set(json.loads((CACHE / "preinstalled.json").read_text()))
        if extra:  # a previous run was interrupted before it cleaned up
            subprocess.run([_python(), "-m", "pip", "uninstall", "-q", "-y", *sorted(extra)], check=False)
        fresh = _installed() != json.loads((CACHE / "preinstalled.json").read_text())
    if fresh:
        _build(python, key)
    preinstalled = json.loads((CACHE / "preinstalled.json").read_text())
    assert _installed() == preinstalled
    spec_root = Path(tempfile.mkdtemp(prefix="labkit-colab-kernel-"))
    spec_dir = spec_root / "kernels" / "colab-standin"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [_python(), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab stand-in", "language": "python"}))
    yield {"jupyter_path": str(spec_root), "preinstalled": preinstalled}
    shutil.rmtree(spec_root, ignore_errors=True)
    extra = set(_installed()) - set(preinstalled)
    if extra:
        subprocess.run([_python(), "-m", "pip", "uninstall", "-q", "-y", *sorted(extra)], check=False)


PROBE = """
import json, sys, ipywidgets, labkit, google.colab.output as _out
_report = {"labkit": labkit.__file__, "ipywidgets": ipywidgets.__version__, "calls": _out.calls, "errors": []}
for _w in list(ipywidgets.Widget.widgets.values()):  # move every control once, as a student would
    try:
        if isinstance(_w, ipywidgets.Button):
            _w.click()
        elif isinstance(_w, (ipywidgets.Dropdown, ipywidgets.ToggleButtons, ipywidgets.SelectionSlider)):
            _others = [v for v in (_o[1] if isinstance(_o, tuple) else _o for _o in _w.options) if v != _w.value]
            if _others:
                _w.value = _others[0]
        elif isinstance(_w, (ipywidgets.IntSlider, ipywidgets.FloatSlider)):
            _w.value = _w.min if _w.value != _w.min else _w.max
    except Exception as _err:
        _report["errors"].append(f"{type(_w).__name__}: {type(_err).__name__}: {_err}")
print("@@" + json.dumps(_report))
"""


def _lecture_env(colab: dict) -> dict:
    # the quick-run switch: every cell and widget runs on Colab's versions, each training for a few steps
    # only; what the lectures' numbers show is asserted by their own tests
    return {"JUPYTER_PATH": colab["jupyter_path"], "COURSE_REPO": f"file://{ROOT}", "LABKIT_SCALE": "smoke",
            "LABKIT_QUICK": "1", "LABKIT_PROGRESS": "0", "MPLBACKEND": "Agg", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "OMP_NUM_THREADS": "1"}


def _run(path: Path, workdir: Path, colab: dict):
    """Run one lecture in a Colab kernel (the caller sets :func:`_lecture_env`); returns the
    notebook and what the probe saw."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="colab-standin", resources={"metadata": {"path": str(workdir)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        probe = nbformat.v4.new_code_cell(PROBE)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
    outputs = nb.cells.pop().outputs
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    report = json.loads(text.split("@@", 1)[1])
    # a failing click handler is shown as a traceback rather than raised
    report["errors"] += [o.get("ename", "") for o in outputs if o.get("output_type") == "error"]
    return nb, report


def test_requirements_file_is_what_the_test_installs():
    names = {_name(line) for line in _requirements()}
    assert {"torch", "numpy", "scikit-learn", "ipywidgets", "widgetsnbextension", "ipykernel"} <= names
    assert LOCAL_TORCH in _requirements()


# Once in several runs the client has been seen waiting forever on the widget probe of the first lecture
# while the kernel sat idle: the limit turns such a hang into a failure with a traceback instead of
# a stalled suite (a full pass takes about 3 minutes).
@pytest.mark.timeout(900)
def test_lectures_install_the_course_on_colab_and_change_nothing_preinstalled(colab, own_tmp):
    workdir = own_tmp / "content"  # Colab's working folder
    workdir.mkdir()
    with mock.patch.dict(os.environ, _lecture_env(colab)):
        # the first lecture's setup cell clones and installs the course; the others find it there
        # and run two at a time (one kernel per core)
        runs = [_run(LECTURES[0], workdir, colab)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs += list(pool.map(lambda path: _run(path, workdir, colab), LECTURES[1:]))
    for path, (nb, report) in zip(LECTURES, runs):
        assert_ran_cleanly(nb)
        assert report["ipywidgets"] == colab["preinstalled"]["ipywidgets"].split("==")[1]
        assert report["calls"] == ["enable_custom_widget_manager"], "the setup cell turns on Colab's widget manager"
        assert Path(report["labkit"]).is_relative_to(workdir / "course"), report["labkit"]
        assert any(WIDGET_VIEW in o.get("data", {}) for c in nb.cells for o in c.get("outputs", [])), \
            f"{path.name} shows no widget"
        assert report["errors"] == [], f"{path.name}: widgets fail on ipywidgets {report['ipywidgets']}"
        assert "QUICK RUN" in outputs_text(nb)
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors
    after = _installed()
    before = colab["preinstalled"]
    changed = {name: (before[name], after.get(name)) for name in before if after.get(name) != before[name]}
    assert changed == {}, f"installing the course changed Colab's packages: {changed}"
    assert set(after) - set(before) == ADDED_BY_THE_COURSE


@pytest.mark.timeout(900)
def test_the_student_edition_installs_itself_on_colab_and_its_exercise_checks_pass(colab, own_tmp):
    """Published with ``python -m grader publish`` for a file:// URL: the edition's own notebook, with
    no COURSE_REPO in the environment, clones the edition, installs it and runs the exercise's
    visible tests (the published solution, so that they pass)."""
    sys.path.insert(0, str(ROOT / "course"))
    from grader.publish import publish

    edition = own_tmp / "edition"
    publish(edition, f"file://{edition}", ["00-warmup"], ["00-warmup"])
    workdir = own_tmp / "content"
    workdir.mkdir()
    nb = nbformat.read(edition / "solutions" / "00-warmup" / "warmup.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import labkit, google.colab.output as o\n"
                                              "print('@@', labkit.__file__, o.calls)"))
    env = {"JUPYTER_PATH": colab["jupyter_path"], "MPLBACKEND": "Agg", "LABKIT_PROGRESS": "0",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "NBGRADER_EXECUTION": "autograde"}  # the scale grading uses
    with mock.patch.dict(os.environ, env):
        os.environ.pop("COURSE_REPO", None)
        os.environ.pop("LABKIT_SCALE", None)
        NotebookClient(nb, timeout=600, kernel_name="colab-standin",
                       resources={"metadata": {"path": str(workdir)}}).execute()
    assert_ran_cleanly(nb)
    assert json.loads((workdir / "course" / "edition.json").read_text())["assignments"] == ["00-warmup"]
    assert not (workdir / "course" / "course").exists() and not (workdir / "course" / "tests").exists()
    text = outputs_text(nb)
    where, calls = text.split("@@ ", 1)[1].split(" ", 1)
    assert Path(where).is_relative_to(workdir / "course") and "enable_custom_widget_manager" in calls
    tests = [c for c in nb.cells if (c.metadata.get("nbgrader") or {}).get("grade")
             and c.cell_type == "code"]
    assert len(tests) == 3
    for cell in tests:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        assert printed.count("OK  ") >= 1 and "Error" not in printed, printed
