"""The checks' records: reading them from executed notebooks, and the reference solution's records.

Every ``labkit.checks`` call in a test cell publishes a record. The reference records come from
running the assignment's source notebook (the one with solutions and hidden tests) once, in the same
sandbox and at the same scale as the students' notebooks; they are cached in ``.grading-cache/``
under a key made of the source files and labkit's code, so they are recomputed whenever either
changes.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import nbformat

CACHE_VERSION = 1


def grade_id(cell) -> str | None:
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader") or {}
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def cell_records(cell) -> list:
    """The records a cell's outputs hold, in order (a damaged record becomes None)."""
    from labkit.checks import RECORD_MIME

    found = []
    for out in cell.get("outputs", []):
        data = out.get("data") or {}
        if RECORD_MIME not in data:
            continue
        payload = data[RECORD_MIME]
        if isinstance(payload, list):
            payload = "".join(payload)
        try:
            record = json.loads(payload) if isinstance(payload, str) else None
        except ValueError:
            record = None
        found.append(record if isinstance(record, dict) else None)
    return found


def has_error(cell) -> bool:
    """Whether the cell raised. (nbgrader also fails a cell that wrote to stderr; the course does not:
    see :func:`stderr_as_notes`.)"""
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


STDERR_NOTE = "note (written to standard error; it costs no points):\n"


def stderr_as_notes(cell) -> int:
    """Turn the cell's standard-error streams into standard-output notes; returns how many.

    nbgrader scores a test cell with any stderr output as failed. Warnings, progress bars and
    libraries' messages land there, so a correct answer could lose its points for how it was
    checked. Only an error (an exception) fails a test cell in this course."""
    moved = 0
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            text = out.get("text", "")
            out["name"] = "stdout"
            out["text"] = STDERR_NOTE + ("".join(text) if isinstance(text, list) else text)
            moved += 1
    return moved


def _labkit_digest() -> str:
    import labkit

    root = Path(labkit.__file__).parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def source_digest(assignment_dir: Path) -> str:
    h = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    for p in sorted(Path(assignment_dir).rglob("*")):
        if p.is_file() and ".ipynb_checkpoints" not in p.parts:
            h.update(str(p.relative_to(assignment_dir)).encode())
            h.update(p.read_bytes())
    h.update(_labkit_digest().encode())
    return h.hexdigest()


def run_solution(source_notebook: Path, *, timeout: int = 120, kernel_manager_class=None, log=None) -> dict:
    """Execute the source notebook in the sandbox; return ``{grade_id: [records]}`` of its test cells.

    Raises ``RuntimeError`` when a test cell of the solution fails or records nothing: the assignment
    itself is broken and no student can be graded fairly against it.
    """
    from nbclient import NotebookClient

    from .sandbox import SandboxKernelManager

    source_notebook = Path(source_notebook)
    nb = nbformat.read(source_notebook, as_version=4)
    with tempfile.TemporaryDirectory(prefix="grader-solution-") as tmp:
        for p in source_notebook.parent.rglob("*"):  # data files, never the notebooks
            if p.is_file() and p.suffix != ".ipynb" and ".ipynb_checkpoints" not in p.parts:
                dest = Path(tmp) / p.relative_to(source_notebook.parent)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(p, dest)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                kernel_manager_class=kernel_manager_class or SandboxKernelManager,
                                resources={"metadata": {"path": tmp}})
        client.execute()
    records, problems = {}, []
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        gid = grade_id(cell)
        recs = cell_records(cell)
        if has_error(cell):
            text = "; ".join(o.get("evalue", "") for o in cell.outputs if o.get("output_type") == "error")
            problems.append(f"test cell {gid!r} fails on the reference solution: {text}")
        elif not recs or any(r is None for r in recs):
            problems.append(f"test cell {gid!r} records no checks: use labkit.checks in every test cell")
        records[gid] = recs
    if problems:
        raise RuntimeError(f"{source_notebook}: " + " | ".join(problems))
    return records


def solution_records(source_notebook: Path, cache_dir: Path, **kwargs) -> dict:
    """The reference records of ``source_notebook``, from the cache when its sources are unchanged."""
    source_notebook = Path(source_notebook)
    key = source_digest(source_notebook.parent)
    cache = Path(cache_dir) / source_notebook.parent.name / (source_notebook.stem + ".json")
    if cache.exists():
        try:
            saved = json.loads(cache.read_text())
            if saved.get("key") == key:
                return saved["records"]
        except ValueError:
            pass
    records = run_solution(source_notebook, **kwargs)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")  # shards on a shared file system may write it at once
    tmp.write_text(json.dumps({"key": key, "records": records}, allow_nan=True, indent=1))
    tmp.replace(cache)
    return records
