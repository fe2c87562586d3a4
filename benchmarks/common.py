"""Timing helpers shared by the benchmarks: the same work, labkit's way and the plain way, in one run,
and the results tables every benchmark writes (benchmarks/results/<name>.md), which ``make bench``
copies into benchmarks/README.md."""
from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"
ROWS: list = []  # the rows report() printed, for the results table


def timed(fn, repeats: int = 3, warmup: int = 1):
    """Run fn() ``warmup`` times, then ``repeats`` times; return (best wall s, best CPU s, result).

    Wall time is what one waits for; CPU time (this process's, all threads) shows the work done
    and is less disturbed by other jobs on a shared machine.
    """
    result = None
    for _ in range(warmup):
        result = fn()
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu, result


def timed_pair(labkit_fn, plain_fn, repeats: int = 5, warmup: int = 1):
    """Time both ways alternately (a drifting machine load then touches both alike), after
    ``warmup`` untimed runs of each (one-time costs such as torch's lazy imports are paid there,
    by neither). Returns ((wall, CPU, result) of labkit_fn, (wall, CPU, result) of plain_fn),
    each the best of ``repeats``."""
    for _ in range(warmup):
        labkit_fn(), plain_fn()
    best = {}
    for _ in range(repeats):
        for name, fn in (("labkit", labkit_fn), ("plain", plain_fn)):
            wall, cpu, result = timed(fn, repeats=1, warmup=0)
            w0, c0, _ = best.get(name, (float("inf"), float("inf"), None))
            best[name] = (min(w0, wall), min(c0, cpu), result)
    return best["labkit"], best["plain"]


def report(title: str, labkit: tuple, plain: tuple, target: float | None = None, check: str = "") -> float:
    """Print wall and CPU times of both ways and their ratios; return the wall-time ratio, on
    which the verdict rests: "faster" is the time one waits for. CPU time is printed beside it;
    it also counts the second OpenMP thread spinning between labkit's back-to-back small
    operations, so on a CPU its ratio is lower."""
    ratio_wall, ratio_cpu = plain[0] / labkit[0], plain[1] / labkit[1]
    goal = f"   target >= {target:g}x (wall time): {'met' if ratio_wall >= target else 'NOT met'}" if target else ""
    print(f"{title}\n            wall ms    CPU ms\n"
          f"  plain  {plain[0] * 1000:9.1f} {plain[1] * 1000:9.1f}\n"
          f"  labkit {labkit[0] * 1000:9.1f} {labkit[1] * 1000:9.1f}\n"
          f"  ratio  {ratio_wall:8.2f}x {ratio_cpu:8.2f}x{goal}" + (f"\n  {check}" if check else ""), flush=True)
    verdict = f"{target:g}×: {'met' if ratio_wall >= target else 'NOT met'}" if target else "—"
    ROWS.append([title, f"{plain[0] * 1000:.1f} / {plain[1] * 1000:.1f} ms",
                 f"{labkit[0] * 1000:.1f} / {labkit[1] * 1000:.1f} ms", f"**{ratio_wall:.2f}×**", f"{ratio_cpu:.2f}×",
                 verdict, check])
    return ratio_wall


REPORT_COLUMNS = ["comparison", "plain (wall / CPU)", "labkit (wall / CPU)", "ratio, wall", "ratio, CPU", "target",
                  "check"]


def markdown_table(columns: list, rows: list) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def write_results(name: str, machine: str, tables: list) -> str:
    """Write benchmarks/results/<name>.md: the command that ran, when, on what machine, then each
    (title, columns, rows) of ``tables`` as a Markdown table. Returns the text (also printed)."""
    args = " ".join(sys.argv[1:])
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"Written by `python -m benchmarks.{name}{' ' + args if args else ''}` on {when}; {machine}."]
    parts += [(f"**{title}**\n\n" if title else "") + markdown_table(columns, rows) for title, columns, rows in tables]
    text = "\n\n".join(parts) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text)
    print(f"\nwritten to benchmarks/results/{name}.md:\n\n{text}", flush=True)
    return text


def machine_line() -> str:
    """The device, torch's threads and (on Linux) the load average: a busy machine stretches wall time."""
    try:
        load = " | load average before the run: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        load = ""
    return f"device: {device_name()} | torch {torch.__version__}{load}"


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({torch.get_num_threads()} threads)"
