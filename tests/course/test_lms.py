"""A term with an LMS: Canvas and Moodle downloads filed for nbgrader (grader/lms), due dates and
late penalties from deadlines.toml (grader/deadlines.py), grades and feedback exported as each LMS
imports them, and manual grades kept through a regrade.

The download zips are built here with each LMS's naming (grader/lms/canvas.py and moodle.py say
where in the LMSs' code the names come from): late and re-uploaded work, renamed notebooks, a text
entry, a student missing from the roster, anonymous grading, and two students called Jane Doe.
"""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import nbformat
import pytest

import submissions as subs
from grader.deadlines import Deadline, DeadlineError, load
from grader.lms import canvas, export, import_download, moodle
from grader.lms.filing import ImportReport, Upload, _choose, notebook_name
from grader.scratch import ScratchCourse

A = "00-warmup"
ROSTER = [  # id, first, last, email, Canvas user id
    ("ada", "Ada", "Lovelace", "ada@example.org", "1001"),
    ("alan", "Alan", "Turing", "alan@example.org", "1002"),
    ("jane1", "Jane", "Doe", "jane.doe@example.org", "1003"),
    ("jane2", "Jane", "Doe", "jdoe@example.net", "1004"),
    ("grace", "Grace", "Hopper", "grace@example.org", "1005"),
    ("niklaus", "Niklaus", "Wirth", "nw@example.org", ""),
]
DEADLINES = """
[defaults]
per_day = 0.10
cap = 0.50
grace_minutes = 15

[assignments.00-warmup]
due = 2026-11-02T23:59:00+01:00
extensions = { jane2 = 3 }
"""


def _zip(path, files: dict):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _cli(course, *args):
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=course.root, capture_output=True, text=True)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    c = ScratchCourse(tmp_path_factory.mktemp("lms") / "course", [A])
    (c.root / "deadlines.toml").write_text(DEADLINES)
    lines = ["id,first_name,last_name,email,lms_user_id"] + [",".join(r) for r in ROSTER]
    (c.root / "students.csv").write_text("\n".join(lines) + "\n")
    code, _, text = c.nbgrader("db", "student", "import", "students.csv")
    assert code == 0, text[-2000:]
    c.nbk = subs.notebooks(A)[0]
    c.solved = nbformat.writes(c.nbk.solution())
    c.blank = nbformat.writes(c.nbk.student())
    return c


def _submitted(course, student):
    folder = course.root / "submitted" / student / A
    return {p.name: p.read_text() for p in folder.iterdir()} if folder.is_dir() else None


def test_renamed_notebooks_are_matched_only_when_one_candidate_is_left():
    assert notebook_name("Copy of warmup.ipynb", ["warmup"]) == ("warmup", None)
    assert notebook_name("warmup (1).ipynb", ["warmup", "other"]) == ("warmup", None)
    assert notebook_name("Copy of warmup-2.ipynb", ["warmup", "other"]) == ("warmup", None)
    assert notebook_name("mine.ipynb", ["warmup"]) == ("warmup", None)  # the assignment's only notebook
    name, why = notebook_name("mine.ipynb", ["warmup", "other"])
    assert name is None and "none of the assignment's notebooks" in why
    assert notebook_name("warmup.py", ["warmup"])[0] is None
    assert notebook_name("lab-1 (1).ipynb", ["lab-1", "lab"]) == ("lab-1", None)  # one renaming at a time
    assert notebook_name("Copy of lab (2).ipynb", ["lab-1", "lab"]) == ("lab", None)


def _uploads(*names, ordered=False):
    return [Upload(f"e/{n}", n, data=b"{}", order=(i + 1,) if ordered else ()) for i, n in enumerate(names)]


def test_the_closest_name_wins_and_equals_are_never_guessed_between():
    def chosen(*names, ordered=False, notebooks=("warmup",)):
        report = ImportReport(A)
        picked = _choose(_uploads(*names, ordered=ordered), list(notebooks), report)
        return {n: u.uploaded for n, u in picked.items()}, dict(report.ignored), dict(report.unmatched)

    # Moodle (no order): the exact name, then one renamed file, then the assignment's only notebook
    got, ignored, _ = chosen("Copy of warmup.ipynb", "warmup.ipynb", "mine.ipynb")
    assert got == {"warmup": "warmup.ipynb"} and "closer match" in ignored["e/Copy of warmup.ipynb"]
    assert chosen("mine.ipynb", "warmup (1).ipynb")[0] == {"warmup": "warmup (1).ipynb"}
    got, _, unmatched = chosen("Copy of warmup.ipynb", "warmup (1).ipynb")
    assert got == {} and "2 files could be warmup.ipynb: not guessed" in unmatched["e/warmup (1).ipynb"]
    # Canvas (file ids order the uploads; Canvas adds "-1" to a re-upload): the latest named upload
    got, ignored, _ = chosen("warmup.ipynb", "warmup-1.ipynb", "mine.ipynb", ordered=True)
    assert got == {"warmup": "warmup-1.ipynb"} and "earlier upload" in ignored["e/warmup.ipynb"]
    assert "closer match" in ignored["e/mine.ipynb"]


def test_canvas_names_are_read_as_canvas_writes_them():
    p = canvas.parse("doejane_LATE_123456_7890123_warmup-1.ipynb")
    assert p == {"name": "doejane", "late": True, "user_id": "123456", "attachment_id": "7890123",
                 "uploaded": "warmup-1.ipynb"}
    assert canvas.parse("lovelaceada_1001_5001_Copy of warmup.ipynb")["uploaded"] == "Copy of warmup.ipynb"
    assert canvas.parse("lovelaceada_1001_text.html") is None


def test_a_canvas_download_is_filed_by_user_id(course, tmp_path):
    zip_path = _zip(tmp_path / "submissions.zip", {
        "lovelaceada_1001_5001_warmup.ipynb": course.solved,
        "turingalan_LATE_1002_5002_warmup.ipynb": course.blank,  # handed in, then again:
        "turingalan_LATE_1002_5010_warmup-1.ipynb": course.solved,  # the latest upload wins
        "doejane_1003_5003_Copy of warmup.ipynb": course.blank,  # same name, told apart by user id
        "doejane_1004_5004_warmup (1).ipynb": course.solved,
        "hopper grace_1005_text.html": "<p>my answer</p>",
        "stranger_1999_5099_warmup.ipynb": course.solved,  # not in the roster
        "anon_x7k2p_5100_warmup.ipynb": course.solved,
        "lovelaceada_1001_5006_notes.txt": "scratch",
        "__MACOSX/._lovelaceada_1001_5001_warmup.ipynb": b"\0\5\26\7",  # what macOS's zip adds
        ".DS_Store": b"\0\0\0\1Bud1",
    })
    report = import_download("canvas", zip_path, A, root=course.root)
    filed = {f.student: f for f in report.filed}
    assert sorted(filed) == ["ada", "alan", "jane1", "jane2"]
    assert _submitted(course, "alan") == {"warmup.ipynb": course.solved}  # no time: Canvas gives none
    assert _submitted(course, "jane1") == {"warmup.ipynb": course.blank}
    assert filed["alan"].late and not filed["ada"].late
    unmatched = dict(report.unmatched)
    assert "lms_user_id 1999" in unmatched["stranger_1999_5099_warmup.ipynb"]
    assert "anonymous grading" in unmatched["anon_x7k2p_5100_warmup.ipynb"]
    assert "text or URL entry" in unmatched["hopper grace_1005_text.html"]
    ignored = dict(report.ignored)
    assert "earlier upload" in ignored["turingalan_LATE_1002_5002_warmup.ipynb"]
    assert "not a notebook" in ignored["lovelaceada_1001_5006_notes.txt"]
    record = json.loads((course.root / "downloaded" / A / "canvas-import.json").read_text())
    assert record["alan"]["notebooks"]["warmup"]["attachment_id"] == "5010"
    text = "\n".join(report.lines())
    assert "NOT MATCHED stranger_1999_5099_warmup.ipynb" in text and "alan: warmup.ipynb <- warmup-1.ipynb" in text
    assert "MACOSX" not in text and "DS_Store" not in text
    assert "--lms-user-id=1999" in unmatched["stranger_1999_5099_warmup.ipynb"]  # says what to do
    assert "Canvas's download holds no submission times" in text  # deadlines.toml names 00-warmup

    # a student who joined mid-term: added to the gradebook, then the same download imported again
    code, _, log = course.nbgrader("db", "student", "add", "sam", "--first-name=Sam", "--last-name=Stranger",
                                   "--email=sam@example.org", "--lms-user-id=1999")
    assert code == 0, log[-2000:]
    again = import_download("canvas", zip_path, A, root=course.root)
    assert "sam" in {f.student for f in again.filed} and _submitted(course, "sam") == {"warmup.ipynb": course.solved}
    assert _submitted(course, "alan") == {"warmup.ipynb": course.solved}  # filed again, the same
    assert "  alan: warmup.ipynb <- warmup-1.ipynb (no time given, marked late; unchanged since the last import)" \
        in again.lines()


WORKSHEET = [  # participant, full name, e-mail, last modified (submission), Berlin time
    ("301", "Ada Lovelace", "ada@example.org", "Monday, 2 November 2026, 11:05 PM"),  # on time
    ("302", "Jane Doe", "jane.doe@example.org", "Tuesday, 3 November 2026, 12:10 AM"),  # within the grace
    ("303", "Jane Doe", "jdoe@example.net", "Thursday, 5 November 2026, 9:00 AM"),  # extended
    ("304", "Alan Turing", "alan@example.org", "-"),
    ("305", "Grace Hopper", "grace@example.org", "Wednesday, 4 November 2026, 10:30 AM"),  # 1.5 days late
]
HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
          "Last modified (submission)", "Last modified (grade)", "Feedback comments"]


def _worksheet(path, maximum="100.00", emails=True, only=None):
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for pid, name, email, when in WORKSHEET:
            if only is None or pid in only:
                w.writerow([f"Participant {pid}", name, email if emails else "", "Submitted for grading", "",
                            maximum, "Yes", when, "-", ""])
    return path


def _moodle_zip(course, path):
    return _zip(path, {
        "Ada Lovelace_301_assignsubmission_file/warmup.ipynb": course.solved,
        "Jane Doe_302_assignsubmission_file/warmup.ipynb": course.blank,
        "Jane Doe_303_assignsubmission_file_/Copy of warmup.ipynb": course.solved,  # Moodle before 4.1
        "Alan Turing_304_assignsubmission_onlinetext/onlinetext.html": "<p>text</p>",
        "Grace Hopper_305_assignsubmission_file_warmup.ipynb": course.solved,  # "in folders" off
    })


def test_moodle_without_its_worksheet_never_guesses_between_two_students(course, tmp_path):
    report = import_download("moodle", _moodle_zip(course, tmp_path / "moodle.zip"), A, root=course.root)
    assert sorted(f.student for f in report.filed) == ["ada", "grace"]  # names only one student has
    unmatched = dict(report.unmatched)
    for entry in ("Jane Doe_302_assignsubmission_file/warmup.ipynb",
                  "Jane Doe_303_assignsubmission_file_/Copy of warmup.ipynb"):
        assert "2 students have the name 'Jane Doe' (jane1, jane2): not guessed; import with the " \
               "assignment's grading worksheet" in unmatched[entry]
    assert "onlinetext entry" in unmatched["Alan Turing_304_assignsubmission_onlinetext/onlinetext.html"]


def test_moodle_with_its_worksheet_files_by_email_with_the_submission_times(course, tmp_path):
    zip_path, sheet = _moodle_zip(course, tmp_path / "moodle.zip"), _worksheet(tmp_path / "grades.csv")
    code = _cli(course, "lms", "import", "moodle", str(zip_path), A, "--worksheet", str(sheet),
                "--timezone", "Europe/Berlin")
    assert code.returncode == 0, code.stderr
    assert "5 students filed" not in code.stdout and "4 students filed" in code.stdout, code.stdout
    assert _submitted(course, "jane1")["warmup.ipynb"] == course.blank
    assert _submitted(course, "jane2")["warmup.ipynb"] == course.solved
    assert _submitted(course, "grace")["timestamp.txt"] == "2026-11-04 09:30:00.000000 UTC"  # CET is UTC+1
    assert "deadline 00-warmup: due 2026-11-02T23:59:00+01:00 (2026-11-02 22:59 UTC)" in code.stdout
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        assert gb.find_assignment(A).duedate == datetime(2026, 11, 2, 22, 59)
    berlin = ZoneInfo("Europe/Berlin")
    assert moodle.submission_time("-", berlin) is None  # Moodle's "no submission"
    with pytest.raises(ValueError, match="with Moodle's language set to English"):
        moodle.submission_time("mardi, 3 novembre 2026, 10:15", berlin)


def test_deadlines_are_read_and_refused_with_what_to_change(tmp_path):
    d = load_text(tmp_path, DEADLINES)[A]
    assert d.fraction_lost("x", 10 * 60) == 0  # inside the grace
    assert d.fraction_lost("x", 1.5 * 86400) == pytest.approx(0.2)  # two days begun
    assert d.fraction_lost("x", 30 * 86400) == 0.5  # the cap
    assert d.fraction_lost("jane2", 2.5 * 86400) == 0  # three days' extension
    assert d.fraction_lost("jane2", 3.5 * 86400) == pytest.approx(0.1)
    for bad, says in [("[assignments.a]\ndue = 2027-01-18T23:59:00\n", "no UTC offset"),
                      ("[assignments.a]\ndue = 2027-01-18T23:59:00Z\nper_day = 10\n", "from 0 to 1"),
                      ("[assignments.a]\ndue = 2027-01-18T23:59:00Z\ndeu = 1\n", "unknown keys"),
                      ("[assignments.a]\ndue = '18 January'\n", "must be a date and time"),
                      ("[defaults\n", "not valid TOML")]:
        with pytest.raises(DeadlineError, match=says):
            load_text(tmp_path, bad)
    assert load(tmp_path / "absent.toml") == {}
    assert Deadline(datetime(2027, 1, 1, tzinfo=timezone.utc)).fraction_lost("x", 1e6) == 0  # no per_day


def load_text(tmp_path, text):
    (tmp_path / "d.toml").write_text(text)
    return load(tmp_path / "d.toml")


def _manual(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(course.nbk.name[:-6], A, student)
        return {g.name: (g.manual_score, g.max_score) for g in sub.grades if g.cell.cell_type == "markdown"
                or (g.auto_score is None and g.needs_manual_grade)}, sub.late_submission_penalty, sub.score


def _give_manual_grades(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        for cell in _manual(course, student)[0]:
            g = gb.find_grade(cell, course.nbk.name[:-6], A, student)
            g.manual_score = g.max_score
        gb.db.commit()


def _rows(path):
    return {r["Identifier"]: r for r in csv.DictReader(io.StringIO(path.read_text()))}


def test_a_term_late_penalty_regrade_and_export(course, tmp_path):
    """Graded for real. The warm-up has 5 autograded points and 2 for a written answer. Grace's
    1.5 days late cost 20 % of her score, shown in her feedback and recomputed when her written
    answer is graded; a manual grade survives a forced regrade; the exports carry the net scores
    as each LMS imports them; a Canvas hand-in changed after grading is graded again."""
    _zip(tmp_path / "canvas.zip", {"lovelaceada_1001_5001_warmup.ipynb": course.solved})
    import_download("canvas", tmp_path / "canvas.zip", A, root=course.root)  # Ada's Canvas ids recorded
    import_download("moodle", _moodle_zip(course, tmp_path / "moodle.zip"), A, root=course.root,
                    worksheet=_worksheet(tmp_path / "grades.csv"), timezone="Europe/Berlin")
    code = _cli(course, "autograde", A, "--student", "ada", "--student", "grace", "--jobs", "2")
    assert code.returncode == 0, code.stdout[-3000:] + code.stderr[-3000:]
    manual, penalty, score = _manual(course, "grace")
    assert manual and (score, penalty) == (5, pytest.approx(1.0))  # 20 % of the 5 autograded points
    assert _manual(course, "ada")[1] in (None, 0)

    _give_manual_grades(course, "ada")
    code = _cli(course, "autograde", A, "--student", "ada", "--force")
    assert code.returncode == 0, code.stdout[-3000:] + code.stderr[-3000:]
    kept = _manual(course, "ada")[0]
    assert kept and all(s == m == 2 for s, m in kept.values()), kept  # the manual grade is kept

    for student in ("ada", "grace"):
        code, _, text = course.nbgrader("generate_feedback", A, f"--student={student}")
        assert code == 0, text[-3000:]
    html = (course.root / "feedback" / "grace" / A / course.nbk.name.replace(".ipynb", ".html")).read_text()
    assert "Late submission penalty" in html

    sheet, out = _worksheet(tmp_path / "sheet.csv", maximum="50.00"), tmp_path / "filled.csv"
    lines = export("moodle", A, out, root=course.root, worksheet=sheet, feedback=tmp_path / "fb.zip")
    rows = _rows(out)
    assert rows["Participant 301"]["Grade"] == "50"  # Ada: 7 of 7
    assert rows["Participant 305"]["Grade"] == ""  # Grace's written answer waits for a person
    assert any("left out grace: written answers not graded yet" in line for line in lines), lines
    assert list(rows["Participant 301"]) == HEADER  # every column as Moodle wrote it
    with zipfile.ZipFile(tmp_path / "fb.zip") as zf:
        assert zf.namelist() == ["Ada Lovelace_301_assignfeedback_file_warmup-feedback.html"]
    export("moodle", A, out, root=course.root, worksheet=sheet, partial=True)
    assert _rows(out)["Participant 305"]["Grade"] == "28.57"  # (5 - 1) of 7, out of 50

    _give_manual_grades(course, "grace")  # her penalty becomes 20 % of 7: 5.6 of 7 left
    hidden = _worksheet(tmp_path / "hidden.csv", maximum="50.00", emails=False)  # Moodle may hide e-mails
    lines = export("moodle", A, out, root=course.root, worksheet=hidden)
    rows = _rows(out)
    assert (rows["Participant 301"]["Grade"], rows["Participant 305"]["Grade"]) == ("50", "40"), lines
    assert any("grace/warmup: late penalty 1 -> 1.4" in line for line in lines), lines
    _worksheet(tmp_path / "short.csv", maximum="50.00", only=("301",))
    lines = export("moodle", A, out, root=course.root, worksheet=tmp_path / "short.csv")
    assert any(line.startswith("  not written grace: no row of the worksheet is theirs") for line in lines), lines

    csv_path = tmp_path / "canvas.csv"
    lines = export("canvas", A, csv_path, root=course.root, column="Warm-up (4711)", points=10,
                   feedback=tmp_path / "canvas-fb.zip")
    table = list(csv.reader(csv_path.open()))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Warm-up (4711)"]
    by_id = {r[1]: r for r in table[1:]}
    assert by_id["1001"][0] == "Lovelace, Ada" and by_id["1001"][5] == "10" and by_id["1005"][5] == "8"
    with zipfile.ZipFile(tmp_path / "canvas-fb.zip") as zf:  # Canvas reads the user and attachment ids
        assert zf.namelist() == ["lovelaceada_1001_5001_warmup-feedback.html"]
    assert any("no feedback sent to grace" in line for line in lines), lines

    # Ada hands in again on Canvas (no time given): her graded copy goes, so autograde grades her again
    _zip(tmp_path / "again.zip", {"lovelaceada_1001_5201_warmup.ipynb": course.blank})
    report = import_download("canvas", tmp_path / "again.zip", A, root=course.root)
    assert "handed in again since graded" in "\n".join(report.lines())
    from nbgrader.coursedir import CourseDirectory

    from grader.autograde import needs_grading

    assert not (course.root / "autograded" / "ada" / A).exists()
    assert needs_grading(CourseDirectory(root=str(course.root)), A, "ada", force=False)
    assert not needs_grading(CourseDirectory(root=str(course.root)), A, "grace", force=False)


def test_bad_input_is_refused_with_what_to_do(course, tmp_path):
    (tmp_path / "x.zip").write_text("not a zip")
    for args, says in [(["lms", "import", "canvas", str(tmp_path / "x.zip"), A], "not a zip file"),
                       (["lms", "export", "moodle", A, "--to", str(tmp_path / "o.csv")], "--worksheet FILE")]:
        proc = _cli(course, *args)  # the command: exit code 2 and the message, no traceback
        assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
    sheet = _worksheet(tmp_path / "w.csv")
    (tmp_path / "old.csv").write_text(sheet.read_text().replace("Last modified (submission)", "Modified"))
    moodle_zip = tmp_path / "x.zip"
    for lms, zip_path, assignment, kw, says in [
            ("canvas", tmp_path / "none.zip", A, {}, "does not exist"),
            ("moodle", moodle_zip, "99-nope", {}, "not in the gradebook"),
            ("moodle", moodle_zip, A, {"worksheet": "w.csv", "timezone": "Mars/Olympus"}, "unknown time zone"),
            ("moodle", moodle_zip, A, {"worksheet": sheet}, "--timezone is needed with --worksheet"),
            ("moodle", moodle_zip, A, {"timezone": "UTC"}, "pass --worksheet too"),
            ("canvas", moodle_zip, A, {"worksheet": sheet}, "Canvas's download needs neither"),
            ("moodle", moodle_zip, A, {"worksheet": tmp_path / "old.csv", "timezone": "UTC"},
             "no 'Last modified (submission)'")]:
        with pytest.raises(ValueError, match=re.escape(says)):
            import_download(lms, zip_path, assignment, root=course.root, **kw)
    with pytest.raises(ValueError, match="run this from course/"):
        export("canvas", A, tmp_path / "g.csv", root=tmp_path)
