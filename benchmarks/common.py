"""Timing helpers shared by the benchmarks: the same work, labkit's way and the plain way, in one run."""
from __future__ import annotations

import time

import torch


def timed(fn, repeats: int = 3, warmup: int = 1):
    """Run fn() ``warmup`` times, then ``repeats`` times; return (best wall s, best CPU s, result).

    CPU time (this process's, all threads) is what to compare on a shared machine: other jobs
    stretch wall time but not the work done here. On a GPU compare wall time.
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


def report(title: str, labkit: tuple, plain: tuple, target: float | None = None) -> float:
    """Print wall and CPU times of both ways and their ratios; return the ratio the verdict uses
    (CPU time on a CPU, wall time on a GPU)."""
    gpu = torch.cuda.is_available()
    ratio_wall, ratio_cpu = plain[0] / labkit[0], plain[1] / labkit[1]
    ratio = ratio_wall if gpu else ratio_cpu
    goal = f"   target >= {target:g}x ({'wall' if gpu else 'CPU'} time): {'met' if ratio >= target else 'NOT met'}" \
        if target else ""
    print(f"{title}\n            wall ms    CPU ms\n"
          f"  plain  {plain[0] * 1000:9.1f} {plain[1] * 1000:9.1f}\n"
          f"  labkit {labkit[0] * 1000:9.1f} {labkit[1] * 1000:9.1f}\n"
          f"  ratio  {ratio_wall:8.2f}x {ratio_cpu:8.2f}x{goal}", flush=True)
    return ratio


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({torch.get_num_threads()} threads)"
