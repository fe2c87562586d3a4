"""The GPU check, as one prepared script: what lectures/README.md's GPU column is measured with.

    python tools/gpu_check.py --out DIR [--parts tests,class,full,bench] [--lectures L1,L5] [--budget 780]

On a machine with CUDA it runs, in this order and while the time budget (seconds) lasts:

- ``tests``: the test suite's GPU tests (``pytest -m gpu``);
- ``class``: every lecture top to bottom at the ``class`` scale, as a student's GPU runtime would,
  recording its wall time and whether every claim it shows holds;
- ``full``: every lecture at the ``full`` scale with the quick-run switch on (small stand-ins for
  the real data sets, as tests/lectures/test_full_scale.py uses), so the code path a student gets
  with ``LABKIT_SCALE=full`` is known to run on a GPU;
- ``bench``: ``python -m benchmarks.core`` (the trainer's GPU targets).

It writes ``DIR/gpu_check.json`` (every measurement, the device, torch's version, the date) and
``DIR/gpu_check.md`` (a table to paste into lectures/README.md), after every step, so a run cut
short keeps what it measured. It also runs on a CPU (``--parts class --lectures L1``), which is how
it is checked; the times then say nothing about a GPU.
"""
from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

PARTS = ("tests", "class", "full", "bench")


def device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (torch {torch.__version__}, CUDA {torch.version.cuda})"
    return f"CPU only (torch {torch.__version__})"


def lecture_paths(only: str | None) -> list:
    paths = sorted((ROOT / "lectures").glob("L*.ipynb"))
    if only:
        wanted = {w.strip() for w in only.split(",")}
        paths = [p for p in paths if p.stem.split("_")[0] in wanted]
    return paths


def run_class(path) -> dict:
    from labkit.claims import read
    from notebook_runner import run_notebook

    start = time.perf_counter()
    try:
        nb, _ = run_notebook(path, scale="class", timeout=1800)
    except Exception as err:  # noqa: BLE001 -- recorded, the next lecture still runs
        return {"seconds": time.perf_counter() - start, "error": f"{type(err).__name__}: {str(err)[:500]}"}
    claims = read(nb)
    return {"seconds": time.perf_counter() - start, "claims": len(claims),
            "failed": [c["text"] for c in claims if not c.get("holds")]}


def run_full_quick(path, data_root) -> dict:
    from notebook_runner import run_notebook

    env = {"LABKIT_QUICK": "1", "LABKIT_DATA": str(data_root)}
    start = time.perf_counter()
    try:
        run_notebook(path, scale="full", env=env, timeout=600)
    except Exception as err:  # noqa: BLE001
        return {"seconds": time.perf_counter() - start, "error": f"{type(err).__name__}: {str(err)[:500]}"}
    return {"seconds": time.perf_counter() - start}


def command(args: list, timeout: float) -> dict:
    start = time.perf_counter()
    try:
        proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=max(1, timeout))
        out, code = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as err:
        out, code = f"{err.stdout or ''}{err.stderr or ''}\n(stopped after {timeout:.0f} s)", 124
    return {"seconds": time.perf_counter() - start, "exit": code, "tail": out[-4000:]}


def table(result: dict) -> str:
    lines = [f"GPU check on {result['device']}, {result['date']}", "",
             "| lecture | class scale | claims held | full scale, quick switch |", "|---|---|---|---|"]
    for name in sorted(set(result["class"]) | set(result["full"])):
        c, f = result["class"].get(name, {}), result["full"].get(name, {})
        held = (f"error: {c['error'][:80]}" if "error" in c else
                f"{c['claims'] - len(c['failed'])} of {c['claims']}" if c else "—")
        lines.append(f"| {name} | {c['seconds']:.0f} s | {held} | " if c else f"| {name} | — | — | ")
        lines[-1] += (f"error: {f['error'][:80]} |" if "error" in f else f"{f['seconds']:.0f} s |" if f else "— |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--lectures", default=None, help="e.g. L1,L5 (default: all)")
    parser.add_argument("--budget", type=float, default=780.0, help="seconds; no new step starts after it")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",")]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {sorted(unknown)}; the parts are {', '.join(PARTS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget
    result = {"device": device(), "date": datetime.date.today().isoformat(), "class": {}, "full": {},
              "skipped": []}

    def save():
        (args.out / "gpu_check.json").write_text(json.dumps(result, indent=1))
        (args.out / "gpu_check.md").write_text(table(result))

    def left() -> float:
        return deadline - time.monotonic()

    print(result["device"], flush=True)
    if "tests" in parts:
        result["tests"] = command([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider"],
                                  min(left(), 300))
        print(f"GPU tests: exit {result['tests']['exit']} in {result['tests']['seconds']:.0f} s", flush=True)
        save()
    steps = [("class", p) for p in lecture_paths(args.lectures) if "class" in parts]
    steps += [("full", p) for p in lecture_paths(args.lectures) if "full" in parts]
    data_root = None
    for kind, path in steps:
        name = path.stem.split("_")[0]
        if left() <= 0:
            result["skipped"].append(f"{kind} {name}")
            continue
        if kind == "full" and data_root is None:
            from realfiles import write_all

            data_root = write_all(args.out / "real-data")
        result[kind][name] = run_class(path) if kind == "class" else run_full_quick(path, data_root)
        print(f"{kind} {name}: {result[kind][name]}", flush=True)
        save()
    if "bench" in parts:
        if left() > 0:
            result["bench"] = command([sys.executable, "-m", "benchmarks.core"], left())
            print(result["bench"]["tail"], flush=True)
        else:
            result["skipped"].append("bench")
    save()
    print(table(result))
    if result["skipped"]:
        print("not run (out of time):", ", ".join(result["skipped"]))
    failed = [n for k in ("class", "full") for n, r in result[k].items() if "error" in r or r.get("failed")]
    return 1 if failed or result.get("tests", {}).get("exit", 0) not in (0, 5) else 0


if __name__ == "__main__":
    sys.exit(main())
