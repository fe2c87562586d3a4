"""Run every benchmark: ``python -m benchmarks`` (what ``make bench`` does).

The core comparisons (benchmarks/core.py) run first, then every other ``benchmarks/*.py`` script
as its own process. The exit status is non-zero when any of them missed its target or failed.
"""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"__init__.py", "__main__.py", "common.py", "core.py"}


def main() -> int:
    root = HERE.parent
    scripts = [HERE / "core.py"] + sorted(p for p in HERE.glob("*.py") if p.name not in SKIP)
    failed = []
    for script in scripts:
        print(f"\n=== {script.relative_to(root)} ===", flush=True)
        module = f"benchmarks.{script.stem}"
        if subprocess.run([sys.executable, "-m", module], cwd=root).returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"\nmissed a target or failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
