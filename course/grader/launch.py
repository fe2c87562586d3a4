"""Start one sandboxed kernel: ``python -I launch.py SPEC.json`` (written by sandbox.py).

Sets the resource limits, opens the files to copy into the sandbox, then replaces itself with
bubblewrap. Runs with the standard library only (``-I``: no site-packages, no environment).
"""
import json
import os
import resource
import sys


def main(spec_path: str) -> None:
    with open(spec_path) as fh:
        spec = json.load(fh)
    os.unlink(spec_path)
    for name, value in spec["limits"].items():
        which = getattr(resource, "RLIMIT_" + name)
        value = int(value)
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value if name != "CPU" else value + 5))
    if spec.get("cgroup"):  # count this process and everything it starts in the kernel's cgroup
        with open(os.path.join(spec["cgroup"], "cgroup.procs"), "w") as fh:
            fh.write(str(os.getpid()))
    args = list(spec["bwrap"])
    for src, dest in spec["inject"]:
        fd = os.open(src, os.O_RDONLY)
        os.set_inheritable(fd, True)
        args += ["--file", str(fd), dest]
    args += ["--", *spec["command"]]
    os.execv(args[0], args)


if __name__ == "__main__":
    main(sys.argv[1])
