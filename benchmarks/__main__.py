"""Run every benchmark: ``python -m benchmarks`` (what ``make bench`` does).

The core comparisons (benchmarks/core.py) run first, then every other ``benchmarks/*.py`` script
as its own process. Each writes its tables to benchmarks/results/<name>.md (with the command, the
date and the machine); then the README's copies of them, the blocks between
``<!-- results: <name> -->`` and ``<!-- /results -->``, are replaced by those files, so that every
table the README quotes is one the code wrote. ``python -m benchmarks --readme`` only copies them.
The exit status is non-zero when any benchmark missed its target or failed.
"""
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"__init__.py", "__main__.py", "common.py", "core.py"}
BLOCK = re.compile(r"(<!-- results: (?P<name>[\w]+) -->\n)(?P<body>.*?)(<!-- /results -->)", re.S)


def scripts() -> list:
    return [HERE / "core.py"] + sorted(p for p in HERE.glob("*.py") if p.name not in SKIP)


def readme_blocks(text: str) -> dict:
    """name -> the text of its block in the README."""
    return {m["name"]: m["body"] for m in BLOCK.finditer(text)}


def copy_into_readme(readme: Path = HERE / "README.md", results: Path = HERE / "results") -> list:
    """Replace each results block of ``readme`` by its results file; returns the names copied."""
    text, copied = readme.read_text(), []

    def replace(m):
        path = results / f"{m['name']}.md"
        if not path.exists():
            return m.group(0)
        copied.append(m["name"])
        return m.group(1) + path.read_text() + m.group(4)

    readme.write_text(BLOCK.sub(replace, text))
    return copied


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    failed = []
    if "--readme" not in argv:
        root = HERE.parent
        for script in scripts():
            print(f"\n=== {script.relative_to(root)} ===", flush=True)
            if subprocess.run([sys.executable, "-m", f"benchmarks.{script.stem}"], cwd=root).returncode != 0:
                failed.append(script.name)
    print(f"\nbenchmarks/README.md: copied the results of {', '.join(copy_into_readme()) or 'none'}")
    if failed:
        print(f"missed a target or failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
