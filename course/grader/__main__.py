"""Course commands that nbgrader does not have. Run from course/: ``python -m grader <command>``.

    build            lint course/source, regenerate exercises/ and solutions/, render the lectures
    check            exit 1 when the committed exercises/ or solutions/ differ from a fresh build
    sandbox          show what a student's code can see and reach while it is graded
    reference A      run assignment A's solution once and cache its check records (autograde does
                     this on its own when needed)
    time ASSIGNMENT  grade a generated class in a scratch course and report the time
                     (uses the test fixtures in tests/course/)
"""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="regenerate exercises/ and solutions/, render lectures")
    b.add_argument("--no-lectures", action="store_true", help="skip executing the lectures")
    sub.add_parser("check", help="compare the committed exercises/ and solutions/ with a fresh build")
    sub.add_parser("sandbox", help="probe the grading sandbox")
    r = sub.add_parser("reference", help="compute and cache the reference solution's check records")
    r.add_argument("assignment")
    r.add_argument("--cache-dir", default=None)
    t = sub.add_parser("time", help="time the autograding of N solution copies")
    t.add_argument("assignment")
    t.add_argument("--students", type=int, default=30)
    args = parser.parse_args(argv)

    if args.command == "build":
        from . import build

        build.build()
        if not args.no_lectures:
            build.render_lectures()
        return 0
    if args.command == "check":
        from . import build

        return build.check()
    if args.command == "sandbox":
        from . import probe

        report = probe.probe()
        for line in probe.describe(report):
            print(line)
        return 0 if probe.sealed(report) else 1
    if args.command == "reference":
        from pathlib import Path

        from .build import COURSE
        from .records import solution_records

        for nb in sorted((COURSE / "source" / args.assignment).glob("*.ipynb")):
            found = solution_records(nb, Path(args.cache_dir or COURSE / ".grading-cache"))
            print(f"{args.assignment}/{nb.name}: " + ", ".join(f"{k} ({len(v)} checks)" for k, v in found.items()))
        return 0
    if args.command == "time":
        # the synthetic class is built with the test suite's fixtures (tests/course/)
        from .build import REPO

        sys.path[:0] = [str(REPO / "tests" / "course")]
        import timing

        timing.report(args.assignment, args.students)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
