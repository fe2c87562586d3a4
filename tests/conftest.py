import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

# tests/ (notebook_runner), tests/course/ (the grader's test fixtures), course/ (the grader) and the root (book)
HERE = Path(__file__).resolve().parent
for path in (HERE, HERE / "course", HERE.parent / "course", HERE.parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# The suite runs at the smoke scale on the CPU unless a test says otherwise.
os.environ.setdefault("LABKIT_SCALE", "smoke")
os.environ.setdefault("LABKIT_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs the quick tests in one worker per core: one torch thread each, since two
    # threads competing for a core make small tensors several times slower
    torch.set_num_threads(1)

# Tests that need a system package a fresh machine lacks. `make test` installs them where it can
# (tools/system-deps.sh); elsewhere these tests are skipped with the command that enables them.
# CI sets LABKIT_REQUIRE_SYSTEM_TESTS=1 so that they run there or fail, never skip.
_INSTALL = "sudo apt-get install -y {} (or run `make test` as root or with passwordless sudo, which installs it)"


def _sandbox_problem():
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed: " + _INSTALL.format("bubblewrap")
    try:
        run = subprocess.run([bwrap, "--die-with-parent", "--unshare-all", "--ro-bind", "/", "/", "true"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap does not run here ({err})"
    if run.returncode:
        first = (run.stderr.strip().splitlines() or ["no message"])[0]
        return (f"bwrap cannot create a sandbox on this machine ({first}); it needs unprivileged user "
                "namespaces (sysctl kernel.unprivileged_userns_clone=1, or an AppArmor profile for bwrap)")
    return None


def _browser_problem():
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "Chromium is not installed: " + _INSTALL.format("chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed: .venv/bin/python -m pip install -e '.[dev]'"
    return None


SYSTEM_NEEDS = {"sandbox": _sandbox_problem, "browser": _browser_problem}


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs CUDA (run on a GPU machine)")
    required = os.environ.get("LABKIT_REQUIRE_SYSTEM_TESTS", "") == "1"
    problems, skipped = {}, {}
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)
        for marker, check in SYSTEM_NEEDS.items():
            if marker not in item.keywords or required:
                continue
            if marker not in problems:
                problems[marker] = check()
            if problems[marker]:
                item.add_marker(pytest.mark.skip(reason=problems[marker]))
                skipped[marker] = skipped.get(marker, 0) + 1
    config._labkit_system_skips = {m: (n, problems[m]) for m, n in skipped.items()}


def pytest_terminal_summary(terminalreporter, config):
    for marker, (count, reason) in getattr(config, "_labkit_system_skips", {}).items():
        terminalreporter.write_line(f"{count} '{marker}' tests skipped: {reason}", yellow=True)
