"""Fast checks of grading in parallel (grader/autograde.py, gradebook.py, progress.py); the runs
through real nbgrader and the sandbox are in test_grading_pipeline.py."""
import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "course"))

from grader import autograde as ag  # noqa: E402
from grader import gradebook, shards  # noqa: E402
from grader.progress import Progress  # noqa: E402

GiB = 2**30


@pytest.mark.parametrize("text", ["4", "1/0", "4/4", "-1/4", "a/b", "1/2/3"])
def test_a_bad_shard_says_what_it_takes(text):
    with pytest.raises(ValueError, match="--shard"):
        shards.parse_shard(text)


def test_shards_split_the_class_once_each(tmp_path):
    from nbgrader.coursedir import CourseDirectory

    for s in ["bo", "al", "cy", "di", "ed", "gus", "hal"]:
        (tmp_path / "submitted" / s / "a1").mkdir(parents=True)
        if s != "hal":
            (tmp_path / "submitted" / s / "a1" / "nb.ipynb").write_text("{}")
    (tmp_path / "submitted" / "fy" / "a2").mkdir(parents=True)  # another assignment
    cd = CourseDirectory(root=str(tmp_path), student_id_exclude="gus,zed")
    everyone, empty = ag.submissions(cd, "a1", ["*"])
    assert everyone == ["al", "bo", "cy", "di", "ed"] and empty == ["hal"]  # no notebook: skipped, as in nbgrader
    assert ag.submissions(cd, "a1", ["[ab]*", "ed"])[0] == ["al", "bo", "ed"]
    parts = [ag.shard_of(everyone, shards.parse_shard(f"{k}/3")) for k in range(3)]
    assert ag.shard_of(everyone, None) == everyone
    assert sorted(s for part in parts for s in part) == everyone
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_jobs_default_to_the_cores_the_memory_allows():
    assert ag.job_count(None, 6 * GiB, 100 * GiB, 16) == 15  # 6.5 GiB a job
    assert ag.job_count(None, 6 * GiB, 100 * GiB, 2) == 2
    assert ag.job_count(None, 6 * GiB, 4 * GiB, 8) == 1  # always one
    assert ag.job_count(3, 6 * GiB, 20 * GiB, 2) == 3  # more jobs than cores may be asked for
    with pytest.raises(ValueError, match=r"--jobs 4 needs 26.0 GiB.*use --jobs 3 or fewer"):
        ag.job_count(4, 6 * GiB, 20 * GiB, 16)
    with pytest.raises(ValueError, match="at least 1"):
        ag.job_count(0, 6 * GiB, 20 * GiB, 2)


def test_settings_from_the_command_line_are_read_as_numbers():
    """traitlets keeps a command-line value as text until a class reads it (this used to fail with a
    TypeError when the notebook cap was given on the command line); a parent class's section counts."""
    from types import SimpleNamespace

    from traitlets.config import Config
    from traitlets.config.loader import KVArgParseConfigLoader

    from grader.execute import GuardedExecute
    from grader.sandbox import SandboxKernelManager

    argv = ["--GuardedExecute.notebook_timeout=40", "--Execute.startup_timeout=7", "--SandboxKernelManager.memory_limit=1024"]
    app = SimpleNamespace(config=KVArgParseConfigLoader(argv).load_config())
    assert ag._setting(GuardedExecute, app, "notebook_timeout") == 40
    assert ag._setting(GuardedExecute, app, "startup_timeout") == 7
    assert ag._setting(SandboxKernelManager, app, "memory_limit") == 1024
    assert ag._setting(GuardedExecute, SimpleNamespace(config=Config()), "notebook_timeout") == 600


def test_only_sqlite_gradebooks_are_graded_in_parallel():
    assert gradebook.sqlite_path("sqlite:////c/gradebook.db?timeout=5") == Path("/c/gradebook.db")
    assert gradebook.writer_url("sqlite:////c/g.db") == "sqlite:////c/g.db?timeout=60"
    with pytest.raises(ValueError, match="nbgrader autograde"):
        gradebook.sqlite_path("postgresql://grader@db/course")


@pytest.fixture(autouse=True)
def _tools_on_path(monkeypatch):
    import os

    # a new gradebook asks nbgrader's `alembic` for its schema version
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def _course_gradebook(path):
    from nbgrader.api import Gradebook

    gb = Gradebook(f"sqlite:///{path}")
    gb.add_assignment("a1")
    gb.add_notebook("nb", "a1")
    gb.add_grade_cell("test", "nb", "a1", max_score=2, cell_type="code")
    gb.add_solution_cell("answer", "nb", "a1")
    gb.add_grade_cell("essay", "nb", "a1", max_score=3, cell_type="markdown")
    gb.add_solution_cell("essay", "nb", "a1")
    return gb


def _result(student, test=2.0, comment=None, timestamp="2026-11-30T10:00:00"):
    return {"version": gradebook.RESULT_VERSION, "assignment": "a1", "student": student, "timestamp": timestamp,
            "notebooks": {"nb": {"submitted": True, "late_penalty": None,
                                 "grades": {"test": [test, False], "essay": [None, True]},
                                 "comments": {"answer": comment, "essay": None}}}}


def test_merging_sets_what_autograde_sets_once_and_keeps_manual_grades(tmp_path):
    gb = _course_gradebook(tmp_path / "gradebook.db")
    gb.add_student("kim", first_name="Kim")
    gradebook.merge(gb, _result("kim", 2.0, "No response."))
    gradebook.merge(gb, _result("lee", 0.0))  # not in the gradebook yet: added, as nbgrader does
    grade = gb.find_grade("test", "nb", "a1", "kim")
    assert (grade.auto_score, grade.needs_manual_grade) == (2.0, False)
    assert gb.find_comment("answer", "nb", "a1", "kim").auto_comment == "No response."
    assert gb.find_grade("essay", "nb", "a1", "kim").needs_manual_grade
    assert str(gb.find_submission("a1", "kim").timestamp) == "2026-11-30 10:00:00"
    assert gb.find_student("kim").first_name == "Kim"

    grade.manual_score = 1.0  # a person graded it; then it is graded automatically again
    gb.db.commit()
    gradebook.merge(gb, _result("kim", 0.0, timestamp="2026-11-30T11:00:00"))
    grade = gb.find_grade("test", "nb", "a1", "kim")
    assert (grade.auto_score, grade.manual_score, grade.needs_manual_grade) == (0.0, 1.0, True)
    assert len(gb.assignment_submissions("a1")) == 2 and gb.find_assignment("a1").num_submissions == 2
    gb.close()


def test_a_merge_that_fails_half_way_writes_nothing(tmp_path):
    gb = _course_gradebook(tmp_path / "gradebook.db")
    with pytest.raises(ValueError):  # found only after the student and the submission were made
        gradebook.merge(gb, _result("new", timestamp="not a time"))
    gb.close()
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as again:
        assert again.assignment_submissions("a1") == []
        with pytest.raises(MissingEntry):
            again.find_student("new")


def test_a_pool_that_cannot_start_a_process_reports_every_submission(tmp_path):
    from grader.pool import Pool

    pool = Pool(tmp_path / "no-such-course", ["a1"], jobs=2, limit=5, logs=tmp_path)
    outcomes = list(pool.run(["kim", "lee", "max"]))
    assert sorted(o.student for o in outcomes) == ["kim", "lee", "max"]
    assert all(not o.ok and "the grading process failed: FileNotFoundError" in o.error for o in outcomes)


def test_a_result_for_another_version_of_the_assignment_is_refused(tmp_path):
    gb = _course_gradebook(tmp_path / "gradebook.db")
    stale = _result("kim")
    stale["notebooks"]["nb"]["grades"]["old_test"] = [1.0, False]
    with pytest.raises(gradebook.MergeError, match="another version"):
        gradebook.merge(gb, stale)
    with pytest.raises(gradebook.MergeError):
        gradebook.merge(gb, {**_result("kim"), "version": 0})
    assert gb.assignment_submissions("a1") == []
    gb.close()


def test_a_snapshot_is_a_whole_copy(tmp_path):
    gb = _course_gradebook(tmp_path / "gradebook.db")
    gradebook.merge(gb, _result("kim"))
    copy = gradebook.snapshot(f"sqlite:///{tmp_path / 'gradebook.db'}", tmp_path / "copy.db")
    gb.close()
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{copy}") as other:
        assert other.find_grade("test", "nb", "a1", "kim").auto_score == 2.0
    with pytest.raises(FileNotFoundError, match="generate_assignment"):
        gradebook.snapshot(f"sqlite:///{tmp_path / 'none.db'}", tmp_path / "x.db")


def test_progress_in_a_log_says_done_failed_and_time_left():
    out = io.StringIO()
    p = Progress(3, "a1", stream=out)
    p.update("kim", True, 4.0)
    p.update("lee", False, 1.0)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[1/3] kim: graded in 4.0 s; 0 failed so far; about ")
    assert lines[1].startswith("[2/3] lee: FAILED in 1.0 s; 1 failed so far; about ")
    assert lines[1].endswith(" left")


def test_the_command_refuses_bad_options_with_a_message(capsys):
    from grader.__main__ import main

    assert main(["autograde", "00-warmup", "--shard", "2/2"]) == 2
    assert "i counts from 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["autograde", "00-warmup", "--verbose"])  # not an option, and not --Class.trait=value
    assert "unrecognized arguments: --verbose" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["build", "--GuardedExecute.timeout=5"])  # nbgrader's options only where nbgrader runs


def test_progress_on_a_terminal_is_one_bar():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    p = Progress(2, "a1", stream=out)
    p.update("kim", True, 4.0)
    p.update("lee", False, 1.0)
    p.close()
    last = out.getvalue().split("\r")[-1]
    assert "2/2" in last and "failed=1" in last and "\n[" not in out.getvalue()
