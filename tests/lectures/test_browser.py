"""The L1 widget in a real browser: JupyterLab on 127.0.0.1, headless Chromium driven by Playwright.

The test starts its own JupyterLab (a token, a free port, the smoke scale, throw-away settings and
runtime folders) on a temporary copy of the notebook, so nothing it runs or saves touches the
repository; opens lectures/L1_shortcuts.ipynb, runs the widget cell, clicks the button and
moves the slider, waits for the widget's output to change each time, and saves a screenshot to
artifacts/L1_widget.png. Everything it started is stopped in a ``finally``.

Needs Debian's Chromium (``sudo apt-get install chromium``; ``make test`` installs it where it can);
skipped with that command where it is missing. Playwright only drives it: no browser download is needed or done.
"""
import json
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
    shutil.copy2(ROOT / "lectures" / "L1_shortcuts.ipynb", served / "lectures")
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
    env = {"LABKIT_SCALE": "smoke", "LABKIT_PROGRESS": "0", "MPLBACKEND": "Agg"}
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
            cell = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="shortcut_demo()")
            expect(cell).to_have_count(1, timeout=90_000)
            # wait until the kernel is up, then run the widget cell (it imports what it needs)
            expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first).to_be_attached(timeout=90_000)
            cell.scroll_into_view_if_needed()
            cell.locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")

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
