"""The lectures' widgets in a real browser: JupyterLab on 127.0.0.1, headless Chromium driven by Playwright.

The tests start their own JupyterLab (a token, a free port, the smoke scale, throw-away settings and
runtime folders) on temporary copies of the notebooks, so nothing they run or save touches the
repository. L1: the widget cell runs alone; the test clicks the button and moves the slider. L2 to
L7: the whole notebook runs (Run All Cells, at the smoke scale), then the test changes the widget's
controls (L4 to L7: its first slider, one step with the keyboard). Each time the test waits for the
widget's output to change, and saves a screenshot to artifacts/L<n>_widget.png. The widget cell is
found by what it calls, not by its position, so the notebooks can change around it. Everything started is stopped in a ``finally``.

Needs Debian's Chromium (``sudo apt-get install chromium``; ``make test`` installs it where it can);
skipped with that command where it is missing. Playwright only drives it: no browser download is needed or done.
"""
import json
import re
import shutil
from pathlib import Path

import pytest

from jupyter_lab import running_jupyterlab

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the dev extra is not installed
    expect = sync_playwright = None

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# without Chromium or playwright, tests/conftest.py skips `browser` tests with the command to run
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on the repository, at the smoke scale; yields its base URL and token."""
    served = tmp_path / "course"
    (served / "lectures").mkdir(parents=True)
    for path in (ROOT / "lectures").glob("L*.ipynb"):
        shutil.copy2(path, served / "lectures")
    settings = {
        # attach every cell to the page, so the widget cell can be found without scrolling tricks
        "notebook-extension/tracker": {"windowingMode": "none"},
        "docmanager-extension/plugin": {"autosave": False},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    for name, values in settings.items():
        path = tmp_path / "settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    # one thread per kernel: on a shared 2-core machine two competing threads are several times slower
    env = {"LABKIT_SCALE": "smoke", "LABKIT_PROGRESS": "0", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    with running_jupyterlab(served, tmp_path, env) as (base, token, _):
        yield base, token


@pytest.mark.timeout(420)
def test_l1_widget_renders_and_responds(jupyterlab):
    base, token = jupyterlab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/lectures/L1_shortcuts.ipynb?reset&token={token}")
            cell = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="shortcut_widget()")
            expect(cell).to_have_count(1, timeout=90_000)
            # wait until the kernel is up, then run the widget cell (it imports what it needs)
            expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first).to_be_attached(timeout=90_000)
            cell.scroll_into_view_if_needed()

            def run_widget_cell():
                cell.locator(".jp-InputArea-editor").click()
                page.keyboard.press("Shift+Enter")
            _until_the_kernel_takes(cell, run_widget_cell)

            demo = cell.locator(".labkit-shortcut-demo")
            summary = demo.locator(".labkit-shortcut-summary")
            expect(summary).to_contain_text("o.o.d. accuracy", timeout=120_000)
            expect(summary).to_contain_text("rule 1.00")
            expect(demo.locator("img")).to_be_visible()
            first = summary.inner_text()
            first_png = demo.locator("img").get_attribute("src")

            # click: a new test image, same network
            demo.get_by_role("button", name="new test image").click()
            expect(summary).to_contain_text("test image #1", timeout=60_000)
            assert summary.inner_text() != first
            assert demo.locator("img").get_attribute("src") != first_png

            # move the slider one step down with the keyboard: the network is retrained at rule 0.95
            handle = demo.locator(".noUi-handle").first
            handle.focus()
            handle.press("ArrowLeft")
            expect(summary).to_contain_text("rule 0.95", timeout=120_000)
            expect(summary).to_contain_text("o.o.d. accuracy")
            page.wait_for_timeout(500)
            demo.screenshot(path=str(ARTIFACTS / "L1_widget.png"))
            page.screenshot(path=str(ARTIFACTS / "L1_notebook.png"))
        finally:
            browser.close()
    assert (ARTIFACTS / "L1_widget.png").stat().st_size > 1000


def _open_and_run_all(page, base, token, notebook, widget_call):
    """Open ``notebook``, run all its cells and return the code cell whose source contains ``widget_call``."""
    page.goto(f"{base}/lab/tree/lectures/{notebook}?reset&token={token}")
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text=widget_call)
    expect(cell).to_have_count(1, timeout=90_000)
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first).to_be_attached(timeout=90_000)

    def run_all():
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
    # the first code cell is the setup cell, whose source (and prompt) is collapsed: watch the second
    _until_the_kernel_takes(page.locator(".jp-Notebook .jp-CodeCell").nth(1), run_all)
    return cell


def _until_the_kernel_takes(cell, run, attempts: int = 6):
    """``run()`` (which executes ``cell``), again until the cell's prompt shows it went to a kernel
    ([*] or [n]). The notebook's execution indicator reads idle before its kernel is connected, and a
    cell run in that moment is dropped without a word: seen once in a fresh clone."""
    prompt = cell.locator(".jp-InputPrompt")
    for _ in range(attempts):
        run()
        try:
            expect(prompt).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=10_000)
            return
        except AssertionError:
            continue
    pytest.fail(f"the kernel did not take the cell in {attempts} attempts; its prompt reads {prompt.inner_text()!r}")


def _wait_for_widget(page, widget, timeout_ms):
    """Wait until ``widget`` is visible; fail at once with the traceback if a cell raised first."""
    error = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                         has_text="Traceback").first
    expect(widget.or_(error).first).to_be_visible(timeout=timeout_ms)
    if not widget.is_visible():
        pytest.fail("a cell raised before the widget was drawn:\n" + error.inner_text()[-3000:])


def _launch(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])


@pytest.mark.timeout(600)
def test_l2_score_browser_renders_and_responds(jupyterlab):
    base, token = jupyterlab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = _launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            cell = _open_and_run_all(page, base, token, "L2_difficulty.ipynb", ".examples_widget(")
            picture = cell.locator(".jp-OutputArea-output img").first
            _wait_for_widget(page, picture, 480_000)  # the whole notebook runs first
            cell.scroll_into_view_if_needed()
            score = cell.locator(".jp-OutputArea-output select").first
            first_png = picture.get_attribute("src")
            options = [o for o in score.locator("option").all_inner_texts() if o != score.input_value()]
            assert options, "the score browser offers only one score"
            score.select_option(label=options[0])  # another score: another selection of images
            expect(picture).not_to_have_attribute("src", first_png, timeout=60_000)
            page.wait_for_timeout(500)
            cell.locator(".jp-OutputArea-output").first.screenshot(path=str(ARTIFACTS / "L2_widget.png"))
        finally:
            browser.close()
    assert (ARTIFACTS / "L2_widget.png").stat().st_size > 1000


@pytest.mark.timeout(600)
def test_l3_table_explorer_renders_and_responds(jupyterlab):
    base, token = jupyterlab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = _launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            cell = _open_and_run_all(page, base, token, "L3_contingency.ipynb", "ct.contingency_widget(")
            explorer = cell.locator(".labkit-contingency-explorer")
            summary = explorer.locator(".labkit-contingency-explorer-summary")
            _wait_for_widget(page, explorer.locator("img"), 480_000)  # the whole notebook runs first
            expect(summary).to_contain_text("R±", timeout=60_000)
            cell.scroll_into_view_if_needed()
            expect(explorer.locator("img")).to_be_visible()
            expect(summary).to_contain_text("D = MLP")
            last = summary.inner_text()
            png = explorer.locator("img").get_attribute("src")

            # another D: its own recorded steps, its own table
            explorer.locator("select").first.select_option(label="CNN")
            expect(summary).to_contain_text("D = CNN", timeout=60_000)
            assert explorer.locator("img").get_attribute("src") != png

            # one recorded step back with the keyboard: an earlier table of the same D
            at_end = summary.inner_text()
            handle = explorer.locator(".noUi-handle").first
            handle.focus()
            handle.press("ArrowLeft")
            expect(summary).not_to_have_text(at_end, timeout=60_000)
            expect(summary).to_contain_text("D = CNN")
            assert summary.inner_text() != last
            page.wait_for_timeout(500)
            explorer.screenshot(path=str(ARTIFACTS / "L3_widget.png"))
        finally:
            browser.close()
    assert (ARTIFACTS / "L3_widget.png").stat().st_size > 1000


# L4-L7: picture widgets (lk.viz.picture_widget): the widget's box has its own CSS class
PICTURE_WIDGETS = [("L4_few_labels.ipynb", "active.active_widget(", "lk-active"),
                   ("L5_calibration.ipynb", "cal.temperature_widget(", "lk-temperature"),
                   ("L6_capacity.ipynb", "cap.double_descent_widget(", "labkit-double-descent"),
                   ("L7_sparsity.ipynb", "sp.pruning_widget(", "labkit-pruning")]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("notebook, call, css", PICTURE_WIDGETS, ids=[n.split("_")[0] for n, _, _ in PICTURE_WIDGETS])
def test_picture_widget_renders_and_responds(jupyterlab, notebook, call, css):
    base, token = jupyterlab
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{notebook.split('_')[0]}_widget.png"
    with sync_playwright() as pw:
        browser = _launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            cell = _open_and_run_all(page, base, token, notebook, call)
            box = cell.locator(f".{css}").first
            picture = box.locator("img").first
            _wait_for_widget(page, picture, 480_000)  # the whole notebook runs first
            summary = box.locator(f".{css}-summary")
            expect(summary).not_to_contain_text("computing", timeout=120_000)
            cell.scroll_into_view_if_needed()
            first_png, first_text = picture.get_attribute("src"), summary.inner_text()
            handle = box.locator(".noUi-handle").first  # one step up: the picture is drawn again
            handle.focus()
            handle.press("ArrowRight")
            expect(picture).not_to_have_attribute("src", first_png, timeout=120_000)
            expect(summary).not_to_contain_text("computing", timeout=120_000)
            assert summary.inner_text() != first_text
            page.wait_for_timeout(500)
            box.screenshot(path=str(shot))
        finally:
            browser.close()
    assert shot.stat().st_size > 1000
