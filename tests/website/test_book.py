"""The course's book (``make book``), built from the lectures' class-scale runs and read in Chromium.

The lecture tests (tests/lectures/test_lecture_*.py, which sort before this folder) leave their
base-seed runs in ``_build/executed/``; the book is built from those, in a temporary folder, with a
repository URL so that the Open in Colab links are made. Run alone, this test executes the lectures
itself first (several minutes). Every page is then served on 127.0.0.1 and opened in headless Chromium:
it loads with no console error and no request leaving the machine, its internal links resolve, every
figure of the run is on its lecture's page, every formula is typeset (MathJax from the site itself),
every claim shows its line, no page holds a traceback or a stderr block, and the search page finds
each lecture by a word of its title.
"""
import functools
import http.server
import re
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import nbformat
import pytest

from book.build import ROOT, build, class_runs, colab_link, github_repo

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the dev extra is not installed: tests/conftest.py skips `browser` tests
    sync_playwright = None

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REPO = "https://github.com/example/course"
LECTURES = sorted((ROOT / "lectures").glob("L*.ipynb"))

# the lectures' runs are timed by their own tests; this one runs after them and times the build
pytestmark = [pytest.mark.slow, pytest.mark.timed]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    runs = class_runs(LECTURES)  # the lecture tests' runs, or new ones
    out = tmp_path_factory.mktemp("book") / "site"
    start = time.perf_counter()
    build(ROOT, out, REPO)
    return out, runs, time.perf_counter() - start


@pytest.fixture(scope="module")
def served(site):
    out = site[0]
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _figures(nb) -> int:
    return sum("image/png" in o.get("data", {}) or "application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for c in nb.cells for o in c.get("outputs", []))


def _has_math(nb) -> bool:
    return any(re.search(r"\$[^$\n]+\$", c.source) for c in nb.cells if c.cell_type == "markdown")


def _claims(nb) -> list:
    from labkit.claims import read
    return read(nb)


def test_the_book_is_built_from_the_class_scale_runs_within_two_minutes(site):
    out, runs, seconds = site
    assert (out / "index.html").exists() and (out / "syllabus.html").exists()
    for lecture, nb in runs.items():
        assert nb.metadata["labkit_book"]["scale"] == "class"
        page = (out / "lectures" / f"{lecture.stem}.html").read_text()
        assert "scale: class" in page, f"{lecture.name}: the page must show the class-scale run"
        assert f'href="{colab_link(github_repo(REPO), f"lectures/{lecture.name}")}"' in page
    exercises = sorted((ROOT / "exercises").glob("*/*.ipynb"))
    assert exercises and all((out / p.relative_to(ROOT).with_suffix(".html")).exists() for p in exercises)
    assert not list(out.rglob("solutions*")), "the book holds the exercises as students get them, never solutions"
    assert seconds < 120, f"the book took {seconds:.0f} s from executed notebooks (at most 2 minutes)"


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_every_page_in_a_browser(site, served):
    out, runs, _ = site
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html") if "_static" not in p.parts)  # not the themes' templates
    problems = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: m.type == "error" and problems.append(f"{page.url}: console: {m.text}"))
            page.on("pageerror", lambda e: problems.append(f"{page.url}: script error: {e}"))
            # (the search page fetches each result's page for its summary; leaving it aborts those)
            page.on("requestfailed", lambda r: r.failure != "net::ERR_ABORTED"
                    and problems.append(f"{page.url}: request failed: {r.url} ({r.failure})"))
            page.on("response", lambda r: r.status >= 400 and problems.append(f"{page.url}: {r.status} for {r.url}"))
            page.on("request", lambda r: urlsplit(r.url).hostname not in ("127.0.0.1", None)
                    and not r.url.startswith("data:") and problems.append(f"{page.url}: leaves the machine: {r.url}"))
            for rel in pages:
                page.goto(served + rel, wait_until="load")
                html = page.content()
                if "Traceback (most recent call last)" in html or re.search(r'class="[^"]*\bstderr\b', html):
                    problems.append(f"{rel}: holds a traceback or a stderr block")
                for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
                    target = urljoin(served + rel, href)
                    if target.startswith(served) and not href.startswith("#"):
                        path = unquote(urlsplit(target).path)[1:] or "index.html"
                        if not (out / path).exists():
                            problems.append(f"{rel}: broken link {href}")
                if rel.startswith("lectures/"):
                    nb = runs[ROOT / "lectures" / (Path(rel).stem + ".ipynb")]
                    shown = page.eval_on_selector_all("main img", "els => els.filter(e => e.complete && e.naturalWidth > 0).length")
                    if shown != _figures(nb):
                        problems.append(f"{rel}: {shown} pictures shown, the run made {_figures(nb)}")
                    raw = re.findall(r"\$[^$\n]{1,40}\$", page.locator("main").inner_text())
                    if _has_math(nb):  # MathJax typesets after the page has loaded
                        try:
                            page.locator("main span.MathJax").first.wait_for(state="attached", timeout=30_000)
                        except Exception:  # noqa: BLE001 (playwright's timeout error)
                            raw.append("nothing typeset")
                    if raw:
                        problems.append(f"{rel}: its formulas are not typeset ({raw[:3]})")
                    claims = page.locator("main .labkit-claim").all_inner_texts()
                    expected = _claims(nb)
                    if len(claims) != len(expected) or not all(c["text"] in t for c, t in zip(expected, claims)):
                        problems.append(f"{rel}: {len(claims)} claim lines shown for {len(expected)} claims")
            for lecture in LECTURES:
                title = nbformat.read(lecture, as_version=4).cells[0].source.splitlines()[0]
                word = max(re.findall(r"[A-Za-z]{5,}", title), key=len)
                page.goto(served + f"search.html?q={word}", wait_until="load")
                found = page.locator(f"#search-results a[href*='{lecture.stem}']")
                try:
                    found.first.wait_for(timeout=30_000)
                except Exception:  # noqa: BLE001 (playwright's timeout error)
                    problems.append(f"search for {word!r} does not find {lecture.stem}")
        finally:
            browser.close()
    assert not problems, "\n".join(problems[:40])
