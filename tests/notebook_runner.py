"""Execute a notebook the way a student would, then read values out of the live kernel.

Used by the lecture tests: ``run_notebook(path, {"acc": "results['ood_acc']"})`` runs every cell
at the smoke scale and returns the notebook and the JSON-serialisable values of the expressions;
``run_lecture_on_seeds(path)`` runs a lecture at the class scale on two base seeds at once and
returns, for each, the notebook, the claims it showed and the seconds it took.
"""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from book.build import save_executed

ROOT = Path(__file__).resolve().parents[1]
MARKER = "__LABKIT_VALUES__"


INLINE = "module://matplotlib_inline.backend_inline"  # JupyterLab's: every figure shown becomes a PNG output


def run_notebook(path, expressions: dict | None = None, scale: str = "smoke", timeout: int = 600,
                 env: dict | None = None, allow_error_names=(), figures: bool = False):
    """Run ``path`` top to bottom with ``LABKIT_SCALE=scale``; return (notebook, values).
    Errors named in ``allow_error_names`` are recorded in the outputs and execution goes on.
    ``figures``: keep the figures as outputs, as JupyterLab shows them (else they are not drawn)."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    # LABKIT_PREFLIGHT=0: an exercise's last cell does not run the notebook again (test_preflight.py does)
    overrides = {"LABKIT_SCALE": scale, "LABKIT_PROGRESS": "0", "MPLBACKEND": INLINE if figures else "Agg",
                 "LABKIT_PREFLIGHT": "0", **(env or {})}
    values = {}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_error_names=list(allow_error_names),
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel(env={**os.environ, **overrides}):  # the kernel's own; this process's is untouched
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        client.set_widgets_metadata()  # the widgets' state, as a notebook saved in JupyterLab keeps it (the book's pictures)
        if expressions:
            code = (f"import json as _json\nprint({MARKER!r} + _json.dumps("
                    + "{" + ", ".join(f"{k!r}: ({v})" for k, v in expressions.items()) + "}, default=float))")
            probe = nbformat.v4.new_code_cell(code)
            nb.cells.append(probe)
            client.execute_cell(probe, len(nb.cells) - 1)
            text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
            values = json.loads(text.split(MARKER, 1)[1])
            nb.cells.pop()
    return nb, values


def run_lecture_on(path, base_seed: int, keep: bool = True) -> tuple:
    """Run a lecture at the class scale (the scale its text describes) with ``LABKIT_SEED=base_seed``
    and one torch thread: its models are small, and on a shared 2-core machine two competing threads
    per process are several times slower, with the same numbers. ``keep``: save the run on the
    lecture's own base seed for the book. Returns (executed notebook, its claims as dicts, seconds it took)."""
    from labkit.claims import read

    start = time.perf_counter()
    nb, _ = run_notebook(path, scale="class", env={"OMP_NUM_THREADS": "1", "LABKIT_SEED": str(base_seed)}, figures=True)
    seconds = time.perf_counter() - start
    if keep and base_seed == BASE_SEEDS[0]:  # the lecture's own seed: the run the book shows
        save_executed(nb, path, seconds)
    return nb, read(nb), seconds


BASE_SEEDS = (0, 1000)  # the notebook's own base seed, and one its thresholds were not chosen on


def run_lecture_on_seeds(path, base_seeds=BASE_SEEDS, keep: bool = True) -> dict:
    """:func:`run_lecture_on` for each base seed, two at a time (one kernel per core, one torch
    thread each): base seed -> (notebook, claims, seconds)."""
    with ThreadPoolExecutor(2) as pool:
        runs = {s: pool.submit(run_lecture_on, path, s, keep) for s in base_seeds}
        return {s: f.result() for s, f in runs.items()}


BUDGET_S = 240  # a lecture's class-scale run: about 2 min on a quiet 2-core CPU; this catches a blow-up


def assert_class_runs_ok(runs: dict) -> None:
    """Each run of :func:`run_lecture_on_seeds` started with labkit's set-up line on its own base
    seed, raised nothing and stayed within :data:`BUDGET_S`."""
    for base, (nb, _, seconds) in runs.items():
        assert_ran_cleanly(nb, scale="class", seed=base)
        assert seconds < BUDGET_S, f"base seed {base}: {seconds:.0f} s, over the budget of {BUDGET_S} s"


def claims_of_run(runs: dict, base: int, count: int, same=lambda text: True) -> list:
    """The claims of the run on ``base``, after checking that there are ``count`` of them, that every
    one holds and that they are the claims the first base seed's run showed (those whose text passes
    ``same``: a claim may quote a value the run chose)."""
    claims = runs[base][1]
    assert len(claims) == count, [c["text"] for c in claims]
    assert_claims_hold(claims)
    assert [c["text"] for c in claims if same(c["text"])] == \
        [c["text"] for c in runs[BASE_SEEDS[0]][1] if same(c["text"])]
    return claims


def claim(claims: list, start: str) -> dict:
    """The claim whose text starts with ``start``."""
    found = [c for c in claims if c["text"].startswith(start)]
    assert found, f"no claim starts with {start!r}"
    return found[0]


def assert_claims_hold(claims: list, minimum: int = 1) -> None:
    """Every claim the notebook showed holds (at least ``minimum`` of them were shown)."""
    assert len(claims) >= minimum, f"the notebook showed {len(claims)} claims, expected at least {minimum}"
    failed = [f"{c['text']} (measured {c['measured']}, expected {c['expected']}, seeds {c['seeds']})"
              for c in claims if not c["holds"]]
    assert not failed, "claims that did not hold:\n  " + "\n  ".join(failed)


def outputs_text(nb) -> str:
    """All text the notebook printed (streams and plain-text results), for checks on what it shows."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out and "text/plain" in out["data"]:
                parts.append(out["data"]["text/plain"])
    return "\n".join(parts)


def assert_ran_cleanly(nb, scale: str = "smoke", seed: int = 0, allowed=()) -> None:
    """The first output is labkit's set-up line (device, scale, seed) and no cell raised (other than
    with an error named in ``allowed``)."""
    text = outputs_text(nb)
    assert "labkit | device:" in text and f"scale: {scale}" in text and f"seed: {seed}" in text
    errors = [o for c in nb.cells for o in c.get("outputs", [])
              if o.get("output_type") == "error" and o.get("ename") not in allowed]
    assert not errors, errors[0].get("ename")
