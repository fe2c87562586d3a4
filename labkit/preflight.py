"""The check before hand-in: run the saved exercise notebook as the grader will, and say what it sees.

The last cell of every exercise calls ``checks.preflight("warmup.ipynb")`` (exercises 00–07). It
runs the notebook *as saved* in a fresh kernel, in a separate process, at the scale grading uses
(``NBGRADER_EXECUTION`` set: the smoke scale) and with the grader's time limits (a cell may run
:data:`CELL_TIMEOUT` seconds, the whole notebook :data:`NOTEBOOK_TIMEOUT`; the course's
``nbgrader_config.py`` sets the same numbers), then prints: cells that raised, answers not yet
written, slow cells, the visible tests' points, and the file name the instructor collects.

From the command line: ``python -m labkit.preflight NOTEBOOK [--expected NAME] [--json]``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

CELL_TIMEOUT = 60  # seconds, as c.GuardedExecute.timeout in course/nbgrader_config.py
NOTEBOOK_TIMEOUT = 600  # seconds, as c.GuardedExecute.notebook_timeout
SLOW = 0.5  # a cell that takes more than this share of its limit is reported as slow
MARK = "checks.preflight("


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader") or {}


def _first_error(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            first = (str(out.get("evalue", "")).strip().splitlines() or [""])[0]
            return f"{out.get('ename')}: {first}"[:300]
    return None


def run(path, expected: str | None = None, cell_timeout: int = CELL_TIMEOUT,
        notebook_timeout: int = NOTEBOOK_TIMEOUT) -> dict:
    """Execute the notebook at ``path`` as the grader would; return the report as a dict."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    report = {"notebook": path.name, "expected": expected, "saved": time.strftime(
        "%H:%M:%S", time.localtime(path.stat().st_mtime)), "errors": [], "unanswered": [], "slow": [],
        "tests": [], "written": [], "stopped": None}
    env = dict(os.environ, NBGRADER_EXECUTION="autograde", LABKIT_PREFLIGHT="0", MPLBACKEND="Agg")
    env.pop("LABKIT_SCALE", None)
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    with client.setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or MARK in cell.source:
                continue
            if time.perf_counter() - started > notebook_timeout:
                report["stopped"] = f"the whole notebook ran past {notebook_timeout} s; the rest was not run"
                break
            t = time.perf_counter()
            try:
                client.execute_cell(cell, index)
            except Exception as err:  # a cell past its time limit, or a kernel that died
                cell.setdefault("outputs", []).append(
                    {"output_type": "error", "ename": type(err).__name__, "evalue": str(err)[:300]})
                if "timed out" not in str(err).lower() and "Timeout" not in type(err).__name__:
                    report["stopped"] = f"the kernel stopped at cell {index + 1}: {type(err).__name__}"
                    _describe(report, index, cell, time.perf_counter() - t, cell_timeout)
                    break
            _describe(report, index, cell, time.perf_counter() - t, cell_timeout)
    for cell in nb.cells:
        meta = _meta(cell)
        if cell.cell_type == "markdown" and meta.get("solution") and "YOUR ANSWER HERE" in cell.source:
            report["written"].append(meta.get("grade_id"))
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def _describe(report, index, cell, seconds, cell_timeout) -> None:
    meta, error = _meta(cell), _first_error(cell)
    where = f"cell {index + 1}" + (f" ({meta['grade_id']})" if meta.get("grade_id") else "")
    if seconds > SLOW * cell_timeout:
        report["slow"].append(f"{where}: {seconds:.0f} s of the {cell_timeout} s a cell may take")
    if meta.get("grade") and not meta.get("solution"):
        report["tests"].append({"cell": meta.get("grade_id"), "points": float(meta.get("points", 0)),
                                "passed": error is None, "error": error})
    elif meta.get("solution") and ("# YOUR CODE HERE" in cell.source and "raise NotImplementedError" in cell.source
                                   or error and "NotImplementedError" in error):
        report["unanswered"].append(meta.get("grade_id"))
    elif error:
        report["errors"].append(f"{where}: {error}")


def lines(report: dict) -> list:
    """The report as the text the student reads."""
    got = sum(t["points"] for t in report["tests"] if t["passed"])
    total = sum(t["points"] for t in report["tests"])
    out = [f"Preflight of {report['notebook']} as saved at {report['saved']}, run as the grader runs it "
           f"(smoke scale, {CELL_TIMEOUT} s a cell) in {report['seconds']} s:"]
    if report["expected"] and report["notebook"] != report["expected"]:
        out.append(f"  ✗ the file is called {report['notebook']!r}, but your instructor collects "
                   f"{report['expected']!r}: rename it before you hand it in")
    elif report["expected"]:
        out.append(f"  ✓ file name {report['expected']!r}, as your instructor collects it")
    out += [f"  ✗ not answered yet: {gid}" for gid in report["unanswered"]]
    out += [f"  ✗ {e}" for e in report["errors"]]
    for t in report["tests"]:
        mark = "✓" if t["passed"] else "✗"
        points = f"{t['points']:g} point" + ("" if t["points"] == 1 else "s")
        out.append(f"  {mark} visible tests {t['cell']} ({points})"
                   + ("" if t["passed"] else f": {t['error']}"))
    out += [f"  ! slow: {s}" for s in report["slow"]]
    if report["stopped"]:
        out.append(f"  ✗ {report['stopped']}")
    out += [f"  ✗ written answer {gid} still says YOUR ANSWER HERE" for gid in report["written"]]
    out.append(f"Visible tests: {got:g} of {total:g} points. The grader adds hidden tests of the same things, "
               "and a person reads the written answers.")
    return out


def _notebook_path(expected: str | None):
    """The saved notebook this kernel belongs to, or None."""
    session = os.environ.get("JPY_SESSION_NAME", "")  # JupyterLab and Notebook 7 set it to the notebook's path
    if session.endswith(".ipynb") and Path(session).is_file():
        return Path(session)
    if expected and Path(expected).is_file():
        return Path(expected)
    return None


def _colab_notebook(tmp_dir: Path):
    """On Colab, the open notebook as Colab has saved it, written to a file; None elsewhere."""
    if "google.colab" not in sys.modules:
        return None
    try:
        from google.colab import _message

        nb = _message.blocking_request("get_ipynb", timeout_sec=60)["ipynb"]
    except Exception:
        return None
    path = tmp_dir / "notebook.ipynb"
    path.write_text(json.dumps(nb))
    return path


def preflight(expected: str | None = None) -> dict | None:
    """Run the saved notebook as the grader will and print what the grader would see.

    ``expected``: the file name the instructor collects (e.g. ``"warmup.ipynb"``). Returns the report
    (a dict), or None when there is nothing to run (while grading, or when the notebook file cannot
    be found: it then says how to run the check).
    """
    if os.environ.get("NBGRADER_EXECUTION") or os.environ.get("LABKIT_PREFLIGHT") == "0":
        print("preflight: not run here (this notebook is being graded or checked already)")
        return None
    import tempfile

    with tempfile.TemporaryDirectory(prefix="preflight-") as tmp:
        path = _notebook_path(expected) or _colab_notebook(Path(tmp))
        if path is None:
            print(f"preflight: cannot find the saved notebook{f' {expected!r}' if expected else ''} next to "
                  f"this kernel ({os.getcwd()}). Save it, then run this cell again, or run "
                  f"`python -m labkit.preflight PATH/TO/{expected or 'notebook.ipynb'}` in a terminal.")
            return None
        print(f"preflight: running {path.name} in a fresh kernel (up to a few minutes) ...", flush=True)
        proc = subprocess.run([sys.executable, "-m", "labkit.preflight", str(path), "--json",
                               *(["--expected", expected] if expected else [])],
                              capture_output=True, text=True, timeout=NOTEBOOK_TIMEOUT + 300)
        if proc.returncode != 0:
            print(f"preflight: the check itself failed: {proc.stderr.strip().splitlines()[-1:]}")
            return None
        report = json.loads(proc.stdout.strip().splitlines()[-1])
    if report["notebook"] == "notebook.ipynb" and expected:  # Colab's copy: the name is the download's
        report["notebook"] = expected
    print("\n".join(lines(report)))
    return report


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m labkit.preflight", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook")
    parser.add_argument("--expected", default=None, help="the file name the instructor collects")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    args = parser.parse_args(argv)
    report = run(args.notebook, args.expected)
    print(json.dumps(report) if args.json else "\n".join(lines(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
