"""The student edition (``python -m grader publish``): what students get, and what they never get.

Every check here reads course/source on its own (not through the publish command's leak check), so
a leak in the command's own logic would still be caught. A line counts as secret unless the released
exercises show it to every student anyway (a generic line such as ``rng = np.random.default_rng(seed)``
or an instruction that quotes the call it asks for).
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "course"))

from grader import publish as pub  # noqa: E402
from grader.build import find_assignments  # noqa: E402

URL = "https://github.com/acme/dl-course"
SOURCE = ROOT / "course" / "source"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def _lines(text):
    return {ln.strip() for ln in text.split("\n") if len(re.sub(r"[\W_]", "", ln)) >= 6}


def _cells(path):
    return nbformat.read(path, as_version=4).cells


def _source_secrets():
    """(hidden-test lines, {assignment: solution lines and model answers}) of course/source."""
    hidden, solution = set(), {}
    for nb_path in SOURCE.glob("*/*.ipynb"):
        mine = solution.setdefault(nb_path.parent.name, set())
        for cell in _cells(nb_path):
            meta = cell.metadata.get("nbgrader") or {}
            for block in HIDDEN.findall(cell.source):
                hidden |= _lines(block)
            for block in SOLUTION.findall(cell.source):
                mine |= _lines(block)
            if cell.cell_type == "markdown" and meta.get("solution"):
                mine |= _lines(cell.source)
    for rubric in (ROOT / "course" / "rubrics").glob("*.md"):  # for graders only, never published
        hidden |= _lines(rubric.read_text())
    return hidden, solution


def _released_lines():
    """What the released exercises show every student anyway (an instruction may quote a line of the
    solution, such as the call it asks for, and `lk.seed_everything(0)` is no secret)."""
    return set().union(*(_lines(c.source) for p in (ROOT / "exercises").glob("*/*.ipynb") for c in _cells(p)))


def _text_lines(path):
    if path.suffix == ".ipynb":
        return set().union(set(), *(_lines(c.source) for c in _cells(path)))
    try:
        return _lines(path.read_text())
    except UnicodeDecodeError:
        return set()


def _files(edition):
    return [p for p in edition.rglob("*") if p.is_file() and ".git" not in p.relative_to(edition).parts]


def _log(edition):
    return subprocess.run(["git", "log", "--format=%H %s"], cwd=edition, capture_output=True, text=True,
                          check=True).stdout.splitlines()


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    dest = tmp_path_factory.mktemp("edition") / "students"
    report = pub.publish(dest, URL, ["00-warmup,02-difficulty"], ["00-warmup"])
    return dest, report


def test_no_hidden_test_and_no_solution_reaches_students(edition):
    dest, _ = edition
    hidden, solution = _source_secrets()
    assert len(hidden) > 50 and all(len(s) > 3 for s in solution.values())  # the secrets were found
    public = _released_lines()
    for path in _files(dest):
        rel = path.relative_to(dest)
        lines = _text_lines(path)
        assert not (lines & hidden) - public, f"{rel} holds hidden-test lines: {sorted((lines & hidden) - public)[:3]}"
        if path.suffix != ".ipynb" or rel.parts[:2] == ("solutions", "00-warmup"):
            continue
        for assignment, secret in solution.items():
            leaked = (lines & secret) - public
            assert not leaked, f"{rel} holds solution lines of {assignment}: {sorted(leaked)[:3]}"


def test_only_what_students_need_and_only_the_released_assignments(edition):
    dest, report = edition
    top = {p.name for p in dest.iterdir()} - {".git"}
    assert top == {".gitignore", "Makefile", "README.md", "START_HERE.md", "edition.json", "environment.yml",
                   "exercises", "labkit", "lectures", "pyproject.toml", "requirements", "solutions", "tools"}
    assert sorted(p.name for p in (dest / "exercises").iterdir()) == ["00-warmup", "02-difficulty"]
    assert [p.name for p in (dest / "solutions").iterdir()] == ["00-warmup"]
    assert sorted(p.name for p in (dest / "lectures").iterdir()) == sorted(p.name for p in (ROOT / "lectures").glob("L*.ipynb"))
    for path in _files(dest):
        assert path.suffix not in (".db", ".pyc") and "grading" not in path.name and "source" not in path.parts
    assert report.assignments == ["00-warmup", "02-difficulty"] and report.solutions == ["00-warmup"]
    assert "solutions/00-warmup" in (dest / "START_HERE.md").read_text()
    assert "python -m grader" not in (dest / "README.md").read_text()


def test_every_notebook_clones_the_edition_and_opens_in_colab(edition):
    dest, _ = edition
    notebooks = sorted(dest.rglob("*.ipynb"))
    assert len(notebooks) == 7 + 2 + 1
    for path in notebooks:
        rel = path.relative_to(dest).as_posix()
        cells = _cells(path)
        assert cells[0].cell_type == "markdown"
        assert f"https://colab.research.google.com/github/acme/dl-course/blob/main/{rel}" in cells[0].source
        setup = next(c for c in cells if c.cell_type == "code")
        assert f'os.environ.get("COURSE_REPO", "{URL}")' in setup.source, rel
        hand_in = f"**Hand in** this notebook as `{path.name}`"
        assert (hand_in in cells[0].source) == rel.startswith("exercises/"), rel  # the file name graded
    warmup = nbformat.read(dest / "exercises/00-warmup/warmup.ipynb", as_version=4)
    from nbgrader.utils import compute_checksum

    setup = next(c for c in warmup.cells if (c.metadata.get("nbgrader") or {}).get("grade_id") == "setup")
    assert setup.metadata.nbgrader["checksum"] == compute_checksum(setup)  # nbgrader validate sees no edit


def test_a_release_adds_a_commit_and_keeps_the_rest(tmp_path):
    dest = tmp_path / "students"
    pub.publish(dest, URL, ["00-warmup"])
    start_here = (dest / "START_HERE.md").read_text()
    assert "solution" not in start_here.lower() and "solution" not in (dest / "README.md").read_text().lower()
    first = _log(dest)
    report = pub.publish(dest, URL, ["03-contingency"])
    log = _log(dest)
    assert len(log) == 2 and log[1] == first[0] and "Publish 03-contingency" in log[0]
    assert sorted(p.name for p in (dest / "exercises").iterdir()) == ["00-warmup", "03-contingency"]
    assert report.new_assignments == ["03-contingency"]
    assert json.loads((dest / "edition.json").read_text())["assignments"] == ["00-warmup", "03-contingency"]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=dest, capture_output=True, text=True).stdout
    assert status == ""
    again = pub.publish(dest, URL, ["03-contingency"])
    assert again.commit is None and len(_log(dest)) == 2


def test_bad_input_is_refused_and_nothing_is_half_written(tmp_path, monkeypatch):
    dest = tmp_path / "students"
    pub.publish(dest, URL, ["00-warmup"])
    before = _log(dest)
    with pytest.raises(pub.PublishError, match="unknown assignment.*99-nothing"):
        pub.publish(dest, URL, ["99-nothing"])
    with pytest.raises(pub.PublishError, match="before the exercise itself"):
        pub.publish(dest, URL, ["00-warmup"], ["02-difficulty"])
    with pytest.raises(pub.PublishError, match="published for"):
        pub.publish(dest, "https://github.com/other/course", ["00-warmup"])
    for url, why in (("git@github.com:acme/dl-course.git", "SSH"), ("https://tok:x@github.com/acme/c", "token"),
                     ("", "empty"), ("https://github.com/acme", "OWNER/REPO"), ("ftp://host/x", "not a URL"),
                     ('https://github.com/acme/c"; import os', "quotes")):
        with pytest.raises(pub.PublishError, match=why):
            pub.publish(tmp_path / "other", url, ["00-warmup"])
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "x.txt").write_text("mine")
    with pytest.raises(pub.PublishError, match="not a git repository"):
        pub.publish(tmp_path / "notes", URL, ["00-warmup"])

    # a hidden test that reached a file of the tree is found, and the edition stays as it was
    real_assemble = pub.assemble
    line = sorted(ln for ln in _source_secrets()[0] - _released_lines() if ln.startswith("checks.expect"))[0]

    def leaky(tree, *args, **kwargs):
        real_assemble(tree, *args, **kwargs)
        (tree / "labkit" / "notes.py").write_text(f"# {line}\n{line}\n")

    monkeypatch.setattr(pub, "assemble", leaky)
    with pytest.raises(pub.PublishError, match="a line of a hidden test"):
        pub.publish(dest, URL, ["00-warmup", "05-calibration"])
    assert _log(dest) == before and not (dest / "exercises" / "05-calibration").exists()
    assert not (dest / "labkit" / "notes.py").exists()


def test_other_hosts_get_a_setup_cell_and_a_line_saying_how_to_open_it(tmp_path):
    dest = tmp_path / "students"
    url = "https://gitlab.example.org/course/dl"
    pub.publish(dest, url, ["00-warmup"])
    cells = _cells(dest / "exercises/00-warmup/warmup.ipynb")
    assert "File → Upload" in cells[0].source and url in cells[0].source
    assert "colab.research.google.com/github" not in cells[0].source


def test_the_command_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "grader", "publish", str(tmp_path / "e"), "--repo", URL,
                          "--assignments", "00-warmup,nope"], cwd=ROOT / "course", capture_output=True, text=True)
    assert out.returncode == 2 and "unknown assignment(s): nope" in out.stderr
    assert not (tmp_path / "e").exists()
    out = subprocess.run([sys.executable, "-m", "grader", "publish", str(tmp_path / "e"), "--repo", URL,
                          "--assignments", "00-warmup"], cwd=ROOT / "course", capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "exercises: 00-warmup" in out.stdout and "git -C" in out.stdout
    assert find_assignments(SOURCE)[0] == "00-warmup"



def test_the_book_goes_into_docs_with_the_released_exercises_and_no_secret(tmp_path, monkeypatch):
    """--book: the site in docs/ of the edition, for GitHub Pages. The lectures' class-scale runs are
    replaced here by the lectures as written (no outputs), so that this test does not run them;
    tests/website/test_book.py builds the book from the real runs."""
    import html

    from book import build as book

    monkeypatch.setattr(book, "class_runs", lambda lectures, log=print: {p: nbformat.read(p, as_version=4) for p in lectures})
    dest = tmp_path / "edition"
    pub.publish(dest, URL, ["00-warmup"], book=True)
    docs = dest / "docs"
    assert (docs / "index.html").exists() and (docs / ".nojekyll").exists()
    assert [p.relative_to(docs).as_posix() for p in docs.glob("exercises/*/*.html")] == ["exercises/00-warmup/warmup.html"]
    assert len(list(docs.glob("lectures/L*.html"))) == len(list((ROOT / "lectures").glob("L*.ipynb")))
    colab = "https://colab.research.google.com/github/acme/dl-course/blob/main/"
    assert f'href="{colab}lectures/L1_shortcuts.ipynb"' in (docs / "lectures" / "L1_shortcuts.html").read_text()
    assert f'href="{colab}exercises/00-warmup/warmup.ipynb"' in (docs / "exercises/00-warmup/warmup.html").read_text()
    hidden, solution = _source_secrets()
    public = _released_lines()
    for page in docs.rglob("*.html"):  # the text a reader sees, code included
        lines = _lines(html.unescape(re.sub(r"<[^>]+>", "", page.read_text())))
        assert not (lines & hidden) - public, f"{page.name} holds hidden-test lines"
        for assignment, secret in solution.items():
            assert not (lines & secret) - public, f"{page.name} holds solution lines of {assignment}"
    tracked = subprocess.run(["git", "ls-files", "docs"], cwd=dest, capture_output=True, text=True, check=True).stdout
    assert "docs/index.html" in tracked and "docs/.nojekyll" in tracked
