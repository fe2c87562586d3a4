"""Course commands that nbgrader does not have. Run from course/: ``python -m grader <command>``.

    build            lint course/source, regenerate exercises/ and solutions/, render the lectures
    check            exit 1 when the committed exercises/ or solutions/ differ from a fresh build
    sandbox          show what a student's code can see and reach while it is graded
    autograde A      grade assignment A's submissions in parallel (--jobs N), or one shard of them
                     (--shard i/n); nbgrader's --Class.trait=value options are passed on
    merge A DIR...   write the shards' results into the gradebook
    reference A      run assignment A's solution once and cache its check records (autograde does
                     this on its own when needed)
    publish DIR      write the student edition (a git repository students clone and Colab opens)
                     into DIR: --repo URL --assignments A[,B...] [--solutions A[,B...]]
    deadlines        write the due dates of deadlines.toml into the gradebook, show the policies and
                     recompute the late penalties from today's scores (after manual grading)
    lms import SYSTEM ZIP A   file an LMS's download (canvas, moodle) as submitted/<id>/A/
    lms export SYSTEM A --to FILE [--feedback ZIP]   grades (and feedback) as the LMS imports them
    time ASSIGNMENT  grade a generated class in a scratch course with --jobs 1 and --jobs N and
                     report the speed-up (the class: grader/classroom.py), as README table rows
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
    g = sub.add_parser("autograde", help="grade submissions in parallel, or one shard of them")
    g.add_argument("assignment")
    g.add_argument("--student", action="append", metavar="PATTERN",
                   help="students to grade (a glob, as nbgrader's --student; may be repeated; default: all)")
    g.add_argument("--force", action="store_true", help="grade again what is already graded")
    g.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: one per core, "
                   "as many as the memory allows)")
    g.add_argument("--shard", default=None, metavar="I/N",
                   help="grade only shard I of N (I from 0) into a shard folder; merge them with `merge`")
    g.add_argument("--results", default=None, help="the shard folder (default: shards/A/I-of-N)")
    m = sub.add_parser("merge", help="write shards' results into the gradebook")
    m.add_argument("assignment")
    m.add_argument("folders", nargs="+")
    pub = sub.add_parser("publish", help="write or update the student edition (a git repository) in DIR")
    pub.add_argument("dest", metavar="DIR", help="the edition's folder: empty or new, or the edition published before")
    pub.add_argument("--repo", required=True, metavar="URL",
                     help="the URL students clone (public https; GitHub URLs also get Colab links)")
    pub.add_argument("--assignments", action="append", required=True, metavar="A[,B...]",
                     help="assignments to release (those released before stay)")
    pub.add_argument("--solutions", action="append", default=[], metavar="A[,B...]",
                     help="assignments whose solutions to publish (after their deadline)")
    pub.add_argument("--branch", default=None, help="the branch students clone (default: the edition's, or main)")
    pub.add_argument("--book", action="store_true",
                     help="also the course's website in docs/ (make book; GitHub Pages serves it from there)")
    sub.add_parser("deadlines", help="write deadlines.toml's due dates into the gradebook, recompute late penalties")
    lms = sub.add_parser("lms", help="an LMS's download in, grades and feedback out (canvas, moodle)")
    lms_sub = lms.add_subparsers(dest="action", required=True)
    li = lms_sub.add_parser("import", help="file an LMS's download-all zip as submitted/<id>/<assignment>/")
    li.add_argument("system", choices=("canvas", "moodle"))
    li.add_argument("zip")
    li.add_argument("assignment")
    li.add_argument("--worksheet", help="Moodle: the assignment's grading worksheet (e-mails and submission times)")
    li.add_argument("--timezone", help="Moodle, with --worksheet: the time zone of its times (that of the "
                    "Moodle account that downloaded it), e.g. Europe/Berlin")
    le = lms_sub.add_parser("export", help="grades as the LMS imports them, and the feedback as its upload zip")
    le.add_argument("system", choices=("canvas", "moodle"))
    le.add_argument("assignment")
    le.add_argument("--to", required=True, metavar="FILE", help="the grade file to write")
    le.add_argument("--feedback", metavar="ZIP", help="also zip the feedback (nbgrader generate_feedback) for upload")
    le.add_argument("--worksheet", help="Moodle: the grading worksheet downloaded from Moodle (filled into --to)")
    le.add_argument("--column", help="Canvas: the assignment's column as in Canvas's gradebook export, "
                    "e.g. 'Warm-up (4711)' (default: the assignment's name, which Canvas makes a new column)")
    le.add_argument("--points", type=float, help="Canvas: the assignment's points possible (scores are scaled to it)")
    le.add_argument("--partial", action="store_true",
                    help="also send scores whose written answers are not graded yet")
    t = sub.add_parser("time", help="time the autograding of a generated class")
    t.add_argument("assignment")
    t.add_argument("--students", type=int, default=30)
    t.add_argument("--jobs", default="2", help="jobs to compare with --jobs 1: N, or a list such as 2,4,8")
    args, overrides = parser.parse_known_args(argv)
    bad = [o for o in overrides if not (o.startswith("--") and "." in o.split("=")[0])]
    if bad or (overrides and args.command not in ("autograde", "merge")):
        parser.error(f"unrecognized arguments: {' '.join(bad or overrides)}")

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
        from .sandbox import find_bwrap, sandbox_disabled, userns_problem

        try:
            problem = None if sandbox_disabled() else userns_problem(find_bwrap())
        except RuntimeError as err:  # bwrap is not installed
            problem = str(err)
        if problem:
            print(problem, file=sys.stderr)
            return 1
        import socket

        with socket.socket() as listener:  # a service on this machine's loopback: it must be out of reach
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            report = probe.probe(targets=[listener.getsockname()])
        for line in probe.describe(report):
            print(line)
        return 0 if probe.sealed(report) else 1
    if args.command == "reference":
        from .build import COURSE
        from .records import solution_records

        for nb in sorted((COURSE / "source" / args.assignment).glob("*.ipynb")):
            found = solution_records(nb, Path(args.cache_dir or COURSE / ".grading-cache"))
            print(f"{args.assignment}/{nb.name}: " + ", ".join(f"{k} ({len(v)} checks)" for k, v in found.items()))
        return 0
    if args.command in ("autograde", "merge"):
        from . import autograde as ag
        from . import shards

        rerun = " ".join(["python -m grader autograde", args.assignment, "--force", *overrides])
        try:
            if args.command == "merge":
                report = shards.merge_shards(args.assignment, args.folders, overrides)
            else:
                shard = shards.parse_shard(args.shard) if args.shard else None
                report = ag.autograde(args.assignment, patterns=args.student or ["*"], force=args.force,
                                      jobs=args.jobs, shard=shard, results=args.results, overrides=overrides)
        except (ValueError, FileNotFoundError, RuntimeError) as err:  # RuntimeError: the solution fails
            print(f"error: {err}", file=sys.stderr)
            return 2
        for line in report.lines(rerun):
            print(line)
        return 0 if report.ok else 1
    if args.command == "publish":
        from .publish import PublishError, publish

        try:
            report = publish(args.dest, args.repo, args.assignments, args.solutions, branch=args.branch, book=args.book)
        except PublishError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        for line in report.lines():
            print(line)
        return 0
    if args.command in ("deadlines", "lms"):
        from .deadlines import DeadlineError

        try:
            if args.command == "deadlines":
                lines = _deadlines()
            elif args.action == "import":
                from .lms import import_download

                report = import_download(args.system, args.zip, args.assignment, worksheet=args.worksheet,
                                         timezone=args.timezone)
                lines = report.lines()
            else:
                from .lms import export

                lines = export(args.system, args.assignment, Path(args.to), feedback=args.feedback,
                               worksheet=args.worksheet, column=args.column, points=args.points, partial=args.partial)
        except (ValueError, DeadlineError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        for line in lines:
            print(line)
        return 0
    if args.command == "time":
        from .timing import report

        try:
            jobs = [int(j) for j in args.jobs.split(",")]
        except ValueError:
            print(f"error: --jobs takes N or a list such as 2,4, got {args.jobs!r}", file=sys.stderr)
            return 2
        if args.students < 1 or min(jobs) < 1:
            print("error: --students and --jobs must be at least 1", file=sys.stderr)
            return 2
        report(args.assignment, args.students, jobs)
        return 0
    return 2


def _deadlines() -> list:
    from .deadlines import apply
    from .lms import Course

    course = Course(".")
    due, repriced = apply(course.config, course.cd)
    return due + repriced or ["no assignment has a due date in deadlines.toml"]


if __name__ == "__main__":
    sys.exit(main())
