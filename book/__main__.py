"""python -m book [--tree DIR] [--out DIR] [--repo URL]: the course's site (book/build.py)."""
import argparse
import sys
from pathlib import Path

from .build import BUILD, ROOT, BookError, build


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book", description=__doc__)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the course: the repository (default) or a student edition")
    parser.add_argument("--out", type=Path, default=BUILD / "book", help="where the site goes (default _build/book)")
    parser.add_argument("--repo", help="the GitHub URL students open the notebooks from: adds Open in Colab links")
    args = parser.parse_args(argv)
    try:
        build(args.tree.resolve(), args.out.resolve(), args.repo)
    except BookError as err:
        print(f"book: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
