"""Run each grading kernel inside a bubblewrap sandbox.

A student's notebook runs on the instructor's machine while it is graded. The kernel therefore starts
in a fresh mount, PID, network, IPC and user namespace (``bwrap --unshare-all``) that contains only:

- read-only: the operating system (/usr and the few /etc files programs need), the Python
  installation and virtual environment, and the labkit package;
- the submission's own working folder, as a private, size-limited, writable copy of its data files
  (the notebook files themselves are not there: they hold the restored test cells);
- a private, size-limited /tmp with the home folder, and the socket folder used to talk to nbgrader.

So the course sources with solutions and hidden tests, the other students' submissions, the
gradebook and everything else under the instructor's home do not exist inside. There is no network
(only a private loopback), the environment is cleared, and resource limits cap memory (address
space), CPU time, file size, open files and, through a pids cgroup where one can be made (as root;
an ordinary user is bound by RLIMIT_NPROC instead), the processes and threads. Killing the kernel
kills everything it started: the sandbox has its own PID namespace and dies with its parent.

The kernel talks to nbgrader over Unix sockets (ZeroMQ ``ipc`` transport) in a private folder, so
it needs no network. Interrupts are sent as messages on the control channel (the signal would hit
bubblewrap instead of the kernel).

``LABKIT_GRADING_SANDBOX=off`` runs kernels without the sandbox, for trusted notebooks only.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, List, Unicode

from . import compat

compat.check()  # the private methods overridden below are still there

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "launch.py"

# files under /etc that Python, glibc and matplotlib read; nothing else of /etc is visible
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "passwd", "group",
             "host.conf", "fonts", "mime.types")


def sandbox_disabled() -> bool:
    return os.environ.get("LABKIT_GRADING_SANDBOX", "").strip().lower() in ("off", "0", "no", "false")


def find_bwrap() -> str:
    path = shutil.which("bwrap")
    if not path:
        raise RuntimeError(
            "Grading runs students' code in a bubblewrap sandbox, but `bwrap` is not installed. Install it "
            "(Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install bubblewrap`). "
            "Only for notebooks you trust, LABKIT_GRADING_SANDBOX=off grades without the sandbox.")
    return path


APPARMOR_SWITCH = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
APPARMOR_FIX = """\
Ubuntu 23.10 and later let AppArmor forbid unprivileged user namespaces
(kernel.apparmor_restrict_unprivileged_userns = 1), which bubblewrap needs for its sandbox.
Allow bwrap alone, with an AppArmor profile (as root):
    cat > /etc/apparmor.d/bwrap <<'EOF'
    abi <abi/4.0>,
    include <tunables/global>
    profile bwrap {bwrap} flags=(unconfined) {{
      userns,
      include if exists <local/bwrap>
    }}
    EOF
    systemctl reload apparmor
or lift the restriction for every program until the next boot:
    sysctl -w kernel.apparmor_restrict_unprivileged_userns=0
(course/README.md, "The grading machine")."""


_CHECKED = set()  # bwrap paths seen to work in this process
NAMESPACES = ["--die-with-parent", "--unshare-all", "--cap-drop", "ALL"]  # what every sandbox asks of bwrap


def userns_problem(bwrap: str, switch: Path = APPARMOR_SWITCH) -> str | None:
    """None when bwrap can make its namespaces here; else what is wrong and how to fix it."""
    proc = subprocess.run([bwrap, *NAMESPACES, "--ro-bind", "/", "/", "true"], capture_output=True,
                          text=True, timeout=30)
    if proc.returncode == 0:
        _CHECKED.add(bwrap)
        return None
    why = (proc.stderr or proc.stdout).strip() or f"exit code {proc.returncode}"
    try:
        restricted = switch.read_text().strip() == "1"
    except OSError:
        restricted = False
    if restricted:
        return f"bwrap cannot start its sandbox ({why}).\n" + APPARMOR_FIX.format(bwrap=bwrap)
    return (f"bwrap cannot start its sandbox ({why}). Unprivileged user namespaces may be off "
            "(sysctl kernel.unprivileged_userns_clone, user.max_user_namespaces) or forbidden in this "
            "container (docker: --security-opt seccomp=unconfined, or run the grading on the host).")


def _package_dir(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"cannot find the {name} package to show it inside the sandbox")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def _matplotlib_font_cache() -> Path | None:
    """The instructor's matplotlib font list, copied into every sandbox to save a rebuild (~1.5 s)."""
    try:
        import matplotlib

        cache = Path(matplotlib.get_cachedir())
        found = sorted(cache.glob("fontlist-*.json"))
        if not found:
            import matplotlib.font_manager  # noqa: F401  (builds the cache)

            found = sorted(cache.glob("fontlist-*.json"))
        return found[-1] if found else None
    except Exception:  # a missing cache only costs time
        return None


# Where a grading kernel's processes are counted: a pids cgroup (v2, or v1's pids hierarchy) under
# which each kernel gets a folder of its own. RLIMIT_NPROC alone does not bind root, and counts every
# process of the user, so a fork bomb graded as root would reach the host's limit.
CGROUP_ROOTS = (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/pids"))
CGROUP_PARENT = "labkit-grading"


def process_cgroup(name: str, limit: int, roots=CGROUP_ROOTS) -> Path | None:
    """A new pids cgroup ``<root>/labkit-grading/<name>`` holding at most ``limit`` processes and
    threads, or None where this user cannot make one (an ordinary user usually cannot: there
    RLIMIT_NPROC, which does bind them, is the limit)."""
    for root in roots:
        controllers = root / "cgroup.controllers"
        v2 = controllers.exists()
        usable = "pids" in controllers.read_text().split() if v2 else \
            root.name == "pids" and (root / "cgroup.procs").exists()
        if not usable:
            continue
        try:
            parent = root / CGROUP_PARENT
            parent.mkdir(exist_ok=True)
            if v2:
                for folder in (root, parent):
                    if "pids" not in (folder / "cgroup.subtree_control").read_text().split():
                        (folder / "cgroup.subtree_control").write_text("+pids")
            group = parent / name
            group.mkdir()
            (group / "pids.max").write_text(str(limit))
            return group
        except OSError:
            continue
    return None


def processes_limited_per_kernel() -> bool:
    """Whether this user can give each kernel a pids cgroup (root must: nothing else binds it)."""
    group = process_cgroup(f"check-{os.getpid()}-{os.urandom(4).hex()}", 1)
    remove_cgroup(group)
    return group is not None


def remove_cgroup(group: Path | None, wait: float = 5.0) -> None:
    """Remove a kernel's cgroup once its processes are gone (they die with the sandbox)."""
    import time

    if group is None:
        return
    deadline = time.monotonic() + wait
    while True:
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return  # still busy: a cgroup left behind holds nothing once its processes end; the next kernel gets a new name
            time.sleep(0.05)


def sandbox_spec(command: list, cwd: str, private: str, *, memory: int, cpu_seconds: int, file_size: int,
                 tmp_size: int, work_size: int, extra_ro: list = (), env: dict | None = None,
                 cgroup: Path | None = None) -> dict:
    """What :mod:`launch` needs to start ``command`` in the sandbox with working folder ``cwd``.

    ``private`` is a folder shared with the sandbox at the same path (the kernel's sockets and
    connection file). The files of ``cwd`` other than notebooks are copied into a fresh tmpfs there.
    """
    bwrap = find_bwrap()
    args = [bwrap, *NAMESPACES, "--clearenv",
            "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev"]
    for top in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
        p = Path("/") / top
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            args += ["--ro-bind", str(p), str(p)]
    for name in ETC_FILES:
        p = Path("/etc") / name
        if p.exists():
            args += ["--ro-bind", str(p), str(p)]
    if Path("/sys/devices/system/cpu").is_dir():  # CPU topology for torch's thread pools
        args += ["--ro-bind", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    # The private /tmp comes first: an installation that lives under /tmp (a checkout there, say)
    # is then bound on top of it rather than hidden by it.
    args += ["--size", str(tmp_size), "--tmpfs", "/tmp", "--dir", "/tmp/home", "--dir", "/tmp/home/.cache",
             "--dir", "/tmp/home/.cache/matplotlib"]
    ro = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.exec_prefix).resolve(),
          _package_dir("labkit"), *[Path(p).resolve() for p in extra_ro]}
    for p in sorted(ro):
        args += ["--ro-bind", str(p), str(p)]
    inject = []  # (host file, path inside): copied in by the launcher through file descriptors
    font = _matplotlib_font_cache()
    if font is not None:
        inject.append((str(font), f"/tmp/home/.cache/matplotlib/{font.name}"))
    cwd = str(Path(cwd).resolve())
    args += ["--size", str(work_size), "--tmpfs", cwd]
    for root, dirs, files in os.walk(cwd):
        dirs[:] = [d for d in dirs if not d.startswith(".ipynb_checkpoints")]
        for f in files:
            if f.endswith(".ipynb") or f == "timestamp.txt":
                continue
            src = os.path.join(root, f)
            if os.path.isfile(src) and not os.path.islink(src):
                inject.append((src, src))
    # The folders bwrap made to hold these mounts (the course's path down to the working folder)
    # live in its root, a tmpfs without a size: read-only, so that nothing can be written there
    # (it would look like the course's folders, and fill the host's memory).
    args += ["--bind", private, private, "--remount-ro", "/", "--chdir", cwd]
    base_env = {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp/home", "USER": "student", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "MPLCONFIGDIR": "/tmp/home/.cache/matplotlib", "MPLBACKEND": "Agg", "IPYTHONDIR": "/tmp/home/.ipython",
        "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "LABKIT_PROGRESS": "0", "LABKIT_DEVICE": "cpu",
        "NBGRADER_EXECUTION": os.environ.get("NBGRADER_EXECUTION", "autograde"),
    }
    base_env.update(env or {})
    for k, v in base_env.items():
        args += ["--setenv", k, str(v)]
    return {"bwrap": args, "inject": inject, "command": list(command),
            # the launcher joins the cgroup (which counts the kernel's processes and threads, root's
            # too) before it starts bwrap; NPROC counts all processes of an ordinary user and does
            # not bind root
            "cgroup": str(cgroup) if cgroup else None,
            "limits": {"AS": memory, "CPU": cpu_seconds, "FSIZE": file_size, "NOFILE": 1024, "CORE": 0,
                       "NPROC": 4096}}


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start inside the bubblewrap sandbox described above."""

    memory_limit = Integer(6 * 2**30, help="address-space limit of the kernel, bytes").tag(config=True)
    cpu_limit = Integer(900, help="CPU-time limit of the kernel, seconds").tag(config=True)
    file_size_limit = Integer(64 * 2**20, help="largest file the kernel may write, bytes").tag(config=True)
    tmp_size = Integer(512 * 2**20, help="size of the sandbox's /tmp, bytes").tag(config=True)
    work_size = Integer(256 * 2**20, help="size of the writable working folder, bytes").tag(config=True)
    process_limit = Integer(512, help="processes and threads the kernel may have at once (a pids cgroup "
                                      "where one can be made, as root)").tag(config=True)
    extra_ro_paths = List(Unicode(), help="more host paths shown read-only inside").tag(config=True)
    enabled = Bool(True, help="start kernels in the sandbox (else: plain kernels)").tag(config=True)

    _private = None
    _cwd = None
    _cgroup = None

    def _sandboxed(self) -> bool:
        return self.enabled and not sandbox_disabled()

    async def _async_pre_start_kernel(self, **kw):
        if self._sandboxed():
            bwrap = find_bwrap()
            problem = None if bwrap in _CHECKED else userns_problem(bwrap)
            if problem:
                raise RuntimeError(problem)
            self._cwd = kw.get("cwd") or os.getcwd()
            self._private = tempfile.mkdtemp(prefix="grader-")
            self.transport = "ipc"
            self.ip = os.path.join(self._private, "k")
            self.connection_file = os.path.join(self._private, "connection.json")
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if not self._sandboxed():
            return cmd
        if any("ipykernel" in part for part in cmd):  # no parent process in sight: skip the banner
            cmd = [*cmd, "--quiet"]
        remove_cgroup(self._cgroup)  # a restart: the old kernel is gone
        self._cgroup = process_cgroup(f"{Path(self._private).name}-{os.urandom(4).hex()}", self.process_limit)
        spec = sandbox_spec(cmd, self._cwd, self._private, memory=self.memory_limit, cpu_seconds=self.cpu_limit,
                            file_size=self.file_size_limit, tmp_size=self.tmp_size, work_size=self.work_size,
                            extra_ro=self.extra_ro_paths, cgroup=self._cgroup)
        fd, spec_path = tempfile.mkstemp(prefix="grader-spec-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(spec, fh)
        return [sys.executable, "-I", str(LAUNCHER), spec_path]

    async def _async_interrupt_kernel(self):
        if not self._sandboxed() or not self.has_kernel:
            return await super()._async_interrupt_kernel()
        msg = self.session.msg("interrupt_request", content={})
        self._connect_control_socket()
        self.session.send(self._control_socket, msg)

    interrupt_kernel = _async_interrupt_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            remove_cgroup(self._cgroup)
            self._cgroup = None
        if self._private and not restart:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None

    cleanup_resources = _async_cleanup_resources
