"""The course as a website: ``make book`` (or ``python -m book``) builds a static HTML site into
``_build/book/`` with Sphinx, myst-nb and sphinx-book-theme, offline.

What goes in, from a course tree (the repository, or a student edition):

- ``index``: the tree's START_HERE.md; ``syllabus``: every lecture's title and objectives;
- every lecture with its outputs from a run at the **class** scale, the scale its text describes:
  the executed copy in ``_build/executed/`` when it is current (the lecture tests write it from
  their base-seed run, :func:`save_executed`), else the lecture is executed here;
- every exercise as students get it (``exercises/``: no solutions, no hidden tests), not executed.

Claims keep their ✓/✗ line with the measured value, what was expected and the seeds. A widget
becomes a picture of its first state with a line saying where it runs. With ``--repo`` (a GitHub
URL, which ``python -m grader publish --book`` passes), every notebook page opens with an *Open in
Colab* link. The build refuses a lecture whose run raised an error; stderr is left out of the pages.
"""
from __future__ import annotations

import base64
import copy
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
BUILD = ROOT / "_build"
EXECUTED = BUILD / "executed"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CLAIM_MIME = "application/vnd.labkit.claim+json"
WIDGET_LINE = ("*The widget above is a picture of its first state: it runs in JupyterLab or on Colab, "
               "where its controls redraw it.*")
SETUP_TITLE = "# @title Setup"


class BookError(RuntimeError):
    """Something in the course that the book cannot be built from, with what to do."""


# ----------------------------------------------------------------------------------------------
# the lectures' class-scale runs


@functools.lru_cache(maxsize=1)
def _labkit_digest() -> str:
    """labkit's code, hashed once per process (it does not change while the book is built)."""
    h = hashlib.sha256()
    library = ROOT / "labkit"
    for p in sorted(library.rglob("*.py")):
        h.update(str(p.relative_to(library)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def fingerprint(lecture: Path) -> str:
    """What a lecture's outputs depend on: its own cells and labkit's code."""
    return hashlib.sha256(Path(lecture).read_bytes() + _labkit_digest().encode()).hexdigest()


def save_executed(nb, lecture: Path, seconds: float, folder: Path = EXECUTED) -> Path:
    """Keep ``nb``, ``lecture`` executed at the class scale on its own base seed, for the book."""
    nb = copy.deepcopy(nb)
    nb.metadata["labkit_book"] = {"fingerprint": fingerprint(lecture), "scale": "class", "seconds": round(seconds, 1)}
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / Path(lecture).name
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(out)
    return out


def current_run(lecture: Path, folder: Path = EXECUTED):
    """The saved class-scale run of ``lecture`` if it was made from the lecture and labkit as they are now."""
    saved = folder / Path(lecture).name
    if not saved.exists():
        return None
    nb = nbformat.read(saved, as_version=4)
    return nb if nb.metadata.get("labkit_book", {}).get("fingerprint") == fingerprint(lecture) else None


def execute(lecture: Path, timeout: int = 900, threads: int | None = None):
    """Run ``lecture`` top to bottom at the class scale (base seed 0), as a student would; returns it.
    ``threads``: torch threads of its kernel (default: torch's)."""
    from nbclient import NotebookClient

    nb = nbformat.read(lecture, as_version=4)
    env = {**os.environ, "LABKIT_SCALE": "class", "LABKIT_PROGRESS": "0", "LABKIT_PREFLIGHT": "0",
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}  # JupyterLab's: the figures become outputs
    env.pop("LABKIT_SEED", None)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(lecture.parent)}})
    with client.setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        client.set_widgets_metadata()
    return nb


def _run_and_save(lecture: Path, threads: int):
    start = time.perf_counter()
    nb = execute(lecture, threads=threads)
    save_executed(nb, lecture, time.perf_counter() - start)
    return nb


def class_runs(lectures: list, log=print) -> dict:
    """lecture path -> its executed notebook: the saved run where current, else a new one (saved),
    one kernel per core with one torch thread each (the lectures' models are small)."""
    from concurrent.futures import ThreadPoolExecutor

    runs = {lecture: current_run(lecture) for lecture in lectures}
    missing = [lecture for lecture, nb in runs.items() if nb is None]
    if missing:
        log(f"book: running {', '.join(p.stem for p in missing)} at the class scale (no current run in "
            f"{EXECUTED.relative_to(ROOT)}/); this takes minutes")
        with ThreadPoolExecutor(min(len(missing), os.cpu_count() or 1)) as pool:
            for lecture, nb in zip(missing, pool.map(lambda p: _run_and_save(p, 1), missing)):
                runs[lecture] = nb
    return runs


# ----------------------------------------------------------------------------------------------
# notebooks made into pages


def _models(nb) -> dict:
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def widget_picture(nb, model_id: str) -> bytes | None:
    """The first picture (PNG) inside the widget ``model_id``, from the notebook's saved widget state:
    an Image widget's value or a ``data:image/png`` URL in an HTML widget, searched breadth first."""
    models, queue, seen = _models(nb), [model_id], set()
    while queue:
        mid = queue.pop(0)
        if mid in seen or mid not in models:
            continue
        seen.add(mid)
        model = models[mid]
        for buf in model.get("buffers", []):
            if buf.get("path") == ["value"] and model.get("model_name") == "ImageModel":
                return base64.b64decode(buf["data"])
        for value in model.get("state", {}).values():
            if isinstance(value, str):
                found = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", value)
                if found:
                    return base64.b64decode(found.group(1))
            items = value if isinstance(value, list) else [value]
            queue += [v[len("IPY_MODEL_"):] for v in items if isinstance(v, str) and v.startswith("IPY_MODEL_")]
    return None


def _error_text(out) -> str:
    return f"{out.get('ename')}: {out.get('evalue')}"


def as_page(nb, name: str, colab: str | None = None):
    """A copy of ``nb`` ready for the book: setup cell removed, widgets as pictures, stderr and
    claim records left to the HTML, an *Open in Colab* link first. Raises :class:`BookError` on an
    error output."""
    nb = copy.deepcopy(nb)
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source.lstrip().startswith(SETUP_TITLE):
            continue  # the Colab install: nothing for a reader
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                raise BookError(f"{name}: cell {index} raised {_error_text(out)}; fix the lecture and run it again")
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                continue
            data = out.get("data")
            if data and WIDGET_VIEW in data:
                picture = widget_picture(nb, data[WIDGET_VIEW]["model_id"])
                if picture:
                    outputs.append(nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(picture).decode()}))
                outputs.append(nbformat.v4.new_output("display_data", data={"text/markdown": WIDGET_LINE if picture else
                                                      WIDGET_LINE.replace("The widget above is a picture of its first state: it",
                                                                          "A widget goes here: it")}))
                continue
            if data and CLAIM_MIME in data:
                data.pop(CLAIM_MIME)  # the HTML line says the same; the record is for the tests
            outputs.append(out)
        if cell.cell_type == "code":
            cell.outputs = outputs
        cells.append(cell)
    if colab:
        cells.insert(1 if cells and cells[0].cell_type == "markdown" else 0, nbformat.v4.new_markdown_cell(
            f'<a class="labkit-colab" href="{colab}">Open in Colab</a>'))
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb


# ----------------------------------------------------------------------------------------------
# the site's sources


def github_repo(url: str | None) -> tuple | None:
    """(owner, name) of a GitHub URL, else None (no Colab links)."""
    found = re.match(r"^https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$", (url or "").strip())
    return found.groups() if found else None


def colab_link(repo: tuple | None, path: str, branch: str = "main") -> str | None:
    if repo is None:
        return None
    return f"https://colab.research.google.com/github/{repo[0]}/{repo[1]}/blob/{branch}/{path}"


def _title_and_objectives(nb) -> tuple:
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    title = first.splitlines()[0].lstrip("# ").strip() if first else "untitled"
    found = re.search(r"\*\*After this lecture you can\*\*\n(.*?)(?:\n\n|$)", first, re.S)
    return title, (found.group(1).strip() if found else "")


def syllabus(lectures: list) -> str:
    lines = ["# Syllabus", "", "Each lecture, what you can do after it, and its exercise.", ""]
    for lecture in lectures:
        title, objectives = _title_and_objectives(nbformat.read(lecture, as_version=4))
        lines += [f"## [{title}](lectures/{lecture.stem}.ipynb)", "", objectives or "(no objectives listed)", ""]
    return "\n".join(lines)


def landing(tree: Path, pages: set) -> str:
    """START_HERE.md with links to what the book holds kept, others made plain text."""
    text = (tree / "START_HERE.md").read_text()

    def link(m):
        label, target = m.group(1), m.group(2)
        return m.group(0) if target.split("#")[0] in pages or "://" in target else label

    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", link, text)


def write_sources(tree: Path, source: Path, repo_url: str | None = None, branch: str = "main", log=print) -> dict:
    """The Sphinx source folder ``source`` for the course ``tree``; returns what it holds. The
    lectures' runs are those of the repository's lectures of the same names (a student edition's
    copies differ only in their setup cell)."""
    repo = github_repo(repo_url)
    if repo_url and repo is None:
        log(f"book: {repo_url} is not a GitHub URL, so the pages get no Open in Colab link")
    lectures = sorted((tree / "lectures").glob("L*.ipynb"))
    if not lectures:
        raise BookError(f"{tree}/lectures holds no L*.ipynb: nothing to build the book from")
    exercises = sorted((tree / "exercises").glob("*/*.ipynb"))
    if source.exists():
        shutil.rmtree(source)
    (source / "lectures").mkdir(parents=True)
    missing = [p.name for p in lectures if not (ROOT / "lectures" / p.name).exists()]
    if missing:
        raise BookError(f"{', '.join(missing)}: not lectures of this repository ({ROOT}), which runs them")
    for lecture, nb in class_runs([ROOT / "lectures" / p.name for p in lectures], log).items():
        rel = f"lectures/{lecture.name}"
        nbformat.write(as_page(nb, rel, colab_link(repo, rel, branch)), source / rel)
    for exercise in exercises:
        rel = exercise.relative_to(tree).as_posix()
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(as_page(nbformat.read(exercise, as_version=4), rel, colab_link(repo, rel, branch)), source / rel)
    pages = {f"lectures/{p.name}" for p in lectures} | {p.relative_to(tree).as_posix() for p in exercises}
    toc = ["", "```{toctree}", ":hidden:", ":caption: Course", "", "syllabus",
           *[f"lectures/{p.stem}" for p in lectures], "```", "",
           "```{toctree}", ":hidden:", ":caption: Exercises", "",
           *[p.relative_to(tree).with_suffix("").as_posix() for p in exercises], "```", ""]
    (source / "index.md").write_text(landing(tree, pages) + "\n" + "\n".join(toc))
    (source / "syllabus.md").write_text(syllabus(lectures))
    shutil.copy(HERE / "conf.py", source / "conf.py")
    shutil.copytree(HERE / "static", source / "_static")
    shutil.copytree(_mathjax(), source / "_static" / "mathjax", ignore=_other_languages)
    return {"lectures": lectures, "exercises": exercises}


def _mathjax() -> Path:
    """MathJax 2's files, as the Jupyter server ships them (the book must not fetch it from a CDN)."""
    try:
        import jupyter_server_mathjax
    except ImportError as err:
        raise BookError("jupyter-server-mathjax is not installed: pip install -e '.[book]'") from err
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def _other_languages(folder: str, names: list) -> list:
    return [n for n in names if n != "en"] if Path(folder).name == "localization" else []


def build(tree: Path = ROOT, out: Path = BUILD / "book", repo_url: str | None = None, branch: str = "main",
          log=print) -> Path:
    """Build the site for ``tree`` into ``out`` (its ``index.html`` the landing page); returns ``out``."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="book-source-") as tmp:
        source = Path(tmp) / "source"
        write_sources(Path(tree), source, repo_url, branch, log)
        if out.exists():
            shutil.rmtree(out)
        run = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-j", "auto",
                              str(source), str(out)], capture_output=True, text=True)
    if run.returncode:
        raise BookError("sphinx-build failed:\n" + (run.stderr or run.stdout)[-4000:])
    shutil.rmtree(out / ".doctrees", ignore_errors=True)
    shutil.rmtree(out / "_sources", ignore_errors=True)  # empty: the pages' sources are not copied
    (out / ".nojekyll").write_text("")  # GitHub Pages would otherwise leave out _static/ and _images/
    log(f"book: {out} built in {time.perf_counter() - start:.0f} s (open {out / 'index.html'})")
    return out

