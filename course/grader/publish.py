"""``python -m grader publish``: the student edition, a git repository students clone and Colab opens.

The instructors' repository (this one) holds the solutions and the hidden tests; it stays private.
The student edition is made from it by an allowlist: labkit, the lectures, what installing needs,
a student README and START_HERE, the exercises of the assignments released so far and the
solutions of those whose deadline has passed. Every notebook's setup cell clones the edition's URL
and every notebook opens with an "Open in Colab" link to its own path there.

Releases accumulate: the edition records what it holds (``edition.json``), so publishing week 2's
assignment keeps week 1's, and each publish is one commit on top of the last. The new tree is
assembled and checked for leaks (no line of a hidden test, no solution line, no model answer where
it does not belong) in a temporary folder first; the commit is written with git's plumbing and the
branch moved in one step, so a failure at any point leaves the edition as it was.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import nbformat

from .build import COURSE, HIDDEN_RE, REPO, SOLUTION_MARKERS, build_elsewhere, find_assignments, nbgrader_meta

TEMPLATES = Path(__file__).parent / "edition"
MANIFEST = "edition.json"
BADGE_ID = "open-in-colab"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
SETUP_LINE = re.compile(r'^COURSE_REPO = os\.environ\.get\("COURSE_REPO", "[^"\n]*"\)(.*)$', re.M)
# copied as they are (relative to the repository root); __pycache__ and checkpoints are left out
COPIED = ("labkit", "pyproject.toml", "requirements", "environment.yml", "tools/lab-settings")
LECTURE_GLOB = "lectures/L*.ipynb"


class PublishError(ValueError):
    """Something the instructor has to fix before the edition can be published."""


# ----------------------------------------------------------------------------------------------
# the repository URL


@dataclass
class RepoURL:
    url: str
    github: tuple | None = None  # (owner, name) when students can open notebooks on Colab from GitHub

    def colab(self, branch: str, path: str) -> str | None:
        if self.github is None:
            return None
        owner, name = self.github
        return f"https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/{path}"


def parse_repo_url(url: str) -> RepoURL:
    """Check that ``url`` is one students (and Colab) can clone without credentials."""
    url = (url or "").strip()
    if not url:
        raise PublishError("--repo is empty: give the URL students clone, e.g. https://github.com/OWNER/REPO")
    if any(ch.isspace() for ch in url) or any(ch in url for ch in "\"'\\`$"):
        raise PublishError(f"--repo {url!r} contains spaces, quotes or backslashes; give a plain git URL")
    if re.match(r"^[\w.-]+@[\w.-]+:", url) or url.startswith(("ssh://", "git://")):
        raise PublishError(f"--repo {url!r} is an SSH/git-protocol URL: Colab and most students cannot clone it "
                           "without a key. Give the https URL of the same repository (and make it public).")
    parts = urlsplit(url)
    if parts.scheme == "file":
        if not parts.path.startswith("/"):
            raise PublishError(f"--repo {url!r}: a file URL needs an absolute path (file:///path/to/edition)")
        return RepoURL(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise PublishError(f"--repo {url!r} is not a URL git can clone: give https://HOST/OWNER/REPO "
                           "(or file:///path for a local test)")
    if "@" in parts.netloc:
        raise PublishError(f"--repo {url!r} carries a user name or token: it would be written into every notebook. "
                           "Give the public URL without credentials.")
    path = parts.path.strip("/")
    if parts.query or parts.fragment or not path:
        raise PublishError(f"--repo {url!r}: expected https://HOST/OWNER/REPO, without query or fragment")
    github = None
    if parts.netloc.lower() in ("github.com", "www.github.com"):
        segments = path.split("/")
        if len(segments) != 2 or not all(re.fullmatch(r"[A-Za-z0-9_.-]+", s) for s in segments):
            raise PublishError(f"--repo {url!r}: a GitHub URL is https://github.com/OWNER/REPO")
        github = (segments[0], segments[1][:-4] if segments[1].endswith(".git") else segments[1])
    return RepoURL(url, github)


# ----------------------------------------------------------------------------------------------
# what must never be published


def _text(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _between_markers(text: str) -> list:
    lines, inside = [], False
    for line in text.split("\n"):
        if line.strip() == SOLUTION_MARKERS[0]:
            inside = True
        elif line.strip() == SOLUTION_MARKERS[1]:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def _significant(line: str) -> bool:
    """A line worth looking for: not blank, not only punctuation, brackets or a keyword."""
    s = line.strip()
    return len(re.sub(r"[\W_]", "", s)) >= 6 and s not in ("return result", "pass")


@dataclass
class Secrets:
    """Lines of course/source that must not reach students: hidden tests everywhere, and solutions
    (code between the solution markers, and model answers) outside the published solutions."""

    hidden: dict = field(default_factory=dict)  # stripped line -> where it comes from
    solution: dict = field(default_factory=dict)

    @classmethod
    def of(cls, source: Path, released: Path) -> Secrets:
        """From every assignment of ``source``, less lines that the released exercises show students
        themselves (an instruction that quotes a line of the solution is not a leak)."""
        public = set()
        for nb_path in released.rglob("*.ipynb"):
            for cell in nbformat.read(nb_path, as_version=4).cells:
                public |= {line.strip() for line in _text(cell).split("\n")}
        found = cls()
        for nb_path in sorted(source.glob("*/*.ipynb")):
            where = f"{nb_path.parent.name}/{nb_path.name}"
            for cell in nbformat.read(nb_path, as_version=4).cells:
                meta, text = nbgrader_meta(cell), _text(cell)
                for block in HIDDEN_RE.findall(text):
                    for line in block.split("\n"):
                        if _significant(line) and line.strip() not in public:
                            found.hidden[line.strip()] = f"a hidden test ({where}, {meta.get('grade_id')!r})"
                lines = _between_markers(text) if cell.cell_type == "code" else (
                    text.split("\n") if meta.get("solution") else [])
                for line in lines:
                    if _significant(line) and line.strip() not in public:
                        found.solution[line.strip()] = f"{where}, answer {meta.get('grade_id')!r}"
        for path in sorted((source.parent / "rubrics").glob("*.md")):  # rubrics are for graders only
            for line in path.read_text().split("\n"):
                if _significant(line) and line.strip() not in public:
                    found.hidden[line.strip()] = f"a rubric (rubrics/{path.name})"
        return found

    def leaks(self, tree: Path, solutions_allowed: set) -> list:
        """Where ``tree`` holds one of the lines, as sentences (empty when it holds none)."""
        problems = []
        for path in sorted(p for p in tree.rglob("*") if p.is_file() and ".git" not in p.relative_to(tree).parts):
            rel = path.relative_to(tree)
            try:
                text = path.read_text()
            except (UnicodeDecodeError, OSError):
                continue
            if path.suffix == ".ipynb":
                lines = [ln.strip() for c in nbformat.reads(text, as_version=4).cells for ln in _text(c).split("\n")]
            else:
                lines = [ln.strip() for ln in text.split("\n")]
            allowed = rel.parts[0] == "solutions" and len(rel.parts) > 1 and rel.parts[1] in solutions_allowed
            for line in dict.fromkeys(lines):
                if line in self.hidden:
                    problems.append(f"{rel}: a line of {self.hidden[line]}: {line[:80]}")
                elif line in self.solution and path.suffix == ".ipynb" and not allowed:
                    problems.append(f"{rel}: a solution line ({self.solution[line]}): {line[:80]}")
        return problems


def _book(tree: Path, repo: RepoURL, branch: str, root: Path) -> None:
    """The site for the edition ``tree`` into ``tree/docs`` (checked for secrets with the rest)."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from book.build import BookError, build

    try:
        build(tree, tree / "docs", repo.url, branch, log=lambda line: print(line, file=sys.stderr))
    except BookError as err:
        raise PublishError(f"the book could not be built: {err}") from err


# ----------------------------------------------------------------------------------------------
# the notebooks


def set_course_repo(nb, url: str, where: str) -> None:
    """Point the notebook's setup cell at ``url`` (nbgrader's checksum follows a locked cell)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and SETUP_LINE.search(_text(cell)):
            cell.source = SETUP_LINE.sub(
                lambda m: f'COURSE_REPO = os.environ.get("COURSE_REPO", "{url}")  # the course, student edition',
                _text(cell), count=1)
            meta = nbgrader_meta(cell)
            if meta.get("checksum"):
                from nbgrader.utils import compute_checksum

                meta["checksum"] = compute_checksum(cell)
            return
    raise PublishError(f"{where}: no setup cell with the line COURSE_REPO = os.environ.get(\"COURSE_REPO\", ...) "
                       "(lectures/README.md shows the setup cell every notebook starts with)")


def badge_cell(repo: RepoURL, branch: str, path: str):
    link = repo.colab(branch, path)
    if link:
        text = f"[![Open In Colab]({COLAB_BADGE})]({link})"
    else:
        text = (f"**On Colab:** download this notebook (`{path}`) from {repo.url} and open it with *File → Upload "
                "notebook*; its first code cell installs the course from there.")
    if path.startswith("exercises/"):
        name = path.rsplit("/", 1)[-1]
        text += (f"\n\n**Hand in** this notebook as `{name}` (on Colab: *File → Download → Download .ipynb*; "
                 f"a name such as `Copy of {name}` is recognised too).")
    cell = nbformat.v4.new_markdown_cell(text)
    cell["id"] = BADGE_ID  # the same in every publish: no churn in the edition's history
    return cell


def prepare_notebook(path: Path, rel: str, repo: RepoURL, branch: str) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if c.get("id") != BADGE_ID]
    set_course_repo(nb, repo.url, rel)
    nb.cells.insert(0, badge_cell(repo, branch, rel))
    nbformat.write(nb, path)


# ----------------------------------------------------------------------------------------------
# the pages


def _title(nb_path: Path) -> str:
    for cell in nbformat.read(nb_path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in _text(cell).split("\n"):
                if line.startswith("# "):
                    return line[2:].strip()
    return nb_path.stem


def start_here(tree: Path, assignments: list, solutions: list) -> str:
    lectures = sorted((tree / "lectures").glob("L*.ipynb"))
    lines = ["# Start here", "",
             "This is the course *Deep-learning phenomena and data-centric ML*. Every lecture is a notebook",
             "that trains real networks on your computer in a few minutes; every exercise is a notebook you",
             "complete and check yourself. The file browser on the left shows the whole course.", ""]
    exercises = {a: sorted((tree / "exercises" / a).glob("*.ipynb")) for a in assignments}
    if "00-warmup" in exercises:
        nb = exercises["00-warmup"][0].relative_to(tree)
        lines += [f"**Where to start:** open [`{nb}`]({nb}) to get used to `labkit`, then take the lectures in",
                  "order, each followed by its exercise:", ""]
    else:
        lines += ["**Where to start:** take the lectures in order, each followed by its exercise:", ""]
    lines += ["| lecture (`lectures/`) | exercise (`exercises/`) |", "|---|---|"]
    for lec in lectures:
        key = lec.stem.split("_", 1)[1]
        match = [a for a in assignments if a.split("-", 1)[-1] == key]
        if match:
            nb = exercises[match[0]][0].relative_to(tree)
            exercise = f"[{_title(tree / nb).split(':')[0]}]({nb})"
        else:
            exercise = "not released yet"
        lines.append(f"| [{_title(lec)}]({lec.relative_to(tree)}) | {exercise} |")
    lines += ["", "**How to work through a notebook:** run the cells from the top (*Run → Run All Cells* or",
              "Shift+Enter cell by cell). The first output names the device, the scale and the seed. Lectures end",
              "with a widget to play with. In an exercise, write your code where it says *YOUR CODE HERE*; the",
              "test cell below each answer tells you what it expected and what your answer gave. Your instructor's",
              "grader adds hidden tests of the same things, so make the answer right, not just the visible checks.",
              "A test cell that starts with `checks.own_work(...)` names the library routines your answer may not",
              "call for that part: it is graded on your own code.", "",
              "**Handing in:** save the notebook and run its last cell (`checks.preflight`): it runs the notebook",
              "as the grader will and says what the grader would see. Then hand in the `.ipynb` file under the",
              "name it has here (README.md says how, also from Colab). Each part is graded on its own, a warning",
              "costs nothing, and a person reads the written answers with a rubric."]
    if solutions:
        links = ", ".join(f"[{a}](solutions/{a}/)" for a in solutions)
        lines += ["", f"**Solutions** of the exercises whose deadline has passed are in `solutions/`: {links}."]
    return "\n".join(lines) + "\n"


def readme(repo: RepoURL, solutions: list) -> str:
    text = (TEMPLATES / "README.md").read_text()
    return text.format(
        repo=repo.url,
        solutions_clause=", the solutions of those whose deadline has passed" if solutions else "",
        solutions_row="\n| `solutions/` | worked solutions, once an exercise's deadline has passed |" if solutions else "",
        colab_clause=" to itself" if repo.github else " that says how to open it there")


# ----------------------------------------------------------------------------------------------
# assembling and committing


def _ignore(_dir, names):
    return [n for n in names if n in ("__pycache__", ".ipynb_checkpoints") or n.endswith((".pyc", ".egg-info"))]


def assemble(tree: Path, repo: RepoURL, branch: str, assignments: list, solutions: list, built: Path,
             root: Path = REPO) -> None:
    """Write the edition's files into the empty folder ``tree``."""
    for rel in COPIED:
        src = root / rel
        if src.is_dir():
            shutil.copytree(src, tree / rel, ignore=_ignore)
        elif src.is_file():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, tree / rel)
    (tree / "lectures").mkdir()
    for lec in sorted(root.glob(LECTURE_GLOB)):
        shutil.copy(lec, tree / "lectures" / lec.name)
    for a in assignments:
        shutil.copytree(built / "exercises" / a, tree / "exercises" / a, ignore=_ignore)
    for a in solutions:
        shutil.copytree(built / "solutions" / a, tree / "solutions" / a, ignore=_ignore)
    shutil.copy(TEMPLATES / "Makefile", tree / "Makefile")
    shutil.copy(TEMPLATES / "gitignore", tree / ".gitignore")
    for nb_path in sorted(tree.rglob("*.ipynb")):
        prepare_notebook(nb_path, str(nb_path.relative_to(tree)), repo, branch)
    (tree / "README.md").write_text(readme(repo, solutions))
    (tree / "START_HERE.md").write_text(start_here(tree, assignments, solutions))
    (tree / MANIFEST).write_text(json.dumps({"repo": repo.url, "branch": branch, "assignments": assignments,
                                             "solutions": solutions}, indent=1) + "\n")


def _git(*args, cwd=None, env=None, check=True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise PublishError(f"git {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


def _identity_env() -> dict:
    env = dict(os.environ)
    for var, key, default in (("GIT_AUTHOR_NAME", "user.name", "Course publisher"),
                              ("GIT_AUTHOR_EMAIL", "user.email", "course@localhost")):
        if var not in env:
            env[var] = _git("config", key, check=False) or default
        env[var.replace("AUTHOR", "COMMITTER")] = env.get(var.replace("AUTHOR", "COMMITTER"), env[var])
    return env


@dataclass
class Edition:
    """The state of an edition folder before publishing."""

    dest: Path
    exists: bool
    branch: str
    head: str | None
    assignments: list
    solutions: list

    @classmethod
    def open(cls, dest: Path, branch: str | None) -> Edition:
        dest = Path(dest)
        if dest.exists() and not dest.is_dir():
            raise PublishError(f"{dest} is a file; give a folder for the student edition")
        if not dest.exists() or not any(dest.iterdir()):
            return cls(dest, False, branch or "main", None, [], [])
        if not (dest / ".git").exists():
            raise PublishError(f"{dest} is not empty and not a git repository: give an empty folder, or the "
                               "edition published before")
        if _git("status", "--porcelain", cwd=dest):
            raise PublishError(f"{dest} has uncommitted changes; commit or discard them first (the edition is "
                               "written by this command only)")
        current = _git("symbolic-ref", "--short", "HEAD", cwd=dest, check=False)
        if branch and current and branch != current:
            raise PublishError(f"{dest} is on branch {current!r}, not {branch!r}: check out {branch!r} first")
        head = _git("rev-parse", "--verify", "-q", "HEAD", cwd=dest, check=False) or None
        manifest = dest / MANIFEST
        if head and not manifest.exists():
            raise PublishError(f"{dest} holds commits but no {MANIFEST}: it is not a student edition made by "
                               "this command")
        saved = json.loads(manifest.read_text()) if manifest.exists() else {}
        return cls(dest, True, current or branch or "main", head, saved.get("assignments", []),
                   saved.get("solutions", []))


@dataclass
class Report:
    dest: Path
    commit: str | None
    assignments: list
    new_assignments: list
    solutions: list
    new_solutions: list
    notebooks: int
    branch: str
    repo: str

    def lines(self) -> list:
        if self.commit is None:
            head = f"{self.dest}: nothing changed since the last publish (no commit)"
        else:
            head = f"published the student edition into {self.dest} (commit {self.commit[:10]} on {self.branch})"
        kept = [a for a in self.assignments if a not in self.new_assignments]
        out = [head,
               f"  exercises: {', '.join(self.assignments)}"
               + (f" (new: {', '.join(self.new_assignments)})" if self.new_assignments and kept else ""),
               f"  solutions: {', '.join(self.solutions) or 'none'}"
               + (f" (new: {', '.join(self.new_solutions)})" if self.new_solutions else ""),
               f"  {self.notebooks} notebooks, each with its setup cell cloning {self.repo} and an Open in Colab line",
               "  not published: course/source, hidden tests, the gradebook, the grading cache, tests, instructor notes"]
        if self.commit is not None:
            out.append(f"next: git -C {self.dest} push origin {self.branch}")
        return out


def _split(names) -> list:
    out = []
    for item in names or []:
        out += [n.strip().rstrip("/") for n in item.split(",") if n.strip()]
    return list(dict.fromkeys(out))


def publish(dest, repo_url: str, assignments, solutions=(), branch: str | None = None, course: Path = COURSE,
            root: Path = REPO, book: bool = False) -> Report:
    """Publish (or update) the student edition in ``dest``; see the module docstring. ``book``: also
    the course's website in ``docs/`` (book/build.py), which GitHub Pages serves from there."""
    repo = parse_repo_url(repo_url)
    known = find_assignments(course / "source")
    named, named_solutions = _split(assignments), _split(solutions)
    if not named:
        raise PublishError("--assignments names no assignment; give e.g. --assignments 00-warmup")
    unknown = [a for a in named + named_solutions if a not in known]
    if unknown:
        raise PublishError(f"unknown assignment(s): {', '.join(unknown)}; course/source has {', '.join(known)}")
    edition = Edition.open(Path(dest), branch)
    if edition.exists and edition.head:
        saved = _git("show", f"HEAD:{MANIFEST}", cwd=edition.dest, check=False)
        if saved and json.loads(saved).get("repo") not in (None, repo.url):
            raise PublishError(f"{dest} was published for {json.loads(saved)['repo']}, not {repo.url}; "
                               "students' clones point there")
    gone = [a for a in edition.assignments if a not in known]
    if gone:
        raise PublishError(f"the edition holds {', '.join(gone)}, which course/source no longer has")
    all_assignments = sorted(set(edition.assignments) | set(named))
    all_solutions = sorted(set(edition.solutions) | set(named_solutions))
    missing = [a for a in all_solutions if a not in all_assignments]
    if missing:
        raise PublishError(f"solutions of {', '.join(missing)} cannot be published before the exercise itself: "
                           f"add --assignments {','.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="edition-") as tmp:
        tmp = Path(tmp)
        built = build_elsewhere(tmp / "build", course=course)
        tree = tmp / "tree"
        tree.mkdir()
        assemble(tree, repo, edition.branch, all_assignments, all_solutions, built, root=root)
        if book:
            _book(tree, repo, edition.branch, root)
        leaks = Secrets.of(course / "source", built / "exercises").leaks(tree, set(all_solutions))
        if leaks:
            raise PublishError("the edition would hold what students must not see; nothing was written:\n  "
                               + "\n  ".join(leaks[:30]))
        commit = _commit(edition, tree, all_assignments, all_solutions, named, named_solutions)
        notebooks = len(list(tree.rglob("*.ipynb")))
    return Report(edition.dest, commit, all_assignments, [a for a in all_assignments if a not in edition.assignments],
                  all_solutions, [a for a in all_solutions if a not in edition.solutions], notebooks,
                  edition.branch, repo.url)


def _commit(edition: Edition, tree: Path, assignments, solutions, named, named_solutions) -> str | None:
    """One commit whose tree is exactly ``tree``, then the edition's work tree moved to it."""
    dest = edition.dest
    if not edition.exists:
        dest.mkdir(parents=True, exist_ok=True)
        _git("init", "-q", "-b", edition.branch, cwd=dest)
    git_dir = str(dest / ".git")
    with tempfile.TemporaryDirectory(prefix="edition-index-") as idx:
        env = dict(_identity_env(), GIT_INDEX_FILE=str(Path(idx) / "index"))
        _git("--git-dir", git_dir, "--work-tree", str(tree), "add", "-A", ".", env=env)
        new_tree = _git("--git-dir", git_dir, "write-tree", env=env)
    if edition.head and _git("rev-parse", f"{edition.head}^{{tree}}", cwd=dest) == new_tree:
        return None
    message = (f"Publish {', '.join(named)}" + (f"; solutions of {', '.join(named_solutions)}" if named_solutions else "")
               + f"\n\nExercises: {', '.join(assignments)}\nSolutions: {', '.join(solutions) or 'none'}\n")
    parent = ["-p", edition.head] if edition.head else []
    commit = _git("commit-tree", new_tree, *parent, "-m", message, cwd=dest, env=_identity_env())
    ref = f"refs/heads/{edition.branch}"
    _git("update-ref", ref, commit, *([edition.head] if edition.head else []), cwd=dest)
    if not edition.head:
        _git("symbolic-ref", "HEAD", ref, cwd=dest)
    _git("reset", "-q", "--hard", commit, cwd=dest)
    return commit
