"""`make lab` shows the course: the README's command, run as written (with a free port, a token and
no browser), serves the repository root, so lectures/ and exercises/ are both in reach, and the URL
it prints opens START_HERE.md, which points to every lecture and exercise."""
import json
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from jupyter_lab import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if subprocess.run(["make", "-q", "setup"], cwd=ROOT).returncode != 0:
        pytest.skip("the environment is not set up (make setup); this test does not install it")
    tmp = tmp_path_factory.mktemp("lab")
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp / "config"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "ws")}
    log = tmp / "lab.log"
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --IdentityProvider.token={token}"
    with open(log, "w") as out:
        proc = subprocess.Popen(["make", "-s", "lab", f"PORT={port}", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, url = time.monotonic() + 90, None
        while time.monotonic() < deadline and url is None:
            if proc.poll() is not None:
                pytest.fail(f"make lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            match = re.search(rf"http://127\.0\.0\.1:{port}(/\S*)\?token=", log.read_text(errors="replace"))
            url = match.group(1) if match else None
            time.sleep(0.5)
        assert url, f"make lab printed no URL:\n{log.read_text()[-3000:]}"
        yield {"base": f"http://127.0.0.1:{port}", "token": token, "printed_path": url}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _get(lab, path):
    with urllib.request.urlopen(f"{lab['base']}{path}?token={lab['token']}", timeout=10) as r:
        return json.loads(r.read())


def test_the_printed_url_opens_the_landing_page(lab):
    assert lab["printed_path"] == "/lab/tree/START_HERE.md"
    viewers = _get(lab, "/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    assert viewers["schema"]["properties"]["defaultViewers"]["default"] == {"markdown": "Markdown Preview"}


def test_the_whole_course_is_in_reach(lab):
    names = {item["name"] for item in _get(lab, "/api/contents")["content"]}
    assert {"lectures", "exercises", "solutions", "START_HERE.md", "README.md"} <= names
    lectures = {item["name"] for item in _get(lab, "/api/contents/lectures")["content"]}
    assert {p.name for p in (ROOT / "lectures").glob("*.ipynb")} <= lectures


def test_the_landing_page_links_every_lecture_and_exercise():
    text = (ROOT / "START_HERE.md").read_text()
    notebooks = [*(ROOT / "lectures").glob("*.ipynb"), *(ROOT / "exercises").glob("*/*.ipynb")]
    assert notebooks
    missing = [str(p.relative_to(ROOT)) for p in notebooks if f"]({p.relative_to(ROOT)})" not in text]
    assert missing == [], f"START_HERE.md does not link {missing}"
