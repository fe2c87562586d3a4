"""Nothing a student hands in runs in the instructor's browser: the formgrader and the feedback of a
graded class, opened in headless Chromium.

A scratch course grades the warm-up for four students with one real ``nbgrader autograde``:
``markup`` (every markdown payload of tests/course/hostile.py in the written answer and in added
cells), ``outputs`` (the solution, plus a cell displaying every output payload), ``smuggled``
(trusted flags, widget state, HTML/SVG attachments, stale outputs) and ``tidy`` (the solution, a
matplotlib figure, a pandas table, a written answer with math and a table). ``generate_feedback``
makes their feedback. JupyterLab then serves the course from its folder on 127.0.0.1, and Chromium
opens each student's formgrader page and feedback file (through the same server, with the
instructor's login, the worst case). Every payload would set ``document.title``, call a listener
this test runs on 127.0.0.1, and write a file through the contents API; none of that may happen.
A control page (the same payloads exported by a plain nbconvert) shows that they do run when
nothing sanitises them, so the checks can fail.

The feedback pages also carry the course's Content-Security-Policy: the first element of their head,
enforced (a script put into the page does not run), and blocking nothing the page itself needs (no
violation is reported while it loads; the figure and the tables show).

Needs Chromium, Python's playwright and bubblewrap (the ``browser`` and ``sandbox`` markers):
tests/conftest.py skips it with the command that installs what is missing, and CI, where skipping is
not allowed, fails instead.
"""
import copy
import http.server
import shutil
import threading
import time
from pathlib import Path

import nbformat
import pytest

import hostile
import submissions as subs
from grader.scratch import ScratchCourse
from jupyter_lab import running_jupyterlab

try:
    from playwright.sync_api import sync_playwright
except ImportError:
    sync_playwright = None

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ASSIGNMENT = "00-warmup"
EXPECTED = {"markup": 0.0, "outputs": 5.0, "smuggled": 0.0, "tidy": 5.0}

# without Chromium, playwright or a working bwrap, tests/conftest.py skips these (or fails them in CI)
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.sandbox]


class _Listener(http.server.ThreadingHTTPServer):
    """Records every path asked of it (a payload that ran calls /hit/<name>)."""

    def __init__(self):
        self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(handler):  # noqa: N805
                self.hits.append(handler.path)
                handler.send_response(204)
                handler.end_headers()

            def log_message(handler, *args):  # noqa: N805
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def names(self) -> set:
        return {p.split("/hit/", 1)[1] for p in self.hits if "/hit/" in p}


def _control_page(root: Path, port: int) -> Path:
    """The payloads exported by a plain nbconvert (no course configuration): they must run."""
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    for text in hostile.markdown_payloads(port).values():
        nb.cells.append(nbformat.v4.new_markdown_cell(text))
    for name, (data, meta) in hostile.output_payloads(port).items():
        cell = nbformat.v4.new_code_cell(f"# {name}")
        cell.outputs = [nbformat.v4.new_output("display_data", data=copy.deepcopy(data), metadata=copy.deepcopy(meta))]
        nb.cells.append(cell)
    html, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    page = root / "control.html"
    page.write_text(html)
    return page


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    listener = _Listener()
    root = tmp_path_factory.mktemp("formgrader") / "course"
    course = ScratchCourse(root, [ASSIGNMENT])
    nbk = subs.notebooks(ASSIGNMENT, exercises=root / "release", source=root / "source")[0]
    made = {"markup": hostile.markup_submission(nbk.student(), listener.port),
            "outputs": hostile.outputs_submission(nbk.solution(), listener.port),
            "smuggled": hostile.smuggled_submission(nbk.student(), listener.port),
            "tidy": hostile.tidy_submission(nbk.solution())}
    for student, nb in made.items():
        subs.write_submission(root, ASSIGNMENT, student, nbk.name, nb)
    start = time.perf_counter()
    code, _, log = course.autograde(ASSIGNMENT)
    assert code == 0, log[-3000:]
    code, _, log = course.nbgrader("generate_feedback", ASSIGNMENT, log_name="feedback")
    assert code == 0, log[-3000:]
    print(f"autograde and feedback: {time.perf_counter() - start:.1f} s")
    yield {"course": course, "root": root, "notebook": nbk.name, "listener": listener}
    listener.shutdown()


@pytest.fixture(scope="module")
def formgrader(graded_class, tmp_path_factory):
    """JupyterLab (with nbgrader's formgrader) started from the scratch course's folder."""
    root, tmp = graded_class["root"], tmp_path_factory.mktemp("lab")
    with running_jupyterlab(root, tmp) as server:
        yield server


def test_grades_come_from_the_execution(graded_class):
    course = graded_class["course"]
    assert course.grades(ASSIGNMENT) == EXPECTED


def test_autograded_copies_are_safe_in_any_renderer(graded_class):
    """Even a plain nbconvert export (without the course's configuration) of an autograded copy runs
    nothing, and what the tidy student wrote is unchanged."""
    from nbconvert import HTMLExporter

    root, name = graded_class["root"], graded_class["notebook"]
    for student in EXPECTED:
        path = graded_class["course"].autograded(student, ASSIGNMENT, name)
        html, _ = HTMLExporter(template_name="classic").from_filename(str(path))
        assert hostile.live_payloads(html) == set(), student
        nb = nbformat.read(path, as_version=4)
        assert "widgets" not in nb.metadata and not any("trusted" in c.metadata for c in nb.cells)
    tidy = nbformat.read(graded_class["course"].autograded("tidy", ASSIGNMENT, name), as_version=4)
    answer = next(c for c in tidy.cells if subs.nbgrader_meta(c).get("grade_id") == "written_answer")
    assert answer.source == hostile.TIDY_ANSWER
    kinds = {k for c in tidy.cells if c.cell_type == "code" for o in c.outputs for k in o.get("data", {})}
    assert {"image/png", "text/html"} <= kinds
    assert not (root / "pwned-md-script.txt").exists()


# what a page's submission content holds that could run script (the formgrader's own scripts are
# outside #notebook-container)
_LIVE_DOM = """(sel) => {
  const root = document.querySelector(sel) || document.body;
  const bad = [];
  for (const el of root.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    if (['script', 'iframe', 'object', 'embed', 'frame', 'svg'].includes(tag)) bad.push(tag);
    for (const a of el.attributes) {
      const v = a.value.replace(/\\s/g, '').toLowerCase();
      if (a.name.startsWith('on') || v.startsWith('javascript:') || (a.name !== 'src' && v.startsWith('data:'))
          || (a.name === 'src' && v.startsWith('data:') && !v.startsWith('data:image/')))
        bad.push(tag + '[' + a.name + ']');
    }
  }
  return bad;
}"""


_RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
                          e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""

# the policy's <meta>, which must be the first element of <head>, and what the page reported while
# it loaded
_POLICY = """() => {
  const meta = document.head.firstElementChild;
  return {policy: meta && meta.httpEquiv.toLowerCase() === 'content-security-policy' ? meta.content : null,
          violations: (window.__violations || []).slice()};
}"""
# a script put into the page afterwards: it must not run
_PROBE = """() => {
  window.__probe = 'not run';
  const s = document.createElement('script');
  s.textContent = "window.__probe = 'ran'";
  document.head.appendChild(s);
  return window.__probe;
}"""


def _the_policy_holds(page, label, console):
    """A feedback page: the course's policy, enforced, and nothing the page needs blocked by it."""
    from grader.sanitize import FEEDBACK_CSP

    found = page.evaluate(_POLICY)
    assert found["policy"] == FEEDBACK_CSP, (label, found["policy"])
    assert found["violations"] == [], (label, found["violations"])
    assert not [text for _, text in console if "Content Security Policy" in text], (label, console)
    assert page.evaluate(_PROBE) == "not run", label


def test_nothing_runs_in_the_formgrader_or_the_feedback(graded_class, formgrader):
    base, token, lab_log = formgrader
    root, listener, name = graded_class["root"], graded_class["listener"], graded_class["notebook"]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        ids = {s: gb.find_submission_notebook(Path(name).stem, ASSIGNMENT, s).id for s in EXPECTED}
    control = _control_page(root, listener.port)
    titles, dialogs, console = {}, [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("console", lambda m: console.append((m.type, m.text)))
            # every Content-Security-Policy violation a page reports (recorded outside the page's policy)
            page.add_init_script(_RECORD_VIOLATIONS)
            # the instructor's session: any script running in a formgrader page could write files
            # with it (the checks below would see it) ...
            page.goto(f"{base}/formgrader?token={token}")  # logs in, as the formgrader's menu does
            page.wait_for_load_state("networkidle")
            page.goto(f"{base}/formgrader/submissions/{ids['tidy']}/")
            page.wait_for_load_state("networkidle")
            assert page.evaluate(hostile.script("control-session", listener.port)) == 201
            # ... and the payloads, exported by a plain nbconvert, do run (served by Jupyter under
            # /files/, which sandboxes them in an opaque origin: the title and the listener see them)
            page.goto(f"{base}/files/{control.name}?token={token}")
            deadline = time.monotonic() + 15
            # (application/javascript needs jQuery from a CDN in nbconvert's page: offline it fails
            # before the payload; the unit tests show it is in a plain export all the same)
            expected = {"control-session", "md-script", "md-img-onerror", "md-svg-onload", "out-html-script"}
            while time.monotonic() < deadline and not ((root / "pwned-control-session.txt").exists()
                                                       and expected <= listener.names()):
                page.wait_for_timeout(250)
            assert "PWNED" in page.title()
            assert expected <= listener.names()
            assert (root / "pwned-control-session.txt").exists()
            for f in root.glob("pwned-*.txt"):
                f.unlink()
            listener.hits.clear()

            feedback = {s: f"feedback/{s}/{ASSIGNMENT}/{Path(name).stem}.html" for s in EXPECTED}
            pages = {f"formgrader/{s}": f"{base}/formgrader/submissions/{i}/" for s, i in ids.items()}
            pages.update({f"feedback/{s}": f"{base}/files/{f}?token={token}" for s, f in feedback.items()})
            pages.update({f"feedback-file/{s}": (root / f).as_uri() for s, f in feedback.items()})
            for label, url in pages.items():
                console.clear()
                response = page.goto(url)
                assert response is None or response.status in (0, 200), (label, response.status)
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(300)
                titles[label] = page.title()
                container = "#notebook-container" if label.startswith("formgrader") else "body"
                assert page.evaluate(_LIVE_DOM, container) == [], label
                text = page.inner_text(container)
                if label.endswith("/markup"):
                    assert "<script>document.title='PWNED-md-script'" in text  # readable, as text
                    assert "could run script" in text
                if label.endswith("/outputs"):
                    assert "removed output of type application/javascript" in text
                if label.endswith("/tidy"):
                    figures = page.locator(f"{container} img[src^='data:image/png']")
                    assert figures.count() >= 1, label
                    assert figures.first.evaluate("img => img.naturalWidth") > 0
                    tables = page.locator(f"{container} table").filter(has_text="accuracy")
                    assert tables.count() >= 2, label  # the DataFrame and the written answer's table
                    assert tables.first.is_visible()
                if label.startswith("formgrader"):
                    # the grading form itself still works: the written answer's score box is there
                    assert page.locator("input.score#written_answer").count() == 1, label
                else:
                    _the_policy_holds(page, label, console)
            page.wait_for_timeout(1000)  # late timers, image loads
        finally:
            browser.close()
    assert not any("PWNED" in t for t in titles.values()), titles
    assert listener.names() == set(), listener.hits
    assert sorted(p.name for p in root.glob("pwned-*")) == []
    assert dialogs == []
