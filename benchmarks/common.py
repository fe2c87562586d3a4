"""Timing helpers shared by the benchmarks: the same work, labkit's way and the plain way, in one run."""
from __future__ import annotations

import time

import torch


def timed(fn, repeats: int = 3, warmup: int = 1):
    """Run fn() ``warmup`` times, then ``repeats`` times; return (best seconds, last result)."""
    result = None
    for _ in range(warmup):
        result = fn()
    best = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best, result


def report(title: str, labkit_s: float, plain_s: float, target: float | None = None) -> float:
    ratio = plain_s / labkit_s
    goal = f" (target >= {target:g}x: {'met' if ratio >= target else 'NOT met'})" if target else ""
    print(f"{title}\n  plain  {plain_s * 1000:9.1f} ms\n  labkit {labkit_s * 1000:9.1f} ms\n"
          f"  ratio  {ratio:9.2f}x{goal}", flush=True)
    return ratio


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({torch.get_num_threads()} threads)"
