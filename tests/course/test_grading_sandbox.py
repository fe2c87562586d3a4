"""The grading sandbox: a student's code, run the way autograde runs it, cannot see the
instructor's files or reach the network, and has resource limits."""
import os
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
    assert "NOT LIMITED" not in report["processes"], report["processes"]
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


# ---------------------------------------------------------------------------------------------
# every limit made to fire, at the value it is configured with; the same code in a plain kernel
# (no sandbox) is the positive control: there it runs to the end

SMALL = {"memory_limit": 2**30, "cpu_limit": 2, "file_size_limit": 16 * 2**20, "tmp_size": 64 * 2**20,
         "work_size": 32 * 2**20, "process_limit": 64}


def small_sandbox(**limits):
    """The grading kernel manager with smaller limits, so that each fires within seconds."""
    from traitlets import Integer

    values = {**SMALL, **limits}
    return type("SmallSandbox", (SandboxKernelManager,), {k: Integer(v).tag(config=True) for k, v in values.items()})


def _text(cells) -> str:
    return "".join(o.get("text", "") + o.get("ename", "") + " " + o.get("evalue", "")
                   for c in cells for o in c.get("outputs", []))


def _number(text: str, label: str) -> int:
    return int(text.split(label + " ", 1)[1].split()[0])


TOUCH_MEMORY = """
held = []
try:
    while len(held) < 24:  # 1.5 GiB, each page written
        held.append(b"\\x01" * (64 << 20))
except MemoryError:
    print("memory error")
print("touched", len(held) * 64, "MiB")
del held
"""


@pytest.mark.sandbox
@pytest.mark.slow
def test_memory_that_is_really_touched_stops_at_the_limit(tmp_path):
    cells, died = probe.run_cells([TOUCH_MEMORY], tmp_path, small_sandbox())
    text = _text(cells)
    assert died is None and "memory error" in text, text
    assert _number(text, "touched") < SMALL["memory_limit"] >> 20  # the address space includes Python itself
    cells, died = probe.run_cells([TOUCH_MEMORY], tmp_path, AsyncKernelManager)
    assert "touched 1536 MiB" in _text(cells) and "memory error" not in _text(cells)


BURN_CPU = """
import time
start = time.process_time()
while time.process_time() - start < 6:
    pass
print("burnt", round(time.process_time() - start), "s")
"""


@pytest.mark.sandbox
@pytest.mark.slow
def test_cpu_time_is_cut_at_the_limit(tmp_path):
    import time

    begin = time.monotonic()
    cells, died = probe.run_cells([BURN_CPU], tmp_path, small_sandbox(), timeout=60)
    assert died is not None and "burnt" not in _text(cells), "the kernel is killed at its CPU limit"
    assert time.monotonic() - begin < 30, "killed at 2 s of CPU (plus the start), not at a wall-clock timeout"
    cells, died = probe.run_cells([BURN_CPU], tmp_path, AsyncKernelManager, timeout=60)
    assert died is None and "burnt 6 s" in _text(cells)


SPAWN = """
import subprocess
started = []
try:
    for _ in range(200):
        started.append(subprocess.Popen(["sleep", "30"]))
except OSError as err:
    print("refused", type(err).__name__)
print("started", len(started))
for p in started:
    p.kill()
    p.wait()
"""

FORK_BOMB = """
import os, time
children = 0
for _ in range(400):
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        children += 1
    except OSError:
        break
print("forked", children)
"""


@pytest.mark.sandbox
@pytest.mark.slow
def test_processes_stop_at_the_limit_also_when_grading_runs_as_root(tmp_path):
    from grader.sandbox import processes_limited_per_kernel

    if not processes_limited_per_kernel():
        # an ordinary user: RLIMIT_NPROC binds them (root it does not, so root must have the cgroup)
        assert os.geteuid() != 0, "grading as root needs a pids cgroup: /sys/fs/cgroup must be writable"
        pytest.skip("no pids cgroup for this user; RLIMIT_NPROC limits its processes instead")
    made = []  # this test's kernels' cgroups (other tests may be grading beside it, with their own)

    class Recording(small_sandbox()):
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            made.append(self._cgroup)
            return cmd

    cells, died = probe.run_cells([SPAWN, FORK_BOMB], tmp_path, Recording)
    text = _text(cells)
    assert died is None and "refused" in text, text
    assert _number(text, "started") < SMALL["process_limit"] and _number(text, "forked") < SMALL["process_limit"]
    cells, died = probe.run_cells([SPAWN], tmp_path, AsyncKernelManager)
    assert "started 200" in _text(cells) and "refused" not in _text(cells)
    assert made and all(g is not None for g in made), "every sandboxed kernel gets a cgroup of its own"
    assert not [g for g in made if g.exists()], "each kernel's cgroup is removed after it"


FILL_DISK = """
import os
def fill(folder, size_mib=8, most=20):
    written = 0
    try:
        for i in range(most):
            with open(os.path.join(folder, f"fill-{i}"), "wb") as fh:
                fh.write(b"\\x01" * (size_mib << 20))
            written += size_mib
    except OSError as err:
        print("full", type(err).__name__)
    return written
print("tmp", fill("/tmp" if os.path.isdir("/tmp/home") else TMP), "MiB")
print("work", fill("."), "MiB")
try:  # the folders above the working folder: in the sandbox only bwrap's own (read-only) skeleton
    with open(os.path.join("..", "above"), "wb") as fh:
        fh.write(b"\x01" * (1 << 20))
    print("above written")
except OSError as err:
    print("above refused", type(err).__name__)
try:
    with open("big", "wb") as fh:
        fh.write(b"\\x01" * (24 << 20))
    print("big file written")
except OSError as err:
    print("big file refused", type(err).__name__)
"""


@pytest.mark.sandbox
@pytest.mark.slow
def test_disk_tmp_and_file_size_stop_at_their_limits(tmp_path):
    code = f"TMP = {str(tmp_path / 'host-tmp')!r}\nimport os\nos.makedirs(TMP, exist_ok=True)\n" + FILL_DISK
    cells, died = probe.run_cells([code], tmp_path, small_sandbox(work_size=64 * 2**20))
    text = _text(cells)
    assert died is None and text.count("full") == 2, text
    assert _number(text, "tmp") <= SMALL["tmp_size"] >> 20 and _number(text, "work") <= 64, text
    assert "big file refused" in text and "above refused" in text, text
    cells, died = probe.run_cells([code], tmp_path, AsyncKernelManager)
    text = _text(cells)
    assert "tmp 160 MiB" in text and "work 160 MiB" in text and "big file written" in text, text
    assert "above written" in text and (tmp_path / "above").exists(), text


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.parametrize("interrupt", [True, False], ids=["interrupted", "not-interrupted"])
def test_the_whole_notebook_time_cap_stops_grading_and_marks_the_rest_not_run(tmp_path, interrupt):
    import time

    import nbformat

    from grader.execute import GuardedExecute

    graded = {"nbgrader": {"grade": True, "grade_id": "t", "points": 1, "solution": False}}
    cells = [nbformat.v4.new_code_cell("import time\ntime.sleep(2)"),
             nbformat.v4.new_code_cell("while True:\n    time.sleep(0.1)"),
             nbformat.v4.new_code_cell("print('never')", metadata=graded)]
    nb = nbformat.v4.new_notebook(cells=cells)
    begin = time.monotonic()
    GuardedExecute(notebook_timeout=5, timeout=60, interrupt_on_timeout=interrupt,
                   kernel_manager_class=small_sandbox()).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    print([[(o.get("ename"), o.get("evalue")) for o in c.outputs] for c in nb.cells])
    assert time.monotonic() - begin < 25, "the cap, not the 60 s cell timeout, ended the run"
    stopped = [o for o in nb.cells[1].outputs if o.get("ename") == "GradingStopped"]
    assert stopped and "longer than 5 s" in stopped[0]["evalue"], nb.cells[1].outputs
    assert nb.cells[2].outputs[0]["ename"] == "NotRun"
