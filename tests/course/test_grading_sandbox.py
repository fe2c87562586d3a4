"""The grading sandbox: a student's code, run the way autograde runs it, cannot see the
instructor's files or reach the network, and has resource limits."""
import socket
import sys
from pathlib import Path

import pytest
from jupyter_client.manager import AsyncKernelManager

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "course"))

from grader import probe  # noqa: E402
from grader.sandbox import SandboxKernelManager  # noqa: E402


@pytest.fixture
def listener():
    """A TCP server on the host's loopback, listening (the kernel completes the connection without
    an accept): what a student's code outside any sandbox would reach. Yields (host, port)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()


@pytest.fixture(scope="module")
def course_with_secrets(tmp_path_factory):
    """A course folder holding everything a student must not read."""
    course = tmp_path_factory.mktemp("course")
    for rel in ("source/00-x/x.ipynb", "submitted/alice/00-x/x.ipynb", "autograded/bob/00-x/x.ipynb",
                "release/00-x/x.ipynb", "feedback/bob/00-x/x.html", ".grading-cache/00-x/x.json"):
        (course / rel).parent.mkdir(parents=True, exist_ok=True)
        (course / rel).write_text("### BEGIN SOLUTION secret")
    (course / "gradebook.db").write_text("grades")
    (course / "nbgrader_config.py").write_text("c = get_config()")
    return course


@pytest.mark.sandbox  # skipped with the install command where bwrap is missing (tests/conftest.py)
@pytest.mark.slow
def test_student_code_sees_none_of_the_instructors_files(course_with_secrets, listener):
    paths = probe.secret_paths(course_with_secrets)
    report = probe.probe(course_with_secrets, paths, targets=[listener])
    exposed = {p: v for p, v in report["paths"].items() if v["exists"] or v["readable"]}
    assert exposed == {}
    assert all(v != "open" for v in report["network"].values()), report["network"]
    assert f"{listener[0]}:{listener[1]}" in report["network"]  # the host's own listener is not reachable
    assert probe.sealed(report)
    # the working folder holds the data files, not the notebooks (which carry the restored tests)
    assert report["listdir"] == ["data.csv"]
    limits, configured = report["limits"], SandboxKernelManager()
    assert limits["AS"] == configured.memory_limit == 6 * 2**30      # the values the sandbox is configured with
    assert limits["CPU"] == configured.cpu_limit == 900
    assert limits["FSIZE"] == configured.file_size_limit == 64 * 2**20
    assert report["pid"] < 10, "the kernel runs in its own process namespace"
    assert "HOME" in report["env"] and not any(k.startswith(("SSH_", "AWS_", "GITHUB_")) for k in report["env"])


@pytest.mark.slow
def test_the_probe_does_find_files_when_there_is_no_sandbox(course_with_secrets, listener):
    """The check above can fail: a plain kernel reads the instructor's files and reaches the host's
    listener (the positive control of the network check, which holds on an offline machine too)."""
    report = probe.probe(course_with_secrets, probe.secret_paths(course_with_secrets),
                         kernel_manager_class=AsyncKernelManager, targets=[listener])
    assert report["network"][f"{listener[0]}:{listener[1]}"] == "open"
    assert report["limits"]["AS"] != 6 * 2**30  # no sandbox, no limit of its size
    assert report["paths"][str(course_with_secrets / "gradebook.db")]["readable"]
    assert report["paths"][str(course_with_secrets / "source")]["readable"]
    assert not probe.sealed(report)


def test_missing_bubblewrap_is_explained(monkeypatch):
    from grader import sandbox

    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install bubblewrap"):
        sandbox.find_bwrap()


def _fake_bwrap(tmp_path, message: str, code: int) -> str:
    fake = tmp_path / "bwrap"
    fake.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit {code}\n")
    fake.chmod(0o755)
    return str(fake)


def test_the_apparmor_restriction_is_recognised_with_its_fix(tmp_path):
    """Ubuntu 23.10+: bwrap fails to map its user id; the message names the switch and both fixes."""
    from grader import sandbox

    bwrap = _fake_bwrap(tmp_path, "bwrap: setting up uid map: Permission denied", 1)
    switch = tmp_path / "apparmor_restrict_unprivileged_userns"
    switch.write_text("1\n")
    problem = sandbox.userns_problem(bwrap, switch)
    assert "setting up uid map: Permission denied" in problem
    assert f"profile bwrap {bwrap} flags=(unconfined)" in problem and "userns," in problem
    assert "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in problem
    switch.write_text("0\n")
    other = sandbox.userns_problem(bwrap, switch)
    assert "apparmor" not in other.lower() and "user namespaces may be off" in other
    assert sandbox.userns_problem(_fake_bwrap(tmp_path, "", 0), switch) is None
