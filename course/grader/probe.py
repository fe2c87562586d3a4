"""What a student's code can see and reach while it is graded: ``python -m grader sandbox``.

Runs a small notebook in a grading kernel, started exactly as autograde starts it, from a scratch
folder next to the course, and reports which of the instructor's paths exist or can be read
inside, whether the network answers, and the resource limits in force.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import nbformat

from .build import COURSE, REPO

PROBE = r'''
import json, os, resource, socket
paths, targets = json.loads({paths!r}), json.loads({targets!r})
seen = {{}}
for p in paths:
    entry = {{"exists": os.path.exists(p), "readable": False}}
    try:
        if os.path.isdir(p):
            os.listdir(p)
        else:
            open(p, "rb").read(1)
        entry["readable"] = True
    except OSError:
        pass
    seen[p] = entry
net = {{}}
for host, port in targets:
    try:
        socket.create_connection((host, port), timeout=2).close()
        net[f"{{host}}:{{port}}"] = "open"
    except OSError as err:
        net[f"{{host}}:{{port}}"] = type(err).__name__
limits = {{n: resource.getrlimit(getattr(resource, "RLIMIT_" + n))[0] for n in ("AS", "CPU", "FSIZE", "NOFILE")}}
print("PROBE" + json.dumps({{"paths": seen, "network": net, "limits": limits, "pid": os.getpid(),
                            "env": sorted(os.environ), "cwd": os.getcwd(), "listdir": sorted(os.listdir("."))}}))
'''


def secret_paths(course: Path = COURSE) -> list:
    """Paths a student's code must not reach."""
    home = Path.home()
    return [str(p) for p in [
        course / "source", course / "gradebook.db", course / "submitted", course / "autograded",
        course / "release", course / "feedback", course / ".grading-cache", course / "nbgrader_config.py",
        REPO / "solutions", REPO / ".git", home / ".ssh", home / ".bashrc", home / ".bash_history",
        home / ".config", home / ".cache", home / ".local", Path("/etc/shadow"), Path("/etc/hostname"),
    ]]


# addresses outside the sandbox: two public ones, and the host's own ssh port (a listener the test
# starts on the host's loopback is the positive control: a plain kernel reaches it)
TARGETS = [("1.1.1.1", 53), ("8.8.8.8", 443), ("127.0.0.1", 22)]


def probe(course: Path = COURSE, paths: list | None = None, kernel_manager_class=None, targets=()) -> dict:
    """Run the probe in a grading kernel (``kernel_manager_class``: the sandbox by default) and return
    its report: ``paths`` (exists, readable), ``network`` (``host:port`` -> "open" or the error's
    name) for :data:`TARGETS` and the extra ``targets``, ``limits``, ``pid``, ``env``, ``cwd``, ``listdir``."""
    from nbclient import NotebookClient

    from .sandbox import SandboxKernelManager

    paths = secret_paths(course) if paths is None else [str(p) for p in paths]
    targets = [list(t) for t in TARGETS + list(targets)]
    code = PROBE.format(paths=json.dumps(paths), targets=json.dumps(targets))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    with tempfile.TemporaryDirectory(prefix="probe-", dir=course) as work:
        Path(work, "data.csv").write_text("x,y\n1,2\n")
        Path(work, "answers.ipynb").write_text("{}")
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       kernel_manager_class=kernel_manager_class or SandboxKernelManager,
                       resources={"metadata": {"path": work}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("output_type") == "stream")
    if "PROBE" not in text:
        raise RuntimeError("the probe did not report: " + json.dumps(nb.cells[0].outputs)[:2000])
    report = json.loads(text.split("PROBE", 1)[1])
    report["processes"] = process_limit(kernel_manager_class or SandboxKernelManager)
    return report


def process_limit(kernel_manager_class) -> str:
    """How the kernels' processes are limited: a pids cgroup, RLIMIT_NPROC, or not at all."""
    import os

    from .sandbox import CGROUP_PARENT, SandboxKernelManager, processes_limited_per_kernel

    if not issubclass(kernel_manager_class, SandboxKernelManager):
        return "not limited (no sandbox)"
    if processes_limited_per_kernel():
        limit = kernel_manager_class().process_limit
        return f"at most {limit} processes and threads per kernel (a pids cgroup under {CGROUP_PARENT}/)"
    if os.geteuid() != 0:
        return "RLIMIT_NPROC: all of this user's processes together"
    return "NOT LIMITED: grading runs as root and no pids cgroup can be made here"


def run_cells(cells: list, where: Path, kernel_manager_class=None, timeout: int = 120) -> tuple:
    """Run the code ``cells`` in one grading kernel (``kernel_manager_class``: the sandbox by
    default), from a scratch folder inside ``where``; errors are kept as outputs. Returns (the
    executed cells, None) or, when the kernel died, (the cells so far, the DeadKernelError)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    from .sandbox import SandboxKernelManager

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    with tempfile.TemporaryDirectory(prefix="probe-", dir=where) as work:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                kernel_manager_class=kernel_manager_class or SandboxKernelManager,
                                resources={"metadata": {"path": work}})
        try:
            client.execute()
        except DeadKernelError as err:
            return nb.cells, err
    return nb.cells, None


def sealed(report: dict) -> bool:
    """True when no secret path exists inside and no network address answers."""
    return not any(v["exists"] or v["readable"] for v in report["paths"].values()) and \
        all(v != "open" for v in report["network"].values())


def describe(report: dict) -> list:
    lines = ["Inside a grading kernel:"]
    for p, v in report["paths"].items():
        state = "READABLE" if v["readable"] else "exists" if v["exists"] else "absent"
        lines.append(f"  {state:9s} {p}")
    for target, v in report["network"].items():
        lines.append(f"  network {target}: {'OPEN' if v == 'open' else 'blocked (' + v + ')'}")
    lim = report["limits"]
    lines.append(f"  limits: memory {lim['AS'] / 2**30:.1f} GiB, CPU {lim['CPU']} s, file size "
                 f"{lim['FSIZE'] / 2**20:.0f} MiB, open files {lim['NOFILE']}")
    lines.append(f"  processes: {report.get('processes', 'unknown')}")
    lines.append(f"  working folder {report['cwd']} holds {report['listdir']}; process id {report['pid']}")
    lines.append("sealed: yes" if sealed(report) else "sealed: NO - student code can reach the paths marked above")
    return lines
